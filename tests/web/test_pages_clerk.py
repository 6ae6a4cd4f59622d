"""The clerk's pages: the case list (their agency only), filing step by step, the case page.
Errors keep what was typed and show the service's code beside the field."""

import hashlib
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from intake.models import (
    CaseAlert,
    CaseStatus,
    Evidence,
    HandoverEntry,
    SeizedAsset,
    SeizureCase,
)
from intake.services import alert_raise, asset_record_observation

pytestmark = pytest.mark.django_db

DETAILS = {
    "case_number": "AFM-2026-0200",
    "warrant_number": "W-200/2026",
    "warrant_date": "2026-03-01",
    "seizure_protocol_number": "SP-200",
    "seizure_date": "2026-03-02",
    "owner_name": "Suspect Two",
    "owner_identifier": "900101300999",
    "owner_details": "",
    "description": "Paper wallet.",
}
# A mainnet address: right checksum, wrong network for the regtest case.
MAINNET_ADDRESS = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
REGTEST_ADDRESS = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
TXID = "a" * 64


def test_a_clerk_sees_only_their_agencys_cases(web, clerk, draft_case, other_agency_case):
    page = web(clerk).get("/cases/").content.decode()
    assert draft_case.case_number in page
    assert other_agency_case.case_number not in page
    other = web(clerk).get(f"/cases/{other_agency_case.public_id}/")
    assert other.status_code == 404
    assert "not_found" in other.content.decode()
    download = web(clerk).get(f"/cases/{other_agency_case.public_id}/file/assets/")
    assert download.status_code == 404


def test_the_case_list_searches_and_filters(web, clerk, draft_case, submitted_case):
    client = web(clerk)
    by_status = client.get("/cases/", {"status": CaseStatus.SUBMITTED}).content.decode()
    assert submitted_case.case_number in by_status and draft_case.case_number not in by_status
    by_term = client.get("/cases/", {"q": "0101"}).content.decode()
    assert draft_case.case_number in by_term and submitted_case.case_number not in by_term
    bad = client.get("/cases/", {"status": "NOPE"})
    assert bad.status_code == 200 and "There is a problem" in bad.content.decode()


def test_filing_details_keep_everything_typed_and_name_the_problem(web, clerk, custody_wallet):
    client = web(clerk)
    page = client.post("/cases/new/", {**DETAILS, "case_number": "bad number!",
                                       "warrant_number": "", "seizure_date": "2026-02-01"})
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('class="error-message"') == 3
    for href in ("#id_case_number", "#id_warrant_number", "#id_seizure_date"):
        assert f'href="{href}"' in html
    assert "Enter the number of the warrant" in html
    assert "The seizure cannot be before the warrant" in html
    assert 'value="bad number!"' in html and 'value="Suspect Two"' in html
    assert 'aria-invalid="true"' in html
    assert not SeizureCase.objects.exists()


def test_a_duplicate_case_number_is_the_services_refusal_beside_the_field(
        web, clerk, draft_case):
    page = web(clerk).post("/cases/new/", {**DETAILS, "case_number": draft_case.case_number})
    html = page.content.decode()
    assert '<code class="error-code">duplicate</code>' in html
    assert 'id="id_case_number-error"' in html


def test_filing_a_case_from_details_to_confirmation(web, clerk, custody_wallet):
    client = web(clerk)
    created = client.post("/cases/new/", DETAILS)
    case = SeizureCase.objects.get(case_number="AFM-2026-0200")
    assert created["Location"] == f"/cases/{case.public_id}/file/assets/"
    assert case.status == CaseStatus.DRAFT

    # Assets: a wrong-network source address is refused with its code; input kept.
    assets_url = created["Location"]
    refused = client.post(assets_url, {"action": "asset", "asset": "BTC", "network": "regtest",
                                       "amount": "0,5", "source_address": MAINNET_ADDRESS})
    html = refused.content.decode()
    assert "wrong_network" in html and f'value="{MAINNET_ADDRESS}"' in html
    assert 'value="0,5"' in html
    assert not SeizedAsset.objects.exists()
    too_precise = client.post(assets_url, {"action": "asset", "asset": "BTC",
                                           "network": "regtest", "amount": "0.123456789"})
    assert "invalid_amount" in too_precise.content.decode()
    added = client.post(assets_url, {"action": "asset", "asset": "BTC", "network": "regtest",
                                     "amount": "0,5", "source_address": REGTEST_ADDRESS})
    assert added.status_code == 302
    asset = SeizedAsset.objects.get(case=case)
    assert asset.declared_amount == 50_000_000 and asset.custody_address
    page = client.get(assets_url).content.decode()
    assert asset.custody_address in page and "0.50000000" in page

    # The sweep: a malformed txid is refused, then recorded.
    bad_sweep = client.post(assets_url, {"action": "sweep", "asset": asset.public_id,
                                         "txid": "xyz"})
    assert "invalid_txid" in bad_sweep.content.decode()
    assert 'value="xyz"' in bad_sweep.content.decode()
    swept = client.post(assets_url, {"action": "sweep", "asset": asset.public_id,
                                     "txid": TXID.upper()})
    assert swept.status_code == 302
    assert asset.sweeps.get().txid == TXID
    assert "0 of 1" in client.get(assets_url).content.decode()

    # Evidence: the page shows the recorded SHA-256.
    evidence_url = f"/cases/{case.public_id}/file/evidence/"
    content = b"Seizure protocol SP-200\n"
    no_kind = client.post(evidence_url, {"file": SimpleUploadedFile(
        "protocol.txt", content, content_type="text/plain")}).content.decode()
    assert "Choose what the document is" in no_kind
    uploaded = client.post(evidence_url, {"file": SimpleUploadedFile(
        "protocol.txt", content, content_type="text/plain"), "description": "Protocol",
        "kind": "SEIZURE_PROTOCOL"})
    assert uploaded.status_code == 302
    evidence_page = client.get(evidence_url).content.decode()
    assert hashlib.sha256(content).hexdigest() in evidence_page
    assert "Seizure protocol" in evidence_page
    duplicate = client.post(evidence_url, {"file": SimpleUploadedFile(
        "again.txt", content, content_type="text/plain"), "kind": "OTHER"})
    assert "duplicate" in duplicate.content.decode()
    assert Evidence.objects.filter(case=case).count() == 1

    # Chain of custody.
    handovers_url = f"/cases/{case.public_id}/file/handovers/"
    backwards = client.post(handovers_url, {
        "item_kind": "DEVICE", "item_description": "Ledger Nano S, serial 1234",
        "holder": "Evidence room", "held_from": "2026-03-02T10:00",
        "held_until": "2026-03-01T10:00"})
    assert "held_until" in backwards.content.decode() or "error-message" in \
        backwards.content.decode()
    assert 'value="Ledger Nano S, serial 1234"' in backwards.content.decode()
    recorded = client.post(handovers_url, {
        "item_kind": "DEVICE", "item_description": "Ledger Nano S, serial 1234",
        "holder": "Evidence room", "held_from": "2026-03-02T10:00", "seal_number": "S-9"})
    assert recorded.status_code == 302
    assert HandoverEntry.objects.get(case=case).seal_number == "S-9"

    # Check your answers → submit → confirmation with the reference number.
    check_url = f"/cases/{case.public_id}/file/check/"
    check = client.get(check_url).content.decode()
    for shown in ("AFM-2026-0200", "Suspect Two", "protocol.txt", "Ledger Nano S"):
        assert shown in check
    assert "Submit case AFM-2026-0200 for legal review" in check
    submitted = client.post(check_url)
    assert submitted["Location"] == f"/cases/{case.public_id}/file/submitted/"
    done = client.get(submitted["Location"]).content.decode()
    assert 'data-testid="reference">AFM-2026-0200<' in done
    assert "What happens next" in done
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED
    # No longer a draft: the filing pages send the clerk to the case page.
    assert client.get(assets_url)["Location"] == f"/cases/{case.public_id}/"


def test_submitting_without_assets_is_refused_with_the_code(web, clerk, custody_wallet):
    client = web(clerk)
    client.post("/cases/new/", DETAILS)
    case = SeizureCase.objects.get()
    page = client.post(f"/cases/{case.public_id}/file/check/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "There is a problem" in html and "<code class=\"error-code\">conflict</code>" in html
    case.refresh_from_db()
    assert case.status == CaseStatus.DRAFT


def test_submitting_without_the_warrant_is_refused_with_the_code(web, clerk, custody_wallet):
    client = web(clerk)
    client.post("/cases/new/", DETAILS)
    case = SeizureCase.objects.get()
    client.post(f"/cases/{case.public_id}/file/assets/",
                {"action": "asset", "asset": "BTC", "network": "regtest", "amount": "0.1"})
    client.post(f"/cases/{case.public_id}/file/evidence/", {"file": SimpleUploadedFile(
        "photo.png", b"\x89PNG\r\n\x1a\n photo"), "kind": "OTHER"})
    html = client.post(f"/cases/{case.public_id}/file/check/").content.decode()
    assert '<code class="error-code">warrant_document_missing</code>' in html
    assert 'href="#evidence"' in html
    case.refresh_from_db()
    assert case.status == CaseStatus.DRAFT


def test_live_checks_answer_with_the_same_rules_and_codes(web, clerk):
    client = web(clerk)
    wrong = client.get("/cases/check/address/", {"source_address": MAINNET_ADDRESS,
                                                 "network": "regtest", "asset": "BTC"})
    assert "wrong_network" in wrong.content.decode()
    right = client.get("/cases/check/address/", {"source_address": REGTEST_ADDRESS,
                                                 "network": "regtest", "asset": "BTC"})
    assert "live-check--ok" in right.content.decode() and "p2wpkh" in right.content.decode()
    assert "invalid_txid" in client.get("/cases/check/txid/", {"txid": "abc"}).content.decode()
    assert "live-check--ok" in client.get("/cases/check/txid/",
                                          {"txid": TXID}).content.decode()
    # Signed out, an htmx request is told where to go instead of getting a page swapped in.
    anonymous = web().get("/cases/check/txid/", {"txid": TXID}, HTTP_HX_REQUEST="true")
    assert anonymous.status_code == 401 and anonymous["HX-Redirect"].startswith("/sign-in/")


def test_the_case_page_shows_assets_sweeps_evidence_timeline_and_alarms(
        web, clerk, submitted_case):
    alert_raise(case=submitted_case, kind=CaseAlert.Kind.UNAPPROVED_SPEND,
                dedup_key="spend:test", message="Coins left the custody address.")
    client = web(clerk)
    asset = submitted_case.assets.get()
    recorded = client.post(f"/cases/{submitted_case.public_id}/",
                           {"action": "sweep", "asset": asset.public_id, "txid": TXID})
    assert recorded.status_code == 302
    page = client.get(f"/cases/{submitted_case.public_id}/").content.decode()
    assert "alert-box--alarm" in page and "Coins left the custody address." in page
    assert "Submitted for legal review" in page  # the timeline, in words
    assert "Sweep transaction recorded" in page and TXID in page
    assert "Waiting for the chain" in page
    assert "Not seen yet" in page  # the watcher's state of the sweep, in words
    assert re.search(r"0 of 1", page)


def test_a_discrepancy_shows_what_the_chain_showed(web, clerk, submitted_case):
    asset = submitted_case.assets.get()
    asset_record_observation(asset_id=asset.pk, verified=False, observed_amount=20_000_000,
                             details={"other_transactions": [
                                 {"txid": "b" * 64, "vout": 1, "amount_sats": 5_000}],
                                 "unknown_sweeps": []})
    page = web(clerk).get(f"/cases/{submitted_case.public_id}/").content.decode()
    assert "Discrepancy" in page
    assert "0.20000000" in page and "0.25000000" in page
    assert "b" * 64 in page

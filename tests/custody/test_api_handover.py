"""Nothing left behind (issue 11, point 7), over HTTP: a case with a USDT asset reaches
IN_RESERVE only once the fund's custodian's receipt for it is recorded by one bank officer
and approved by another, each with a fresh code; the books show the handover in the asset's
own unit."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from embit import ec, script
from embit.networks import NETWORKS

from core.models import AuditEvent
from custody import services
from custody.models import AssetHandover, JournalEntry, LedgerAccount
from custody.selectors import balances, ledger_is_balanced
from intake.models import CaseStatus, Disposition, SeizedAsset, SeizureCase
from intake.services import evidence_upload
from tests.support.api import CASE_PAYLOAD, ORDER_PAYLOAD, upload_document, url
from tests.support.custody import fake_utxos, make_confiscated_case, sign
from tests.support.factories import CaseFactory
from tests.support.second_factor import fresh_step_up, otp

pytestmark = pytest.mark.django_db

RECEIPT = hashlib.sha256(b"custodian's signed receipt for 1,500 USDT").hexdigest()
TRON_TXID = "ab" * 32
USDT = 1_500_000_000  # 1,500 USDT in its smallest unit (6 decimals)
OWNER_BTC = script.p2wpkh(ec.PrivateKey(hashlib.sha256(b"owner").digest()).get_public_key()
                          ).address(NETWORKS["regtest"])


def confiscated_usdt_case(api, clerk, legal):
    """Filed, reviewed and confiscated over the API: 1,500 USDT on Tron, nothing else."""
    case = api(clerk).post(url(), CASE_PAYLOAD, format="json").json()
    reply = api(clerk).post(url(case["id"], sub="assets"),
                            {"asset": "USDT", "chain": "tron", "network": "mainnet",
                             "declared_amount": USDT}, format="json")
    assert reply.status_code == 201, reply.json()
    assert (reply.json()["chain"], reply.json()["verification_status"]) == ("tron", "UNTRACKED")
    assert reply.json()["disposition"] == Disposition.HELD
    upload_document(api(clerk), case["id"], kind="WARRANT", content=b"%PDF-1.4 warrant",
                    name="warrant.pdf")
    api(clerk).post(url(case["id"], "submit"))
    api(legal).post(url(case["id"], "start-review"))
    upload_document(api(legal), case["id"], kind="COURT_ORDER")  # named by ORDER_PAYLOAD
    approved = api(legal).post(url(case["id"], "approve"), {**ORDER_PAYLOAD, "otp": otp(legal)},
                               format="json")
    assert approved.json()["status"] == CaseStatus.CONFISCATION_APPROVED
    return case, reply.json()


def propose(api, officer, asset_id, **extra):
    body = {"asset": asset_id, "kind": "TO_CUSTODIAN", "recipient": "NBK USDT custodian",
            "txid": TRON_TXID, "receipt_sha256": RECEIPT, "otp": otp(officer), **extra}
    return api(officer).post("/api/v1/asset-handovers/", body, format="json")


def test_usdt_case_reaches_in_reserve_only_after_the_custodians_receipt_is_approved(
        api, clerk, legal, bank, bank2):
    case, usdt = confiscated_usdt_case(api, clerk, legal)

    proposed = propose(api, bank, usdt["id"])
    assert proposed.status_code == 201, proposed.json()
    handover = proposed.json()
    assert (handover["status"], handover["amount"], handover["txid"]) == (
        "PROPOSED", USDT, TRON_TXID)
    # Recorded, not yet approved: the asset is still held, the case where it was.
    assert api(legal).get(url(case["id"])).json()["status"] == CaseStatus.CONFISCATION_APPROVED
    assert SeizedAsset.objects.get(public_id=usdt["id"]).disposition == Disposition.HELD

    approve = f"/api/v1/asset-handovers/{handover['id']}/approve/"
    events = AuditEvent.objects.count()
    own = api(bank).post(approve, {"otp": otp(bank)}, format="json")
    assert (own.status_code, own.json()["code"]) == (403, "own_entry")
    no_code = api(bank2).post(approve, {}, format="json")
    assert (no_code.status_code, no_code.json()["code"]) == (403, "second_factor_required")
    wrong = api(bank2).post(approve, {"otp": "000000"}, format="json")
    assert wrong.status_code == 403
    assert wrong.json()["code"] in ("second_factor_invalid", "second_factor_locked")
    assert AuditEvent.objects.count() == events
    assert api(legal).get(url(case["id"])).json()["status"] == CaseStatus.CONFISCATION_APPROVED

    approved = api(bank2).post(approve, {"otp": otp(bank2)}, format="json")
    assert approved.status_code == 200, approved.json()
    assert (approved.json()["status"], approved.json()["approved_by"]) == ("APPROVED", "bank2")

    assert api(legal).get(url(case["id"])).json()["status"] == CaseStatus.IN_RESERVE
    asset = SeizedAsset.objects.get(public_id=usdt["id"])
    assert (asset.disposition, asset.disposition_ref) == (Disposition.WITH_CUSTODIAN,
                                                          handover["id"])
    entry = JournalEntry.objects.get(handover__public_id=handover["id"])
    assert (entry.kind, entry.asset, entry.txid) == (JournalEntry.Kind.HANDED_OVER, "USDT",
                                                     TRON_TXID)
    assert sorted((ln.account, ln.amount_sats) for ln in entry.lines.all()) == [
        (LedgerAccount.CUSTODIAN, USDT), (LedgerAccount.CUSTODY, -USDT)]
    assert ledger_is_balanced() and balances()["total_sats"] == 0  # no BTC in the reserve
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"asset_handover.proposed", "asset_handover.approved", "asset.disposed",
            "case.in_reserve"} <= actions
    # Approved once: a second approval is a stale transition, a second receipt a conflict.
    again = api(bank2).post(approve, {"otp": otp(bank2)}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
    twice = propose(api, bank, usdt["id"])
    assert (twice.status_code, twice.json()["code"]) == (409, "already_disposed")


def test_settled_btc_waits_in_transfer_for_the_usdt_receipt(
        api, case, reserve_wallet, bank, bank2, bank3, no_chain):
    """BTC and USDT on one case: the BTC transfer settles, but the case stays IN_TRANSFER
    while the USDT is held; the approved receipt takes it to IN_RESERVE."""
    usdt = SeizedAsset.objects.create(case=case, asset="USDT", chain="ethereum",
                                      network="mainnet", declared_amount=USDT,
                                      verification_status="UNTRACKED")
    transfer = services.transfer_propose(actor=bank, case=case, reserve_wallet=reserve_wallet,
                                         utxos=fake_utxos(case, 80_000_000))
    for officer in (bank2, bank3):
        services.transfer_approve(transfer=transfer, actor=officer,
                                  payload_hash=transfer.payload_hash,
                                  step_up=fresh_step_up(officer))
    transfer.refresh_from_db()
    for signer in ("c1", "c2"):
        services.transfer_upload_signed(transfer=transfer, actor=bank,
                                        psbt=sign(transfer.unsigned_psbt, signer),
                                        step_up=fresh_step_up(bank))
    services.transfer_broadcast(transfer_id=transfer.pk)
    services.transfer_apply_chain_state(transfer_id=transfer.pk, state="CONFIRMED",
                                        confirmations=6, block_hash="aa" * 32, block_height=495)
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_TRANSFER
    btc = case.assets.get(asset="BTC")
    assert (btc.disposition, btc.disposition_ref) == (Disposition.IN_RESERVE,
                                                      str(transfer.public_id))
    assert balances()["total_sats"] == transfer.amount_sats

    # The BTC is watched on chain: it leaves by transfer, never by receipt.
    by_receipt = propose(api, bank, str(btc.public_id))
    assert by_receipt.status_code == 409
    # An Ethereum txid has its own shape.
    bad = propose(api, bank, str(usdt.public_id), txid=TRON_TXID)
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_txid")

    handover = propose(api, bank, str(usdt.public_id), txid="0x" + "cd" * 32).json()
    reply = api(bank3).post(f"/api/v1/asset-handovers/{handover['id']}/approve/",
                            {"otp": otp(bank3)}, format="json")
    assert reply.status_code == 200, reply.json()
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_RESERVE


def test_a_receipt_is_for_a_confiscated_case_and_readers_of_the_reserve(
        api, clerk, legal, bank, agency):
    case = CaseFactory(agency=agency, status=CaseStatus.UNDER_REVIEW)
    usdt = SeizedAsset.objects.create(case=case, asset="USDT", chain="tron", network="mainnet",
                                      declared_amount=USDT, verification_status="UNTRACKED")
    early = propose(api, bank, str(usdt.public_id))
    assert (early.status_code, early.json()["code"]) == (409, "case_not_transferable")
    clerk_reply = propose(api, clerk, str(usdt.public_id))
    assert clerk_reply.status_code == 404  # the reserve's records do not exist for a clerk
    assert not AssetHandover.objects.exists()


def test_the_receipt_links_the_uploaded_evidence_with_its_hash(api, clerk, legal, bank,
                                                               bank2, custody_wallet):
    case, usdt = confiscated_usdt_case(api, clerk, legal)
    content = b"%PDF-1.4 custodian receipt"
    evidence = evidence_upload(case=SeizureCase.objects.get(public_id=case["id"]), actor=clerk,
                               uploaded_file=SimpleUploadedFile("receipt.pdf", content))
    reply = propose(api, bank, usdt["id"], receipt_sha256=hashlib.sha256(content).hexdigest())
    assert reply.status_code == 201, reply.json()
    assert reply.json()["receipt"] == str(evidence.public_id)


def test_usdt_of_a_rejected_case_is_released_by_receipt_under_its_order(
        api, agency, custody_wallet, legal, legal2, bank, bank2):
    """A rejected case's USDT goes back to its owner outside Qazyna's transfers: recorded
    against the approved release order with the receipt and the txid (four eyes); then, and
    only then, a legal officer may close the case."""
    case = make_confiscated_case(agency=agency, custody_wallet=custody_wallet, legal=legal,
                                 status=CaseStatus.REJECTED)
    case.assets.update(disposition=Disposition.RELEASED, disposition_ref="earlier-release",
                       disposed_at=case.created_at)  # its BTC went back already
    usdt = SeizedAsset.objects.create(case=case, asset="USDT", chain="tron", network="mainnet",
                                      declared_amount=USDT, verification_status="UNTRACKED")
    no_order = propose(api, bank, str(usdt.public_id), kind="RELEASE",
                       recipient="The owner")
    assert (no_order.status_code, no_order.json()["code"]) == (400, "no_release_order")
    to_custodian = propose(api, bank, str(usdt.public_id))  # a rejected case keeps nothing
    assert (to_custodian.status_code, to_custodian.json()["code"]) == (
        409, "case_not_transferable")

    order = api(legal).post("/api/v1/release-orders/", {
        "case": str(case.public_id), "kind": "RETURN_TO_OWNER", "court": "Astana City Court",
        "order_number": "2-90/2026", "order_date": "2026-07-02", "document_sha256": RECEIPT,
        "beneficiary": "The owner", "destination_address": OWNER_BTC},
        format="json").json()
    api(legal2).post(f"/api/v1/release-orders/{order['id']}/approve/", {"otp": otp(legal2)},
                     format="json")
    handover = propose(api, bank, str(usdt.public_id), kind="RELEASE", recipient="The owner",
                       release_order=order["id"])
    assert handover.status_code == 201, handover.json()
    closing = api(legal).post(url(case.public_id, "close"),
                              {"reason": "all returned", "otp": otp(legal)}, format="json")
    assert (closing.status_code, closing.json()["code"]) == (409, "assets_not_disposed")
    api(bank2).post(f"/api/v1/asset-handovers/{handover.json()['id']}/approve/",
                    {"otp": otp(bank2)}, format="json")
    usdt.refresh_from_db()
    assert usdt.disposition == Disposition.RELEASED
    entry = JournalEntry.objects.get(handover__public_id=handover.json()["id"])
    assert {ln.account for ln in entry.lines.all()} == {LedgerAccount.RELEASED,
                                                        LedgerAccount.CUSTODY}
    closed = api(legal).post(url(case.public_id, "close"),
                             {"reason": "all returned", "otp": otp(legal)}, format="json")
    assert closed.status_code == 200 and closed.json()["status"] == CaseStatus.CLOSED


def test_a_case_that_reached_in_reserve_with_its_usdt_untouched_is_put_right(
        api, agency, bank, bank2, auditor):
    """Before this rule a case reached IN_RESERVE with 1,500 USDT untouched: its custodian
    handover can still be recorded; the accounting shows the line in the asset's own unit
    (never as BTC)."""
    case = CaseFactory(agency=agency, status=CaseStatus.IN_RESERVE)
    usdt = SeizedAsset.objects.create(case=case, asset="USDT", chain="tron", network="mainnet",
                                      declared_amount=USDT, verification_status="UNTRACKED")
    handover = propose(api, bank, str(usdt.public_id)).json()
    api(bank2).post(f"/api/v1/asset-handovers/{handover['id']}/approve/", {"otp": otp(bank2)},
                    format="json")
    usdt.refresh_from_db()
    case.refresh_from_db()
    assert (usdt.disposition, case.status) == (Disposition.WITH_CUSTODIAN, CaseStatus.IN_RESERVE)
    csv = b"".join(api(auditor).get("/api/v1/reports/accounting.csv").streaming_content)
    rows = [line.split(",") for line in csv.decode().splitlines()]
    handed = [r for r in rows if r[2] == "HANDED_OVER"]
    assert sorted((r[5], r[6], r[7]) for r in handed) == [
        ("CUSTODIAN", str(USDT), ""), ("CUSTODY", str(-USDT), "")]
    listed = api(bank).get("/api/v1/asset-handovers/", {"case": str(case.public_id)}).json()
    assert [h["status"] for h in listed["results"]] == ["APPROVED"]

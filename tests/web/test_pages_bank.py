"""The bank officer's pages: who sees them, the proposal, the approval with its step-up code
(never one's own), the PSBT hand-off with the signers' fingerprints, the live progress, the
deposits and prices with four eyes, the circuit breaker. Everything goes through custody's
services; the pages show their refusals beside the fields, with their codes, and keep what
was typed."""

import base64
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.utils import timezone

from chain.services.breaker import breaker_trip
from custody import chainio, services
from custody.models import Deposit, PriceRecord, Transfer, TransferStatus
from custody.services.wallets import allocate_reserve_address
from intake.models import CaseStatus
from tests.support.custody import (
    fake_utxos,
    make_confiscated_case,
    make_reserve_wallet,
    sign,
    sign_with_foreign_key,
)
from tests.support.keys import signer
from tests.support.second_factor import fresh_step_up, login_verified, otp

from .test_offline import external_references

pytestmark = pytest.mark.django_db

UTXO_SATS = (60_000_000, 40_000_000)


@pytest.fixture
def reserve_wallet(admin_user, bank3):
    return make_reserve_wallet(admin=admin_user, approver=bank3)


@pytest.fixture
def case(agency, custody_wallet, legal):
    return make_confiscated_case(agency=agency, custody_wallet=custody_wallet, legal=legal)


@pytest.fixture
def chain_calls(monkeypatch, case):
    """The node answers: the case's custody UTXOs (in memory), a fee estimate of 10 sat/vB;
    broadcasts are recorded, never sent."""
    calls = {"broadcast": []}
    monkeypatch.setattr(chainio, "custody_utxos", lambda address: fake_utxos(case, *UTXO_SATS))
    monkeypatch.setattr(chainio, "fee_rate_sat_vb", lambda: 10)
    monkeypatch.setattr(services, "queue_broadcast", lambda pk: calls["broadcast"].append(pk))
    return calls


def page(user):
    return login_verified(Client(), user)


def propose(bank, case, wallet, client=None, **extra):
    return (client or page(bank)).post(f"/reserve/cases/{case.public_id}/propose/",
                           {"reserve_wallet": str(wallet.public_id), "destination": "",
                            "fee_rate_sat_vb": "", **extra})


@pytest.fixture
def proposed(bank, case, reserve_wallet, chain_calls):
    response = propose(bank, case, reserve_wallet)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Transfer.objects.get(case=case)


def approve(user, transfer, code=None):
    return page(user).post(f"/reserve/transfers/{transfer.public_id}/approve/",
                           {"payload_hash": transfer.payload_hash,
                            "otp": otp(user) if code is None else code})


@pytest.fixture
def approved(proposed, bank2, bank3):
    for officer in (bank2, bank3):
        assert approve(officer, proposed).status_code == 302
    proposed.refresh_from_db()
    assert proposed.status == TransferStatus.APPROVED
    return proposed


# --- who sees what ---------------------------------------------------------------------------
def test_clerks_and_legal_officers_never_reach_the_bank_pages(web, clerk, legal, proposed):
    for person in (web(clerk), web(legal)):
        for path in ("/reserve/ready/", "/reserve/transfers/",
                     f"/reserve/transfers/{proposed.public_id}/", "/reserve/deposits/",
                     "/reserve/prices/", "/reserve/chain/"):
            assert person.get(path).status_code == 403, path
        home = person.get("/").content.decode()
        assert "/reserve/transfers/" not in home


def test_an_auditor_reads_transfers_but_decides_nothing(auditor, proposed, case):
    client = login_verified(Client(), auditor)
    assert client.get(f"/reserve/transfers/{proposed.public_id}/").status_code == 200
    assert client.get("/reserve/transfers/").status_code == 200
    assert client.get(f"/reserve/cases/{case.public_id}/propose/").status_code == 403
    response = client.post(f"/reserve/transfers/{proposed.public_id}/approve/",
                           {"payload_hash": proposed.payload_hash, "otp": "123456"})
    assert response.status_code == 403


def test_a_bank_officer_signed_in_without_the_code_is_sent_to_the_second_factor(bank):
    client = Client()
    client.force_login(bank)
    response = client.get("/reserve/transfers/")
    assert response.status_code == 302 and "/second-factor/" in response["Location"]


def test_navigation_and_what_needs_me_now(bank, bank2, proposed):
    home = page(bank2).get("/").content.decode()
    for label in ("Ready for transfer", "Transfers", "Deposits", "Prices", "Chain status"):
        assert f">{label}</a>" in home
    assert "Transfers waiting for your approval" in home
    assert "/reserve/transfers/?awaiting_me=on" in home
    waiting = page(bank2).get("/reserve/transfers/?awaiting_me=on").content.decode()
    assert f"/reserve/transfers/{proposed.public_id}/" in waiting
    not_mine = page(bank).get("/reserve/transfers/?awaiting_me=on").content.decode()
    assert f"/reserve/transfers/{proposed.public_id}/" not in not_mine
    assert '<span class="work-list__count">1</span>' in home
    # The proposer is never asked to approve their own proposal.
    mine = page(bank).get("/").content.decode()
    assert '<span class="work-list__count">0</span>' in mine.split(
        "Transfers waiting for your approval")[0].rsplit("<li", 1)[1]


# --- proposing --------------------------------------------------------------------------------
def test_the_ready_list_offers_the_proposal_and_the_page_shows_what_is_approved(
        bank, case, reserve_wallet, chain_calls):
    ready = page(bank).get("/reserve/ready/").content.decode()
    assert case.case_number in ready
    assert f"/reserve/cases/{case.public_id}/propose/" in ready
    form = page(bank).get(f"/reserve/cases/{case.public_id}/propose/").content.decode()
    assert reserve_wallet.label in form and "Fee rate (sat/vB)" in form
    client = page(bank)
    response = propose(bank, case, reserve_wallet, client)
    transfer = Transfer.objects.get(case=case)
    assert response["Location"] == f"/reserve/transfers/{transfer.public_id}/"
    detail = client.get(response["Location"]).content.decode()
    assert "Transfer proposed" in detail
    assert transfer.payload_hash in detail and transfer.unsigned_txid in detail
    for utxo in transfer.payload["inputs"]:
        assert f"{utxo['txid']}:{utxo['vout']}" in detail
    assert transfer.destination.address in detail
    assert "0 of 2 approvals" in detail
    vsize = transfer.fee_sats // transfer.fee_rate_sat_vb
    assert f"10 sat/vB × {vsize} vB" in detail
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_TRANSFER
    # The list of transfers shows it, and its filter works.
    listed = page(bank).get("/reserve/transfers/?status=PROPOSED").content.decode()
    assert f"/reserve/transfers/{transfer.public_id}/" in listed
    none = page(bank).get("/reserve/transfers/?status=SETTLED").content.decode()
    assert f"/reserve/transfers/{transfer.public_id}/" not in none


def test_a_refused_destination_is_shown_beside_the_field_and_the_input_is_kept(
        bank, case, reserve_wallet, chain_calls):
    response = propose(bank, case, reserve_wallet, destination="bc1qnotanaddress",
                       fee_rate_sat_vb="12")
    html = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in html and "invalid_address" in html
    beside = html.split('id="id_destination-error"')[1].split("</p>")[0]
    assert "invalid_address" in beside  # beside the field, not only in the summary
    assert 'value="bc1qnotanaddress"' in html and 'value="12"' in html
    assert not Transfer.objects.exists()
    bad_rate = propose(bank, case, reserve_wallet, fee_rate_sat_vb="100000").content.decode()
    assert "invalid_amount" in bad_rate and 'value="100000"' in bad_rate
    assert not Transfer.objects.exists()


def test_a_case_without_a_final_order_is_refused_by_the_service(
        bank, agency, custody_wallet, legal, reserve_wallet, monkeypatch):
    from intake.models import ConfiscationOrder

    appealed = make_confiscated_case(agency=agency, custody_wallet=custody_wallet, legal=legal,
                                     status=CaseStatus.ON_APPEAL,
                                     finality=ConfiscationOrder.Finality.UNDER_APPEAL)
    monkeypatch.setattr(chainio, "custody_utxos", lambda address: [])
    html = propose(bank, appealed, reserve_wallet).content.decode()
    assert "case_not_transferable" in html
    assert not Transfer.objects.exists()


# --- approving ---------------------------------------------------------------------------------
def test_the_proposer_is_refused_by_the_service_beside_the_form(bank, proposed):
    response = approve(bank, proposed)
    html = response.content.decode()
    assert response.status_code == 200
    assert "own_transfer" in html and "There is a problem" in html
    assert not proposed.approvals.exists()


def test_approval_needs_a_fresh_code_in_the_same_request(bank2, bank3, proposed):
    page_html = page(bank2).get(f"/reserve/transfers/{proposed.public_id}/").content.decode()
    amount = f"{proposed.amount_sats / 100_000_000:.8f}"
    assert f"Approve transfer of {amount} BTC" in page_html
    assert 'autocomplete="one-time-code"' in page_html

    missing = approve(bank2, proposed, code="").content.decode()
    assert "second_factor_required" in missing or "Enter the code" in missing
    wrong = approve(bank2, proposed, code="000000").content.decode()
    assert "second_factor_invalid" in wrong and 'value="000000"' not in wrong
    assert not proposed.approvals.exists()

    assert approve(bank2, proposed).status_code == 302
    again = approve(bank2, proposed).content.decode()
    assert "already_approved" in again
    assert approve(bank3, proposed).status_code == 302
    proposed.refresh_from_db()
    assert proposed.status == TransferStatus.APPROVED
    detail = page(bank2).get(f"/reserve/transfers/{proposed.public_id}/").content.decode()
    assert "2 of 2 approvals" in detail and "Approved by bank2" in detail
    assert "Approved by bank3" in detail
    assert "Download the unsigned PSBT" in detail


def test_an_approval_of_an_older_payload_is_refused(bank2, proposed):
    response = page(bank2).post(f"/reserve/transfers/{proposed.public_id}/approve/",
                                {"payload_hash": "f" * 64, "otp": otp(bank2)})
    assert "payload_changed" in response.content.decode()
    assert not proposed.approvals.exists()
    # The page now carries the current payload's hash for the next try.
    assert f'value="{proposed.payload_hash}"' in response.content.decode()


def test_bad_filters_are_shown_never_a_500(bank, proposed):
    for url in ("/reserve/transfers/?status=BOGUS", "/reserve/transfers/?case=nope",
                "/reserve/deposits/?status=BOGUS", "/reserve/transfers/?page=abc"):
        response = page(bank).get(url)
        assert response.status_code == 200, url
    assert "There is a problem" in page(bank).get(
        "/reserve/transfers/?status=BOGUS").content.decode()
    assert page(bank).get("/reserve/transfers/00000000-0000-0000-0000-000000000000/"
                          ).status_code == 404


def test_rejecting_cancels_with_a_reason_and_a_code(bank2, proposed, case):
    url = f"/reserve/transfers/{proposed.public_id}/reject/"
    empty = page(bank2).post(url, {"reason": "", "otp": otp(bank2)}).content.decode()
    assert "Enter why the transfer is rejected" in empty
    no_code = page(bank2).post(url, {"reason": "Wrong wallet", "otp": ""}).content.decode()
    assert "Wrong wallet" in no_code
    proposed.refresh_from_db()
    assert proposed.status == TransferStatus.PROPOSED
    done = page(bank2).post(url, {"reason": "Wrong wallet", "otp": otp(bank2)})
    assert done.status_code == 302
    proposed.refresh_from_db()
    case.refresh_from_db()
    assert proposed.status == TransferStatus.CANCELLED
    assert case.status == CaseStatus.CONFISCATION_APPROVED


# --- the PSBT hand-off ---------------------------------------------------------------------------
def test_the_psbt_is_handed_out_only_once_approved(bank, proposed):
    response = page(bank).get(f"/reserve/transfers/{proposed.public_id}/psbt/")
    assert response.status_code == 409
    early = page(bank).post(f"/reserve/transfers/{proposed.public_id}/broadcast/")
    assert early.status_code == 409 and "invalid_transition" in early.content.decode()


def test_signed_copies_are_uploaded_and_show_who_signed(bank, approved, chain_calls):
    client = page(bank)
    download = client.get(f"/reserve/transfers/{approved.public_id}/psbt/")
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    unsigned = download.content.decode().strip()
    assert unsigned == approved.unsigned_psbt

    url = f"/reserve/transfers/{approved.public_id}/signatures/"
    c1 = sign(unsigned, "c1")
    # A wrong code: refused, and the uploaded file stays on the page as base64.
    wrong = client.post(url, {"psbt_file": SimpleUploadedFile("c1.psbt", c1.encode()),
                              "otp": "000000"}).content.decode()
    assert "second_factor_invalid" in wrong and c1 in wrong
    approved.refresh_from_db()
    assert approved.status == TransferStatus.APPROVED

    foreign = client.post(url, {"psbt_text": sign_with_foreign_key(unsigned),
                                "otp": otp(bank)}).content.decode()
    assert "signature_foreign_key" in foreign

    binary = base64.b64decode(c1)
    done = client.post(url, {"psbt_file": SimpleUploadedFile("c1.psbt", binary),
                             "otp": otp(bank)})
    assert done.status_code == 302
    detail = client.get(done["Location"]).content.decode()
    fp1 = signer("c1").my_fingerprint.hex()
    fp2 = signer("c2").my_fingerprint.hex()
    assert f'data-testid="signed-{fp1}"' in detail
    assert f'data-testid="signed-{fp2}"' not in detail
    assert "more signatures are needed" in detail
    again = client.post(url, {"psbt_text": c1, "otp": otp(bank)}).content.decode()
    assert "no_new_signatures" in again

    done = client.post(url, {"psbt_text": sign(unsigned, "c2"), "otp": otp(bank)})
    assert done.status_code == 302
    approved.refresh_from_db()
    assert approved.final_tx_hex and approved.status == TransferStatus.SIGNING
    detail = client.get(done["Location"]).content.decode()
    assert f'data-testid="signed-{fp2}"' in detail
    assert "fully signed" in detail
    assert "Upload the signed PSBT" not in detail
    assert 'hx-trigger="every' in detail  # the progress is live from now on
    # Fully signed and not yet sent: the broadcast can be queued again from the page (the
    # task is safe to run twice); a clerk cannot.
    assert "Send it to the network now" in detail
    sent = client.post(f"/reserve/transfers/{approved.public_id}/broadcast/")
    assert sent.status_code == 302 and chain_calls["broadcast"] == [approved.pk]


def test_the_progress_partial_reloads_the_page_when_the_state_changes(bank, approved):
    # As the watchers leave it (their own tests drive transfer_apply_chain_state).
    Transfer.objects.filter(pk=approved.pk).update(status=TransferStatus.CONFIRMING,
                                                   txid="ab" * 32, confirmations=2)
    client = page(bank)
    url = f"/reserve/transfers/{approved.public_id}/progress/"
    same = client.get(f"{url}?seen=CONFIRMING", HTTP_HX_REQUEST="true")
    html = same.content.decode()
    assert "2 of 6 confirmations" in html and 'aria-valuenow="2"' in html
    assert "HX-Refresh" not in same
    changed = client.get(f"{url}?seen=BROADCAST", HTTP_HX_REQUEST="true")
    assert changed["HX-Refresh"] == "true"


# --- deposits ----------------------------------------------------------------------------------
@pytest.fixture
def deposit(reserve_wallet):
    with transaction.atomic():
        wallet = type(reserve_wallet).objects.select_for_update().get(pk=reserve_wallet.pk)
        address = allocate_reserve_address(wallet)
    return services.deposit_observe(reserve_address=address, txid="cd" * 32, vout=0,
                                    amount_sats=312_500_000, confirmations=6, block_height=200)


def test_a_deposit_is_attributed_by_one_officer_and_approved_by_another(
        bank, bank2, deposit, monkeypatch):
    monkeypatch.setattr(chainio, "watch_deposit", lambda **kw: None)
    listed = page(bank).get("/reserve/deposits/").content.decode()
    assert deposit.txid in listed and "3.12500000" in listed
    url = f"/reserve/deposits/{deposit.public_id}/attribute/"
    missing = page(bank).post(url, {"source": "", "note": "Pool payout 77",
                                    "otp": otp(bank)}).content.decode()
    assert "Choose where the coins came from" in missing and "Pool payout 77" in missing
    no_code = page(bank).post(url, {"source": "STATE_MINING", "note": "Pool payout 77",
                                    "otp": ""}).content.decode()
    assert "Pool payout 77" in no_code
    assert page(bank).post(url, {"source": "STATE_MINING", "note": "Pool payout 77",
                                 "otp": otp(bank)}).status_code == 302
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.PROPOSED

    decide = f"/reserve/deposits/{deposit.public_id}/decide/"
    own = page(bank).post(decide, {"decision": "approve", "otp": otp(bank)}).content.decode()
    assert "own_entry" in own
    assert page(bank2).post(decide, {"decision": "approve",
                                     "otp": otp(bank2)}).status_code == 302
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.ATTRIBUTED


# --- prices --------------------------------------------------------------------------------------
def test_a_price_is_recorded_with_a_code_and_approved_by_a_second_person(bank, bank2):
    observed = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    bad = page(bank).post("/reserve/prices/", {"kzt_per_unit": "abc", "source": "KASE fixing",
                                               "observed_at": observed, "otp": otp(bank)})
    html = bad.content.decode()
    assert "invalid_amount" in html and 'value="KASE fixing"' in html
    assert not PriceRecord.objects.exists()
    done = page(bank).post("/reserve/prices/", {"kzt_per_unit": "45 000 000,50",
                                                "source": "KASE fixing",
                                                "observed_at": observed, "otp": otp(bank)})
    assert done.status_code == 302
    price = PriceRecord.objects.get()
    assert str(price.kzt_per_unit) == "45000000.50"
    assert price.status == PriceRecord.Status.PENDING
    url = f"/reserve/prices/{price.public_id}/approve/"
    own = page(bank).post(url, {"otp": otp(bank)}).content.decode()
    assert "own_entry" in own
    assert page(bank2).post(url, {"otp": otp(bank2)}).status_code == 302
    price.refresh_from_db()
    assert price.status == PriceRecord.Status.ACTIVE
    listed = page(bank2).get("/reserve/prices/").content.decode()
    assert "45,000,000.50" in listed and "KASE fixing" in listed


# --- the circuit breaker -------------------------------------------------------------------------
def test_the_breaker_state_and_why_is_shown_and_urgent_at_home(bank):
    calm = page(bank).get("/reserve/chain/").content.decode()
    assert "Closed: settlement and broadcasts run" in calm
    breaker_trip(cause="stale_tip", reason="The node's tip (height 120) is 9000 s old; "
                                           "the limit is 3600 s.")
    tripped = page(bank).get("/reserve/chain/").content.decode()
    assert "Tripped: settlement and broadcasts are paused" in tripped
    assert "9000 s old" in tripped and "too old" in tripped
    assert "<form" not in tripped.split('<main')[1].split("</main>")[0]  # read-only
    home = page(bank).get("/").content.decode()
    assert "work-list__item--urgent" in home and "circuit breaker is tripped" in home


def test_a_second_officer_rejects_an_attribution_with_a_reason_and_a_code(
        bank, bank2, deposit):
    services.deposit_attribute(deposit=deposit, actor=bank, source="OTHER", note="Unknown",
                               step_up=otp(bank))
    decide = f"/reserve/deposits/{deposit.public_id}/decide/"
    empty = page(bank2).post(decide, {"decision": "reject", "reason": "",
                                      "otp": otp(bank2)}).content.decode()
    assert "Enter why the attribution is rejected" in empty
    wrong = page(bank2).post(decide, {"decision": "reject", "reason": "Not ours to say",
                                      "otp": "000000"}).content.decode()
    assert "second_factor_invalid" in wrong and "Not ours to say" in wrong
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.PROPOSED
    time.sleep(1.1)  # django-otp throttles after the wrong code: 1 s, then doubling
    done = page(bank2).post(decide, {"decision": "reject", "reason": "Not ours to say",
                                     "otp": otp(bank2)})
    assert done.status_code == 302
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.UNATTRIBUTED


# --- languages, values, no external URL --------------------------------------------------------
def test_the_transfer_page_shows_kzt_beside_btc_at_the_approved_price(bank, bank2, proposed):
    price = services.price_record(actor=bank, kzt_per_unit=45_000_000, source="KASE fixing",
                                  observed_at=timezone.now(), step_up=fresh_step_up(bank))
    services.price_approve(price=price, actor=bank2, step_up=fresh_step_up(bank2))
    html = page(bank2).get(f"/reserve/transfers/{proposed.public_id}/").content.decode()
    kzt = f"{proposed.amount_sats * 45_000_000 / 100_000_000:,.2f}"
    assert f"≈ {kzt} KZT" in html and "KASE fixing" in html


def test_the_bank_pages_speak_kazakh_and_russian(bank, proposed):
    client = page(bank)
    url = f"/reserve/transfers/{proposed.public_id}/"
    client.post("/i18n/setlang/", {"language": "kk", "next": url})
    kk = client.get(url).content.decode()
    assert '<html lang="kk">' in kk
    assert "Не бекітіледі" in kk and "2 бекітудің 0" in kk and "Аударымдар" in kk
    client.post("/i18n/setlang/", {"language": "ru", "next": url})
    ru = client.get(url).content.decode()
    assert "Что утверждается" in ru and "0 из 2 утверждений" in ru
    assert "Предложен, ждёт утверждений" in ru
    refused = client.post(f"{url}approve/", {"payload_hash": proposed.payload_hash,
                                             "otp": otp(bank)}).content.decode()
    assert "other bank officers approve it" not in refused.split("<main")[1].split(
        'lang="en"')[0]
    assert "own_transfer" in refused and "утверждают другие сотрудники" in refused


def test_no_bank_page_references_an_external_url(bank, proposed, deposit, case):
    client = page(bank)
    for url in ("/", "/reserve/ready/", "/reserve/transfers/",
                f"/reserve/transfers/{proposed.public_id}/",
                f"/reserve/transfers/{proposed.public_id}/progress/",
                "/reserve/deposits/", f"/reserve/deposits/{deposit.public_id}/attribute/",
                "/reserve/prices/", "/reserve/chain/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert external_references(response.content.decode()) == [], url


def test_the_demo_bank_officer_signs_in_with_the_development_code_and_finds_the_work(client):
    from django.core.management import call_command

    from tools.demo_otp import demo_code

    call_command("load_demo_data", verbosity=0)
    client.post("/sign-in/", {"username": "bank1", "password": "qazyna-demo"})
    verify = client.get("/")["Location"]
    assert verify.startswith("/second-factor/")
    assert client.post(verify, {"code": demo_code("bank1"), "next": "/"})["Location"] == "/"
    home = client.get("/").content.decode()
    assert "Cases ready for transfer to the reserve" in home
    ready = client.get("/reserve/ready/").content.decode()
    assert "AFM-2026-0004" in ready  # confiscated in the demo data, waiting for a transfer
    prices = client.get("/reserve/prices/").content.decode()
    assert "52,000,000.00" in prices  # the demo's approved price


def test_valuations_at_reserve_entry_show_with_their_price(bank, bank2, approved, case):
    from custody.services.prices import value_at_settlement

    price = services.price_record(actor=bank, kzt_per_unit=40_000_000, source="NBK rate",
                                  observed_at=timezone.now() - timezone.timedelta(days=400),
                                  step_up=fresh_step_up(bank))
    services.price_approve(price=price, actor=bank2, step_up=fresh_step_up(bank2))
    # As settlement leaves it (the chain-state service's own tests drive it end to end).
    Transfer.objects.filter(pk=approved.pk).update(status=TransferStatus.SETTLED,
                                                   settled_at=timezone.now())
    approved.refresh_from_db()
    value_at_settlement(approved)
    detail = page(bank).get(f"/reserve/transfers/{approved.public_id}/").content.decode()
    kzt = f"{approved.amount_sats * 40_000_000 / 100_000_000:,.2f}"
    assert "Valuations in KZT" in detail and "At reserve entry (settlement)" in detail
    assert kzt in detail and "NBK rate" in detail
    prices = page(bank).get("/reserve/prices/").content.decode()
    assert "Latest valuations" in prices and case.case_number in prices and kzt in prices

"""Assets handed over without a transfer, in the browser: a bank officer records that a
case's USDT went to the fund's custodian (receipt SHA-256, txid, fresh code), another
approves it with a code (never the one who recorded it); the list of pending handovers and
the home page's counts. The same services as the API; refusals beside their fields with
their codes, what was typed kept."""

import hashlib

import pytest
from django.test import Client

from custody.models import AssetHandover
from intake.models import Disposition, SeizedAsset
from tests.support.custody import make_confiscated_case
from tests.support.second_factor import login_verified, otp

from .test_offline import external_references

pytestmark = pytest.mark.django_db

RECEIPT = hashlib.sha256(b"custodian's signed receipt for 1,500 USDT").hexdigest()
TRON_TXID = "ab" * 32
USDT = 1_500_000_000


def page(user):
    return login_verified(Client(), user)


@pytest.fixture
def usdt(agency, custody_wallet, legal):
    case = make_confiscated_case(agency=agency, custody_wallet=custody_wallet, legal=legal)
    return SeizedAsset.objects.create(case=case, asset="USDT", chain="tron", network="mainnet",
                                      declared_amount=USDT)


def form(**extra):
    return {"kind": "TO_CUSTODIAN", "release_order": "", "recipient": "NBK USDT custodian",
            "txid": TRON_TXID, "receipt_sha256": RECEIPT, "amount": "", "note": "", **extra}


@pytest.fixture
def proposed(bank, usdt):
    response = page(bank).post(f"/reserve/handovers/assets/{usdt.public_id}/new/",
                               form(otp=otp(bank)))
    assert response.status_code == 302, response.content.decode()[:3000]
    return AssetHandover.objects.get(asset=usdt)


def test_the_list_offers_the_assets_to_hand_over(bank, usdt, web, clerk, legal):
    html = page(bank).get("/reserve/handovers/").content.decode()
    assert f"/reserve/handovers/assets/{usdt.public_id}/new/" in html
    assert "Assets waiting to be handed to the custodian or released" in \
        page(bank).get("/").content.decode()
    for person in (web(clerk), web(legal)):
        assert person.get("/reserve/handovers/").status_code == 403
    # The chain-watched BTC of the same case leaves by transfer: not offered here.
    btc = usdt.case.assets.get(asset="BTC")
    assert f"/reserve/handovers/assets/{btc.public_id}/new/" not in html


def test_a_refusal_is_shown_beside_the_field_with_its_code_and_nothing_is_lost(bank, usdt):
    url = f"/reserve/handovers/assets/{usdt.public_id}/new/"
    bad = page(bank).post(url, form(txid="not a txid", recipient="Өскемен custodian",
                                    otp=otp(bank)))
    html = bad.content.decode()
    assert bad.status_code == 200 and "invalid_txid" in html and 'href="#id_txid"' in html
    assert "Өскемен custodian" in html and 'value="not a txid"' in html
    no_receipt = page(bank).post(url, form(receipt_sha256="", otp=otp(bank))).content.decode()
    assert "Choose the receipt&#x27;s document, or enter its SHA-256" in no_receipt
    no_code = page(bank).post(url, form()).content.decode()
    assert "Enter the code from your authenticator app" in no_code
    assert not AssetHandover.objects.exists()


def test_a_second_officer_approves_it_with_a_code(bank, bank2, proposed, usdt):
    assert "Handovers waiting for your approval" in page(bank2).get("/").content.decode()
    assert "Handovers waiting for your approval" not in page(bank).get("/").content.decode()
    detail = page(bank2).get(f"/reserve/handovers/{proposed.public_id}/").content.decode()
    for shown in (RECEIPT, TRON_TXID, "NBK USDT custodian", usdt.case.case_number):
        assert shown in detail
    assert 'data-testid="approve-form"' in detail and external_references(detail) == []
    own = page(bank).get(f"/reserve/handovers/{proposed.public_id}/").content.decode()
    assert 'data-testid="approve-form"' not in own
    refused = page(bank).post(f"/reserve/handovers/{proposed.public_id}/approve/",
                              {"otp": otp(bank)})
    assert "own_entry" in refused.content.decode()

    done = page(bank2).post(f"/reserve/handovers/{proposed.public_id}/approve/",
                            {"otp": otp(bank2)})
    assert done.status_code == 302
    proposed.refresh_from_db()
    usdt.refresh_from_db()
    assert proposed.status == AssetHandover.Status.APPROVED
    assert usdt.disposition == Disposition.WITH_CUSTODIAN
    again = page(bank2).post(f"/reserve/handovers/{proposed.public_id}/approve/",
                             {"otp": "123456"})
    assert again.status_code == 409


def test_rejecting_needs_a_reason_and_a_code_and_the_asset_stays_held(bank2, proposed, usdt):
    url = f"/reserve/handovers/{proposed.public_id}/reject/"
    assert "Enter why the handover is rejected" in \
        page(bank2).post(url, {"otp": otp(bank2)}).content.decode()
    assert page(bank2).post(url, {"reason": "Wrong receipt"}).status_code == 200
    proposed.refresh_from_db()
    assert proposed.status == AssetHandover.Status.PROPOSED
    assert page(bank2).post(url, {"reason": "Wrong receipt", "otp": otp(bank2)}
                            ).status_code == 302
    proposed.refresh_from_db()
    usdt.refresh_from_db()
    assert proposed.status == AssetHandover.Status.REJECTED and not usdt.is_disposed
    assert f"/reserve/handovers/assets/{usdt.public_id}/new/" in \
        page(bank2).get("/reserve/handovers/").content.decode()


def test_an_auditor_reads_handovers_but_decides_nothing(auditor, proposed):
    client = login_verified(Client(), auditor)
    assert client.get("/reserve/handovers/").status_code == 200
    assert client.get(f"/reserve/handovers/{proposed.public_id}/").status_code == 200
    assert client.post(f"/reserve/handovers/{proposed.public_id}/approve/",
                       {"otp": "123456"}).status_code == 403

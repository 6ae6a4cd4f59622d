"""Court-ordered releases in the browser: a legal officer records the court's release order
on a rejected case, a second legal officer sees it in the queue (and counted on the home
page), reviews exactly what is ordered and approves it with a fresh code (never their own
order); a bank officer then proposes the release transfer from the order's page, which
continues on the transfer pages. Refusals are shown beside their fields with the service's
code, and what was typed stays."""

import hashlib

import pytest
from django.test import Client
from embit import ec, script
from embit.networks import NETWORKS

from custody import chainio
from custody.models import ReleaseOrder, Transfer, TransferKind
from intake.models import CaseStatus
from tests.support.custody import fake_utxos, make_confiscated_case, make_reserve_wallet
from tests.support.second_factor import login_verified, otp

from .test_offline import external_references

pytestmark = pytest.mark.django_db

DOC = hashlib.sha256(b"release order 2-77/2026").hexdigest()


def regtest_address(seed: bytes, network: str = "regtest") -> str:
    key = ec.PrivateKey(hashlib.sha256(seed).digest()).get_public_key()
    return script.p2wpkh(key).address(NETWORKS[network])


OWNER = regtest_address(b"the owner's own wallet")


def page(user):
    return login_verified(Client(), user)


def order_form(**extra):
    return {"kind": "RETURN_TO_OWNER", "court": "Astana City Court",
            "order_number": "2-77/2026", "order_date": "2026-07-01",
            "beneficiary": "Suspect One (acquitted)", "destination_address": OWNER,
            "document_sha256": DOC, **extra}


@pytest.fixture
def rejected(agency, custody_wallet, legal):
    return make_confiscated_case(agency=agency, custody_wallet=custody_wallet, legal=legal,
                                 status=CaseStatus.REJECTED)


@pytest.fixture
def pending(legal, rejected):
    response = page(legal).post(f"/releases/cases/{rejected.public_id}/new/", order_form())
    assert response.status_code == 302, response.content.decode()[:3000]
    return ReleaseOrder.objects.get(case=rejected)


def approve(user, order, code=None):
    return page(user).post(f"/releases/{order.public_id}/approve/",
                           {"otp": otp(user) if code is None else code})


def test_the_case_page_offers_a_legal_officer_to_record_a_release_order(legal, clerk, rejected,
                                                                        web):
    html = page(legal).get(f"/cases/{rejected.public_id}/").content.decode()
    assert f"/releases/cases/{rejected.public_id}/new/" in html
    assert f"/releases/cases/{rejected.public_id}/new/" not in \
        web(clerk).get(f"/cases/{rejected.public_id}/").content.decode()
    assert web(clerk).get(f"/releases/cases/{rejected.public_id}/new/").status_code == 403
    assert web(clerk).get("/releases/").status_code == 403


def test_a_refused_order_shows_the_code_beside_the_field_and_keeps_what_was_typed(
        legal, rejected):
    mainnet = regtest_address(b"owner", "main")
    response = page(legal).post(f"/releases/cases/{rejected.public_id}/new/",
                                order_form(destination_address=mainnet,
                                           beneficiary="Әлібек Қасымұлы"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "wrong_network" in html and "There is a problem" in html
    assert 'href="#id_destination_address"' in html  # the summary links to the field
    assert f'value="{mainnet}"' in html and "Әлібек Қасымұлы" in html
    future = page(legal).post(f"/releases/cases/{rejected.public_id}/new/",
                              order_form(order_date="2099-01-01")).content.decode()
    assert "date_in_future" in future
    missing = page(legal).post(f"/releases/cases/{rejected.public_id}/new/",
                               order_form(document_sha256="")).content.decode()
    assert "Choose the order&#x27;s document, or enter its SHA-256" in missing
    assert not ReleaseOrder.objects.exists()


def test_a_case_not_releasable_is_refused_with_its_code(legal, agency, custody_wallet):
    case = make_confiscated_case(agency=agency, custody_wallet=custody_wallet, legal=legal,
                                 status=CaseStatus.UNDER_REVIEW)
    html = page(legal).post(f"/releases/cases/{case.public_id}/new/",
                            order_form()).content.decode()
    assert "case_not_transferable" in html and not ReleaseOrder.objects.exists()


def test_the_second_legal_officer_sees_it_waiting_and_approves_with_a_code(
        legal, legal2, pending):
    home = page(legal2).get("/").content.decode()
    assert "Release orders waiting for your approval" in home
    queue = page(legal2).get("/releases/").content.decode()
    assert f"/releases/{pending.public_id}/" in queue
    detail = page(legal2).get(f"/releases/{pending.public_id}/").content.decode()
    for shown in (OWNER, DOC, "Astana City Court", "2-77/2026", "Suspect One (acquitted)",
                  pending.case.case_number):
        assert shown in detail
    assert 'data-testid="approve-form"' in detail and "Approve release order 2-77/2026" in detail
    assert external_references(detail) == []

    # The one who recorded it is not offered the decision, and the service refuses it.
    own = page(legal).get(f"/releases/{pending.public_id}/").content.decode()
    assert 'data-testid="approve-form"' not in own
    assert "another legal officer approves or rejects it" in own
    refused = approve(legal, pending)
    assert refused.status_code == 200 and "own_entry" in refused.content.decode()

    wrong = approve(legal2, pending, code="000000")
    assert wrong.status_code == 200 and 'id="id_approve_otp"' in wrong.content.decode()
    pending.refresh_from_db()
    assert pending.status == "PENDING"

    response = approve(legal2, pending)
    assert response.status_code == 302
    pending.refresh_from_db()
    assert (pending.status, pending.approved_by.username) == ("ACTIVE", "legal2")
    after = page(legal2).get(f"/releases/{pending.public_id}/").content.decode()
    assert 'data-testid="approve-form"' not in after and 'data-testid="reject-form"' not in after


def test_rejecting_needs_a_reason_and_a_code(legal2, pending):
    client = page(legal2)
    no_reason = client.post(f"/releases/{pending.public_id}/reject/", {"otp": otp(legal2)})
    assert "Enter why the release order is rejected" in no_reason.content.decode()
    no_code = client.post(f"/releases/{pending.public_id}/reject/",
                          {"reason": "The number does not match the document."})
    html = no_code.content.decode()
    assert "The number does not match the document." in html
    pending.refresh_from_db()
    assert pending.status == "PENDING"
    done = client.post(f"/releases/{pending.public_id}/reject/",
                       {"reason": "The number does not match the document.",
                        "otp": otp(legal2)})
    assert done.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "REJECTED"
    # Nothing more is offered on a rejected order.
    assert page(legal2).post(f"/releases/{pending.public_id}/approve/",
                             {"otp": "123456"}).status_code == 409


def test_a_bank_officer_proposes_the_release_once_approved(
        monkeypatch, legal2, bank, bank2, admin_user, bank3, pending, rejected):
    make_reserve_wallet(admin=admin_user, approver=bank3)
    monkeypatch.setattr(chainio, "custody_utxos",
                        lambda address: fake_utxos(rejected, 60_000_000, 40_000_000))
    monkeypatch.setattr(chainio, "fee_rate_sat_vb", lambda: 10)
    early = page(bank).get(f"/releases/{pending.public_id}/").content.decode()
    assert 'data-testid="propose-form"' not in early
    refused = page(bank).post(f"/releases/{pending.public_id}/propose/", {})
    assert "no_release_order" in refused.content.decode()
    assert approve(legal2, pending).status_code == 302

    assert "Approved release orders waiting for a release transfer" in \
        page(bank).get("/").content.decode()
    detail = page(bank).get(f"/releases/{pending.public_id}/").content.decode()
    assert 'data-testid="propose-form"' in detail
    response = page(bank).post(f"/releases/{pending.public_id}/propose/",
                               {"fee_rate_sat_vb": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    transfer = Transfer.objects.get(case=rejected)
    assert (transfer.kind, transfer.destination_address) == (TransferKind.RELEASE, OWNER)
    assert response["Location"] == f"/reserve/transfers/{transfer.public_id}/"
    shown = page(bank2).get(response["Location"]).content.decode()
    assert "Release of" in shown and OWNER in shown and 'data-testid="release-order"' in shown
    assert 'data-testid="approve-form"' in shown  # the transfer pages' own approval
    # The order now shows its transfer and offers no second proposal.
    after = page(bank).get(f"/releases/{pending.public_id}/").content.decode()
    assert f"/reserve/transfers/{transfer.public_id}/" in after
    assert 'data-testid="propose-form"' not in after


def test_legal_officers_do_not_propose_and_bank_officers_do_not_approve_orders(
        legal2, bank, pending):
    assert page(legal2).post(f"/releases/{pending.public_id}/propose/", {}).status_code == 403
    assert page(bank).post(f"/releases/{pending.public_id}/approve/",
                           {"otp": "123456"}).status_code == 403

"""Django admin: read-mostly, scoped by the same selectors, changes through services."""

import pytest

from core.models import AuditEvent
from core.roles import Role
from intake.models import CaseStatus, CustodyWallet
from tests.support.factories import CaseFactory, UserFactory
from tests.support.keys import key_expression, private_extended
from tests.support.second_factor import login_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_clerk(agency):
    user = UserFactory(username="staff_clerk", agency=agency, roles=[Role.CLERK], is_staff=True)
    return user


def test_admin_lists_only_what_the_selector_allows(client, staff_clerk, agency, other_agency):
    mine = CaseFactory(agency=agency, case_number="MINE-1")
    theirs = CaseFactory(agency=other_agency, case_number="THEIRS-1")
    login_verified(client, staff_clerk)
    listing = client.get("/admin/intake/seizurecase/")
    assert listing.status_code == 200
    assert b"MINE-1" in listing.content and b"THEIRS-1" not in listing.content
    assert client.get(f"/admin/intake/seizurecase/{mine.pk}/change/").status_code == 200
    # Another agency's case does not exist for this person, in the admin too.
    assert client.get(f"/admin/intake/seizurecase/{theirs.pk}/change/").status_code == 302


def test_case_status_is_not_editable_in_admin(client, admin_user, agency):
    admin_user.is_superuser = True
    admin_user.save()
    case = CaseFactory(agency=agency, status=CaseStatus.SUBMITTED)
    login_verified(client, admin_user)
    page = client.get(f"/admin/intake/seizurecase/{case.pk}/change/")
    assert page.status_code == 200
    assert b'name="status"' not in page.content
    client.post(f"/admin/intake/seizurecase/{case.pk}/change/",
                {"status": CaseStatus.CONFISCATION_APPROVED})
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED
    assert client.get("/admin/intake/seizurecase/add/").status_code == 403
    assert client.post(f"/admin/intake/seizurecase/{case.pk}/delete/").status_code == 403


def test_audit_events_cannot_be_changed_in_admin(client, admin_user):
    admin_user.is_superuser = True
    admin_user.save()
    login_verified(client, admin_user)
    event = AuditEvent.objects.first()
    assert client.get("/admin/core/auditevent/").status_code == 200
    assert client.post(f"/admin/core/auditevent/{event.pk}/delete/").status_code == 403


def test_custody_wallet_is_added_through_the_service(client, admin_user, other_agency):
    admin_user.is_superuser = True
    admin_user.save()
    login_verified(client, admin_user)
    form = {"agency": other_agency.pk, "network": "regtest", "label": "Police custody",
            "threshold_m": 2,
            "xpubs": "\n".join(key_expression(n) for n in ("a1", "a2", "a3"))}
    response = client.post("/admin/intake/custodywallet/add/", form)
    assert response.status_code == 302, response.content[:2000]
    wallet = CustodyWallet.objects.get(agency=other_agency)
    assert wallet.descriptor.startswith("wsh(sortedmulti(2,") and "#" in wallet.descriptor
    assert AuditEvent.objects.filter(action="custody_wallet.registered",
                                     object_id=str(wallet.public_id)).exists()


def test_custody_wallet_admin_refuses_a_private_key(client, admin_user, other_agency):
    admin_user.is_superuser = True
    admin_user.save()
    login_verified(client, admin_user)
    form = {"agency": other_agency.pk, "network": "regtest", "label": "Police custody",
            "threshold_m": 2,
            "xpubs": "\n".join([private_extended("a1"), key_expression("a2"),
                                key_expression("a3")])}
    response = client.post("/admin/intake/custodywallet/add/", form)
    assert response.status_code == 200
    assert b"private" in response.content
    assert not CustodyWallet.objects.filter(agency=other_agency).exists()


def test_reserve_wallet_admin_enters_pending_and_refuses_private_keys(client, admin_user):
    from custody.models import ApprovalStatus, ReserveWallet

    admin_user.is_superuser = True
    admin_user.save()
    login_verified(client, admin_user)
    good = {"network": "regtest", "label": "Cold reserve", "threshold_m": 2,
            "xpubs": "\n".join(key_expression(n) for n in ("r1", "r2", "r3"))}
    bad = {**good, "xpubs": "\n".join([private_extended("r1"), key_expression("r2")])}
    refused = client.post("/admin/custody/reservewallet/add/", bad)
    assert refused.status_code == 200 and b"private" in refused.content
    assert not ReserveWallet.objects.exists()
    assert client.post("/admin/custody/reservewallet/add/", good).status_code == 302
    wallet = ReserveWallet.objects.get()
    assert wallet.status == ApprovalStatus.PENDING and wallet.entered_by == admin_user

"""Roles change only by a grant a second admin approves (issue: no single person can move
or rewrite the reserve). Each attack from the security review first, then the rules."""

import pytest
from django.db import IntegrityError, transaction

from core.errors import PermissionRefused
from core.models import AuditEvent, RoleGrant, User
from core.roles import Role
from core.services import role_grant_approve, role_grant_reject, role_grant_request
from tests.support.factories import UserFactory
from tests.support.second_factor import code_for, enrol, fresh_step_up, login_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin2(db):
    return UserFactory(username="admin2", roles=[Role.ADMIN], is_staff=True)


def test_attack_an_admin_cannot_make_themselves_superuser_or_bank_officer_in_admin(
        client, admin_user):
    """The review: a staff admin ticked is_superuser and added bank_officer on their own
    account in Django admin. The change form no longer carries those fields."""
    login_verified(client, admin_user)
    bank_group = __import__("django.contrib.auth.models", fromlist=["Group"]).Group.objects \
        .get(name=Role.BANK_OFFICER)
    response = client.post(f"/admin/core/user/{admin_user.pk}/change/", {
        "username": admin_user.username, "email": "a@example.kz", "is_active": "on",
        "is_superuser": "on", "is_staff": "on", "groups": [bank_group.pk],
        "user_permissions": [], "first_name": "", "last_name": "", "agency": "",
    })
    assert response.status_code in (200, 302)
    admin_user.refresh_from_db()
    assert not admin_user.is_superuser
    assert Role.BANK_OFFICER not in admin_user.role_names
    assert Role.ADMIN in admin_user.role_names


def test_attack_one_admin_alone_cannot_create_a_bank_officer(admin_user):
    officer = UserFactory(username="new_officer")
    grant = role_grant_request(actor=admin_user, user=officer, role=Role.BANK_OFFICER,
                               reason="joins the custody unit",
                               step_up=fresh_step_up(admin_user))
    assert grant.status == RoleGrant.Status.PENDING
    assert Role.BANK_OFFICER not in User.objects.get(pk=officer.pk).role_names
    with pytest.raises(PermissionRefused) as own:
        role_grant_approve(grant=grant, actor=admin_user, step_up=fresh_step_up(admin_user))
    assert own.value.code == "own_entry"
    assert Role.BANK_OFFICER not in User.objects.get(pk=officer.pk).role_names


@pytest.mark.parametrize(("role", "action"), [("superuser", "GRANT"), ("", "GRANT"),
                                              ("bank_officer", "PROMOTE")])
def test_an_unknown_role_or_action_is_refused_and_changes_nothing(admin_user, role, action):
    from core.errors import ValidationFailed

    officer = UserFactory(username="officer")
    with pytest.raises(ValidationFailed):
        role_grant_request(actor=admin_user, user=officer, role=role, action=action,
                           reason="x", step_up=fresh_step_up(admin_user))
    assert not RoleGrant.objects.exists()


def test_nobody_asks_for_their_own_role(admin_user):
    with pytest.raises(PermissionRefused) as own:
        role_grant_request(actor=admin_user, user=admin_user, role=Role.BANK_OFFICER,
                           reason="me", step_up=fresh_step_up(admin_user))
    assert own.value.code == "own_entry"
    assert not RoleGrant.objects.exists()


def test_a_second_admin_approves_and_the_audit_names_both(admin_user, admin2):
    officer = UserFactory(username="new_officer")
    grant = role_grant_request(actor=admin_user, user=officer, role=Role.BANK_OFFICER,
                               reason="joins the custody unit",
                               step_up=fresh_step_up(admin_user))
    proof = fresh_step_up(admin2)
    events_before = AuditEvent.objects.count()
    role_grant_approve(grant=grant, actor=admin2, step_up=proof)
    officer = User.objects.get(pk=officer.pk)
    assert Role.BANK_OFFICER in officer.role_names and not officer.is_staff
    approved = AuditEvent.objects.get(action="role.grant_approved")
    assert approved.actor_username == "admin2"
    assert approved.after["requested_by"] == "admin"
    assert approved.after["approved_by"] == "admin2"
    assert approved.after["second_factor"] == "totp"
    # The service's event only: the m2m tripwire stays quiet for its own change.
    assert AuditEvent.objects.count() == events_before + 1


def test_the_person_concerned_cannot_decide(admin_user, admin2):
    grant = role_grant_request(actor=admin_user, user=admin2, role=Role.AUDITOR,
                               reason="also audits", step_up=fresh_step_up(admin_user))
    with pytest.raises(PermissionRefused):
        role_grant_approve(grant=grant, actor=admin2, step_up=fresh_step_up(admin2))


def test_decisions_need_a_fresh_code_of_the_decider(admin_user, admin2):
    officer = UserFactory(username="new_officer")
    with pytest.raises(PermissionRefused) as missing:
        role_grant_request(actor=admin_user, user=officer, role=Role.CLERK, reason="x",
                           step_up=None)
    assert missing.value.code == "second_factor_required"
    grant = role_grant_request(actor=admin_user, user=officer, role=Role.CLERK, reason="x",
                               step_up=fresh_step_up(admin_user))
    with pytest.raises(PermissionRefused):  # admin_user's proof, admin2's decision
        role_grant_approve(grant=grant, actor=admin2, step_up=fresh_step_up(admin_user))
    assert RoleGrant.objects.get(pk=grant.pk).status == RoleGrant.Status.PENDING


def test_revocation_and_rejection_follow_the_same_rules(admin_user, admin2):
    officer = UserFactory(username="officer", roles=[Role.BANK_OFFICER])
    grant = role_grant_request(actor=admin_user, user=officer, role=Role.BANK_OFFICER,
                               action=RoleGrant.Action.REVOKE, reason="left the unit",
                               step_up=fresh_step_up(admin_user))
    role_grant_approve(grant=grant, actor=admin2, step_up=fresh_step_up(admin2))
    assert Role.BANK_OFFICER not in User.objects.get(pk=officer.pk).role_names
    other = role_grant_request(actor=admin_user, user=officer, role=Role.ADMIN,
                               reason="no", step_up=fresh_step_up(admin_user))
    role_grant_reject(grant=other, actor=admin2, reason="not justified")
    assert RoleGrant.objects.get(pk=other.pk).status == RoleGrant.Status.REJECTED
    assert Role.ADMIN not in User.objects.get(pk=officer.pk).role_names


def test_the_database_refuses_a_self_approved_grant(admin_user):
    officer = UserFactory(username="officer")
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleGrant.objects.create(user=officer, role=Role.ADMIN, reason="x",
                                 requested_by=admin_user, decided_by=admin_user)


def test_granting_admin_in_django_admin_takes_two_admins(client, admin_user, admin2):
    officer = UserFactory(username="officer")
    device1, device2 = enrol(admin_user), enrol(admin2)
    login_verified(client, admin_user)
    response = client.post("/admin/core/rolegrant/add/", {
        "user": officer.pk, "role": Role.ADMIN, "action": "GRANT",
        "reason": "second IT admin", "otp": code_for(device1)})
    assert response.status_code == 302, response.content[:2000]
    grant = RoleGrant.objects.get()
    assert Role.ADMIN not in User.objects.get(pk=officer.pk).role_names
    login_verified(client, admin2)
    response = client.post(f"/admin/core/rolegrant/{grant.pk}/change/", {
        "decision": "approve", "decision_reason": "", "otp": code_for(device2)})
    assert response.status_code == 302
    officer = User.objects.get(pk=officer.pk)
    assert Role.ADMIN in officer.role_names and officer.is_staff

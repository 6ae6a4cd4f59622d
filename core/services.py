"""The kernel's writes: granting and revoking roles, with four eyes.

One admin asks (with a fresh second-factor code), a second admin decides (with theirs);
nobody asks for or decides their own roles. The audit event of the decision names both.
Django admin and the API call these; neither sets groups, permissions or superuser status
directly (superusers are made only by `manage.py createsuperuser`)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from .audit import CoreAction, record_event
from .errors import Conflict, ErrorCode, PermissionRefused, ValidationFailed
from .models import RoleGrant, User
from .roles import Role, require_reason, require_role
from .second_factor import StepUp, require_step_up
from .statemachine import Transition, TransitionTable, apply_transition

ADMINS = frozenset({Role.ADMIN})
GRANT_TABLE = TransitionTable("role grant", [
    Transition(RoleGrant.Status.PENDING, "approve", RoleGrant.Status.APPROVED, ADMINS),
    Transition(RoleGrant.Status.PENDING, "reject", RoleGrant.Status.REJECTED, ADMINS),
])

# Set on a user while a decided grant changes their groups, so the m2m tripwire in
# core.signals knows the change is this service's (and audited here, with its actors).
GRANTING_FLAG = "_qazyna_role_grant_in_progress"


def role_grant_request(*, actor: Any, user: User, role: str, reason: str,
                       step_up: StepUp | None, action: str = RoleGrant.Action.GRANT,
                       ) -> RoleGrant:
    require_role(actor, Role.ADMIN)
    proof = require_step_up(actor, step_up)
    require_reason(reason)
    if role not in {r.value for r in Role}:
        raise ValidationFailed(f"Unknown role {role!r}.", field="role")
    if action not in RoleGrant.Action.values:
        raise ValidationFailed(f"Unknown action {action!r}.", field="action")
    if user.pk == actor.pk:
        raise PermissionRefused("Nobody asks for their own roles: another admin must.",
                                code=ErrorCode.OWN_ENTRY)
    holds = user.groups.filter(name=role).exists()
    if (action == RoleGrant.Action.GRANT) == holds:
        raise Conflict(f"{user.get_username()} {'already holds' if holds else 'does not hold'}"
                       f" the role {role}.", code=ErrorCode.CONFLICT)
    try:
        with transaction.atomic():
            grant = RoleGrant.objects.create(user=user, role=role, action=action,
                                             reason=reason, requested_by=actor)
            record_event(actor=actor, action=CoreAction.ROLE_GRANT_REQUESTED, obj=grant,
                         reason=reason,
                         after={"user": user.get_username(), "role": role, "action": action,
                                **proof.audit()})
    except IntegrityError:
        raise Conflict("A request for this role is already waiting for a decision.",
                       code=ErrorCode.DUPLICATE) from None
    return grant


def _lock(grant: RoleGrant) -> RoleGrant:
    return RoleGrant.objects.select_for_update().select_related("user").get(pk=grant.pk)


def _require_second_admin(actor: Any, grant: RoleGrant) -> None:
    if actor.pk in (grant.requested_by_id, grant.user_id):
        raise PermissionRefused("A second admin, not the one who asked nor the person "
                                "concerned, decides.", code=ErrorCode.OWN_ENTRY)


@transaction.atomic
def role_grant_approve(*, grant: RoleGrant, actor: Any, step_up: StepUp | None) -> RoleGrant:
    grant = _lock(grant)
    require_role(actor, Role.ADMIN)
    _require_second_admin(actor, grant)
    proof = require_step_up(actor, step_up)
    grant.decided_by = actor
    user = User.objects.select_for_update().get(pk=grant.user_id)
    apply_transition(grant, table=GRANT_TABLE, command="approve", actor=actor,
                     action=CoreAction.ROLE_GRANT_APPROVED, update_fields=["decided_by"],
                     after={"user": user.get_username(), "role": grant.role,
                            "action": grant.action,
                            "requested_by": grant.requested_by.get_username(),
                            "approved_by": actor.get_username(), **proof.audit()})
    setattr(user, GRANTING_FLAG, True)
    if grant.action == RoleGrant.Action.GRANT:
        user.groups.add(_group(grant.role))
    else:
        user.groups.remove(_group(grant.role))
    # Admins work in Django admin; nobody else needs to enter it.
    user.is_staff = user.groups.filter(name=Role.ADMIN).exists()
    user.save(update_fields=["is_staff"])
    return grant


@transaction.atomic
def role_grant_reject(*, grant: RoleGrant, actor: Any, reason: str) -> RoleGrant:
    require_reason(reason)
    grant = _lock(grant)
    require_role(actor, Role.ADMIN)
    _require_second_admin(actor, grant)
    grant.decided_by = actor
    apply_transition(grant, table=GRANT_TABLE, command="reject", actor=actor, reason=reason,
                     action=CoreAction.ROLE_GRANT_REJECTED, update_fields=["decided_by"])
    return grant


def _group(role: str) -> Group:
    return Group.objects.get_or_create(name=role)[0]

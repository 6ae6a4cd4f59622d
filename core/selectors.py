from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from core.models import Agency, AuditEvent
from core.roles import Role, roles_of


def can_read_audit(user: Any) -> bool:
    return user.is_superuser or bool(roles_of(user) & {Role.AUDITOR, Role.ADMIN})


def audit_events_for_user(*, user: Any,
                          filters: Mapping[str, Any] | None = None) -> QuerySet[AuditEvent]:
    """filters: validated values (AuditEventFilterSerializer), matched exactly."""
    if not can_read_audit(user):
        return AuditEvent.objects.none()
    qs = AuditEvent.objects.all()
    filters = filters or {}
    for key in ("action", "object_type", "object_id", "actor_username"):
        if filters.get(key):
            qs = qs.filter(**{key: filters[key]})
    return qs.order_by("-seq")


def agency_list_for_user(*, user: Any) -> QuerySet[Agency]:
    roles = roles_of(user)
    if user.is_superuser or roles - {Role.CLERK}:
        return Agency.objects.all()
    return Agency.objects.filter(pk=user.agency_id)

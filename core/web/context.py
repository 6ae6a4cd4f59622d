"""What the base layout needs on every page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.roles import Role, roles_of

from . import registry
from .auth import second_factor_pending

ROLE_LABELS: dict[str, Any] = {
    Role.CLERK: _("Clerk"),
    Role.LEGAL_OFFICER: _("Legal officer"),
    Role.BANK_OFFICER: _("Bank officer"),
    Role.AUDITOR: _("Auditor"),
    Role.ADMIN: _("Administrator"),
}


def role_labels(user: Any) -> list[str]:
    return [str(ROLE_LABELS.get(r, r)) for r in sorted(roles_of(user))]


def layout(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    through_the_gate = signed_in and not second_factor_pending(user)
    return {
        "nav_items": registry.nav_for(user) if through_the_gate else [],
        "person_roles": role_labels(user) if signed_in else [],
        "devchain": settings.DEVCHAIN_ALLOWED,
    }


"""The five roles, as groups with model permissions. Rules about *which* objects a
person may see or move live in selectors and services, not here."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from .bitcoin import refuse_private_keys
from .errors import PermissionRefused, ValidationFailed


class Role(StrEnum):
    CLERK = "clerk"
    LEGAL_OFFICER = "legal_officer"
    BANK_OFFICER = "bank_officer"
    AUDITOR = "auditor"
    ADMIN = "admin"


def roles_of(user: Any) -> frozenset[str]:
    """The role names a user holds, read once per request object and cached on it."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_qazyna_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._qazyna_roles = cached
    return cached


def has_any_role(user: Any, roles: Iterable[str]) -> bool:
    wanted = set(roles)
    if getattr(user, "is_superuser", False) and Role.ADMIN in wanted:
        return True
    return bool(roles_of(user) & wanted)


def require_role(actor: Any, *roles: str) -> None:
    """Refuse (403) unless actor holds one of roles. A superuser counts as an admin."""
    if not has_any_role(actor, roles):
        raise PermissionRefused(f"This needs the role {' or '.join(roles)}.")


def require_reason(reason: str | None, *, field: str = "reason") -> str:
    """A reason is required, and it may not carry a private key."""
    if not (reason or "").strip():
        raise ValidationFailed("A reason is required.", field=field)
    refuse_private_keys({field: reason})
    return reason.strip() if reason else ""


# Model permissions per role, as "app_label.codename". "view" everywhere for auditors;
# admins manage people, agencies and wallets' public descriptors.
ROLE_PERMISSIONS = {
    Role.CLERK: [
        "intake.view_seizurecase", "intake.add_seizurecase", "intake.change_seizurecase",
        "intake.view_seizedasset", "intake.add_seizedasset", "intake.change_seizedasset",
        "intake.view_sweeptransaction", "intake.add_sweeptransaction",
        "intake.view_evidence", "intake.add_evidence",
        "intake.view_handoverentry", "intake.add_handoverentry",
        "intake.view_confiscationorder",
        "core.view_agency",
    ],
    Role.LEGAL_OFFICER: [
        "intake.view_seizurecase", "intake.view_seizedasset", "intake.view_sweeptransaction",
        "intake.view_evidence", "intake.view_handoverentry",
        "intake.view_confiscationorder", "intake.add_confiscationorder",
        "core.view_agency",
    ],
    Role.BANK_OFFICER: [
        "intake.view_seizurecase", "intake.view_seizedasset", "intake.view_sweeptransaction",
        "intake.view_confiscationorder",
        "intake.view_custodywallet", "custody.view_reservewallet", "custody.view_quorumpolicy",
        "custody.view_reserveaddress", "custody.view_transfer", "custody.view_transferinput",
        "custody.view_transferapproval", "custody.view_signedpsbtupload",
        "custody.view_deposit", "custody.view_journalentry", "custody.view_ledgerline",
        "custody.view_pricerecord", "custody.add_pricerecord", "custody.view_valuation",
        "custody.view_reconciliationrun",
        "chain.view_circuitbreaker",
        "core.view_agency",
    ],
    Role.AUDITOR: "view:*",
    Role.ADMIN: [
        "core.view_user", "core.add_user", "core.change_user",
        "core.view_agency", "core.add_agency", "core.change_agency",
        "core.view_auditevent", "core.view_rolegrant", "core.add_rolegrant",
        "core.change_rolegrant",
        "intake.view_custodywallet", "intake.add_custodywallet",
        "custody.view_reservewallet", "custody.add_reservewallet", "custody.view_quorumpolicy",
        "custody.view_reserveaddress", "custody.view_transfer", "custody.view_deposit",
        "custody.view_journalentry", "custody.view_pricerecord",
        "custody.view_reconciliationrun",
        "chain.view_watchedtransaction", "chain.view_circuitbreaker",
        "intake.view_seizurecase", "intake.view_seizedasset", "intake.view_sweeptransaction",
        "intake.view_evidence", "intake.view_handoverentry", "intake.view_confiscationorder",
        "auth.view_group",
    ],
}

PROJECT_APPS = ("core", "intake", "custody", "chain")


def sync_role_groups(apps=None):
    """Create the role groups and give them their permissions. Safe to run again."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    apps = apps or global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        if perms == "view:*":
            qs = Permission.objects.filter(
                codename__startswith="view_", content_type__app_label__in=PROJECT_APPS
            )
        else:
            wanted = [p.split(".", 1) for p in perms]
            qs = Permission.objects.none()
            for app_label, codename in wanted:
                qs = qs | Permission.objects.filter(
                    content_type__app_label=app_label, codename=codename
                )
        group.permissions.set(list(qs))

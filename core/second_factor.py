"""The second factor (TOTP through django-otp, one-time backup codes) and step-up.

Legal officers, bank officers and admins sign in with a second factor (DESIGN §1), and every
decision they make (an approval, a signature upload, an attribution, a price, a role grant)
asks for a fresh code in the same request: a step-up. This module is the one place that
knows how: pages and API views call `step_up(actor, code)` and hand the resulting StepUp to
the service, which records it in the audit event.

Enrolment: `enrol_start` makes (or reuses) an unconfirmed TOTP device and gives its
otpauth:// URI and a QR code (SVG, drawn here: no external service); `enrol_confirm` checks
a first code, confirms the device and issues ten one-time backup codes, shown once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import segno
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .audit import CoreAction, record_event
from .errors import ErrorCode, PermissionRefused, ValidationFailed
from .roles import Role, roles_of

SECOND_FACTOR_ROLES = frozenset({Role.LEGAL_OFFICER, Role.BANK_OFFICER, Role.ADMIN})
BACKUP_CODE_COUNT = 10
TOTP_DEVICE_NAME = "authenticator"
BACKUP_DEVICE_NAME = "backup codes"


def needs_second_factor(user: Any) -> bool:
    return bool(user.is_authenticated and (user.is_superuser
                                            or roles_of(user) & SECOND_FACTOR_ROLES))


def is_enrolled(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


# --- enrolment ------------------------------------------------------------------------------
def enrol_start(user: Any) -> TOTPDevice:
    """An unconfirmed TOTP device for user (the same one until it is confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def provisioning_uri(device: TOTPDevice) -> str:
    return device.config_url


def qr_svg(device: TOTPDevice) -> str:
    """The provisioning URI as an inline SVG QR code."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4)


@transaction.atomic
def enrol_confirm(user: Any, code: str) -> list[str]:
    """Confirm the pending TOTP device with a first code; returns fresh backup codes."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None:
        raise ValidationFailed("Start the enrolment first.", field="code")
    if not device.verify_token(_clean(code)):
        raise ValidationFailed("That code is not right; check the device's clock and try the "
                               "current code.", code=ErrorCode.SECOND_FACTOR_INVALID,
                               field="code")
    TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _issue_backup_codes(user)
    record_event(actor=user, action=CoreAction.SECOND_FACTOR_ENROLLED, obj=user,
                 after={"device": "totp", "backup_codes": len(codes)})
    return codes


def _issue_backup_codes(user: Any) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


# --- verification and step-up ----------------------------------------------------------------
def _clean(code: Any) -> str:
    return "".join(str(code or "").split())[:16]


def verify(user: Any, code: Any) -> TOTPDevice | StaticDevice | None:
    """The device that accepts code (a TOTP code, or a one-time backup code, which is used
    up), or None. django-otp throttles repeated failures and refuses a reused TOTP code."""
    token = _clean(code)
    if not token:
        return None
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token(token):
            return device
    for device in StaticDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token(token):
            return device
    return None


@dataclass(frozen=True)
class StepUp:
    """Proof that actor gave a fresh second-factor code for this request."""

    user_id: int
    device: str  # "totp" | "backup"
    at: dt.datetime

    def audit(self) -> dict[str, str]:
        return {"second_factor": self.device, "at": self.at.isoformat()}


def _failures_key(actor: Any) -> str:
    return f"qazyna:second-factor-failures:{actor.pk}"


def _used_key(actor: Any, token: str) -> str:
    # The code's hash with the person: the cache never holds a code itself.
    digest = hashlib.sha256(f"{actor.pk}:{token}".encode()).hexdigest()
    return f"qazyna:second-factor-used:{digest}"


def _used_for(device: TOTPDevice | StaticDevice) -> int:
    """How long a used code is remembered: as long as the device could accept it again."""
    if isinstance(device, TOTPDevice):
        return int(device.step * (2 * device.tolerance + 2))
    return settings.SECOND_FACTOR_USED_BACKUP_CODE_SECONDS


def step_up(actor: Any, code: Any) -> StepUp:
    """Check a fresh code from actor; 403 second_factor_required / second_factor_invalid /
    second_factor_locked.

    Wrong codes are counted in the cache, not the database: a service checks the code
    inside its own transaction, and the refusal rolls that transaction back, django-otp's
    own failure counter with it. After SECOND_FACTOR_FAILURE_LIMIT wrong codes, every code
    is refused for SECOND_FACTOR_LOCK_SECONDS. A code given once is never good again, even
    when the decision it came with was refused and rolled back."""
    if not is_enrolled(actor):
        raise PermissionRefused("Set up your second factor before making decisions.",
                                code=ErrorCode.SECOND_FACTOR_REQUIRED)
    if not _clean(code):
        raise PermissionRefused("This decision needs a fresh code from your authenticator.",
                                code=ErrorCode.SECOND_FACTOR_REQUIRED, field="otp")
    key = _failures_key(actor)
    if cache.get(key, 0) >= settings.SECOND_FACTOR_FAILURE_LIMIT:
        raise PermissionRefused("Too many wrong codes: decisions are locked for a while.",
                                code=ErrorCode.SECOND_FACTOR_LOCKED, field="otp")
    device = verify(actor, code)
    # django-otp records a used code (TOTP's last step, a backup code's deletion) in the
    # service's transaction, so a refusal after the step-up rolls that back and the same code
    # would work once more: used codes are also kept in the cache, outside the transaction.
    if device is not None and not cache.add(_used_key(actor, _clean(code)), 1,
                                            timeout=_used_for(device)):
        device = None
    if device is None:
        cache.add(key, 0, timeout=settings.SECOND_FACTOR_LOCK_SECONDS)
        cache.incr(key)
        raise PermissionRefused("The code is wrong or was already used.",
                                code=ErrorCode.SECOND_FACTOR_INVALID, field="otp")
    kind = "totp" if isinstance(device, TOTPDevice) else "backup"
    return StepUp(user_id=actor.pk, device=kind, at=timezone.now())


def require_step_up(actor: Any, proof: StepUp | str | None) -> StepUp:
    """For services: the decision carries a step-up given by this actor — a StepUp already
    checked, or the code itself (checked here, after the service's own refusals, so a
    refused command never uses up a code)."""
    if isinstance(proof, str):
        return step_up(actor, proof)
    if proof is None or proof.user_id != actor.pk:
        raise PermissionRefused("This decision needs a fresh code from your authenticator.",
                                code=ErrorCode.SECOND_FACTOR_REQUIRED, field="otp")
    return proof

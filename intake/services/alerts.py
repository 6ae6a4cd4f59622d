"""Alerts: something on a case (or on the reserve) a person must look at."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from core.audit import record_event

from ..audit import IntakeAction
from ..models import CaseAlert, SeizureCase


def alert_raise(*, case: SeizureCase | None, kind: str, dedup_key: str, message: str,
                details: dict[str, Any] | None = None,
                actor: Any = None) -> tuple[CaseAlert, bool]:
    """Raise an alert once: an open alert with the same key is left as it is. Runs in the
    caller's transaction (the watcher's service). Returns (alert, created)."""
    existing = CaseAlert.objects.filter(kind=kind, dedup_key=dedup_key,
                                        resolved_at__isnull=True).first()
    if existing is not None:
        return existing, False
    with transaction.atomic():
        alert = CaseAlert.objects.create(case=case, kind=kind, dedup_key=dedup_key,
                                         message=message, details=details or {})
        record_event(actor=actor, action=IntakeAction.ALERT_RAISED, obj=alert,
                     after={"kind": kind, "case": str(case.public_id) if case else None,
                            "message": message, "details": details or {}})
    return alert, True

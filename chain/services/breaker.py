"""The circuit breaker: settlement and broadcasts pause while the node's tip is stale or
after a reorganisation deeper than the threshold."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import record_event

from ..audit import ChainAction
from ..models import ChainCursor, CircuitBreaker


def settlement_paused() -> tuple[bool, str]:
    """(paused, reason): custody must not settle or broadcast while paused."""
    breaker = CircuitBreaker.objects.filter(id=1).first()
    if breaker is None or not breaker.tripped:
        return False, ""
    return True, breaker.reason


def breaker_trip(*, cause: str, reason: str,
                 clears_after_height: int | None = None) -> CircuitBreaker:
    with transaction.atomic():
        breaker, _ = CircuitBreaker.objects.select_for_update().get_or_create(id=1)
        if breaker.tripped and breaker.cause == cause:
            if clears_after_height and (breaker.clears_after_height or 0) < clears_after_height:
                breaker.clears_after_height = clears_after_height
                breaker.save(update_fields=["clears_after_height"])
            return breaker
        before = {"tripped": breaker.tripped, "cause": breaker.cause}
        breaker.tripped, breaker.cause, breaker.reason = True, cause, reason
        breaker.tripped_at, breaker.cleared_at = timezone.now(), None
        breaker.clears_after_height = clears_after_height
        breaker.save()
        record_event(actor=None, action=ChainAction.BREAKER_TRIPPED, obj=breaker, before=before,
                     after={"cause": cause, "reason": reason})
        return breaker


def breaker_clear(*, reason: str) -> CircuitBreaker:
    with transaction.atomic():
        breaker, _ = CircuitBreaker.objects.select_for_update().get_or_create(id=1)
        if not breaker.tripped:
            return breaker
        before = {"tripped": True, "cause": breaker.cause, "reason": breaker.reason}
        breaker.tripped, breaker.cause, breaker.reason = False, "", ""
        breaker.cleared_at, breaker.clears_after_height = timezone.now(), None
        breaker.save()
        record_event(actor=None, action=ChainAction.BREAKER_CLEARED, obj=breaker, before=before,
                     after={"tripped": False}, reason=reason)
        return breaker


def check_breaker(tip: Any, summary: dict[str, int]) -> None:
    age = timezone.now().timestamp() - tip.time
    breaker = CircuitBreaker.objects.filter(id=1).first()
    if age > settings.CHAIN_STALE_TIP_SECONDS:
        if breaker is None or not breaker.tripped:
            breaker_trip(cause="stale_tip",
                         reason=f"The node's tip (height {tip.height}) is {int(age)} s old; "
                                f"the limit is {settings.CHAIN_STALE_TIP_SECONDS} s.")
            summary["breaker_tripped"] = 1
        return
    if breaker is None or not breaker.tripped:
        return
    if breaker.cause == "stale_tip" or (breaker.cause == "deep_reorg"
                                        and tip.height >= (breaker.clears_after_height or 0)):
        breaker_clear(reason=f"tip {tip.height} is fresh and no deep reorg since")
        summary["breaker_cleared"] = 1


def record_poll_error(message: str) -> None:
    ChainCursor.objects.get_or_create(id=1)
    ChainCursor.objects.filter(id=1).update(last_error=message[:2000])

"""The chain's sections of /health/ (core.health), from what the watchers recorded: the
node's tip as last polled, the last poll's error, the circuit breaker. The web process never
asks the node itself: a health probe must answer fast, and the watchers' view is what
matters (a node that answers the web server but not the watchers is not healthy)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from .models import ChainCursor, CircuitBreaker


def max_poll_age_seconds() -> int:
    """Older than this, the watchers are not running (or every poll fails)."""
    return max(60, 6 * settings.CHAIN_POLL_SECONDS)


def node_section() -> dict[str, Any]:
    cursor = ChainCursor.objects.filter(id=1).first()
    if cursor is None or cursor.polled_at is None:
        return {"ok": False, "tip_height": None, "tip_age_seconds": None,
                "polled_age_seconds": None,
                "last_error": cursor.last_error if cursor else "",
                "problem": "the watchers have not polled the node yet"}
    now = timezone.now()
    tip_age = int(now.timestamp() - cursor.tip_time) if cursor.tip_time else None
    polled_age = int((now - cursor.polled_at).total_seconds())
    problems = []
    if cursor.last_error:
        problems.append("the last poll failed")
    if polled_age > max_poll_age_seconds():
        problems.append(f"no successful poll for {polled_age} s")
    if tip_age is not None and tip_age > settings.CHAIN_STALE_TIP_SECONDS:
        problems.append(f"the tip is {tip_age} s old")
    section = {"ok": not problems, "network": settings.BITCOIN_NETWORK,
               "tip_height": cursor.height, "tip_age_seconds": tip_age,
               "polled_age_seconds": polled_age, "last_error": cursor.last_error}
    if problems:
        section["problem"] = "; ".join(problems)
    return section


def breaker_section() -> dict[str, Any]:
    breaker = CircuitBreaker.objects.filter(id=1).first()
    if breaker is None or not breaker.tripped:
        return {"ok": True, "tripped": False}
    return {"ok": False, "tripped": True, "cause": breaker.cause, "reason": breaker.reason,
            "tripped_at": breaker.tripped_at.isoformat() if breaker.tripped_at else None}

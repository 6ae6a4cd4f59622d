"""What custody asks of intake, in one place each: the case moves custody causes and the
alerts it raises. Both run inside the caller's transaction; intake locks the case, checks
its own table (its system commands: intake.transitions.CaseCommand) and writes its audit
event."""

from __future__ import annotations

from typing import Any

from core.models import User
from intake.models import CaseAlert, SeizureCase
from intake.services import alert_close_by_system, alert_raise, case_move_by_system
from intake.transitions import CaseCommand

__all__ = ["CaseCommand", "close_alert", "move_case", "raise_alert"]


def move_case(case: SeizureCase, command: str, *, actor: User | None = None,
              reason: str = "") -> SeizureCase:
    """Every case move custody causes goes through here: transfer_proposed (IN_TRANSFER),
    transfer_released (cancelled or failed: CONFISCATION_APPROVED), settled_in_reserve
    (IN_RESERVE), reserve_reorged (a deep reorg undid the settlement: IN_TRANSFER)."""
    return case_move_by_system(case=case, command=command, actor=actor, reason=reason)


def raise_alert(*, case: SeizureCase | None, kind: CaseAlert.Kind, dedup_key: str,
                message: str, details: dict[str, Any]) -> CaseAlert:
    """Every alert custody raises goes through here; one open alert per dedup_key."""
    alert, _ = alert_raise(case=case, kind=kind, dedup_key=dedup_key, message=message,
                           details=details)
    return alert


def close_alert(*, kind: CaseAlert.Kind, dedup_key: str, actor: User | None,
                reason: str) -> None:
    """What an alert asked for was done (by actor, in the caller's transaction): the open
    alert with this key, if any, is resolved, with the reason."""
    alert_close_by_system(kind=kind, dedup_key=dedup_key, actor=actor, reason=reason)

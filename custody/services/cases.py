"""What custody asks of intake, in one place each: the case moves custody causes and the
alerts it raises. Both run inside the caller's transaction; intake locks the case, checks
its own table (its system commands: intake.transitions.CaseCommand) and writes its audit
event."""

from __future__ import annotations

from typing import Any

from core.models import User
from intake.models import CaseAlert, SeizureCase
from intake.services import alert_raise, case_move_by_system
from intake.transitions import CaseCommand

__all__ = ["CaseCommand", "move_case", "raise_alert"]


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

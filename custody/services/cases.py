"""What custody asks of intake, in one place each: the case moves custody causes and the
alerts it raises. Both run inside the caller's transaction; intake locks the case, checks
its own table and writes its audit event."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from core.models import User
from intake.models import CaseAlert, CaseStatus, SeizureCase
from intake.services import alert_raise, case_move_by_system

from ..audit import CustodyAction
from ..models import TransferStatus


class CaseCommand(StrEnum):
    """The case moves custody causes, by the names of intake's commands."""

    TRANSFER_PROPOSED = "transfer_proposed"  # → IN_TRANSFER
    TRANSFER_RELEASED = "transfer_released"  # cancelled or failed → CONFISCATION_APPROVED
    SETTLED_IN_RESERVE = "settled_in_reserve"  # → IN_RESERVE
    RESERVE_REORGED = "reserve_reorged"  # a deep reorg undid the settlement → IN_TRANSFER


# TEMPORARY, until intake's case_move_by_system takes (case, command, actor, reason): what
# each command is in today's terms (target state, audit action). A release's action names
# what released the case (its transfer's state).
_CASE_MOVES = {
    CaseCommand.TRANSFER_PROPOSED: (CaseStatus.IN_TRANSFER,
                                    CustodyAction.CASE_TRANSFER_PROPOSED),
    CaseCommand.SETTLED_IN_RESERVE: (CaseStatus.IN_RESERVE, CustodyAction.CASE_IN_RESERVE),
    CaseCommand.RESERVE_REORGED: (CaseStatus.IN_TRANSFER, CustodyAction.CASE_RESERVE_REORGED),
}
_RELEASE_ACTIONS = {TransferStatus.CANCELLED: CustodyAction.CASE_TRANSFER_CANCELLED,
                    TransferStatus.FAILED: CustodyAction.CASE_TRANSFER_FAILED}


def move_case(case: SeizureCase, command: CaseCommand, *, actor: User | None = None,
              reason: str = "", released_by: TransferStatus | None = None) -> SeizureCase:
    """Every case move custody causes goes through here. released_by (the transfer's
    CANCELLED or FAILED) only names today's audit action of a release; it goes with the
    adapter."""
    if command == CaseCommand.TRANSFER_RELEASED:
        target, action = CaseStatus.CONFISCATION_APPROVED, _RELEASE_ACTIONS[released_by]
    else:
        target, action = _CASE_MOVES[command]
    return case_move_by_system(case=case, target=target, actor=actor, action=action,
                               reason=reason)


def raise_alert(*, case: SeizureCase | None, kind: CaseAlert.Kind, dedup_key: str,
                message: str, details: dict[str, Any]) -> CaseAlert:
    """Every alert custody raises goes through here; one open alert per dedup_key."""
    alert, _ = alert_raise(case=case, kind=kind, dedup_key=dedup_key, message=message,
                           details=details)
    return alert

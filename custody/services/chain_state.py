"""What the chain watchers report about a transfer's transaction, applied inside the
watcher's transaction (idempotent). The node's state is a command of the transfer table;
each branch below is what that command means: settle, reorg, lose to a conflict."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.db import transaction
from django.utils import timezone

from chain.models import TxState
from core.statemachine import apply_transition
from intake.models import CaseAlert, CaseStatus, Disposition, SeizedAsset
from intake.services import asset_dispose, asset_undispose, case_advance_if_disposed

from .. import chainio
from ..audit import CustodyAction
from ..models import OPEN_STATES, Transfer, TransferKind, TransferStatus
from ..transitions import TRANSFER_TABLE, WATCHED_STATES, Command, check_command
from .cases import CaseCommand, move_case, raise_alert
from .ledger import post_transfer_settled, reverse_transfer
from .prices import value_at_settlement, value_release
from .signing import mark_broadcast

log = logging.getLogger(__name__)

# The watchers' state of the transaction as the command it means. From a state the command
# already leads to, it is a repeat: only the node's view is written.
_CHAIN_COMMANDS = {
    # PENDING after a block left the chain and the tx is in no mempool we see.
    TxState.PENDING: Command.REORG, TxState.MEMPOOL: Command.REORG,
    TxState.CONFIRMING: Command.CONFIRM, TxState.CONFIRMED: Command.SETTLE,
    TxState.REPLACED: Command.REPLACE, TxState.CONFLICTED: Command.CONFLICT,
    # Older names callers (tests, re-drives) still send.
    "SEEN": Command.REORG, "BROADCAST": Command.REORG, "UNCONFIRMED": Command.REORG,
    "SETTLED": Command.SETTLE,
}
_CHAIN_ACTIONS = {
    Command.CONFIRM: CustodyAction.TRANSFER_CONFIRMING,
    Command.SETTLE: CustodyAction.TRANSFER_SETTLED,
    Command.REORG: CustodyAction.TRANSFER_REORGED,
    Command.REPLACE: CustodyAction.TRANSFER_REPLACED,
    Command.CONFLICT: CustodyAction.TRANSFER_CONFLICTED,
}


@dataclass(frozen=True)
class ChainView:
    """The node's view of the transaction, as the watcher last derived it (confirmations
    come from the block, never a counter that only goes up)."""

    confirmations: int
    block_hash: str
    block_height: int | None

    def write_to(self, transfer: Transfer) -> list[str]:
        """Set on the transfer (unsaved); the names of the fields written."""
        for name, value in asdict(self).items():
            setattr(transfer, name, value)
        return list(asdict(self))


def transfer_apply_chain_state(*, transfer_id: int, state: str, confirmations: int | None = 0,
                               block_hash: str | None = None,
                               block_height: int | None = None) -> Transfer:
    """The watcher's view of a broadcast transfer, applied (inside the watcher's transaction;
    idempotent). Settlement credits the ledger and moves the case to IN_RESERVE; a reorg
    that removes a settled transfer writes the compensating entry and raises an alert."""
    state = str(state).upper()
    view = ChainView(confirmations or 0, block_hash or "", block_height)
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().get(pk=transfer_id)
        if transfer.status not in WATCHED_STATES:
            return transfer  # never signed, or cancelled or failed before the node had it
        if TRANSFER_TABLE.get(transfer.status, Command.BROADCAST) is not None:
            # Seen on chain before our broadcast call came back: it is broadcast.
            mark_broadcast(transfer, already_known=True)
        command = _CHAIN_COMMANDS.get(state)
        if command is None:
            if state == TxState.DROPPED:
                log.warning("transfer %s dropped from the mempool; re-driven by the sweeper",
                            transfer.public_id)
            else:
                log.warning("unknown chain state %r for transfer %s", state,
                            transfer.public_id)
            return transfer
        _BRANCHES.get(command, _chain_move)(transfer, command, view)
    return transfer


def _chain_move(transfer: Transfer, command: Command, view: ChainView, *,
                update_fields: tuple[str, ...] = ()) -> bool:
    """Perform a chain command with the node's view; a repeat writes only the view."""
    fields = view.write_to(transfer)
    moved = apply_transition(transfer, table=TRANSFER_TABLE, command=command, actor=None,
                             action=_CHAIN_ACTIONS[command], as_system=True,
                             after=asdict(view), update_fields=[*fields, *update_fields])
    if not moved:
        transfer.save(update_fields=fields)
    return moved


def _settle(transfer: Transfer, command: Command, view: ChainView) -> None:
    """At the threshold: settled, the ledger credited (the reserve, or RELEASED for a
    court-ordered release), the coins valued, the case's watched assets disposed of; the
    case moves on (IN_RESERVE, or CLOSED when a restitution took everything) once no other
    transfer of it is open and nothing is left behind. The circuit breaker holds it (the
    sweeper settles it once cleared)."""
    if TRANSFER_TABLE.get(transfer.status, Command.CONFIRM) is not None:
        _chain_move(transfer, Command.CONFIRM, view)  # seen straight at the threshold
    if not check_command(TRANSFER_TABLE, transfer.status, command, as_system=True):
        transfer.save(update_fields=view.write_to(transfer))  # settled already: a later block
        return
    paused, why = chainio.settlement_paused()
    if paused:
        log.warning("settlement of %s paused: %s", transfer.public_id, why)
        transfer.save(update_fields=view.write_to(transfer))
        return
    transfer.settled_at = timezone.now()
    _chain_move(transfer, command, view, update_fields=("settled_at",))
    post_transfer_settled(transfer)
    if transfer.kind == TransferKind.RESERVE:
        value_at_settlement(transfer)
    else:  # a court-ordered release: the disposal's milestone, valued when it happens
        value_release(case=transfer.case, at=transfer.settled_at,
                      amount_sats=transfer.amount_sats, transfer=transfer)
    _dispose_watched_assets(transfer)
    case_advance_if_disposed(case=transfer.case, transfer_open=transfer.case.transfers.exclude(
        pk=transfer.pk).filter(status__in=OPEN_STATES).exists())


def _watched_assets(transfer: Transfer) -> list[SeizedAsset]:
    """The case's assets at its custody address: what a transfer of that address moves."""
    case = transfer.case
    return list(SeizedAsset.objects.filter(case=case, custody_address=case.custody_address)
                .exclude(custody_address=""))


def _dispose_watched_assets(transfer: Transfer) -> None:
    disposition = (Disposition.RELEASED if transfer.kind == TransferKind.RELEASE
                   else Disposition.IN_RESERVE)
    for asset in _watched_assets(transfer):
        asset_dispose(asset_id=asset.pk, disposition=disposition, ref=str(transfer.public_id),
                      details={"transfer": str(transfer.public_id), "txid": transfer.txid})


def _undo_settlement(transfer: Transfer, why: str) -> None:
    """A settled transfer undone: the compensating entry, its assets held again."""
    reverse_transfer(transfer, why)
    for asset in _watched_assets(transfer):
        asset_undispose(asset_id=asset.pk, ref=str(transfer.public_id), reason=why)


def _reorg(transfer: Transfer, command: Command, view: ChainView) -> None:
    """The block left the chain: back to the mempool. Deeper than the settlement threshold,
    the settlement is undone: a compensating entry, the case back IN_TRANSFER, an alert."""
    was_settled = transfer.status == TransferStatus.SETTLED
    if not _chain_move(transfer, command, view) or not was_settled:
        return
    _undo_settlement(transfer, "a reorganisation removed its block")
    if transfer.case.status in (CaseStatus.IN_RESERVE, CaseStatus.IN_TRANSFER):
        move_case(transfer.case, CaseCommand.RESERVE_REORGED,
                  reason="A reorganisation removed the settled transfer.")
    raise_alert(case=transfer.case, kind=CaseAlert.Kind.REORG,
                dedup_key=f"transfer-reorg:{transfer.public_id}:{transfer.settled_at}",
                message=f"A reorganisation deeper than the settlement threshold removed "
                        f"settled transfer {transfer.txid}; the ledger entry was reversed.",
                details={"transfer": str(transfer.public_id), "txid": transfer.txid,
                         "amount_sats": transfer.amount_sats})


def _lose_to_conflict(transfer: Transfer, command: Command, view: ChainView) -> None:
    """Replaced or conflicted: an input was spent by another transaction. A settled
    transfer's ledger entry is reversed; an alert either way."""
    was_settled = transfer.status == TransferStatus.SETTLED
    if not _chain_move(transfer, command, view):
        return
    if was_settled:
        _undo_settlement(transfer, "a conflicting transaction replaced it")
    raise_alert(case=transfer.case, kind=CaseAlert.Kind.CONFLICT,
                dedup_key=f"transfer-conflict:{transfer.public_id}",
                message=f"Transfer {transfer.txid} was {transfer.status.lower()}: an input "
                        "was spent by another transaction.",
                details={"transfer": str(transfer.public_id), "txid": transfer.txid})


_BRANCHES: dict[Command, Callable[[Transfer, Command, ChainView], object]] = {
    Command.SETTLE: _settle,
    Command.REORG: _reorg,
    Command.REPLACE: _lose_to_conflict,
    Command.CONFLICT: _lose_to_conflict,
}

"""What custody does with the chain watchers' news. Registered in CustodyConfig.ready() with
chain.registry; called inside the watcher's own transaction with chain's typed events."""

from __future__ import annotations

import logging
import uuid

from chain.events import GONE_STATES, BlocksConnected, CoinsReceived, CoinsSpent, TxStateChanged
from chain.models import TxState

from .models import SIGNED_STATES, ReserveAddress, Transfer
from .services import (
    deposit_apply_chain_state,
    deposit_observe,
    deposit_reappeared,
    deposit_vanished,
    deposits_follow_the_chain,
    transfer_apply_chain_state,
    transfers_hold_for_vanished,
)

log = logging.getLogger(__name__)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def transfer_changed(event: TxStateChanged) -> None:
    public_id = _uuid(event.ref)
    transfer = Transfer.objects.filter(public_id=public_id).first() if public_id else None
    if transfer is None:
        log.error("watched transfer %s is unknown to custody", event.ref)
        return
    transfer_apply_chain_state(
        transfer_id=transfer.pk, state=event.new_state, confirmations=event.confirmations,
        block_hash=event.block_hash or None, block_height=event.block_height)


def sweep_changed(event: TxStateChanged) -> None:
    """A sweep replaced, double-spent or reorged out: the coins it made are gone (or no
    longer confirmed), and a pending transfer spending them is held."""
    if event.gone or event.left_the_chain:
        what = {TxState.REPLACED: "the sweep was replaced",
                TxState.CONFLICTED: "the sweep was double-spent",
                TxState.DROPPED: "the sweep was dropped"}.get(
            event.new_state, "the sweep's block left the chain")
        transfers_hold_for_vanished(txid=event.txid, why=what, details={
            "sweep": event.txid, "chain_state": str(event.new_state),
            "conflicting_txid": event.conflicting_txid})


def custody_coins_spent(event: CoinsSpent) -> None:
    """Custody coins spent by a transaction that is not an approved transfer: a pending
    transfer spending one of them is held (intake raises the custody alarm itself)."""
    if event.approved:
        return
    transfers_hold_for_vanished(
        outpoints={(c.txid, c.vout) for c in event.coins},
        why=f"spent elsewhere, by {event.spender_txid}",
        details={"spender_txid": event.spender_txid, "address": event.address})


def deposit_changed(event: TxStateChanged) -> None:
    """A deposit's transaction (watched from its first sighting): gone (dropped, replaced,
    double-spent) takes it out of the attribution queue, or reverses it once attributed;
    back again, it waits for attribution anew; an attributed one whose block a reorg took
    away is reversed."""
    if event.gone:
        deposit_vanished(txid=event.txid, ref=event.ref, state=str(event.new_state),
                         conflicting_txid=event.conflicting_txid or "")
    elif event.old_state in GONE_STATES and event.new_state in (
            TxState.MEMPOOL, TxState.CONFIRMING, TxState.CONFIRMED):
        deposit_reappeared(txid=event.txid, ref=event.ref)
    elif event.left_the_chain and event.new_state in (TxState.PENDING, TxState.MEMPOOL):
        deposit_apply_chain_state(txid=event.txid, removed=True, ref=event.ref)


def deposit_seen(event: CoinsReceived) -> None:
    """Coins at a reserve address that no transfer sent, in the mempool or in the block where
    they appear: a deposit waiting for a bank officer to attribute it (a mempool sighting has
    0 confirmations and no block until the poll that sees it mined)."""
    if event.known_txid:
        return
    reserve_address = ReserveAddress.objects.filter(address=event.address).first()
    if reserve_address is None:
        log.error("watched reserve address %s is unknown to custody", event.address)
        return
    deposit_observe(reserve_address=reserve_address, txid=event.txid, vout=event.vout,
                    amount_sats=event.value_sats, confirmations=event.confirmations,
                    block_height=event.block_height)  # and watched from now on


def blocks_connected(event: BlocksConnected) -> None:
    """Each poll that connects blocks: the deposits' blocks and confirmations as the watchers
    now see them (live between reconciliations, and undone by a reorg)."""
    deposits_follow_the_chain(tip_height=event.tip_height)


def is_approved_spend(txid: str, outpoints: list[tuple[str, int]]) -> bool:
    """True when txid is an approved, signed transfer spending only custody coins it
    locked. A custody spend is approved when it is the transaction of a transfer the quorum
    approved and the key holders signed (segwit txids do not change with signatures)."""
    transfer = Transfer.objects.filter(unsigned_txid=txid, status__in=SIGNED_STATES).first()
    if transfer is None:
        return False
    return set(outpoints) <= {i.outpoint for i in transfer.inputs.all()}

"""One watched transaction changes state: what a poll or the per-item tracker observed,
applied through the kernel's transition helper and reported upward (chain.registry)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit_batch
from core.statemachine import apply_transition

from .. import registry
from ..audit import ChainAction
from ..events import GONE_STATES, TxStateChanged
from ..models import ACTIVE_TX_STATES, TxState, WatchedOutput, WatchedTransaction
from ..transitions import TX_TABLE, observed
from .watching import learn_inputs

S = TxState


def settlement_confirmations(network: str | None = None) -> int:
    return settings.SETTLEMENT_CONFIRMATIONS.get(network or settings.BITCOIN_NETWORK, 6)


def recheck_seconds() -> int:
    return getattr(settings, "CHAIN_RECHECK_SECONDS", 30)


def observe(wtx: WatchedTransaction, target: TxState, *, tip_height: int, reason: str,
            block_hash: str = "", block_height: int | None = None,
            conflicting_txid: str | None = None) -> bool:
    """Apply an observation to a locked row, inside the caller's transaction. Returns
    False when it changes nothing."""
    if (wtx.state == target and wtx.block_hash == (block_hash or "")
            and wtx.block_height == block_height
            and (conflicting_txid is None or wtx.conflicting_txid == conflicting_txid)):
        return False
    old = S(wtx.state)
    before = {"block_hash": wtx.block_hash, "block_height": wtx.block_height}
    wtx.block_hash = block_hash or ""
    wtx.block_height = block_height
    if conflicting_txid is not None:
        wtx.conflicting_txid = conflicting_txid
    wtx.confirmations_seen = wtx.confirmations(tip_height) if block_height is not None else 0
    wtx.next_check_at = None
    if target in ACTIVE_TX_STATES and target != S.CONFIRMING:
        wtx.next_check_at = timezone.now() + timedelta(seconds=recheck_seconds())
    action = (ChainAction.TX_REORGED if old in (S.CONFIRMING, S.CONFIRMED)
              and target in (S.PENDING, S.MEMPOOL) else ChainAction.for_state(target))
    apply_transition(
        wtx, table=TX_TABLE, command=observed(target), actor=None, action=action,
        reason=reason, status_field="state", as_system=True, before=before,
        update_fields=["block_hash", "block_height", "conflicting_txid",
                       "confirmations_seen", "next_check_at"],
        after={"block_hash": wtx.block_hash, "block_height": block_height,
               "confirmations": wtx.confirmations_seen,
               "conflicting_txid": wtx.conflicting_txid, "txid": wtx.txid})
    if target in GONE_STATES:
        # Its outputs never were, or are no longer, coins: not an unconfirmed balance at a
        # watched address (proof of reserves), not a coin a spend could come from. A
        # transaction that comes back is read again by the poll that sees it.
        WatchedOutput.objects.filter(txid=wtx.txid).delete()
    registry.transaction_changed(TxStateChanged(
        watched_tx_id=wtx.pk, txid=wtx.txid, purpose=WatchedTransaction.Purpose(wtx.purpose),
        ref=wtx.ref, old_state=old, new_state=S(target), block_hash=wtx.block_hash,
        block_height=wtx.block_height, confirmations=wtx.confirmations_seen,
        conflicting_txid=wtx.conflicting_txid))
    return True


def target_for_block(wtx: WatchedTransaction, block_height: int, tip_height: int) -> TxState:
    confs = tip_height - block_height + 1
    return S.CONFIRMED if confs >= settlement_confirmations(wtx.network) else S.CONFIRMING


@dataclass(frozen=True, slots=True)
class SpentElsewhere:
    """What the tracker learned of a watched transaction's input that another transaction
    spends. spender_txid: the mempool spender the node named (gettxspendingprevout), or ""
    when the input is gone from the UTXO set with no mempool spender: spent in a block,
    which Core v30 cannot name without a spender index (the poller names it when it reads
    that block)."""

    outpoint: str
    spender_txid: str = ""

    @property
    def reason(self) -> str:
        if self.spender_txid:
            return (f"tracker: input {self.outpoint} is spent by {self.spender_txid} in the "
                    "mempool (gettxspendingprevout)")
        return (f"tracker: input {self.outpoint} was spent in a block; the node cannot name "
                "the spender (gettxspendingprevout looks only in the mempool and the node "
                "has no spender index)")


def tx_apply_status(*, watched_tx_id: int, status: Any, conflict: SpentElsewhere | None = None,
                    tip_height: int) -> WatchedTransaction:
    """The per-item tracker's verdict (chain.tasks.track_transaction_task).
    status: adapter.TxStatus or None (the node does not know the txid).
    conflict: None, or the input spent elsewhere (with its spender when the node named it)."""
    with transaction.atomic(), audit_batch():  # the audit head last, as in the poll
        wtx = WatchedTransaction.objects.select_for_update().get(pk=watched_tx_id)
        if status is not None:  # the node showed the tx: its inputs are known from now on
            learn_inputs(watched_tx_id=wtx.pk, inputs=status.inputs)
        target, kwargs = _status_target(wtx, status, conflict, tip_height)
        changed = False
        if target is not None:
            reason = conflict.reason if conflict is not None and "conflicting_txid" in kwargs \
                else "tracker"
            changed = observe(wtx, target, tip_height=tip_height, reason=reason, **kwargs)
        if not changed and wtx.state in ACTIVE_TX_STATES and wtx.state != S.CONFIRMING:
            wtx.next_check_at = timezone.now() + timedelta(seconds=recheck_seconds())
            wtx.save(update_fields=["next_check_at"])
        if wtx.state not in ACTIVE_TX_STATES or wtx.state == S.CONFIRMING:
            WatchedTransaction.objects.filter(pk=wtx.pk).update(next_check_at=None)
        WatchedTransaction.objects.filter(pk=wtx.pk).update(claimed_until=None)
        return wtx


def _status_target(wtx: WatchedTransaction, status: Any, conflict: SpentElsewhere | None,
                   tip_height: int) -> tuple[TxState | None, dict[str, Any]]:
    if status is not None and status.block_hash:
        target = target_for_block(wtx, status.block_height, tip_height)
        return target, {"block_hash": status.block_hash, "block_height": status.block_height}
    if status is not None and status.in_mempool:
        return S.MEMPOOL, {}
    if conflict is not None:
        spender = conflict.spender_txid
        if wtx.state in (S.CONFLICTED, S.REPLACED):
            if spender and not wtx.conflicting_txid:  # the spender, named at last
                return S(wtx.state), {"conflicting_txid": spender}
            return None, {}  # already known, maybe with the spender the poller saw
        if wtx.state == S.MEMPOOL and spender:
            # a mempool transaction took its inputs: a replacement (BIP125 or full RBF)
            return S.REPLACED, {"conflicting_txid": spender}
        # spent in a block: final unless a reorg undoes it, the spender unnamed ("")
        return S.CONFLICTED, {"conflicting_txid": spender}
    if wtx.state in (S.CONFIRMING, S.CONFIRMED):
        return S.PENDING, {}  # its block left the chain and it is nowhere now
    if wtx.state == S.MEMPOOL and status is None:
        return S.DROPPED, {}
    return None, {}

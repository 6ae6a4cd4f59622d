"""The network side of the watchers: ask the node (outside any row lock), then hand what it
said to chain.services. Claims use conditional UPDATEs so two workers never do the same
work; a claim is a lease, so work lost with a killed worker is picked up again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.tasks import enqueue

from . import services
from .adapter import ChainAdapter, Outpoint, get_adapter
from .errors import NodeMisconfigured, NodeUnavailable, UnknownTransaction
from .models import (
    ACTIVE_TX_STATES,
    ChainCursor,
    MempoolTx,
    SeenBlock,
    WatchedAddress,
    WatchedTransaction,
)

log = logging.getLogger(__name__)

MAX_BLOCKS_PER_POLL = 500
MAX_MEMPOOL_FETCH_PER_POLL = 1000


# --- claiming -------------------------------------------------------------------------------
def _lease():
    return getattr(settings, "CHAIN_CLAIM_LEASE_SECONDS", 180)  # > task time_limit (150 s)


def _claim_cursor():
    now = timezone.now()
    ChainCursor.objects.get_or_create(id=1)
    return ChainCursor.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), id=1,
    ).update(claimed_until=now + timedelta(seconds=_lease())) == 1


def _release_cursor():
    ChainCursor.objects.filter(id=1).update(claimed_until=None)


def claim_watched_tx(watched_tx_id):
    now = timezone.now()
    return WatchedTransaction.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), pk=watched_tx_id,
    ).update(claimed_until=now + timedelta(seconds=_lease())) == 1


# --- one poll -------------------------------------------------------------------------------
@dataclass
class PollResult:
    claimed: bool
    new_blocks: int = 0
    summary: dict | None = None


def poll(adapter: ChainAdapter | None = None) -> PollResult:
    """One pass: new blocks since our last view (one getblock each, walking back from the
    tip until a block we know), the mempool's new txids, then bulk matching in the DB."""
    adapter = adapter or get_adapter()
    if not _claim_cursor():
        return PollResult(claimed=False)
    try:
        tip = adapter.tip()
        seen = dict(SeenBlock.objects.values_list("block_hash", "height"))
        new_blocks, fork_height = _fetch_new_blocks(adapter, tip, seen)
        mempool_txids = adapter.mempool_txids()
        mempool_new = _fetch_new_mempool(adapter, mempool_txids)
        mempool_new += _fetch_watched_without_inputs(adapter, mempool_txids, mempool_new)
        summary = services.apply_poll(tip=tip, new_blocks=new_blocks, fork_height=fork_height,
                                      mempool_txids=mempool_txids,
                                      mempool_new_txs=mempool_new)
        mempool_mark_seen([tx.txid for tx in mempool_new])
        _queue_due_rechecks()
        return PollResult(claimed=True, new_blocks=len(new_blocks), summary=summary)
    except (NodeUnavailable, NodeMisconfigured) as exc:
        services.record_poll_error(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        _release_cursor()


def _fetch_new_blocks(adapter, tip, seen):
    if tip.block_hash in seen:
        height = seen[tip.block_hash]
        return [], height  # nothing new; blocks above it (if any) were disconnected
    if not seen:
        block = adapter.get_block(tip.block_hash)
        return [block], block.height - 1
    lowest = min(seen.values())
    blocks, block_hash = [], tip.block_hash
    while True:
        block = adapter.get_block(block_hash)
        blocks.append(block)
        if block.prev_hash in seen:
            fork_height = seen[block.prev_hash]
            break
        if block.prev_hash is None or block.height - 1 < lowest or \
                len(blocks) >= MAX_BLOCKS_PER_POLL:
            # walked past our window (or too far behind): start again from here
            fork_height = block.height - 1
            break
        block_hash = block.prev_hash
    blocks.reverse()
    return blocks, fork_height


def _fetch_new_mempool(adapter, mempool_txids):
    if not mempool_txids:
        MempoolTx.objects.all().delete()
        return []
    known = set(MempoolTx.objects.values_list("txid", flat=True))
    gone = known - mempool_txids
    if gone:
        MempoolTx.objects.filter(txid__in=list(gone)).delete()
    new = sorted(mempool_txids - known)[:MAX_MEMPOOL_FETCH_PER_POLL]
    txs = [tx for tx in (adapter.mempool_tx(txid) for txid in new) if tx is not None]
    return txs


def _fetch_watched_without_inputs(adapter, mempool_txids, fetched):
    """Watched transactions in the mempool whose inputs we do not know yet (a sweep recorded
    by its txid after the poller had already looked at it): fetched again, so this poll
    learns what they spend and the next replacement of one is named at once."""
    have = {tx.txid for tx in fetched}
    wanted = set(WatchedTransaction.objects.filter(
        state__in=ACTIVE_TX_STATES, inputs__isnull=True).values_list("txid", flat=True))
    missing = sorted((wanted & mempool_txids) - have)[:MAX_MEMPOOL_FETCH_PER_POLL]
    return [tx for tx in (adapter.mempool_tx(txid) for txid in missing) if tx is not None]


def mempool_mark_seen(txids):
    MempoolTx.objects.bulk_create([MempoolTx(txid=t) for t in txids], ignore_conflicts=True)


def _queue_due_rechecks():
    due = list(WatchedTransaction.objects.filter(next_check_at__lte=timezone.now())
               .values_list("pk", flat=True)[:100])
    for pk in due:
        enqueue("chain.track_transaction", pk)


# --- one watched transaction ------------------------------------------------------------
def track(watched_tx_id, adapter: ChainAdapter | None = None):
    adapter = adapter or get_adapter()
    if not claim_watched_tx(watched_tx_id):
        return None
    try:
        wtx = WatchedTransaction.objects.get(pk=watched_tx_id)
        tip = adapter.tip()
        try:
            status = adapter.get_transaction(wtx.txid)
        except UnknownTransaction:
            status = None
        conflict = None
        if status is None or (not status.block_hash and not status.in_mempool):
            # Known inputs, or those the node shows for it now (a tx only in a stale block
            # still has them): a spent one means it lost to another transaction.
            inputs = [Outpoint(i.txid, i.vout) for i in wtx.inputs.all()] or \
                list(status.inputs if status is not None else ())
            conflict = spent_elsewhere(adapter, wtx.txid, inputs)
        return services.tx_apply_status(watched_tx_id=wtx.pk, status=status,
                                        conflict=conflict, tip_height=tip.height)
    except BaseException:
        WatchedTransaction.objects.filter(pk=watched_tx_id).update(claimed_until=None)
        raise


def spent_elsewhere(adapter: ChainAdapter, txid: str,
                    inputs: list[Outpoint]) -> services.SpentElsewhere | None:
    """The first of inputs that another transaction spends: by a mempool transaction the
    node names (gettxspendingprevout), else gone from the UTXO set (spent in a block; Core
    v30 has no index to name that spender, and the verdict says so). None: all unspent."""
    if not inputs:
        return None
    for found in adapter.mempool_spenders(inputs):
        if found.spending_txid and found.spending_txid != txid:
            return services.SpentElsewhere(outpoint=str(found.outpoint),
                                           spender_txid=found.spending_txid)
    for inp in inputs:
        if adapter.outpoint_spent(inp):
            return services.SpentElsewhere(outpoint=str(inp))
    return None


# --- one watched address ------------------------------------------------------------------
def register_address(watched_address_id, adapter: ChainAdapter | None = None) -> bool:
    """Import the address into the node's watch-only wallet, rescanning from when we
    started watching it (nothing could pay it before it was derived). Safe to repeat."""
    adapter = adapter or get_adapter()
    watched = WatchedAddress.objects.filter(pk=watched_address_id).first()
    if watched is None:
        return False
    adapter.watch_addresses([watched.address], since=int(watched.created_at.timestamp()))
    return True


# --- the sweeper ---------------------------------------------------------------------------
def due_transactions(limit: int = 200) -> list[int]:
    """Watched tx ids whose next_check_at has passed and that nobody holds a claim on."""
    now = timezone.now()
    return list(WatchedTransaction.objects.filter(next_check_at__lte=now)
               .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
               .order_by("next_check_at").values_list("pk", flat=True)[:limit])

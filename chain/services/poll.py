"""One poll: what new blocks and the mempool showed, applied in one transaction. No network
I/O here: chain.watcher asks the node first and passes what it said."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import audit_batch, record_event

from .. import registry
from ..audit import ChainAction
from ..events import BlocksConnected, CoinsReceived, CoinsSpent, WatchedCoin
from ..models import (
    ChainCursor,
    SeenBlock,
    TxState,
    WatchedAddress,
    WatchedInput,
    WatchedOutput,
    WatchedTransaction,
)
from .breaker import breaker_trip, check_breaker
from .tracking import observe, target_for_block
from .watching import learn_inputs

S = TxState
SEEN_BLOCKS_KEPT = 1000
Summary = defaultdict[str, int]


def apply_poll(*, tip: Any, new_blocks: list[Any], fork_height: int, mempool_txids: set[str],
               mempool_new_txs: list[Any]) -> dict[str, int]:
    """Apply one pass over new blocks (oldest first) and new mempool transactions.
    fork_height: the last block still on the active chain from our previous view (blocks we
    had above it were disconnected). Returns a summary dict."""
    summary: Summary = defaultdict(int)
    now = timezone.now()
    # The audit chain's head is the last lock taken (core.audit.audit_batch): the tracker
    # holds a watched row and then waits for the head, so a poll holding the head while it
    # locks rows would deadlock with it.
    with transaction.atomic(), audit_batch():
        cursor, _ = ChainCursor.objects.select_for_update().get_or_create(id=1)
        disconnected = list(SeenBlock.objects.filter(height__gt=fork_height)
                            .order_by("height").values_list("block_hash", flat=True))
        new_hashes = [b.block_hash for b in new_blocks]
        located = [(tx, block) for block in new_blocks for tx in block.txs]
        located.extend((tx, None) for tx in mempool_new_txs)
        seen = _Sighting.of(located)
        stranded = WatchedTransaction.objects.filter(block_height__gt=fork_height).exclude(
            block_hash__in=new_hashes)
        if disconnected or stranded.exists():
            _apply_reorg(disconnected, fork_height, tip, mempool_txids, summary, new_hashes,
                         seen)
        if new_blocks:
            SeenBlock.objects.bulk_create([
                SeenBlock(height=b.height, block_hash=b.block_hash, prev_hash=b.prev_hash or "",
                          time=b.time) for b in new_blocks])
            SeenBlock.objects.filter(height__lt=tip.height - SEEN_BLOCKS_KEPT).delete()
        _apply_txs(seen, tip, summary)
        _apply_mempool(mempool_txids, {tx.txid for b in new_blocks for tx in b.txs}, tip,
                       summary)
        _apply_thresholds(tip, summary)
        cursor.height, cursor.block_hash, cursor.tip_time = tip.height, tip.block_hash, tip.time
        cursor.polled_at, cursor.last_error = now, ""
        cursor.save(update_fields=["height", "block_hash", "tip_time", "polled_at",
                                   "last_error"])
        check_breaker(tip, summary)
        # A reorg that only took blocks away changes confirmations too: tell the apps.
        if new_blocks or disconnected:
            registry.blocks_connected(BlocksConnected(tip_height=tip.height,
                                                      tip_hash=tip.block_hash,
                                                      count=len(new_blocks)))
    return dict(summary)


def _apply_reorg(disconnected: list[str], fork_height: int, tip: Any, mempool_txids: set[str],
                 summary: Summary, new_hashes: list[str], seen: _Sighting) -> None:
    previous = ChainCursor.objects.get(id=1).height
    depth = max(len(disconnected), (previous or fork_height) - fork_height, 1)
    summary["reorg_depth"] = depth
    # Everything above the fork point, whether or not we had seen its block: the blocks
    # from the fork up to the tip are re-read in this same poll and re-confirm what is there.
    affected = list(WatchedTransaction.objects.select_for_update()
                    .filter(Q(block_hash__in=disconnected) | Q(block_height__gt=fork_height))
                    .exclude(block_hash__in=new_hashes).order_by("pk"))
    double_spent = _mined_spenders(affected, seen)
    for wtx in affected:
        spender = double_spent.get(wtx.pk)
        if spender is not None:
            # The new branch spends its inputs: a double spend, named as such in one step
            # (never a mere reorg that would come back).
            observe(wtx, S.CONFLICTED, tip_height=tip.height, conflicting_txid=spender,
                    reason=f"reorg of depth {depth}: block {wtx.block_hash} left the chain "
                           f"and {spender} in the new branch spends its inputs")
            summary["conflicts"] += 1
        else:
            target = S.MEMPOOL if wtx.txid in mempool_txids else S.PENDING
            observe(wtx, target, tip_height=tip.height,
                    reason=f"reorg of depth {depth}: block {wtx.block_hash} left the chain")
        summary["reorged_txs"] += 1
    WatchedOutput.objects.filter(Q(block_hash__in=disconnected)
                                 | Q(block_height__gt=fork_height)).exclude(
        block_hash__in=new_hashes).update(block_hash="", block_height=None)
    SeenBlock.objects.filter(height__gt=fork_height).delete()
    cursor = ChainCursor.objects.get(id=1)
    record_event(actor=None, action=ChainAction.REORG, object_type="chain.chaincursor",
                 object_id="1", before={"height": cursor.height, "block_hash": cursor.block_hash},
                 after={"depth": depth, "fork_height": fork_height,
                        "disconnected": disconnected, "new_tip": tip.block_hash,
                        "new_height": tip.height,
                        "transactions": [w.txid for w in affected]})
    if depth > settings.CHAIN_MAX_REORG_DEPTH:
        breaker_trip(cause="deep_reorg",
                     reason=f"Reorganisation of depth {depth} (threshold "
                            f"{settings.CHAIN_MAX_REORG_DEPTH}) at height {fork_height + 1}.",
                     clears_after_height=tip.height + settings.CHAIN_MAX_REORG_DEPTH)


def _mined_spenders(watched: list[WatchedTransaction], seen: _Sighting) -> dict[int, str]:
    """{watched tx pk: txid of another transaction in a new block spending one of its
    inputs}."""
    if not watched:
        return {}
    found: dict[int, str] = {}
    for wi in WatchedInput.objects.filter(watched_tx__in=[w.pk for w in watched]) \
            .select_related("watched_tx").order_by("pk"):
        spender, block = seen.spent.get((wi.txid, wi.vout), (None, None))
        if spender is not None and block is not None and spender.txid != wi.watched_tx.txid:
            found.setdefault(wi.watched_tx_id, spender.txid)
    return found


@dataclass
class _Sighting:
    """The transactions of one poll, indexed: by txid (a block sighting wins over the
    mempool), the outpoints they spend, and the addresses they pay."""

    by_txid: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    spent: dict[tuple[str, int], tuple[Any, Any]] = field(default_factory=dict)
    paid: defaultdict[str, list[tuple[Any, Any, Any]]] = field(
        default_factory=lambda: defaultdict(list))

    @classmethod
    def of(cls, located: Iterable[tuple[Any, Any]]) -> _Sighting:
        seen = cls()
        for tx, block in located:
            seen.by_txid.setdefault(tx.txid, (tx, block))
            if block is not None:
                seen.by_txid[tx.txid] = (tx, block)
            for op in tx.inputs:
                if block is not None or (op.txid, op.vout) not in seen.spent:
                    seen.spent[(op.txid, op.vout)] = (tx, block)
            for out in tx.outputs:
                if out.address:
                    seen.paid[out.address].append((tx, block, out))
        return seen

    @property
    def spent_txids(self) -> list[str]:
        return list({t for t, _ in self.spent})


def _apply_txs(seen: _Sighting, tip: Any, summary: Summary) -> None:
    if not seen.by_txid:
        return
    _apply_found(seen, tip, summary)
    _apply_conflicts(seen, tip, summary)
    _apply_spends(seen, summary)
    _apply_received(seen, tip, summary)
    # What the apps began to watch on hearing of coins received (a deposit, from its first
    # sighting): placed where this poll saw it, its inputs learned, in the same poll.
    _apply_found(seen, tip, summary, only_pending=True)


def _apply_found(seen: _Sighting, tip: Any, summary: Summary,
                 only_pending: bool = False) -> None:
    """Watched transactions found in a block or the mempool."""
    found = (WatchedTransaction.objects.select_for_update()
             .filter(txid__in=list(seen.by_txid)).order_by("pk"))
    if only_pending:
        found = found.filter(state=S.PENDING)
    for wtx in found:
        tx, block = seen.by_txid[wtx.txid]
        learn_inputs(watched_tx_id=wtx.pk, inputs=tx.inputs)
        if block is not None:
            target = target_for_block(wtx, block.height, tip.height)
            if observe(wtx, target, tip_height=tip.height, reason="seen in a block",
                       block_hash=block.block_hash, block_height=block.height):
                summary["mined"] += 1
        elif wtx.state in (S.PENDING, S.DROPPED, S.REPLACED):
            # a dropped or replaced transaction sent again (or its replacement evicted)
            observe(wtx, S.MEMPOOL, tip_height=tip.height, reason="seen in the mempool")


def _conflict_target(wtx: WatchedTransaction, spender: Any, block: Any) -> TxState | None:
    if block is None and wtx.state in (S.CONFIRMING, S.CONFIRMED):
        return None  # a mempool tx can't really spend a confirmed input
    if wtx.conflicting_txid == spender.txid and (block is None or wtx.state == S.CONFLICTED):
        return None
    if wtx.state in (S.CONFLICTED, S.REPLACED):
        # the tracker saw it first without knowing the spender; a mined spender makes a
        # replacement final (CONFLICTED)
        return S.CONFLICTED if block is not None else S(wtx.state)
    return S.REPLACED if block is None and wtx.state == S.MEMPOOL else S.CONFLICTED


def _apply_conflicts(seen: _Sighting, tip: Any, summary: Summary) -> None:
    """An input of a watched transaction spent by another transaction."""
    conflicted: dict[int, tuple[Any, Any]] = {}
    for wi in (WatchedInput.objects.filter(txid__in=seen.spent_txids)
               .select_related("watched_tx")):
        spender, block = seen.spent.get((wi.txid, wi.vout), (None, None))
        if spender is not None and spender.txid != wi.watched_tx.txid:
            conflicted.setdefault(wi.watched_tx_id, (spender, block))
    if not conflicted:
        return
    for wtx in (WatchedTransaction.objects.select_for_update()
                .filter(pk__in=list(conflicted)).order_by("pk")):
        spender, block = conflicted[wtx.pk]
        target = _conflict_target(wtx, spender, block)
        if target is None:
            continue
        observe(wtx, target, tip_height=tip.height, conflicting_txid=spender.txid,
                reason=f"input spent by {spender.txid}")
        summary["conflicts"] += 1


def _apply_spends(seen: _Sighting, summary: Summary) -> None:
    """Coins at watched addresses being spent: recorded, and reported upward (custody
    alarms are intake's)."""
    outputs = (WatchedOutput.objects.select_for_update()
               .filter(txid__in=seen.spent_txids, spent_by_txid=""))
    spends: defaultdict[str, list[WatchedOutput]] = defaultdict(list)
    for wo in outputs:
        hit = seen.spent.get((wo.txid, wo.vout))
        if hit is not None:
            spends[hit[0].txid].append(wo)
    for spender_txid, group in spends.items():
        for wo in group:
            wo.spent_by_txid = spender_txid
        WatchedOutput.objects.bulk_update(group, ["spent_by_txid"])
        _report_spend(spender_txid, group, summary)


def _apply_received(seen: _Sighting, tip: Any, summary: Summary) -> None:
    """Coins arriving at watched addresses: kept as watched outputs, reported upward."""
    watched = {a.address: a for a in WatchedAddress.objects.filter(address__in=list(seen.paid))}
    if not watched:
        return
    known_txids = set(WatchedTransaction.objects.filter(
        txid__in=[tx.txid for a in watched for tx, _, _ in seen.paid[a]],
        purpose__in=["transfer", "deposit"]).values_list("txid", flat=True))
    new_outputs, received = [], []
    for address, wa in watched.items():
        for tx, block, out in seen.paid[address]:
            if out.value_sats <= 0:
                continue
            block_hash: str = block.block_hash if block else ""
            block_height: int | None = block.height if block else None
            new_outputs.append(WatchedOutput(
                txid=tx.txid, vout=out.n, address=address, value_sats=out.value_sats,
                block_hash=block_hash, block_height=block_height))
            received.append(CoinsReceived(
                address=address, purpose=WatchedAddress.Purpose(wa.purpose), ref=wa.ref,
                txid=tx.txid, vout=out.n, value_sats=out.value_sats, block_hash=block_hash,
                block_height=block_height,
                confirmations=tip.height - block.height + 1 if block else 0,
                known_txid=tx.txid in known_txids))
    WatchedOutput.objects.bulk_create(new_outputs, ignore_conflicts=True)
    for wo in new_outputs:  # confirmed now: fill in the block of a mempool sighting
        if wo.block_hash:
            WatchedOutput.objects.filter(txid=wo.txid, vout=wo.vout, block_hash="").update(
                block_hash=wo.block_hash, block_height=wo.block_height)
    for event in received:
        registry.coins_received(event)
        summary["received"] += 1


def _report_spend(spender_txid: str, outputs: list[WatchedOutput], summary: Summary) -> None:
    """Coins at watched addresses left in spender_txid: recorded, then reported upward per
    address with the registered spend checks' verdict."""
    addresses = {a.address: a for a in WatchedAddress.objects.filter(
        address__in={wo.address for wo in outputs})}
    outpoints = [(wo.txid, wo.vout) for wo in outputs]
    approved = registry.is_spend_approved(spender_txid, outpoints)
    for address in sorted(addresses):
        wa = addresses[address]
        coins = tuple(WatchedCoin(txid=wo.txid, vout=wo.vout, value_sats=wo.value_sats)
                      for wo in outputs if wo.address == address)
        record_event(actor=None, action=ChainAction.COINS_SPENT,
                     object_type="chain.watchedaddress", object_id=address,
                     after={"spending_txid": spender_txid, "purpose": wa.purpose,
                            "ref": wa.ref, "approved": approved,
                            "outpoints": [f"{c.txid}:{c.vout}" for c in coins]})
        registry.coins_spent(CoinsSpent(
            address=address, purpose=WatchedAddress.Purpose(wa.purpose), ref=wa.ref,
            spender_txid=spender_txid, coins=coins, approved=approved))
        if not approved:
            summary["unapproved_spends"] += 1


def _apply_mempool(mempool_txids: set[str], mined_txids: set[str], tip: Any,
                   summary: Summary) -> None:
    """Pending txs that reached the mempool; mempool txs that vanished get a per-item check
    (replaced? dropped?) from the tracker."""
    pending = (WatchedTransaction.objects.filter(state=S.PENDING, txid__in=list(mempool_txids))
               if mempool_txids else WatchedTransaction.objects.none())
    for wtx in pending.select_for_update().order_by("pk"):
        observe(wtx, S.MEMPOOL, tip_height=tip.height, reason="seen in the mempool")
    vanished = (WatchedTransaction.objects.filter(state=S.MEMPOOL)
                .exclude(txid__in=list(mempool_txids | mined_txids)))
    summary["rechecks"] += vanished.update(next_check_at=timezone.now())


def _apply_thresholds(tip: Any, summary: Summary) -> None:
    """CONFIRMING txs whose block is now deep enough, one indexed query per network."""
    for network, needed in settings.SETTLEMENT_CONFIRMATIONS.items():
        due = (WatchedTransaction.objects.select_for_update()
               .filter(state=S.CONFIRMING, network=network,
                       block_height__lte=tip.height - needed + 1).order_by("pk"))
        for wtx in due:
            observe(wtx, S.CONFIRMED, tip_height=tip.height, reason=f"{needed} confirmations",
                    block_hash=wtx.block_hash, block_height=wtx.block_height)
            summary["settled"] += 1

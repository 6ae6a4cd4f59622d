"""Every write of the chain watchers. Same shape as intake's services: transaction → lock →
return early if nothing changes → transition table → save → audit event → handler /
follow-up on commit. No network I/O happens in here: callers (chain.watcher, chain.tasks)
ask the node first and pass what it said."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import record_event
from core.bitcoin import validate_txid
from core.errors import ValidationFailed
from core.statemachine import TransitionTable
from core.tasks import enqueue

from . import registry
from .audit import ChainAction
from .events import BlocksConnected, CoinsReceived, CoinsSpent, TxStateChanged, WatchedCoin
from .models import (
    ACTIVE_TX_STATES,
    ChainCursor,
    CircuitBreaker,
    SeenBlock,
    TxState,
    WatchedAddress,
    WatchedInput,
    WatchedOutput,
    WatchedTransaction,
)

log = logging.getLogger(__name__)

S = TxState
TX_TRANSITIONS = TransitionTable("watched transaction", {
    S.PENDING: {S.MEMPOOL, S.CONFIRMING, S.CONFIRMED, S.CONFLICTED, S.REPLACED, S.DROPPED},
    S.MEMPOOL: {S.PENDING, S.CONFIRMING, S.CONFIRMED, S.CONFLICTED, S.REPLACED, S.DROPPED},
    # back edges: a reorg removed the block
    S.CONFIRMING: {S.PENDING, S.MEMPOOL, S.CONFIRMED, S.CONFLICTED},
    S.CONFIRMED: {S.PENDING, S.MEMPOOL, S.CONFIRMING, S.CONFLICTED},
    # a reorg can bring a conflicted/replaced/dropped transaction back
    S.CONFLICTED: {S.PENDING, S.MEMPOOL, S.CONFIRMING, S.CONFIRMED},
    S.REPLACED: {S.MEMPOOL, S.CONFIRMING, S.CONFIRMED, S.CONFLICTED},
    S.DROPPED: {S.MEMPOOL, S.CONFIRMING, S.CONFIRMED, S.CONFLICTED},
})
SEEN_BLOCKS_KEPT = 1000


def settlement_confirmations(network=None):
    return settings.SETTLEMENT_CONFIRMATIONS.get(network or settings.BITCOIN_NETWORK, 6)


def _recheck_seconds():
    return getattr(settings, "CHAIN_RECHECK_SECONDS", 30)


# --- registering what to watch ----------------------------------------------------------
@transaction.atomic
def watch_transaction(*, txid, purpose, ref, inputs=(), expected_outputs=(), network=None):
    """Watch a transaction until it settles. Idempotent on (txid, purpose, ref).
    inputs: outpoints ("txid:vout" strings or (txid, vout) pairs) the tx spends, so a
    conflict on any of them is seen. Returns the WatchedTransaction."""
    txid = validate_txid(txid)
    if purpose not in WatchedTransaction.Purpose.values:
        raise ValidationFailed(f"Unknown purpose {purpose!r}.", field="purpose")
    existing = WatchedTransaction.objects.filter(txid=txid, purpose=purpose, ref=str(ref)).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            wtx = WatchedTransaction.objects.create(
                txid=txid, purpose=purpose, ref=str(ref),
                network=network or settings.BITCOIN_NETWORK,
                expected_outputs=list(expected_outputs), next_check_at=timezone.now())
    except IntegrityError:
        return WatchedTransaction.objects.get(txid=txid, purpose=purpose, ref=str(ref))
    outpoints = {_outpoint(item) for item in inputs}
    WatchedInput.objects.bulk_create(
        [WatchedInput(watched_tx=wtx, txid=t, vout=v) for t, v in sorted(outpoints)])
    record_event(actor=None, action=ChainAction.TX_WATCHED, obj=wtx,
                 after={"txid": txid, "purpose": purpose, "ref": str(ref),
                        "inputs": [f"{t}:{v}" for t, v in sorted(outpoints)]})
    transaction.on_commit(lambda: enqueue("chain.track_transaction", wtx.pk))
    return wtx


def _outpoint(item):
    if isinstance(item, str):
        txid, _, vout = item.partition(":")
        return validate_txid(txid), int(vout)
    txid, vout = item[0], item[1]
    return validate_txid(getattr(item, "txid", txid)), int(getattr(item, "vout", vout))


def watch_address(*, address, purpose, ref=""):
    """Watch an address for coins arriving and leaving. Idempotent."""
    obj, created = WatchedAddress.objects.get_or_create(
        address=address, defaults={"purpose": purpose, "ref": str(ref)})
    if created:
        with transaction.atomic():
            record_event(actor=None, action=ChainAction.ADDRESS_WATCHED, obj=obj,
                         after={"address": address, "purpose": purpose, "ref": str(ref)})
    return obj


def record_outputs(*, utxos):
    """Coins at watched addresses found by a scan (chain.adapter.Utxo values)."""
    WatchedOutput.objects.bulk_create([
        WatchedOutput(txid=u.txid, vout=u.vout, address=u.address or "",
                      value_sats=u.value_sats, block_height=u.height)
        for u in utxos if u.value_sats > 0
    ], ignore_conflicts=True)


# --- one watched transaction changes state -------------------------------------------------
def _move(wtx, target, *, tip_height, reason, block_hash="", block_height=None,
          conflicting_txid=None):
    """On a locked row, inside the caller's transaction. Returns True if anything changed."""
    if (wtx.state == target and wtx.block_hash == (block_hash or "")
            and wtx.block_height == block_height
            and (conflicting_txid is None or wtx.conflicting_txid == conflicting_txid)):
        return False
    if wtx.state != target:
        TX_TRANSITIONS.check(wtx.state, target)
    old = wtx.state
    before = {"state": old, "block_hash": wtx.block_hash, "block_height": wtx.block_height}
    wtx.state = target
    wtx.block_hash = block_hash or ""
    wtx.block_height = block_height
    if conflicting_txid is not None:
        wtx.conflicting_txid = conflicting_txid
    wtx.confirmations_seen = wtx.confirmations(tip_height) if block_height is not None else 0
    if target in ACTIVE_TX_STATES:
        wtx.next_check_at = None if target == S.CONFIRMING else (
            timezone.now() + timedelta(seconds=_recheck_seconds()))
    else:
        wtx.next_check_at = None
    wtx.save(update_fields=["state", "block_hash", "block_height", "conflicting_txid",
                            "confirmations_seen", "next_check_at", "updated_at"])
    action = (ChainAction.TX_REORGED if old in (S.CONFIRMING, S.CONFIRMED)
              and block_height is None else ChainAction.for_state(target))
    record_event(actor=None, action=action, obj=wtx, before=before,
                 after={"state": target, "block_hash": wtx.block_hash,
                        "block_height": block_height, "confirmations": wtx.confirmations_seen,
                        "conflicting_txid": wtx.conflicting_txid, "txid": wtx.txid},
                 reason=reason)
    registry.transaction_changed(TxStateChanged(
        watched_tx_id=wtx.pk, txid=wtx.txid, purpose=WatchedTransaction.Purpose(wtx.purpose),
        ref=wtx.ref, old_state=S(old), new_state=S(target), block_hash=wtx.block_hash,
        block_height=wtx.block_height, confirmations=wtx.confirmations_seen,
        conflicting_txid=wtx.conflicting_txid))
    return True


def _target_for_block(wtx, block_height, tip_height):
    confs = tip_height - block_height + 1
    return S.CONFIRMED if confs >= settlement_confirmations(wtx.network) else S.CONFIRMING


def tx_apply_status(*, watched_tx_id, status, conflict=None, tip_height):
    """The per-item tracker's verdict (chain.tasks.track_transaction_task).
    status: adapter.TxStatus or None (the node does not know the txid).
    conflict: None, or ("spent", spender_txid_or_"") when an input is spent elsewhere."""
    with transaction.atomic():
        wtx = WatchedTransaction.objects.select_for_update().get(pk=watched_tx_id)
        target, kwargs = _status_target(wtx, status, conflict, tip_height)
        changed = False
        if target is not None:
            changed = _move(wtx, target, tip_height=tip_height, reason="tracker", **kwargs)
        if not changed and wtx.state in ACTIVE_TX_STATES and wtx.state != S.CONFIRMING:
            wtx.next_check_at = timezone.now() + timedelta(seconds=_recheck_seconds())
            wtx.save(update_fields=["next_check_at"])
        if wtx.state not in ACTIVE_TX_STATES or wtx.state == S.CONFIRMING:
            WatchedTransaction.objects.filter(pk=wtx.pk).update(next_check_at=None)
        WatchedTransaction.objects.filter(pk=wtx.pk).update(claimed_until=None)
        return wtx


def _status_target(wtx, status, conflict, tip_height):
    if status is not None and status.block_hash:
        target = _target_for_block(wtx, status.block_height, tip_height)
        return target, {"block_hash": status.block_hash, "block_height": status.block_height}
    if status is not None and status.in_mempool:
        return S.MEMPOOL, {}
    if conflict is not None:
        if wtx.state in (S.CONFLICTED, S.REPLACED):
            return None, {}  # already known, maybe with the spender the poller saw
        spender = conflict[1] or None
        if wtx.state == S.MEMPOOL and status is None:
            return S.REPLACED, {"conflicting_txid": spender}
        return S.CONFLICTED, {"conflicting_txid": spender}
    if wtx.state in (S.CONFIRMING, S.CONFIRMED):
        return S.PENDING, {}  # its block left the chain and it is nowhere now
    if wtx.state == S.MEMPOOL and status is None:
        return S.DROPPED, {}
    return None, {}


# --- one poll: what new blocks and the mempool showed ---------------------------------------
def apply_poll(*, tip, new_blocks, fork_height, mempool_txids, mempool_new_txs):
    """Apply one pass over new blocks (oldest first) and new mempool transactions.
    fork_height: the last block still on the active chain from our previous view (blocks we
    had above it were disconnected). Returns a summary dict."""
    summary = defaultdict(int)
    now = timezone.now()
    with transaction.atomic():
        cursor, _ = ChainCursor.objects.select_for_update().get_or_create(id=1)
        disconnected = list(SeenBlock.objects.filter(height__gt=fork_height)
                            .order_by("height").values_list("block_hash", flat=True))
        new_hashes = [b.block_hash for b in new_blocks]
        stranded = WatchedTransaction.objects.filter(block_height__gt=fork_height).exclude(
            block_hash__in=new_hashes)
        if disconnected or stranded.exists():
            _apply_reorg(disconnected, fork_height, tip, mempool_txids, summary, new_hashes)
        if new_blocks:
            SeenBlock.objects.bulk_create([
                SeenBlock(height=b.height, block_hash=b.block_hash, prev_hash=b.prev_hash or "",
                          time=b.time) for b in new_blocks])
            SeenBlock.objects.filter(height__lt=tip.height - SEEN_BLOCKS_KEPT).delete()
        located = []  # (ChainTx, Block or None)
        for block in new_blocks:
            located.extend((tx, block) for tx in block.txs)
        located.extend((tx, None) for tx in mempool_new_txs)
        _apply_txs(located, tip, summary)
        _apply_mempool(mempool_txids, {tx.txid for b in new_blocks for tx in b.txs}, tip,
                       summary)
        _apply_thresholds(tip, summary)
        cursor.height, cursor.block_hash, cursor.tip_time = tip.height, tip.block_hash, tip.time
        cursor.polled_at, cursor.last_error = now, ""
        cursor.save(update_fields=["height", "block_hash", "tip_time", "polled_at",
                                   "last_error"])
        _check_breaker(tip, summary)
        if new_blocks:
            registry.blocks_connected(BlocksConnected(tip_height=tip.height,
                                                      tip_hash=tip.block_hash,
                                                      count=len(new_blocks)))
    return dict(summary)


def _apply_reorg(disconnected, fork_height, tip, mempool_txids, summary, new_hashes):
    previous = ChainCursor.objects.get(id=1).height
    depth = max(len(disconnected), (previous or fork_height) - fork_height, 1)
    summary["reorg_depth"] = depth
    # Everything above the fork point, whether or not we had seen its block: the blocks
    # from the fork up to the tip are re-read in this same poll and re-confirm what is there.
    affected = list(WatchedTransaction.objects.select_for_update()
                    .filter(Q(block_hash__in=disconnected) | Q(block_height__gt=fork_height))
                    .exclude(block_hash__in=new_hashes).order_by("pk"))
    for wtx in affected:
        target = S.MEMPOOL if wtx.txid in mempool_txids else S.PENDING
        _move(wtx, target, tip_height=tip.height,
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


def _apply_txs(located, tip, summary):
    if not located:
        return
    by_txid = {}
    spent = {}  # (txid, vout) -> (spender ChainTx, block)
    paid = defaultdict(list)  # address -> [(tx, block, output)]
    for tx, block in located:
        by_txid.setdefault(tx.txid, (tx, block))
        if block is not None:
            by_txid[tx.txid] = (tx, block)
        for op in tx.inputs:
            if block is not None or (op.txid, op.vout) not in spent:
                spent[(op.txid, op.vout)] = (tx, block)
        for out in tx.outputs:
            if out.address:
                paid[out.address].append((tx, block, out))

    # 1. watched transactions found in a block or the mempool
    txids = list(by_txid)
    found = list(WatchedTransaction.objects.select_for_update()
                 .filter(txid__in=txids).order_by("pk"))
    for wtx in found:
        tx, block = by_txid[wtx.txid]
        if block is not None:
            target = _target_for_block(wtx, block.height, tip.height)
            if _move(wtx, target, tip_height=tip.height, reason="seen in a block",
                     block_hash=block.block_hash, block_height=block.height):
                summary["mined"] += 1
        elif wtx.state == S.PENDING:
            _move(wtx, S.MEMPOOL, tip_height=tip.height, reason="seen in the mempool")

    # 2. conflicts: an input of a watched tx spent by another tx
    spent_txids = {t for t, _ in spent}
    watched_inputs = (WatchedInput.objects.filter(txid__in=list(spent_txids))
                      .select_related("watched_tx"))
    conflicted = {}
    for wi in watched_inputs:
        spender, block = spent.get((wi.txid, wi.vout), (None, None))
        if spender is None or spender.txid == wi.watched_tx.txid:
            continue
        conflicted.setdefault(wi.watched_tx_id, (spender, block))
    if conflicted:
        for wtx in (WatchedTransaction.objects.select_for_update()
                    .filter(pk__in=list(conflicted)).order_by("pk")):
            spender, block = conflicted[wtx.pk]
            if block is None and wtx.state in (S.CONFIRMING, S.CONFIRMED):
                continue  # a mempool tx can't really spend a confirmed input
            if wtx.conflicting_txid == spender.txid and (block is None
                                                           or wtx.state == S.CONFLICTED):
                continue
            if wtx.state in (S.CONFLICTED, S.REPLACED):
                # the tracker saw it first without knowing the spender; a mined spender
                # makes a replacement final (CONFLICTED)
                target = S.CONFLICTED if block is not None else wtx.state
            else:
                target = S.REPLACED if block is None and wtx.state == S.MEMPOOL \
                    else S.CONFLICTED
            _move(wtx, target, tip_height=tip.height, conflicting_txid=spender.txid,
                  reason=f"input spent by {spender.txid}")
            summary["conflicts"] += 1

    # 3. coins at watched addresses being spent (custody alarms, upstairs)
    outputs = list(WatchedOutput.objects.select_for_update()
                   .filter(txid__in=list(spent_txids), spent_by_txid=""))
    spends = defaultdict(list)
    for wo in outputs:
        hit = spent.get((wo.txid, wo.vout))
        if hit is not None:
            spends[hit[0].txid].append(wo)
    for spender_txid, group in spends.items():
        for wo in group:
            wo.spent_by_txid = spender_txid
        WatchedOutput.objects.bulk_update(group, ["spent_by_txid"])
        _report_spend(spender_txid, group, summary)

    # 4. coins arriving at watched addresses
    watched = {a.address: a for a in WatchedAddress.objects.filter(address__in=list(paid))}
    if watched:
        new_outputs, received = [], []
        known_txids = set(WatchedTransaction.objects.filter(
            txid__in=[tx.txid for a in watched for tx, _, _ in paid[a]],
            purpose__in=["transfer", "deposit"]).values_list("txid", flat=True))
        for address, wa in watched.items():
            for tx, block, out in paid[address]:
                if out.value_sats <= 0:
                    continue
                new_outputs.append(WatchedOutput(
                    txid=tx.txid, vout=out.n, address=address, value_sats=out.value_sats,
                    block_hash=block.block_hash if block else "",
                    block_height=block.height if block else None))
                received.append(CoinsReceived(
                    address=address, purpose=WatchedAddress.Purpose(wa.purpose), ref=wa.ref,
                    txid=tx.txid, vout=out.n, value_sats=out.value_sats,
                    block_hash=block.block_hash if block else "",
                    block_height=block.height if block else None,
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


def _report_spend(spender_txid, outputs, summary):
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


def _apply_mempool(mempool_txids, mined_txids, tip, summary):
    """Pending txs that reached the mempool; mempool txs that vanished get a per-item check
    (replaced? dropped?) from the tracker."""
    pending = (WatchedTransaction.objects.filter(state=S.PENDING, txid__in=list(mempool_txids))
               if mempool_txids else WatchedTransaction.objects.none())
    for wtx in pending.select_for_update().order_by("pk"):
        _move(wtx, S.MEMPOOL, tip_height=tip.height, reason="seen in the mempool")
    vanished = (WatchedTransaction.objects.filter(state=S.MEMPOOL)
                .exclude(txid__in=list(mempool_txids | mined_txids)))
    summary["rechecks"] += vanished.update(next_check_at=timezone.now())


def _apply_thresholds(tip, summary):
    """CONFIRMING txs whose block is now deep enough, one indexed query per network."""
    for network, needed in settings.SETTLEMENT_CONFIRMATIONS.items():
        due = (WatchedTransaction.objects.select_for_update()
               .filter(state=S.CONFIRMING, network=network,
                       block_height__lte=tip.height - needed + 1).order_by("pk"))
        for wtx in due:
            _move(wtx, S.CONFIRMED, tip_height=tip.height, reason=f"{needed} confirmations",
                  block_hash=wtx.block_hash, block_height=wtx.block_height)
            summary["settled"] += 1


# --- circuit breaker ----------------------------------------------------------------------
def settlement_paused():
    """(paused, reason): custody must not settle or broadcast while paused."""
    breaker = CircuitBreaker.objects.filter(id=1).first()
    if breaker is None or not breaker.tripped:
        return False, ""
    return True, breaker.reason


def breaker_trip(*, cause, reason, clears_after_height=None):
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


def breaker_clear(*, reason):
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


def _check_breaker(tip, summary):
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


def record_poll_error(message):
    ChainCursor.objects.get_or_create(id=1)
    ChainCursor.objects.filter(id=1).update(last_error=message[:2000])

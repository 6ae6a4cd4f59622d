"""Intake verification: did the case's custody address really receive the declared amount
in the sweeps the clerk recorded, with enough confirmations, and nothing else?

The network side (ask the node, outside any row lock) of the intake watcher; the verdict is
written by intake.services.asset_record_observation. Claims push next_check_at forward (a
lease), so two workers never check the same asset at once and a lost check is re-driven by
the sweeper (intake.tasks.sweep_due_assets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chain.adapter import ChainAdapter, get_adapter
from chain.errors import UnknownTransaction
from chain.events import GONE_STATES
from chain.models import TxState, WatchedAddress, WatchedTransaction
from chain.services import learn_inputs, record_outputs, watch_address

from .models import SeizedAsset, VerificationStatus
from .services import asset_record_observation


def _lease_seconds() -> int:
    return getattr(settings, "CHAIN_CLAIM_LEASE_SECONDS", 180)  # > task time_limit (150 s)


def claim_asset(asset_id: int) -> bool:
    now = timezone.now()
    return SeizedAsset.objects.filter(
        pk=asset_id, verification_status=VerificationStatus.PENDING,
        next_check_at__lte=now,
    ).update(next_check_at=now + timedelta(seconds=_lease_seconds())) == 1


def asset_reschedule(*, asset_id: int, seconds: int) -> None:
    """Look at this asset again later (a scheduling column, no state change)."""
    SeizedAsset.objects.filter(pk=asset_id, verification_status=VerificationStatus.PENDING) \
        .update(next_check_at=timezone.now() + timedelta(seconds=seconds))


def asset_done(*, asset_id: int) -> None:
    SeizedAsset.objects.filter(pk=asset_id).update(next_check_at=None)


def assets_due(limit: int = 200) -> list[int]:
    """Ids of chain-tracked assets waiting for the chain whose next check is due."""
    return list(SeizedAsset.objects.filter(
        verification_status=VerificationStatus.PENDING, next_check_at__lte=timezone.now())
        .exclude(custody_address="").order_by("next_check_at")
        .values_list("pk", flat=True)[:limit])


def mark_assets_due(*, addresses: set[str] | None = None) -> int:
    """Pending assets (at these addresses, or all) are due now: a new block or a payment
    may be the one they wait for."""
    qs = SeizedAsset.objects.filter(verification_status=VerificationStatus.PENDING) \
        .exclude(custody_address="")
    if addresses is not None:
        qs = qs.filter(custody_address__in=addresses)
    else:
        qs = qs.filter(next_check_at__gt=timezone.now())
    return qs.update(next_check_at=timezone.now())


@dataclass
class _SweepsSeen:
    observed: int = 0  # paid to the address by sweeps with enough confirmations
    waiting: list[str] = field(default_factory=list)  # too young, or not seen yet
    unknown: list[str] = field(default_factory=list)  # not seen past the grace period
    lost: list[str] = field(default_factory=list)  # replaced, double-spent, only in a stale block
    sweeps: dict[str, dict[str, Any]] = field(default_factory=dict)


def unknown_sweep_grace_seconds() -> int:
    """settings.INTAKE_UNKNOWN_SWEEP_GRACE_SECONDS: how long a recorded sweep the node has
    never heard of counts as "not broadcast yet" before it is a discrepancy."""
    return int(settings.INTAKE_UNKNOWN_SWEEP_GRACE_SECONDS)


def _look_at_sweeps(adapter: ChainAdapter, address: str, sweeps: list[tuple[str, Any]],
                    watched: dict[str, WatchedTransaction]) -> _SweepsSeen:
    """What the node says of each recorded sweep. watched: the chain watchers' record of
    each (by txid), which knows a replacement or double spend the node no longer shows."""
    seen, needed = _SweepsSeen(), settings.INTAKE_CONFIRMATIONS
    grace = unknown_sweep_grace_seconds()
    for txid, recorded_at in sweeps:
        wtx = watched.get(txid)
        if wtx is not None and wtx.state in GONE_STATES and wtx.state != TxState.DROPPED:
            # Replaced or double-spent: lost, whatever the node's txindex still says.
            seen.lost.append(txid)
            seen.sweeps[txid] = {"paid_sats": 0, "confirmations": 0, "state": wtx.state,
                                 "conflicting_txid": wtx.conflicting_txid}
            continue
        try:
            status = adapter.get_transaction(txid)
        except UnknownTransaction:
            age = (timezone.now() - recorded_at).total_seconds()
            (seen.unknown if age > grace else seen.waiting).append(txid)
            continue
        if wtx is not None:
            with transaction.atomic():
                learn_inputs(watched_tx_id=wtx.pk, inputs=status.inputs)
        paid = sum(o.value_sats for o in status.outputs if o.address == address)
        seen.sweeps[txid] = {"paid_sats": paid, "confirmations": status.confirmations,
                             "block_hash": status.block_hash}
        if status.block_hash is None and not status.in_mempool:
            # Only in a block that left the active chain, and not back in the mempool: it
            # lost to another transaction (the node's txindex still finds it, with the
            # stale block's hash and 0 confirmations). Never "waiting".
            seen.lost.append(txid)
            seen.sweeps[txid].update(paid_sats=0, stale_block_hash=status.stale_block_hash,
                                     state="not in the active chain or the mempool")
        elif status.confirmations < needed:
            seen.waiting.append(txid)
        else:
            seen.observed += paid
    return seen


def verify_asset(asset_id: int, adapter: ChainAdapter | None = None) -> str | None:
    """Records a verdict ("verified" / "discrepancy"), or looks again later ("waiting");
    None when the asset is not due (claimed elsewhere, or done)."""
    adapter = adapter or get_adapter()
    if not claim_asset(asset_id):
        return None
    try:
        asset = SeizedAsset.objects.select_related("case").get(pk=asset_id)
        address = asset.custody_address
        sweeps = list(asset.sweeps.values_list("txid", "created_at"))
        watch_address(address=address, purpose=WatchedAddress.Purpose.CUSTODY,
                      ref=str(asset.case.public_id))
        watched = {w.txid: w for w in WatchedTransaction.objects.filter(
            purpose=WatchedTransaction.Purpose.SWEEP, ref=str(asset.public_id))}
        seen = _look_at_sweeps(adapter, address, sweeps, watched)
        utxos = adapter.address_utxos([address])
        record_outputs(utxos=utxos)
        if seen.waiting and not seen.lost:  # a lost sweep is a discrepancy at once
            asset_reschedule(asset_id=asset_id,
                             seconds=getattr(settings, "CHAIN_RECHECK_SECONDS", 30))
            return "waiting"
        sweep_ids = {t for t, _ in sweeps}
        others = [{"txid": u.txid, "vout": u.vout, "amount_sats": u.value_sats}
                  for u in utxos if u.txid not in sweep_ids]
        details = {"address": address, "declared_sats": asset.declared_amount,
                   "observed_sats": seen.observed, "sweeps": seen.sweeps,
                   "unknown_sweeps": seen.unknown, "lost_sweeps": seen.lost,
                   "other_transactions": others,
                   "confirmations_required": settings.INTAKE_CONFIRMATIONS}
        verified = (seen.observed == asset.declared_amount and not others
                    and not seen.unknown and not seen.lost and bool(sweeps))
        with transaction.atomic():
            asset_record_observation(asset_id=asset_id, verified=verified,
                                     observed_amount=seen.observed, details=details)
            asset_done(asset_id=asset_id)
        return "verified" if verified else "discrepancy"
    except BaseException:
        # Leave it due again soon rather than after the full lease.
        asset_reschedule(asset_id=asset_id, seconds=5)
        raise

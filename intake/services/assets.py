"""Seized assets, their sweeps into the case's custody address, and the intake watcher's
verdicts on them."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from chain import chains
from chain.models import TxState, WatchedOutput, WatchedTransaction
from chain.services import watch_transaction
from core.audit import record_event
from core.bitcoin import refuse_private_keys, validate_address, validate_sats, validate_txid
from core.errors import Conflict, ErrorCode, ValidationFailed
from core.tasks import enqueue

from ..audit import IntakeAction
from ..models import (
    AssetKind,
    CaseAlert,
    SeizedAsset,
    SeizureCase,
    SweepTransaction,
    VerificationStatus,
)
from ..transitions import EDITABLE_STATES, SWEEP_RECORDING_STATES
from .alerts import alert_raise
from .common import lock_case, require_agency_clerk
from .wallets import allocate_custody_address


def _positive_units(amount: Any) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationFailed("An amount is a positive integer of the smallest unit.",
                               code=ErrorCode.INVALID_AMOUNT, field="declared_amount")
    return amount


# The chain an asset kind lives on when the clerk does not say (USDT lives on several).
_NATIVE_CHAIN: dict[str, str] = {AssetKind.BTC: chains.BITCOIN, AssetKind.ETH: "ethereum"}


def asset_chain(*, asset: str, network: str, chain: str = "") -> tuple[str, str]:
    """(chain, network) of a new asset, checked against chain.chains: an unknown chain is
    refused (unknown_chain). An earlier shape named the chain in `network` ("tron"): it is
    read as that chain's mainnet."""
    chain = (chain or "").strip().lower()
    if not chain and network in chains.CHAINS and asset != AssetKind.BTC:
        chain, network = network, "mainnet"
    chain = chain or _NATIVE_CHAIN.get(asset, "")
    if not chain:
        if asset == AssetKind.OTHER:
            return "", network  # on a chain Qazyna does not know: recorded only
        raise ValidationFailed(f"Unknown chain {network!r} for {asset}: Qazyna knows "
                               f"{', '.join(sorted(chains.CHAINS))}.",
                               code=ErrorCode.UNKNOWN_CHAIN, field="network")
    known = chains.get_chain(chain)
    if asset in _NATIVE_CHAIN and _NATIVE_CHAIN[asset] != known.name:
        raise ValidationFailed(f"{asset} lives on {_NATIVE_CHAIN[asset]}, not {known.name}.",
                               code=ErrorCode.UNKNOWN_CHAIN, field="chain")
    return known.name, chains.validate_network(known.name, network)


def asset_fields(*, asset: str, network: str, declared_amount: Any, asset_label: str = "",
                 source_address: str = "", chain: str = "") -> dict[str, Any]:
    """A new asset's fields, after the checks that need no database (no private key, a known
    chain and network, a valid source address and amount). custody_address is left to set."""
    refuse_private_keys({"network": network, "asset_label": asset_label,
                         "source_address": source_address, "chain": chain})
    chain, network = asset_chain(asset=asset, network=network, chain=chain)
    if source_address and chain == chains.BITCOIN:
        validate_address(source_address, network)
    # Watched when a chain adapter serves its chain and network (chain.chains): the case's
    # custody address is where it is swept and where its transfer starts.
    tracked = chains.tracked_on(chain, network, asset)
    declared_amount = (validate_sats(declared_amount) if asset == AssetKind.BTC
                       else _positive_units(declared_amount))
    return dict(asset=asset, chain=chain, network=network, asset_label=asset_label,
                declared_amount=declared_amount, source_address=source_address,
                verification_status=(VerificationStatus.PENDING if tracked
                                     else VerificationStatus.UNTRACKED))


def is_tracked(fields: dict[str, Any]) -> bool:
    return fields["verification_status"] != VerificationStatus.UNTRACKED


def asset_added_event(seized: SeizedAsset, case: SeizureCase, actor: Any) -> None:
    record_event(actor=actor, action=IntakeAction.ASSET_ADDED, obj=seized,
                 after={"case": str(case.public_id), "asset": seized.asset,
                        "chain": seized.chain, "network": seized.network,
                        "declared_amount": seized.declared_amount,
                        "custody_address": seized.custody_address})


@transaction.atomic
def asset_add(*, case: SeizureCase, actor: Any, asset: str, network: str, declared_amount: Any,
              asset_label: str = "", source_address: str = "", chain: str = "") -> SeizedAsset:
    fields = asset_fields(asset=asset, network=network, declared_amount=declared_amount,
                          asset_label=asset_label, source_address=source_address, chain=chain)
    case = lock_case(case)
    require_agency_clerk(actor, case)
    if case.status not in EDITABLE_STATES:
        raise Conflict(f"Assets can't be added to a case in state {case.status}.",
                       code=ErrorCode.INVALID_TRANSITION)
    custody_address = (allocate_custody_address(case, fields["network"], fields["chain"])
                       if is_tracked(fields) else "")
    seized = SeizedAsset.objects.create(case=case, custody_address=custody_address, **fields)
    asset_added_event(seized, case, actor)
    return seized


@transaction.atomic
def sweep_record(*, asset: SeizedAsset, actor: Any, txid: str) -> SweepTransaction:
    txid = validate_txid(txid)
    case = lock_case(asset.case)
    require_agency_clerk(actor, case)
    if case.status not in SWEEP_RECORDING_STATES:
        raise Conflict(f"Sweeps can't be recorded on a case in state {case.status}.",
                       code=ErrorCode.INVALID_TRANSITION)
    asset = SeizedAsset.objects.select_for_update().get(pk=asset.pk)
    if not asset.is_chain_tracked:
        raise Conflict("This asset is not tracked on chain; no sweep to record.")
    if SweepTransaction.objects.filter(asset=asset, txid=txid).exists():
        raise ValidationFailed("This sweep is already recorded.", code=ErrorCode.DUPLICATE,
                               field="txid")
    sweep = SweepTransaction.objects.create(asset=asset, txid=txid, recorded_by=actor)
    # Tracked like any watched transaction: a reorg or double spend of the sweep is seen.
    watch_transaction(txid=txid, purpose=WatchedTransaction.Purpose.SWEEP,
                      ref=str(asset.public_id))
    asset.verification_status = VerificationStatus.PENDING
    asset.next_check_at = timezone.now()
    asset.save(update_fields=["verification_status", "next_check_at"])
    record_event(actor=actor, action=IntakeAction.ASSET_SWEEP_RECORDED, obj=asset,
                 after={"txid": txid, "case": str(case.public_id)})
    transaction.on_commit(lambda: queue_asset_check(asset.pk))
    return sweep


def queue_asset_check(asset_id: int) -> None:
    """Ask a worker to look at the chain now; if this is lost (broker down), the asset's
    next_check_at makes the beat sweeper re-drive it."""
    enqueue("intake.verify_asset", asset_id)


def asset_record_observation(*, asset_id: int, verified: bool, observed_amount: int,
                             details: dict[str, Any], actor: Any = None) -> SeizedAsset:
    """The intake watcher's verdict on a seized asset, from what the node reported.

    verified=True: the custody address received the declared amount in the recorded sweeps
    with enough confirmations. verified=False: a discrepancy (less, more, other txs, a sweep
    that vanished), raised as an alert on the case with what was seen. Safe to run twice:
    the same verdict on the same observation changes nothing and writes no event."""
    with transaction.atomic():
        asset = SeizedAsset.objects.select_for_update().select_related("case").get(pk=asset_id)
        target = VerificationStatus.VERIFIED if verified else VerificationStatus.DISCREPANCY
        if asset.verification_status == target and asset.observed_amount == observed_amount:
            return asset
        before = {"verification_status": asset.verification_status,
                  "observed_amount": asset.observed_amount}
        asset.verification_status = target
        asset.observed_amount = observed_amount
        asset.verified_at = timezone.now() if verified else None
        asset.save(update_fields=["verification_status", "observed_amount", "verified_at"])
        record_event(actor=actor, obj=asset, before=before,
                     action=(IntakeAction.ASSET_VERIFIED if verified
                             else IntakeAction.ASSET_DISCREPANCY),
                     after={"verification_status": target, "observed_amount": observed_amount,
                            "details": details})
        if not verified:
            lost = details.get("lost_sweeps") or []
            message = (f"Declared {asset.declared_amount}, observed {observed_amount} at "
                       f"{asset.custody_address}.")
            if lost:  # in no active block and no mempool: replaced or double-spent
                message += (f" Sweep(s) {', '.join(lost)} lost (double spend or replaced): "
                            "in no block of the active chain and not in the mempool.")
            alert_raise(case=asset.case, kind=CaseAlert.Kind.INTAKE_DISCREPANCY,
                        dedup_key=f"intake:{asset.public_id}:{observed_amount}",
                        message=message, details=details, actor=actor)
        return asset


def asset_sweep_reverted(*, asset_public_id: str, txid: str, chain_state: str,
                         actor: Any = None) -> SeizedAsset | None:
    """A recorded sweep left the chain (reorg) or lost to a conflicting spend, after the
    asset was verified: the verdict no longer stands. The asset goes back to PENDING (the
    watcher checks it again) and the case gets an alert saying what happened. Safe to run
    twice."""
    try:
        public_id = uuid.UUID(str(asset_public_id))
    except ValueError:
        return None
    with transaction.atomic():
        asset = (SeizedAsset.objects.select_for_update().select_related("case")
                 .filter(public_id=public_id).first())
        if asset is None or asset.verification_status != VerificationStatus.VERIFIED:
            return asset
        before = {"verification_status": asset.verification_status,
                  "observed_amount": asset.observed_amount}
        asset.verification_status = VerificationStatus.PENDING
        asset.verified_at = None
        asset.next_check_at = timezone.now()
        asset.save(update_fields=["verification_status", "verified_at", "next_check_at"])
        record_event(actor=actor, action=IntakeAction.ASSET_VERIFICATION_REVERTED, obj=asset,
                     before=before, after={"verification_status": asset.verification_status,
                                           "sweep": txid, "chain_state": str(chain_state)})
        kind = (CaseAlert.Kind.REORG if chain_state in ("MEMPOOL", "PENDING")
                else CaseAlert.Kind.CONFLICT)
        alert_raise(case=asset.case, kind=kind, dedup_key=f"sweep:{txid}:{chain_state}",
                    message=f"Sweep {txid} of a verified asset is now {chain_state}: the "
                            "verification was withdrawn and the asset is checked again.",
                    details={"txid": txid, "chain_state": str(chain_state),
                             "asset": str(asset.public_id)}, actor=actor)
    transaction.on_commit(lambda: queue_asset_check(asset.pk))
    return asset


def asset_sweep_lost(*, asset_public_id: str, txid: str, chain_state: str,
                     conflicting_txid: str, old_state: str = "",
                     actor: Any = None) -> SeizedAsset | None:
    """A recorded sweep was replaced (RBF, before it confirmed) or double-spent (another
    transaction spending its inputs is mined, in a reorg or not), seen by the chain
    watchers: from any prior state the asset is a DISCREPANCY at once, its observed amount
    what its other recorded sweeps still pay on chain, and the case gets an alert that
    says which ("replaced" or "double spend") and names the conflicting transaction.
    Runs inside the watcher's transaction; safe to run twice."""
    try:
        public_id = uuid.UUID(str(asset_public_id))
    except ValueError:
        return None
    replaced = str(chain_state) == TxState.REPLACED
    with transaction.atomic():
        asset = (SeizedAsset.objects.select_for_update().select_related("case")
                 .filter(public_id=public_id).first())
        if asset is None or not asset.is_chain_tracked:
            return asset
        observed = _paid_by_standing_sweeps(asset, lost_txid=txid)
        paid_by_conflict = sum(WatchedOutput.objects.filter(
            txid=conflicting_txid, address=asset.custody_address)
            .values_list("value_sats", flat=True)) if conflicting_txid else 0
        details = {"address": asset.custody_address, "declared_sats": asset.declared_amount,
                   "observed_sats": observed, "lost_sweep": txid,
                   "chain_state": str(chain_state), "conflicting_txid": conflicting_txid,
                   "conflicting_tx_paid_sats": paid_by_conflict,
                   "what": "replaced" if replaced else "double spend"}
        before = {"verification_status": asset.verification_status,
                  "observed_amount": asset.observed_amount}
        if before != {"verification_status": VerificationStatus.DISCREPANCY,
                      "observed_amount": observed}:
            asset.verification_status = VerificationStatus.DISCREPANCY
            asset.observed_amount = observed
            asset.verified_at = None
            asset.next_check_at = None
            asset.save(update_fields=["verification_status", "observed_amount",
                                      "verified_at", "next_check_at"])
        record_event(actor=actor, action=IntakeAction.ASSET_SWEEP_LOST, obj=asset,
                     before=before, after={"verification_status": asset.verification_status,
                                           "observed_amount": observed, "details": details})
        if str(old_state) == TxState.REPLACED:
            return asset  # its replacement was mined: the "replaced" alert already says it
        by = conflicting_txid or "another transaction"
        if replaced:
            kind = CaseAlert.Kind.REPLACED
            message = (f"Replaced: the sweep {txid} was replaced by {by} before it "
                       f"confirmed. The custody address {asset.custody_address} now has "
                       f"{observed} sat observed from the recorded sweeps (declared "
                       f"{asset.declared_amount}); the replacement paid it "
                       f"{paid_by_conflict} sat.")
        else:
            kind = CaseAlert.Kind.DOUBLE_SPEND
            message = (f"Double spend: the sweep {txid} lost to {by}, which spends its "
                       f"inputs and is mined. The custody address {asset.custody_address} "
                       f"now has {observed} sat observed from the recorded sweeps (declared "
                       f"{asset.declared_amount}); the conflicting transaction paid it "
                       f"{paid_by_conflict} sat.")
        alert_raise(case=asset.case, kind=kind, dedup_key=f"sweep-lost:{txid}",
                    message=message, details=details, actor=actor)
        return asset


def _paid_by_standing_sweeps(asset: SeizedAsset, *, lost_txid: str) -> int:
    """What the asset's other recorded sweeps pay its custody address, as far as the
    chain watchers know them to be on chain (no node call: this runs in the watcher's
    transaction)."""
    others = set(asset.sweeps.exclude(txid=lost_txid).values_list("txid", flat=True))
    on_chain = set(WatchedTransaction.objects.filter(
        purpose=WatchedTransaction.Purpose.SWEEP, ref=str(asset.public_id), txid__in=others,
        state__in=[TxState.CONFIRMING, TxState.CONFIRMED]).values_list("txid", flat=True))
    return sum(WatchedOutput.objects.filter(
        txid__in=on_chain, address=asset.custody_address).values_list("value_sats", flat=True))


def asset_sweep_back(*, asset_public_id: str, txid: str, chain_state: str,
                     actor: Any = None) -> SeizedAsset | None:
    """A sweep that was replaced or double-spent is back (a longer branch restored it):
    the discrepancy its loss caused no longer stands as it was, and the asset waits for
    the intake watcher to check it again. Safe to run twice."""
    try:
        public_id = uuid.UUID(str(asset_public_id))
    except ValueError:
        return None
    with transaction.atomic():
        asset = (SeizedAsset.objects.select_for_update().select_related("case")
                 .filter(public_id=public_id).first())
        if asset is None or asset.verification_status != VerificationStatus.DISCREPANCY:
            return asset
        before = {"verification_status": asset.verification_status,
                  "observed_amount": asset.observed_amount}
        asset.verification_status = VerificationStatus.PENDING
        asset.next_check_at = timezone.now()
        asset.save(update_fields=["verification_status", "next_check_at"])
        record_event(actor=actor, action=IntakeAction.ASSET_VERIFICATION_REVERTED, obj=asset,
                     before=before, after={"verification_status": asset.verification_status,
                                           "sweep": txid, "chain_state": str(chain_state)})
    transaction.on_commit(lambda: queue_asset_check(asset.pk))
    return asset

"""What intake does with the chain watchers' news. Registered in IntakeConfig.ready() with
chain.registry; called inside the watcher's transaction with chain's typed events."""

from __future__ import annotations

from chain.events import BlocksConnected, CoinsReceived, CoinsSpent, TxStateChanged
from chain.models import TxState

from . import verification
from .models import CaseAlert, SeizedAsset, SeizureCase
from .services import alert_raise, asset_sweep_back, asset_sweep_lost, asset_sweep_reverted


def sweep_changed(event: TxStateChanged) -> None:
    """A recorded sweep changed on chain. Replaced or double-spent (from any state): the
    asset is a discrepancy at once, with an alert naming the conflicting transaction. Only
    out of the chain (a reorg, back to the mempool): the verification is withdrawn and
    checked again. Back after a loss (a longer branch restored it): checked again. Dropped
    from the mempool: an alert (it may be sent again)."""
    if event.new_state in (TxState.REPLACED, TxState.CONFLICTED):
        asset_sweep_lost(asset_public_id=event.ref, txid=event.txid,
                         chain_state=event.new_state, conflicting_txid=event.conflicting_txid,
                         old_state=event.old_state)
    elif event.old_state in (TxState.REPLACED, TxState.CONFLICTED):
        # a longer branch brought it back: the asset is checked again
        asset_sweep_back(asset_public_id=event.ref, txid=event.txid,
                         chain_state=event.new_state)
    elif event.left_the_chain:
        asset_sweep_reverted(asset_public_id=event.ref, txid=event.txid,
                             chain_state=event.new_state)
    elif event.gone:
        asset = SeizedAsset.objects.select_related("case").filter(public_id=event.ref).first()
        alert_raise(case=asset.case if asset else None, kind=CaseAlert.Kind.CONFLICT,
                    dedup_key=f"conflict:{event.txid}",
                    message=f"The sweep {event.txid} is {event.new_state.label}: it left the "
                            "mempool without being mined or replaced by a transaction we saw.",
                    details={"txid": event.txid, "purpose": event.purpose, "ref": event.ref,
                             "conflicting_txid": event.conflicting_txid,
                             "state": event.new_state})


def custody_coins_spent(event: CoinsSpent) -> None:
    """Coins left a case's custody address: unless it is an approved transfer, an alarm."""
    if event.approved:
        return
    case = SeizureCase.objects.filter(custody_address=event.address).first()
    outpoints = [f"{c.txid}:{c.vout}" for c in event.coins]
    alert_raise(case=case, kind=CaseAlert.Kind.UNAPPROVED_SPEND,
                dedup_key=f"spend:{event.spender_txid}:{event.address}",
                message=f"{event.amount_sats} sat left custody address {event.address} in "
                        f"{event.spender_txid}, which is not an approved transfer.",
                details={"txid": event.spender_txid, "address": event.address,
                         "outpoints": outpoints, "amount_sats": event.amount_sats})


def custody_coins_received(event: CoinsReceived) -> None:
    """A payment to a custody address: the assets waiting on it are checked now."""
    verification.mark_assets_due(addresses={event.address})


def blocks_connected(event: BlocksConnected) -> None:
    """A new block may be the confirmation an asset's sweep waits for."""
    verification.mark_assets_due()

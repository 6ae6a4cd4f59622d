"""What intake does when the chain watchers see a recorded sweep change state
(settings.CHAIN_TX_HANDLERS["sweep"]). Called inside the watcher's transaction."""

from .services import asset_sweep_reverted

# States in which a sweep no longer counts as confirmed.
_NOT_CONFIRMED = {"PENDING", "MEMPOOL", "CONFLICTED", "REPLACED", "DROPPED"}


def sweep_changed(watched_tx, old_state, new_state):
    if old_state in ("CONFIRMING", "CONFIRMED") and new_state in _NOT_CONFIRMED:
        asset_sweep_reverted(asset_public_id=watched_tx.ref, txid=watched_tx.txid,
                             chain_state=new_state)

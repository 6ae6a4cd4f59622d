"""What custody tells the chain watchers, and what it does with their news. Named in
settings.CHAIN_TX_HANDLERS and settings.CHAIN_APPROVED_SPEND_CHECK; called inside the
watcher's own transaction."""

import logging

from .models import Transfer, TransferStatus

log = logging.getLogger(__name__)

# A custody spend is approved when it is the transaction of a transfer the quorum approved
# and the key holders signed (segwit txids do not change with signatures).
APPROVED_SPEND_STATES = (TransferStatus.SIGNING, TransferStatus.BROADCAST,
                         TransferStatus.CONFIRMING, TransferStatus.SETTLED)


def _field(obj, *names, default=None):
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return default


def transfer_changed(watched_tx, old_state, new_state):
    try:
        transfer = Transfer.objects.get(public_id=watched_tx.ref)
    except (Transfer.DoesNotExist, ValueError):
        log.error("watched transfer %s is unknown to custody", watched_tx.ref)
        return
    from .services import transfer_apply_chain_state

    transfer_apply_chain_state(
        transfer_id=transfer.pk, state=str(new_state),
        confirmations=_field(watched_tx, "confirmations", default=0),
        block_hash=_field(watched_tx, "block_hash"),
        block_height=_field(watched_tx, "block_height"))


def deposit_changed(watched_tx, old_state, new_state):
    """A watched deposit: gone from the chain (a reorg) → reversed if it was attributed."""
    from .services import deposit_apply_chain_state

    state = str(new_state).upper()
    removed = state in ("DROPPED", "CONFLICTED", "REPLACED") or (
        str(old_state).upper() in ("CONFIRMING", "SETTLED", "CONFIRMED")
        and state in ("SEEN", "MEMPOOL"))
    if removed:
        deposit_apply_chain_state(txid=watched_tx.txid, removed=True)


def is_approved_spend(txid, outpoints=()):
    """True when txid is an approved, signed transfer spending exactly custody coins it
    locked."""
    transfer = (Transfer.objects.filter(unsigned_txid=txid, status__in=APPROVED_SPEND_STATES)
                .first())
    if transfer is None:
        return False
    if not outpoints:
        return True
    ours = {(i.txid, i.vout) for i in transfer.inputs.all()}
    theirs = {(_field(o, "txid"), _field(o, "vout")) if not isinstance(o, (tuple, list, dict))
              else (tuple(o) if not isinstance(o, dict) else (o["txid"], o["vout"]))
              for o in outpoints}
    return theirs <= ours

"""What custody tells the chain watchers, and what it does with their news. Named in
settings.CHAIN_TX_HANDLERS and settings.CHAIN_APPROVED_SPEND_CHECK; called inside the
watcher's own transaction."""

import logging

from django.core.exceptions import ValidationError

from .models import Transfer, TransferStatus

log = logging.getLogger(__name__)

# A custody spend is approved when it is the transaction of a transfer the quorum approved
# and the key holders signed (segwit txids do not change with signatures).
APPROVED_SPEND_STATES = (TransferStatus.SIGNING, TransferStatus.BROADCAST,
                         TransferStatus.CONFIRMING, TransferStatus.SETTLED)


def _confirmations(watched_tx):
    value = getattr(watched_tx, "confirmations_seen", None)
    if value is None:
        value = getattr(watched_tx, "confirmations", 0)
    return value if isinstance(value, int) else 0


def transfer_changed(watched_tx, old_state, new_state):
    try:
        transfer = Transfer.objects.get(public_id=watched_tx.ref)
    except (Transfer.DoesNotExist, ValueError, ValidationError):
        log.error("watched transfer %s is unknown to custody", watched_tx.ref)
        return
    from .services import transfer_apply_chain_state

    transfer_apply_chain_state(
        transfer_id=transfer.pk, state=str(new_state),
        confirmations=_confirmations(watched_tx),
        block_hash=getattr(watched_tx, "block_hash", None) or None,
        block_height=getattr(watched_tx, "block_height", None))


def deposit_changed(watched_tx, old_state, new_state):
    """A watched deposit: gone from the chain (a reorg) → reversed if it was attributed."""
    from .services import deposit_apply_chain_state

    state = str(new_state).upper()
    removed = state in ("DROPPED", "CONFLICTED", "REPLACED") or (
        str(old_state).upper() in ("CONFIRMING", "SETTLED", "CONFIRMED")
        and state in ("PENDING", "SEEN", "MEMPOOL"))
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
    return {_outpoint(o) for o in outpoints} <= ours


def _outpoint(item):
    """"txid:vout", (txid, vout), {"txid", "vout"} or an object with .txid/.vout."""
    if isinstance(item, str):
        txid, _, vout = item.partition(":")
        return txid, int(vout)
    if isinstance(item, dict):
        return item["txid"], int(item["vout"])
    if isinstance(item, (tuple, list)):
        return item[0], int(item[1])
    return item.txid, int(item.vout)

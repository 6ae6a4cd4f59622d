"""Every chain call custody makes, in one place, through chain.adapter.get_adapter().

Services call these outside row locks; tests replace them with in-memory values."""

import logging

from core.errors import ErrorCode, ValidationFailed

from .psbt import SpendableOutput

log = logging.getLogger(__name__)


def adapter():
    from chain.adapter import get_adapter

    return get_adapter()


def chain_errors():
    from chain import errors

    return errors


def custody_utxos(address):
    """The custody address's UTXOs as the node reports them, with their previous
    transactions (for non_witness_utxo)."""
    errors = chain_errors()
    try:
        chain = adapter()
        utxos = chain.scan_utxos([address])
        prev = {txid: chain.get_raw_transaction_hex(txid) for txid in {u.txid for u in utxos}}
    except errors.ChainError as exc:
        raise ValidationFailed(f"The node could not be asked for the custody UTXOs: {exc}",
                               code=ErrorCode.CHAIN_UNAVAILABLE) from None
    return [SpendableOutput(txid=u.txid, vout=u.vout, value_sats=u.value_sats,
                            script_pubkey=u.script_pubkey, prev_tx_hex=prev.get(u.txid))
            for u in utxos]


def fee_rate_sat_vb():
    """The node's estimate (the adapter falls back to the configured rate and caps it)."""
    from django.conf import settings

    try:
        rate = adapter().estimate_fee_rate_sat_vb()
    except chain_errors().ChainError:
        log.warning("no fee estimate from the node; using the fallback rate")
        rate = settings.FALLBACK_FEE_RATE_SAT_VB
    return max(1, min(int(rate), settings.MAX_FEE_RATE_SAT_VB))


def broadcast(raw_hex):
    return adapter().broadcast(raw_hex)


def transaction_status(txid):
    """The node's view of txid, or None if it does not know it."""
    errors = chain_errors()
    try:
        return adapter().get_transaction(txid)
    except errors.UnknownTransaction:
        return None


def tip():
    return adapter().tip()


def reserve_utxos(addresses):
    return adapter().scan_utxos(list(addresses)) if addresses else []


def settlement_paused():
    """The chain watchers' circuit breaker: (paused, reason)."""
    try:
        from chain.services import settlement_paused as paused
    except ImportError:
        return False, ""
    return paused()


def watch_transfer(*, txid, ref, inputs):
    from chain.services import watch_transaction

    return watch_transaction(txid=txid, purpose="transfer", ref=ref, inputs=inputs)


def watch_reserve_address(*, address, ref):
    """Ask the watchers to report coins arriving at a reserve address (deposits)."""
    try:
        from chain.services import watch_address
    except ImportError:
        return None
    return watch_address(address=address, purpose="reserve", ref=ref)


def watched_transfer_state(transfer):
    """The watchers' state of a broadcast transfer's transaction, or None."""
    try:
        from chain.models import WatchedTransaction
    except ImportError:
        return None
    return (WatchedTransaction.objects.filter(txid=transfer.txid, purpose="transfer",
                                              ref=str(transfer.public_id)).first())


def watch_deposit(*, txid, ref):
    """Once attributed, a deposit is watched so a reorg that removes it reaches the ledger."""
    try:
        from chain.services import watch_transaction
    except ImportError:
        return None
    return watch_transaction(txid=txid, purpose="deposit", ref=ref)

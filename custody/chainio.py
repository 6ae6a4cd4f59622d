"""Every chain call custody makes, in one place, through chain.adapter.get_adapter().

Services call these outside row locks; tests replace them with in-memory values."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING

from django.conf import settings

from chain import errors as chain_errors_module
from chain.adapter import BroadcastResult, ChainAdapter, Tip, TxStatus, Utxo, get_adapter
from chain.models import WatchedAddress, WatchedTransaction
from chain.services import settlement_paused as chain_settlement_paused
from chain.services import watch_address, watch_transaction
from core.errors import ErrorCode, ValidationFailed

from .psbt import SpendableOutput

if TYPE_CHECKING:
    from .models import Transfer

log = logging.getLogger(__name__)


def adapter() -> ChainAdapter:
    return get_adapter()


def chain_errors() -> ModuleType:
    return chain_errors_module


def custody_utxos(address: str) -> list[SpendableOutput]:
    """The custody address's UTXOs as the node reports them, with their previous
    transactions (for non_witness_utxo)."""
    errors = chain_errors()
    try:
        chain = adapter()
        utxos = chain.address_utxos([address])
        prev = {txid: chain.get_raw_transaction_hex(txid) for txid in {u.txid for u in utxos}}
    except errors.ChainError as exc:
        raise ValidationFailed(f"The node could not be asked for the custody UTXOs: {exc}",
                               code=ErrorCode.CHAIN_UNAVAILABLE) from None
    return [SpendableOutput(txid=u.txid, vout=u.vout, value_sats=u.value_sats,
                            script_pubkey=u.script_pubkey, prev_tx_hex=prev.get(u.txid))
            for u in utxos]


def fee_rate_sat_vb() -> int:
    """The node's estimate (the adapter falls back to the configured rate and caps it)."""
    try:
        rate = adapter().estimate_fee_rate_sat_vb()
    except chain_errors().ChainError:
        log.warning("no fee estimate from the node; using the fallback rate")
        rate = settings.FALLBACK_FEE_RATE_SAT_VB
    return max(1, min(int(rate), settings.MAX_FEE_RATE_SAT_VB))


def broadcast(raw_hex: str) -> BroadcastResult:
    return adapter().broadcast(raw_hex)


def transaction_status(txid: str) -> TxStatus | None:
    """The node's view of txid, or None if it does not know it."""
    errors = chain_errors()
    try:
        return adapter().get_transaction(txid)
    except errors.UnknownTransaction:
        return None


def tip() -> Tip:
    return adapter().tip()


def reserve_utxos(addresses: Iterable[str]) -> list[Utxo]:
    return adapter().scan_utxos(list(addresses)) if addresses else []


def settlement_paused() -> tuple[bool, str]:
    """The chain watchers' circuit breaker: (paused, reason)."""
    return chain_settlement_paused()


def watch_transfer(*, txid: str, ref: str,
                   inputs: list[tuple[str, int]]) -> WatchedTransaction:
    return watch_transaction(txid=txid, purpose=WatchedTransaction.Purpose.TRANSFER, ref=ref,
                             inputs=inputs)


def watch_reserve_address(*, address: str, ref: str) -> WatchedAddress:
    """Ask the watchers to report coins arriving at a reserve address (deposits)."""
    return watch_address(address=address, purpose=WatchedAddress.Purpose.RESERVE, ref=ref)


def watched_transfer_state(transfer: Transfer) -> WatchedTransaction | None:
    """The watchers' state of a broadcast transfer's transaction, or None."""
    return (WatchedTransaction.objects.filter(txid=transfer.txid,
                                              purpose=WatchedTransaction.Purpose.TRANSFER,
                                              ref=str(transfer.public_id)).first())


def watch_deposit(*, txid: str, ref: str) -> WatchedTransaction:
    """Once attributed, a deposit is watched so a reorg that removes it reaches the ledger."""
    return watch_transaction(txid=txid, purpose=WatchedTransaction.Purpose.DEPOSIT, ref=ref)

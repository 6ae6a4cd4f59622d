"""The ledger against the node: for each reserve wallet, the ledger balance equals the node's
UTXO total at its addresses, less what is in flight or not yet attributed. A mismatch is an
alert with the difference, never a correction. Unexplained UTXOs are recorded as deposits
waiting for attribution."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import transaction

from core.audit import record_event
from intake.models import CaseAlert

from . import chainio
from .audit import CustodyAction
from .models import (
    IN_FLIGHT_STATES,
    ApprovalStatus,
    Deposit,
    ReconciliationRun,
    ReserveAddress,
    ReserveWallet,
    Transfer,
)
from .selectors import wallet_ledger_balance
from .services import deposit_observe
from .services.cases import raise_alert

BATCH = 1000


def _batches(items: list[Any], size: int = BATCH) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def reconcile_wallet(wallet: ReserveWallet) -> ReconciliationRun:
    """In batches, with memory bounded by the coins the node reports rather than by the
    wallet's history: the addresses are read as plain strings, and transfers and address
    rows are looked up only for the UTXOs found, BATCH at a time (never whole rows of every
    transfer or address of the wallet)."""
    addresses = ReserveAddress.objects.filter(wallet=wallet).order_by("address")
    tip = chainio.tip()
    utxos = chainio.reserve_utxos(list(addresses.values_list("address", flat=True)
                                       .iterator(chunk_size=10 * BATCH)))
    per_address: dict[str, int] = {}
    node = in_flight = unattributed = 0
    for batch in _batches(utxos):
        ids = dict(addresses.filter(address__in={u.address for u in batch if u.address})
                   .values_list("address", "id"))
        statuses = dict(Transfer.objects.filter(destination__wallet=wallet,
                                                unsigned_txid__in={u.txid for u in batch})
                        .values_list("unsigned_txid", "status"))
        for utxo in batch:
            address = utxo.address or ""
            if address not in ids:
                continue
            node += utxo.value_sats
            per_address[address] = per_address.get(address, 0) + utxo.value_sats
            status = statuses.get(utxo.txid)
            if status is not None:
                if status in IN_FLIGHT_STATES:
                    in_flight += utxo.value_sats
                continue
            deposit = deposit_observe(
                reserve_address=ReserveAddress.objects.get(pk=ids[address]), txid=utxo.txid,
                vout=utxo.vout, amount_sats=utxo.value_sats,
                confirmations=utxo.confirmations, block_height=utxo.height)
            if deposit.status != Deposit.Status.ATTRIBUTED:
                unattributed += utxo.value_sats
    with transaction.atomic():
        ledger = wallet_ledger_balance(wallet)
        difference = node - in_flight - unattributed - ledger
        run = ReconciliationRun.objects.create(
            wallet=wallet, tip_height=tip.height, tip_hash=tip.block_hash, ledger_sats=ledger,
            node_sats=node, in_flight_sats=in_flight, unattributed_sats=unattributed,
            difference_sats=difference,
            addresses=[{"address": a, "balance_sats": per_address.get(a, 0)} for a in
                       addresses.values_list("address", flat=True)
                       .iterator(chunk_size=10 * BATCH)])
        record_event(actor=None, action=CustodyAction.RESERVE_RECONCILED, obj=run, after={
            "wallet": str(wallet.public_id), "tip_height": tip.height, "ledger_sats": ledger,
            "node_sats": node, "in_flight_sats": in_flight,
            "unattributed_sats": unattributed, "difference_sats": difference})
        if difference:
            raise_alert(case=None, kind=CaseAlert.Kind.RECONCILIATION,
                        dedup_key=f"reconcile:{wallet.public_id}:{difference}",
                        message=f"Reserve wallet {wallet.label}: the node holds {node} sats "
                                f"({in_flight} in flight, {unattributed} unattributed), the "
                                f"ledger {ledger}: a difference of {difference} sats.",
                        details={"wallet": str(wallet.public_id), "difference_sats": difference,
                                 "tip_height": tip.height, "tip_hash": tip.block_hash})
    return run


def reconcile_all() -> list[ReconciliationRun]:
    return [reconcile_wallet(w) for w in
            ReserveWallet.objects.filter(status__in=[ApprovalStatus.ACTIVE,
                                                     ApprovalStatus.RETIRED])]

"""The ledger against the node: for each reserve wallet, the ledger balance equals the node's
UTXO total at its addresses, less what is in flight or not yet attributed. A mismatch is an
alert with the difference, never a correction. Unexplained UTXOs are recorded as deposits
waiting for attribution."""

from __future__ import annotations

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


def reconcile_wallet(wallet: ReserveWallet) -> ReconciliationRun:
    addresses = {a.address: a for a in ReserveAddress.objects.filter(wallet=wallet)}
    tip = chainio.tip()
    utxos = chainio.reserve_utxos(sorted(addresses))
    transfers = {t.unsigned_txid: t for t in
                 Transfer.objects.filter(destination__wallet=wallet)}
    per_address = {address: 0 for address in addresses}
    node = in_flight = unattributed = 0
    for utxo in utxos:
        address = utxo.address or ""
        reserve_address = addresses.get(address)
        if reserve_address is None:
            continue
        node += utxo.value_sats
        per_address[address] += utxo.value_sats
        transfer = transfers.get(utxo.txid)
        if transfer is not None:
            if transfer.status in IN_FLIGHT_STATES:
                in_flight += utxo.value_sats
            continue
        deposit = deposit_observe(reserve_address=reserve_address, txid=utxo.txid,
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
            addresses=[{"address": a, "balance_sats": s} for a, s in sorted(per_address.items())])
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

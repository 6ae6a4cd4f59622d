"""The reserve ledger: balanced journal entries, written at settlement or attribution and
never edited; what a reorganisation or a conflict undoes gets a compensating entry."""

from __future__ import annotations

from core.audit import record_event

from ..audit import CustodyAction
from ..models import (
    AssetHandover,
    Deposit,
    FundSource,
    JournalEntry,
    LedgerAccount,
    LedgerLine,
    Transfer,
    TransferKind,
)

# The entry a settled transfer posts, and the one that reverses it, by the transfer's kind.
SETTLED_KINDS = {TransferKind.RESERVE: JournalEntry.Kind.TRANSFER_SETTLED,
                 TransferKind.RELEASE: JournalEntry.Kind.RELEASE_SETTLED}
REVERSED_KINDS = {TransferKind.RESERVE: JournalEntry.Kind.TRANSFER_REVERSED,
                  TransferKind.RELEASE: JournalEntry.Kind.RELEASE_REVERSED}


def post_transfer_settled(transfer: Transfer) -> JournalEntry:
    """Custody (the case) into the reserve (the wallet), or, for a court-ordered release,
    out to the order's beneficiary (RELEASED); the fee to the network either way."""
    release = transfer.kind == TransferKind.RELEASE
    memo = (f"Case {transfer.case.case_number} released by order "
            f"{transfer.release_order.order_number} to {transfer.destination_address}"
            if release and transfer.release_order else
            f"Case {transfer.case.case_number} into reserve")
    entry = JournalEntry.objects.create(
        kind=SETTLED_KINDS[TransferKind(transfer.kind)], network=transfer.network,
        transfer=transfer, txid=transfer.txid, block_hash=transfer.block_hash,
        block_height=transfer.block_height, memo=memo)
    common = {"case": transfer.case, "source": FundSource.SEIZURE}
    out = (LedgerLine(entry=entry, account=LedgerAccount.RELEASED,
                      amount_sats=transfer.amount_sats, **common) if release else
           LedgerLine(entry=entry, account=LedgerAccount.RESERVE,
                      amount_sats=transfer.amount_sats, reserve_wallet=transfer.reserve_wallet,
                      reserve_address=transfer.destination, **common))
    lines = [out, LedgerLine(entry=entry, account=LedgerAccount.CUSTODY,
                             amount_sats=-transfer.input_total_sats, **common)]
    if transfer.fee_sats:
        lines.append(LedgerLine(entry=entry, account=LedgerAccount.NETWORK_FEES,
                                amount_sats=transfer.fee_sats, **common))
    LedgerLine.objects.bulk_create(lines)
    record_event(actor=None, action=CustodyAction.LEDGER_POSTED, obj=entry,
                 after={"kind": entry.kind, "transfer": str(transfer.public_id),
                        "lines": [(ln.account, ln.amount_sats) for ln in lines]})
    return entry


def reverse_transfer(transfer: Transfer, why: str) -> None:
    """Compensating entries for the transfer's settlements not yet reversed."""
    kind = TransferKind(transfer.kind)
    open_entries = transfer.journal_entries.filter(kind=SETTLED_KINDS[kind],
                                                   reversed_by__isnull=True)
    for entry in open_entries:
        _reverse_entry(entry, REVERSED_KINDS[kind], f"Compensating entry: {why}.")


def post_handover(handover: AssetHandover) -> JournalEntry:
    """An asset that left without a transfer, in its own unit: out of the case's custody to
    the fund's custodian, or released by court order. The reserve's BTC balances (RESERVE
    lines) are untouched: the asset is on the custodian's books, named by its receipt."""
    asset = handover.asset
    released = handover.kind == AssetHandover.Kind.RELEASE
    entry = JournalEntry.objects.create(
        kind=JournalEntry.Kind.HANDED_OVER, asset=asset.asset, network=asset.network,
        handover=handover, txid=handover.txid,
        memo=f"Case {handover.case.case_number}: {asset.asset} "
             f"{'released to' if released else 'handed to'} {handover.recipient} "
             f"(receipt {handover.receipt_sha256})")
    common = {"case": handover.case, "source": FundSource.SEIZURE}
    lines = [LedgerLine(entry=entry, account=(LedgerAccount.RELEASED if released
                                              else LedgerAccount.CUSTODIAN),
                        amount_sats=handover.amount, **common),
             LedgerLine(entry=entry, account=LedgerAccount.CUSTODY,
                        amount_sats=-handover.amount, **common)]
    LedgerLine.objects.bulk_create(lines)
    record_event(actor=None, action=CustodyAction.LEDGER_POSTED, obj=entry,
                 after={"kind": entry.kind, "handover": str(handover.public_id),
                        "asset": asset.asset, "lines": [(ln.account, ln.amount_sats)
                                                        for ln in lines]})
    return entry


def post_deposit_attributed(deposit: Deposit, *, source: str, memo: str) -> JournalEntry:
    """An external source (state mining, other) into the reserve."""
    wallet = deposit.reserve_address.wallet
    entry = JournalEntry.objects.create(
        kind=JournalEntry.Kind.DEPOSIT_ATTRIBUTED, network=wallet.network, deposit=deposit,
        txid=deposit.txid, block_height=deposit.block_height, memo=memo)
    LedgerLine.objects.bulk_create([
        LedgerLine(entry=entry, account=LedgerAccount.RESERVE, amount_sats=deposit.amount_sats,
                   reserve_wallet=wallet, reserve_address=deposit.reserve_address,
                   source=source),
        LedgerLine(entry=entry, account=LedgerAccount.EXTERNAL,
                   amount_sats=-deposit.amount_sats, source=source),
    ])
    return entry


def reverse_deposit(deposit: Deposit) -> None:
    """Compensating entries for the deposit's attribution."""
    for entry in deposit.journal_entries.filter(reversed_by__isnull=True,
                                                reverses__isnull=True):
        _reverse_entry(entry, JournalEntry.Kind.DEPOSIT_REVERSED,
                       "Compensating entry: a reorganisation removed the deposit.")


def _reverse_entry(entry: JournalEntry, kind: JournalEntry.Kind, memo: str) -> JournalEntry:
    reversal = JournalEntry.objects.create(
        kind=kind, asset=entry.asset, network=entry.network, transfer=entry.transfer,
        deposit=entry.deposit, handover=entry.handover, reverses=entry, txid=entry.txid, memo=memo)
    lines = [LedgerLine(entry=reversal, account=ln.account, amount_sats=-ln.amount_sats,
                        reserve_wallet_id=ln.reserve_wallet_id,
                        reserve_address_id=ln.reserve_address_id, case_id=ln.case_id,
                        source=ln.source) for ln in entry.lines.all()]
    LedgerLine.objects.bulk_create(lines)
    record_event(actor=None, action=CustodyAction.LEDGER_REVERSED, obj=reversal,
                 after={"reverses": str(entry.public_id), "memo": memo,
                        "lines": [(ln.account, ln.amount_sats) for ln in lines]})
    return reversal

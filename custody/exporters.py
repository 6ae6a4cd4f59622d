"""Exports of custody: proof of reserves and the full accounting (holdings by source, by
case, by wallet), as dicts for JSON and as row generators (header first) for CSV, which
core.api.exports streams."""

from core.api.exports import csv_lines
from core.bitcoin import format_btc

from .models import LedgerAccount, LedgerLine, ReconciliationRun, ReserveWallet
from .selectors import balances

PROOF_OF_RESERVES_COLUMNS = ["wallet", "label", "address", "balance_sats", "balance_btc",
                             "tip_height", "tip_hash", "checked_at"]
ACCOUNTING_COLUMNS = ["section", "entry", "kind", "created_at", "txid", "account",
                      "amount_sats", "amount_btc", "reserve_wallet", "case", "source"]


def _wallet_proofs():
    """Each reserve wallet with the latest reconciliation of it, one at a time."""
    for wallet in ReserveWallet.objects.order_by("id"):
        run = ReconciliationRun.objects.filter(wallet=wallet).order_by("-id").first()
        yield {
            "wallet": str(wallet.public_id), "label": wallet.label, "network": wallet.network,
            "descriptor": wallet.descriptor, "status": wallet.status,
            "checked_at": run.created_at.isoformat() if run else None,
            "tip_height": run.tip_height if run else None,
            "tip_hash": run.tip_hash if run else None,
            "ledger_sats": run.ledger_sats if run else None,
            "node_sats": run.node_sats if run else None,
            "difference_sats": run.difference_sats if run else None,
            "addresses": run.addresses if run else [],
        }


def proof_of_reserves():
    """Each reserve address with its balance and the tip it was checked at (the latest
    reconciliation of each wallet)."""
    return {"wallets": list(_wallet_proofs())}


def proof_of_reserves_rows():
    """The header, then one row per reserve address of each wallet's latest reconciliation."""
    yield PROOF_OF_RESERVES_COLUMNS
    for wallet in _wallet_proofs():
        for row in wallet["addresses"]:
            yield [wallet["wallet"], wallet["label"], row["address"], row["balance_sats"],
                   format_btc(row["balance_sats"]), wallet["tip_height"], wallet["tip_hash"],
                   wallet["checked_at"]]


def proof_of_reserves_csv():
    return "".join(csv_lines(proof_of_reserves_rows()))


def accounting_rows():
    """The header, one row per ledger line, then the holdings by source, by case and by
    wallet, and the total."""
    yield ACCOUNTING_COLUMNS
    lines = (LedgerLine.objects.select_related("entry", "reserve_wallet", "case")
             .order_by("entry_id", "id"))
    for ln in lines.iterator(chunk_size=2000):
        yield ["line", str(ln.entry.public_id), ln.entry.kind, ln.entry.created_at.isoformat(),
               ln.entry.txid, ln.account, ln.amount_sats,
               # A handed-over USDT or ETH line is in its own smallest unit, never BTC.
               format_btc(ln.amount_sats) if ln.entry.asset == "BTC" else "",
               ln.reserve_wallet.label if ln.reserve_wallet else "",
               ln.case.case_number if ln.case else "", ln.source]
    totals = balances()
    for source, sats in totals["by_source"].items():
        yield ["holding_by_source", "", "", "", "", LedgerAccount.RESERVE, sats,
               format_btc(sats), "", "", source]
    for _, row in totals["by_case"].items():
        yield ["holding_by_case", "", "", "", "", LedgerAccount.RESERVE, row["sats"],
               format_btc(row["sats"]), "", row["case_number"], ""]
    for _, row in totals["by_wallet"].items():
        yield ["holding_by_wallet", "", "", "", "", LedgerAccount.RESERVE, row["sats"],
               format_btc(row["sats"]), row["label"], "", ""]
    yield ["total", "", "", "", "", LedgerAccount.RESERVE, totals["total_sats"],
           format_btc(totals["total_sats"]), "", "", ""]


def accounting_csv():
    return "".join(csv_lines(accounting_rows()))

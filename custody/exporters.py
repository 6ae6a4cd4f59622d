"""Exports of custody: proof of reserves and the full accounting (holdings by source, by
case, by wallet), as dicts for JSON and as row generators (header first) for CSV, which
core.api.exports streams."""

import codecs

from django.db import connection
from django.db.models import Sum

from core.api.exports import csv_lines
from core.bitcoin import format_btc

from .models import Deposit, LedgerAccount, LedgerLine, ReconciliationRun, ReserveWallet
from .selectors import (
    counted_approvals,
    last_poll,
    reserve_outputs_at_last_poll,
    wallet_ledger_balance,
)

PROOF_OF_RESERVES_COLUMNS = ["wallet", "label", "address", "balance_sats", "balance_btc",
                             "tip_height", "tip_hash", "checked_at"]
ACCOUNTING_CHUNK = 5000
ACCOUNTING_COLUMNS = ["section", "entry", "kind", "created_at", "txid", "account",
                      "amount_sats", "amount_btc", "reserve_wallet", "case", "source"]


def _wallet_proofs():
    """Each reserve wallet as of the chain watchers' last poll: the tip that poll reached,
    each address's unspent coins there (confirmed; unconfirmed apart), the ledger beside
    them; and the last full reconciliation against the node's UTXO set as a cross-check."""
    poll = last_poll()
    checked_at = poll["polled_at"].isoformat() if poll["polled_at"] else None
    unattributed = _unattributed_by_wallet()
    for wallet in ReserveWallet.objects.order_by("id"):
        run = ReconciliationRun.objects.filter(wallet=wallet).order_by("-id").first()
        outputs = reserve_outputs_at_last_poll(wallet)
        node = sum(o["confirmed_sats"] for o in outputs.values())
        ledger = wallet_ledger_balance(wallet)
        waiting = unattributed.get(wallet.pk, 0)
        yield {
            "wallet": str(wallet.public_id), "label": wallet.label, "network": wallet.network,
            "descriptor": wallet.descriptor, "status": wallet.status,
            "checked_at": checked_at, "tip_height": poll["tip_height"],
            "tip_hash": poll["tip_hash"],
            "ledger_sats": ledger, "node_sats": node, "unattributed_sats": waiting,
            "unconfirmed_sats": sum(o["unconfirmed_sats"] for o in outputs.values()),
            "difference_sats": node - waiting - ledger,
            "addresses": [{"address": a, "balance_sats": o["confirmed_sats"],
                           "unconfirmed_sats": o["unconfirmed_sats"]}
                          for a, o in outputs.items()],
            "last_reconciliation": {
                "checked_at": run.created_at.isoformat(), "tip_height": run.tip_height,
                "tip_hash": run.tip_hash, "ledger_sats": run.ledger_sats,
                "node_sats": run.node_sats, "difference_sats": run.difference_sats,
            } if run else None,
        }


def _unattributed_by_wallet():
    """Confirmed deposits waiting for attribution, per wallet id (they are on the node, not
    yet in the books). A dropped, replaced or double-spent one never counts."""
    rows = (Deposit.objects.filter(status__in=Deposit.WAITING, block_height__isnull=False)
            .values("reserve_address__wallet_id").annotate(s=Sum("amount_sats")))
    return {r["reserve_address__wallet_id"]: r["s"] or 0 for r in rows}


def proof_of_reserves():
    """Each reserve address with its balance at the tip of the chain watchers' last poll
    (stated: tip_height, tip_hash, checked_at), never an older snapshot."""
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


def _btc(sats):
    """format_btc without Decimal: integer arithmetic, the same text (-0.00001200)."""
    whole, frac = divmod(abs(sats), 100_000_000)
    return f"{'-' if sats < 0 else ''}{whole}.{frac:08d}"


def accounting_rows():
    """The header, one row per ledger line, then the holdings by source, by case and by
    wallet, and the total. Streamed in constant memory: the lines and the holdings by case
    come from server-side cursors as plain tuples, a chunk at a time."""
    yield ACCOUNTING_COLUMNS
    lines = (LedgerLine.objects.order_by("entry_id", "id")
             .values_list("entry__public_id", "entry__kind", "entry__created_at",
                          "entry__txid", "account", "amount_sats", "reserve_wallet__label",
                          "case__case_number", "source", "entry__asset"))
    for entry, kind, created_at, txid, account, sats, wallet, case, source, asset in \
            lines.iterator(chunk_size=ACCOUNTING_CHUNK):
        # A handed-over USDT or ETH line is in its own smallest unit, never BTC.
        yield ["line", str(entry), kind, created_at.isoformat(), txid, account, sats,
               _btc(sats) if asset == "BTC" else "", wallet or "", case or "", source]
    yield from _holdings_rows()


def _holdings_rows():
    """The holdings by source, by case and by wallet, and the total (reserve account)."""
    reserve = LedgerLine.objects.filter(account=LedgerAccount.RESERVE)
    for source, sats in (reserve.values_list("source").annotate(s=Sum("amount_sats"))
                         .order_by("source")):
        yield ["holding_by_source", "", "", "", "", LedgerAccount.RESERVE, sats, _btc(sats),
               "", "", source]
    by_case = (reserve.filter(case__isnull=False).values_list("case_id", "case__case_number")
               .annotate(s=Sum("amount_sats")).order_by("case__case_number", "case_id"))
    for _case_id, case_number, sats in by_case.iterator(chunk_size=ACCOUNTING_CHUNK):
        yield ["holding_by_case", "", "", "", "", LedgerAccount.RESERVE, sats, _btc(sats),
               "", case_number, ""]
    for label, sats in (reserve.values_list("reserve_wallet__label")
                        .annotate(s=Sum("amount_sats")).order_by("reserve_wallet__label")):
        yield ["holding_by_wallet", "", "", "", "", LedgerAccount.RESERVE, sats, _btc(sats),
               label, "", ""]
    total = reserve.aggregate(s=Sum("amount_sats"))["s"] or 0
    yield ["total", "", "", "", "", LedgerAccount.RESERVE, total, _btc(total), "", "", ""]


# The ledger lines section of accounting_rows(), written by PostgreSQL itself (COPY … CSV):
# the same text as the Python rows (tests/custody/test_export_accounting_stream.py holds
# them equal) at the speed of \copy. Empty strings are NULLs so that they are written bare,
# as Python's csv module writes them; line ends become CRLF, as the csv module's.
ACCOUNTING_LINES_SQL = """
SELECT 'line', e.public_id, e.kind,
       to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
       || CASE WHEN EXTRACT(microseconds FROM e.created_at)::bigint % 1000000 <> 0
               THEN to_char(e.created_at AT TIME ZONE 'UTC', '.US') ELSE '' END
       || '+00:00',
       NULLIF(e.txid, ''), NULLIF(l.account, ''), l.amount_sats,
       CASE WHEN e.asset = 'BTC'
            THEN (l.amount_sats::numeric / 100000000)::numeric(30, 8) END,
       NULLIF(w.label, ''), NULLIF(c.case_number, ''), NULLIF(l.source, '')
FROM custody_ledgerline l
JOIN custody_journalentry e ON e.id = l.entry_id
LEFT JOIN custody_reservewallet w ON w.id = l.reserve_wallet_id
LEFT JOIN intake_seizurecase c ON c.id = l.case_id
ORDER BY l.entry_id, l.id
"""


def _copied_lines():
    """The ledger lines as CSV text chunks straight from COPY (PostgreSQL), else None."""
    if connection.vendor != "postgresql":
        return None

    def chunks():
        decoder = codecs.getincrementaldecoder("utf-8")()
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY ({ACCOUNTING_LINES_SQL}) TO STDOUT WITH CSV") as copy:
                for block in copy:
                    yield decoder.decode(bytes(block)).replace("\n", "\r\n")
        yield decoder.decode(b"", final=True)

    return chunks()


def accounting_csv_chunks():
    """accounting_rows() as CSV text, chunk by chunk, in constant memory: the ledger lines
    from PostgreSQL's COPY where it is there, the holdings (one row per case at most) from
    the same rows as accounting_rows()."""
    copied = _copied_lines()
    if copied is None:
        yield from csv_lines(accounting_rows())
        return
    yield from csv_lines([ACCOUNTING_COLUMNS])
    yield from copied
    yield from csv_lines(_holdings_rows())


def write_accounting_csv(out):
    """The accounting CSV to a text file, chunk by chunk (constant memory)."""
    for chunk in accounting_csv_chunks():
        out.write(chunk)


def accounting_csv():
    """The whole accounting CSV as one string (small ledgers, tests); streams use
    accounting_csv_chunks() or write_accounting_csv()."""
    return "".join(accounting_csv_chunks())


TRANSFER_COLUMNS = ["id", "case", "status", "reserve_wallet", "destination", "amount_sats",
                    "amount_btc", "fee_sats", "payload_hash", "approvals_required",
                    "approvals", "txid", "block_height", "block_hash", "created_at",
                    "settled_at"]
DEPOSIT_COLUMNS = ["id", "reserve_wallet", "address", "txid", "vout", "amount_sats",
                   "amount_btc", "status", "source", "confirmations", "block_height",
                   "attributed_by", "seen_at"]
VALUATION_COLUMNS = ["case", "transfer", "point", "amount_sats", "amount_btc", "value_kzt",
                     "kzt_per_unit", "price_source", "price_observed_at"]


def _iso(value):
    return value.isoformat() if value else ""


def transfer_rows(transfers):
    """The header, then one row per transfer of the queryset (from transfer_list_for_user,
    so the export shows exactly what the list shows)."""
    yield TRANSFER_COLUMNS
    for t in transfers.iterator(chunk_size=500):
        yield [t.public_id, t.case.case_number, t.status, t.reserve_wallet.label,
               t.destination.address, t.amount_sats, format_btc(t.amount_sats), t.fee_sats,
               t.payload_hash, t.approvals_required, counted_approvals(t).count(), t.txid,
               t.block_height or "", t.block_hash, _iso(t.created_at), _iso(t.settled_at)]


def deposit_rows(deposits):
    """The header, then one row per deposit of the queryset (deposit_list_for_user)."""
    yield DEPOSIT_COLUMNS
    for d in deposits.iterator(chunk_size=500):
        yield [d.public_id, d.reserve_address.wallet.label, d.reserve_address.address, d.txid,
               d.vout, d.amount_sats, format_btc(d.amount_sats), d.status, d.source,
               d.confirmations, d.block_height or "",
               d.attributed_by.get_username() if d.attributed_by else "", _iso(d.seen_at)]


def valuation_rows(valuations):
    """The header, then one row per valuation (valuation_list_for_user), with its price's
    source."""
    yield VALUATION_COLUMNS
    for v in valuations.iterator(chunk_size=500):
        yield [v.case.case_number if v.case else "",
               v.transfer.public_id if v.transfer else "", v.point, v.amount_sats,
               format_btc(v.amount_sats), v.value_kzt, v.price.kzt_per_unit, v.price.source,
               _iso(v.price.observed_at)]

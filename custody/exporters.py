"""Exports of custody: proof of reserves and the full accounting (holdings by source, by
case, by wallet), as dicts for JSON and as row generators (header first) for CSV, which
core.api.exports streams."""

import codecs

from django.db import connection
from django.db.models import Sum

from core.api.exports import csv_lines
from core.bitcoin import format_btc

from .models import LedgerAccount, LedgerLine, ReconciliationRun, ReserveWallet

PROOF_OF_RESERVES_COLUMNS = ["wallet", "label", "address", "balance_sats", "balance_btc",
                             "tip_height", "tip_hash", "checked_at"]
ACCOUNTING_CHUNK = 5000
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
                          "case__case_number", "source"))
    for entry, kind, created_at, txid, account, sats, wallet, case, source in \
            lines.iterator(chunk_size=ACCOUNTING_CHUNK):
        yield ["line", str(entry), kind, created_at.isoformat(), txid, account, sats,
               _btc(sats), wallet or "", case or "", source]
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
       (l.amount_sats::numeric / 100000000)::numeric(30, 8),
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

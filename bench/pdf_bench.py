"""The accounting PDF with its whole journal: seconds for 1,000 and 10,000 journal entries
(two ledger lines each, as a settlement or an attributed deposit has), beside anchors
measured in the same run on the same lines:

- csv: the same lines written as CSV (what the accounting export does per line);
- trivial: the same lines as one plain two-column table (txid, amount), WeasyPrint's
  default layout, no report around it: what a PDF of these lines costs at the least;
- with --old (1,000 entries only, it is slow): the layout the report had before, one
  table with every line wrapping in its cells on portrait pages.

    .venv/bin/python -m bench.pdf_bench                  # 1,000 and 10,000 entries
    .venv/bin/python -m bench.pdf_bench --entries 1000 --old

No database: the journal's rows are made in memory in the shape custody.web.auditor.
accounting_pdf.journal_rows yields, and rendered through the report's own template and
core.reports.pdf_bytes (the holdings and proof are empty). The machine is shared: only the
ratios within one run mean much.
"""

import argparse
import csv
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django

    django.setup()
    import logging

    logging.getLogger("weasyprint").setLevel(logging.WARNING)


def rows(entries):
    """(first, posted, kind, txid, account, amount, where) per ledger line."""
    for n in range(1, entries + 1):
        txid = f"{n:064x}"
        yield (True, "02.12.2026 10:00", "Transfer settled", txid, "Reserve wallet holdings",
               f"{n}.00000000", f"NBK cold reserve · AFM-2026-{n:06d} · Confiscated in "
                                "criminal cases")
        yield (False, "", "", "", "Case custody", f"-{n}.00000000",
               f"AFM-2026-{n:06d} · Confiscated in criminal cases")


def timed(fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def qazyna_pdf(entries):
    from core.reports import pdf_bytes
    from custody.web.auditor import accounting_pdf

    header, blocks, lines = accounting_pdf.journal_blocks(rows(entries))
    context = {"entry_count": entries, "line_count": lines, "journal_header": header,
               "journal_blocks": blocks,
               "holdings": {"total_sats": 0, "by_source": [], "by_wallet": [], "by_case": [],
                            "by_agency": [], "balanced": True,
                            "charts": {"over_time": {"empty": True, "title": "Holdings"}}},
               "wallets": [], "verification": None}
    return pdf_bytes(accounting_pdf.TEMPLATE, context)


def _pdf(html):
    from weasyprint import HTML

    return HTML(string=html).write_pdf()


def trivial_pdf(entries):
    body = "".join(f"<tr><td>{r[3]}</td><td>{r[5]}</td></tr>" for r in rows(entries))
    return _pdf(f"<html><body><table>{body}</table></body></html>")


def old_layout_pdf(entries):
    """The report's journal as it was: one table, every cell wrapping, portrait A4."""
    css = ("@page { size: A4; margin: 18mm 16mm 20mm 16mm; } html { font-family: 'DejaVu Sans'; "
           "font-size: 9.5pt; line-height: 1.35; } table { width: 100%; border-collapse: "
           "collapse; } th, td { text-align: left; vertical-align: top; padding: 1.2mm 1.5mm; "
           "border-bottom: 0.3pt solid #d0d3d4; } .mono { font-family: 'DejaVu Sans Mono'; "
           "font-size: 8pt; word-break: break-all; }")
    body = "".join(f"<tr><td>{r[1]}</td><td>{r[2]}<br><span class=mono>{r[3]}</span></td>"
                   f"<td>{r[4]}</td><td>{r[5]}</td><td>{r[6]}</td></tr>" for r in rows(entries))
    return _pdf(f"<html><head><style>{css}</style></head><body><table>{body}</table>"
                "</body></html>")


def csv_text(entries):
    out = io.StringIO()
    writer = csv.writer(out)
    for r in rows(entries):
        writer.writerow(r[1:])
    return out.getvalue()


def pages(pdf):
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--old", action="store_true",
                        help="also the former layout (1,000 entries at most)")
    args = parser.parse_args()
    setup_django()
    print(f"{'entries':>8} {'measure':<34} {'seconds':>8} {'pages':>6} {'ratio':>7}")
    for entries in args.entries:
        anchor_csv, _ = timed(csv_text, entries)
        anchor, trivial = timed(trivial_pdf, entries)
        qazyna, pdf = timed(qazyna_pdf, entries)
        print(f"{entries:>8} {'anchor: CSV of the same lines':<34} {anchor_csv:>8.2f} "
              f"{'':>6} {'':>7}")
        print(f"{entries:>8} {'anchor: trivial one-table PDF':<34} {anchor:>8.2f} "
              f"{pages(trivial):>6} {'1.0':>7}")
        print(f"{entries:>8} {'Qazyna accounting PDF':<34} {qazyna:>8.2f} {pages(pdf):>6} "
              f"{qazyna / anchor:>7.2f}", flush=True)
        if args.old and entries <= 1000:
            old, old_pdf = timed(old_layout_pdf, entries)
            print(f"{entries:>8} {'former layout (one wrapping table)':<34} {old:>8.2f} "
                  f"{pages(old_pdf):>6} {old / anchor:>7.2f}", flush=True)


if __name__ == "__main__":
    main()

"""The full accounting as a PDF: the holdings, the proof of reserves and the whole journal
of the period asked for, every line of it.

Why it was slow, and what the layout does about it. WeasyPrint lays a table out as one box:
a table that runs over many pages is re-laid for each page break, so its cost grows faster
than its rows (a 2,000-line journal in one table: 150 pages, 78 s); and each cell is an
element with its own computed style and its own run of Pango's line breaking, which
dominates even when the table is cut into page-sized pieces (profiled: styles, then
line boxes, then drawing, all per cell). So the journal is printed the way ledgers were
printed: fixed-width columns of monospaced text, one text block of JOURNAL_LINES_PER_BLOCK
lines (about a page) with its header, on landscape pages. A value longer than its column
continues on the next line in that column; nothing is cut. bench/pdf_bench.py measures it
beside a trivial one-table layout of the same lines and the CSV of them.

A journal longer than PDF_SYNC_ENTRIES is made by the worker (custody.accounting_pdf):
the auditor gets a page that shows when it is ready, and downloads it from there. The job
(who asked, the period, where the file is) is kept in the cache for JOB_SECONDS: a lost
job is asked for again; the PDF is derived from the ledger, which stays the record."""

from __future__ import annotations

import datetime as dt
import textwrap
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core import selectors as core_selectors
from core.audit import verification_report
from core.models import User
from core.reports import pdf_bytes
from core.web.templatetags.qazyna import btc

from ... import accounting, exporters, selectors
from ...models import JournalEntry, LedgerLine
from . import presenters

TEMPLATE = "custody/auditor/reports/accounting.html"
JOURNAL_LINES_PER_BLOCK = 55
# Column widths in characters (DejaVu Sans Mono at the report's size: 195 fit across an A4
# landscape page): posted, entry, txid, account, BTC, where (an Ethereum txid, 0x + 64,
# continues on the next line).
COLUMNS = (16, 18, 64, 23, 17, 48)
GAP = "  "
PDF_SYNC_ENTRIES = 1000
JOB_SECONDS = 24 * 3600
TASK_NAME = "custody.accounting_pdf"


def journal_in_period(user: Any, start: dt.date | None,
                      end: dt.date | None) -> QuerySet[JournalEntry]:
    entries = selectors.journal_for_user(user=user)
    if start and end:
        since, until = accounting.period_bounds(start, end)
        entries = entries.filter(created_at__gte=since, created_at__lt=until)
    elif start:
        entries = entries.filter(created_at__gte=accounting.period_bounds(start, start)[0])
    elif end:
        entries = entries.filter(created_at__lt=accounting.period_bounds(end, end)[1])
    return entries


def journal_rows(entries: QuerySet[JournalEntry]) -> Iterator[tuple[Any, ...]]:
    """One tuple of cell texts per ledger line, oldest entry first; the entry's date, kind
    and txid on its first line only. Plain values, read in one query."""
    lines = (LedgerLine.objects.filter(entry__in=entries.order_by().values("id"))
             .order_by("entry_id", "id")
             .values_list("entry_id", "entry__created_at", "entry__kind", "entry__txid",
                          "account", "amount_sats", "reserve_wallet__label",
                          "case__case_number", "source"))
    entry_labels: dict[str, str] = {
        str(k): presenters.label(presenters.ENTRY_LABELS, k) for k in JournalEntry.Kind}
    account_labels = {k: str(v) for k, v in presenters.ACCOUNT_LABELS.items()}
    source_labels = {k: str(v) for k, v in presenters.SOURCE_LABELS.items()}
    current = None
    for entry_id, created, kind, txid, account, sats, wallet, case, source in \
            lines.iterator(chunk_size=2000):
        first = entry_id != current
        current = entry_id
        where = " · ".join(x for x in (wallet, case, source_labels.get(source, source)) if x)
        yield (first,
               date_format(timezone.localtime(created), "SHORT_DATETIME_FORMAT") if first
               else "",
               entry_labels.get(kind, kind) if first else "", txid if first else "",
               account_labels.get(account, account), btc(sats), where)


def _cells(value: str, width: int) -> list[str]:
    """value in lines of at most width characters: at spaces, or cut where there are none
    (a txid)."""
    if len(value) <= width:
        return [value]
    return textwrap.wrap(value, width, break_long_words=True, break_on_hyphens=False) or [""]


def _lines(cells: tuple[str, ...]) -> list[str]:
    columns = [_cells(str(value), width) for value, width in zip(cells, COLUMNS, strict=True)]
    out = []
    for k in range(max(len(c) for c in columns)):
        parts = [(c[k] if k < len(c) else "") for c in columns]
        parts = [p.rjust(w) if i == 4 else p.ljust(w)
                 for i, (p, w) in enumerate(zip(parts, COLUMNS, strict=True))]
        out.append(GAP.join(parts).rstrip())
    return out


def journal_blocks(rows: Iterator[tuple[Any, ...]],
                   size: int = JOURNAL_LINES_PER_BLOCK) -> tuple[str, list[str], int]:
    """(header line, blocks of printed lines, ledger lines): each ledger line is one
    printed line, or more when a value continues in its column."""
    header = _lines((str(_("Posted")), str(_("Entry")), str(_("Transaction id")),
                     str(_("Account")), "BTC", str(_("Wallet, case, source"))))[0]
    blocks: list[str] = []
    current: list[str] = []
    count = 0
    for row in rows:
        count += 1
        printed = _lines(tuple(row[1:]))
        if current and len(current) + len(printed) > size:
            blocks.append("\n".join(current))
            current = []
        current.extend(printed)
    if current:
        blocks.append("\n".join(current))
    return header, blocks, count


def context(user: Any, start: dt.date | None, end: dt.date | None) -> dict[str, Any]:
    entries = journal_in_period(user, start, end)
    header, blocks, lines = journal_blocks(journal_rows(entries))
    return {
        "entry_count": entries.count(), "line_count": lines, "journal_header": header,
        "journal_blocks": blocks, "period_start": start, "period_end": end,
        "holdings": presenters.holdings(), "wallets": exporters.proof_of_reserves()["wallets"],
        "source_labels": presenters.SOURCE_LABELS,
        "verification": verification_report() if core_selectors.can_read_audit(user) else None,
    }


def filename() -> str:
    return f"qazyna-accounting-{timezone.now():%Y%m%d-%H%M}.pdf"


# --- made by the worker --------------------------------------------------------------------------
def _key(job: str) -> str:
    return f"qazyna:accounting-pdf:{job}"


def job_start(*, user: Any, start: dt.date | None, end: dt.date | None,
              entries: int) -> str:
    job = uuid.uuid4().hex
    cache.set(_key(job), {"user": user.pk, "status": "queued", "entries": entries,
                          "start": start.isoformat() if start else "",
                          "end": end.isoformat() if end else "",
                          "language": translation.get_language(), "file": "",
                          "queued_at": timezone.now().isoformat()}, JOB_SECONDS)
    return job


def job_get(job: str, user: Any) -> dict[str, Any] | None:
    """The job, only for the person who asked for it (None otherwise)."""
    found = cache.get(_key(job))
    if not found or found.get("user") != user.pk:
        return None
    return dict(found)


def job_fail(job: str) -> None:
    found = cache.get(_key(job))
    if found:
        cache.set(_key(job), {**found, "status": "failed"}, JOB_SECONDS)


def job_run(job: str) -> bool:
    """Make the PDF of a queued job (the task's body; safe to run twice: a finished job is
    left alone). False when the job is unknown (expired) or already done."""
    found = cache.get(_key(job))
    if not found or found.get("status") == "ready":
        return False
    user = User.objects.get(pk=found["user"])
    start = dt.date.fromisoformat(found["start"]) if found["start"] else None
    end = dt.date.fromisoformat(found["end"]) if found["end"] else None
    with translation.override(found.get("language") or None):
        # The report's "by" line and KZT values ask request.user: the person who asked.
        content = pdf_bytes(TEMPLATE, {**context(user, start, end),
                                       "request": SimpleNamespace(user=user)})
    name = default_storage.save(f"reports/accounting-{job}.pdf", ContentFile(content))
    cache.set(_key(job), {**found, "status": "ready", "file": name,
                          "size": len(content)}, JOB_SECONDS)
    return True


def job_file(job: dict[str, Any]) -> Any:
    return default_storage.open(job["file"], "rb")

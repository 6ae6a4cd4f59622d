"""The reserve's PDF reports (core.reports): the transfer certificate (what was approved,
by whom, who signed with which key fingerprints, the txid and its block) and the full
accounting of the reserve. The same selectors as the pages decide who may have them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from core import selectors as core_selectors
from core.audit import verification_report
from core.reports import render_pdf
from core.web.auth import person_required

from ... import exporters, selectors
from . import presenters
from .common import person, require_reader

# The PDF is for people: the holdings, the proof and the latest entries. Every entry is in
# the CSV (streamed); WeasyPrint lays a long table out at about half a second a page on the
# development machine (1,000 entries: 127 pages, 78 s under load), too long for a request.
PDF_JOURNAL_ENTRIES = 100


@person_required
@require_GET
def transfer_certificate(request: HttpRequest, transfer_id: str) -> HttpResponse:
    transfer = selectors.transfer_get_for_user(user=person(request), public_id=transfer_id)
    case = transfer.case
    return render_pdf("custody/auditor/reports/transfer_certificate.html", {
        "transfer": transfer, "case": case,
        "order": getattr(case, "confiscation_order", None),
        "approvals": list(transfer.approvals.select_related("approver").order_by("id")),
        "counted": set(selectors.counted_approvals(transfer).values_list("id", flat=True)),
        "uploads": list(transfer.uploads.select_related("uploaded_by").order_by("id")),
        "inputs": list(transfer.inputs.order_by("id")),
        "valuations": list(transfer.valuations.select_related("price").order_by("id")),
        "status_label": presenters.label(presenters.TRANSFER_STATUS_LABELS, transfer.status),
        "point_labels": presenters.POINT_LABELS,
    }, request, filename=f"transfer-certificate-{case.case_number}-{transfer.public_id}.pdf")


@person_required
@require_GET
def accounting_pdf(request: HttpRequest) -> HttpResponse:
    require_reader(request.user)
    journal = selectors.journal_for_user(user=person(request))
    entries = list(journal.prefetch_related("lines__case", "lines__reserve_wallet")
                   .order_by("-id")[:PDF_JOURNAL_ENTRIES])
    return render_pdf("custody/auditor/reports/accounting.html", {
        "entry_count": journal.count(), "entries_shown": len(entries),
        "holdings": presenters.holdings(), "wallets": exporters.proof_of_reserves()["wallets"],
        "entries": entries, "entry_labels": presenters.ENTRY_LABELS,
        "account_labels": presenters.ACCOUNT_LABELS,
        "source_labels": presenters.SOURCE_LABELS,
        "verification": verification_report()
        if core_selectors.can_read_audit(request.user) else None,
    }, request, filename=f"qazyna-accounting-{timezone.now():%Y%m%d-%H%M}.pdf")

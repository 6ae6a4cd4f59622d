"""The reserve's PDF reports (core.reports): the transfer certificate (what was approved,
by whom, who signed with which key fingerprints, the txid and its block) and the full
accounting of the reserve. The same selectors as the pages decide who may have them."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from core.errors import Conflict, ErrorCode, NotFound
from core.reports import render_pdf
from core.tasks import enqueue
from core.web.auth import person_required

from ... import selectors
from . import accounting_pdf as accounting_pdf_report
from . import presenters
from .common import person, require_reader
from .forms import PeriodForm


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
    """The full accounting with the whole journal of the period (?start=&end=, dates, both
    optional). Up to PDF_SYNC_ENTRIES entries it is made now; a longer journal is made by
    the worker, and the page it leads to offers the file when it is ready."""
    require_reader(request.user)
    form = PeriodForm(request.GET or None)
    start, end = form.period()
    entries = accounting_pdf_report.journal_in_period(person(request), start, end).count()
    if entries > accounting_pdf_report.PDF_SYNC_ENTRIES:
        job = accounting_pdf_report.job_start(user=person(request), start=start, end=end,
                                              entries=entries)
        if not enqueue(accounting_pdf_report.TASK_NAME, job):
            accounting_pdf_report.job_fail(job)
        return redirect("custody:auditor-accounting-pdf-job", job=job)
    return render_pdf(accounting_pdf_report.TEMPLATE,
                      accounting_pdf_report.context(person(request), start, end), request,
                      filename=accounting_pdf_report.filename())


def _job(request: HttpRequest, job: str) -> dict:
    require_reader(request.user)
    found = accounting_pdf_report.job_get(job, person(request))
    if found is None:
        raise NotFound("No such report: it was asked for by someone else, or has expired.")
    return found


@person_required
@require_GET
def accounting_pdf_job(request: HttpRequest, job: str) -> HttpResponse:
    """Where a long accounting is being made: polled (htmx) until the file is ready."""
    found = _job(request, job)
    template = ("custody/auditor/partials/pdf_job.html" if request.headers.get("HX-Request")
                else "custody/auditor/accounting_pdf_job.html")
    return render(request, template, {"job": found, "job_id": job, "poll_seconds": 3})


@person_required
@require_GET
def accounting_pdf_download(request: HttpRequest, job: str) -> FileResponse:
    found = _job(request, job)
    if found["status"] != "ready":
        raise Conflict("The report is not ready yet.", code=ErrorCode.CONFLICT)
    response = FileResponse(accounting_pdf_report.job_file(found), as_attachment=True,
                            filename=accounting_pdf_report.filename(),
                            content_type="application/pdf")
    response["Cache-Control"] = "no-store"
    return response

"""A case's PDF reports (core.reports) and its list as CSV: the seizure receipt (what was
seized, from whom, under which warrant, where the coins are held) and the chain-of-custody
report (each handover of the physical items, the evidence with its SHA-256, the case's
audit events with their hashes). Whoever may see the case may have them (the selectors
decide); a case they may not see is a 404."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from core import selectors as core_selectors
from core.api.exports import streaming_csv_response
from core.reports import render_pdf
from core.web.auth import person_required

from .. import exporters, selectors
from . import presenters
from .forms import CaseFilterForm


def _filename(kind: str, case_number: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in case_number)
    return f"{kind}-{safe}.pdf"


@person_required
@require_GET
def seizure_receipt(request: HttpRequest, case_id: str) -> HttpResponse:
    case = selectors.case_get_for_user(user=request.user, public_id=case_id)
    return render_pdf("intake/reports/seizure_receipt.html", {
        "case": case, "assets": list(case.assets.order_by("id")),
        "evidence": list(case.evidence.select_related("uploaded_by").order_by("id")),
        "order": getattr(case, "confiscation_order", None),
    }, request, filename=_filename("seizure-receipt", case.case_number))


@person_required
@require_GET
def custody_report(request: HttpRequest, case_id: str) -> HttpResponse:
    case = selectors.case_get_for_user(user=request.user, public_id=case_id)
    return render_pdf("intake/reports/chain_of_custody.html", {
        "case": case,
        "handovers": list(case.handovers.select_related("recorded_by").order_by("held_from",
                                                                                 "id")),
        "evidence": list(case.evidence.select_related("uploaded_by").order_by("id")),
        "assets": presenters.assets(case),
        "events": [(event, presenters.ACTION_LABELS.get(event.action, event.action))
                   for event in selectors.case_timeline(case=case)],
    }, request, filename=_filename("chain-of-custody", case.case_number))


@person_required
@require_GET
def case_list_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The case list as CSV: the same selector and filters as the page."""
    form = CaseFilterForm(request.GET or None,
                          agencies=core_selectors.agency_list_for_user(user=request.user))
    cases = selectors.case_list_for_user(user=request.user, filters=form.filters())
    return streaming_csv_response(exporters.case_rows(cases),
                                  filename=f"qazyna-cases-{timezone.now():%Y%m%d-%H%M}.csv")

"""Case list, case page, evidence download, and the live checks the filing forms use.
Every read goes through intake.selectors: a case this person may not see is a 404."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core import selectors as core_selectors
from core.bitcoin import validate_address, validate_txid
from core.errors import DomainError, NotFound, ValidationFailed
from core.pagination import take_page
from core.web import registry
from core.web.auth import person_required
from core.web.errors import describe

from .. import selectors
from ..models import AssetKind
from . import presenters
from .filing import record_sweep, upload_evidence
from .forms import CaseFilterForm, EvidenceForm, SweepForm

PAGE_SIZE = 25


@person_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    form = CaseFilterForm(request.GET or None,
                          agencies=core_selectors.agency_list_for_user(user=request.user))
    cases = selectors.case_list_for_user(user=request.user, filters=form.filters())
    try:
        page = take_page(cases, params=request.GET, size=PAGE_SIZE)
    except (NotFound, ValidationFailed):  # a stale or edited link: the first page
        page = take_page(cases, params={}, size=PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("cursor", None)
    return render(request, "intake/case_list.html", {
        "form": form if form.is_bound else CaseFilterForm(
            agencies=core_selectors.agency_list_for_user(user=request.user)),
        "page_obj": page, "cases": page.rows,
        "query_without_page": f"{query.urlencode()}&" if query else "",
        "filtered": bool(form.is_bound and form.filters()),
        "page_has_errors": form.is_bound and bool(form.errors),
    })


def case_context(request: HttpRequest, case, *, sweep_form=None, sweep_asset="",
                 **extra) -> dict:
    user = request.user
    may_record_sweeps = presenters.clerk_may_record_sweeps(user, case)
    return {
        "case": case,
        "assets": presenters.assets(
            case, sweep_form_class=SweepForm if may_record_sweeps else None,
            bound_form=sweep_form, bound_asset=sweep_asset),
        "evidence": list(case.evidence.select_related("uploaded_by")),
        "handovers": list(case.handovers.select_related("recorded_by")),
        "alerts": presenters.alerts(case, user),
        "timeline": presenters.timeline(case),
        "offers": presenters.offers_for(case, user),
        "case_links": registry.links_for_case(user, case),
        "order": getattr(case, "confiscation_order", None),
        "clerk_may_edit": presenters.clerk_may_edit(user, case),
        "clerk_may_record_sweeps": may_record_sweeps,
        "sweep_form": sweep_form,
        "intake_confirmations": settings.INTAKE_CONFIRMATIONS,
        **extra,
    }


@person_required
@require_http_methods(["GET", "POST"])
def case_detail(request: HttpRequest, case_id) -> HttpResponse:
    """The case page. Its forms (a sweep, more evidence) post here: the services decide
    whether this person may, and in this state."""
    case = selectors.case_get_for_user(user=request.user, public_id=case_id)
    sweep_form, sweep_asset, evidence_form = None, "", EvidenceForm()
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "sweep":
        sweep_form, sweep_asset = record_sweep(request, case)
        if not sweep_form.errors:
            messages.success(request, _("Sweep recorded. Qazyna now watches the chain for it."))
            return redirect("intake:case-detail", case_id=case.public_id)
    elif action == "evidence":
        evidence_form = upload_evidence(request, case)
        if not evidence_form.errors:
            return redirect("intake:case-detail", case_id=case.public_id)
    return render(request, "intake/case_detail.html", case_context(
        request, case, sweep_form=sweep_form, sweep_asset=sweep_asset,
        evidence_form=evidence_form,
        page_has_errors=bool((sweep_form and sweep_form.errors) or evidence_form.errors)))


@person_required
@require_GET
def evidence_download(request: HttpRequest, case_id, evidence_id) -> FileResponse:
    case = selectors.case_get_for_user(user=request.user, public_id=case_id)
    evidence = case.evidence.filter(public_id=evidence_id).first()
    if evidence is None:
        raise NotFound("No such evidence on this case.")
    response = FileResponse(evidence.file.open("rb"), as_attachment=True,
                            filename=evidence.original_name,
                            content_type=evidence.content_type)
    response["X-Content-SHA256"] = evidence.sha256
    return response


# --- live checks (htmx): the same core.bitcoin rules the services apply ----------------------
def _check(request: HttpRequest, ok: str | None, error: DomainError | None) -> HttpResponse:
    return render(request, "intake/partials/check_result.html", {"ok": ok, "error": error,
                                                                 "message": describe(error)
                                                                 if error else ""})


@person_required
@require_GET
def check_address(request: HttpRequest) -> HttpResponse:
    address = request.GET.get("source_address", "").strip()
    network = request.GET.get("network", "").strip()
    asset = request.GET.get("asset", AssetKind.BTC)
    if not address or asset != AssetKind.BTC:
        return _check(request, None, None)
    try:
        kind = validate_address(address, network)
    except DomainError as exc:
        return _check(request, None, exc)
    return _check(request, f"{network} · {kind}", None)


@person_required
@require_GET
def check_txid(request: HttpRequest) -> HttpResponse:
    txid = request.GET.get("txid", "").strip()
    if not txid:
        return _check(request, None, None)
    try:
        validate_txid(txid.lower())
    except DomainError as exc:
        return _check(request, None, exc)
    return _check(request, "txid", None)

"""Filing a case, one small group of questions per page (GOV.UK): details → assets and
their sweeps → evidence → chain of custody → check your answers → submitted.

The case exists from the first page on, as a DRAFT only its agency sees; each page calls
one service (case_create, case_update, asset_add, sweep_record, evidence_upload,
handover_add, case_submit). A refusal is shown beside its field, with everything
typed kept (except a chosen file, which browsers never send back)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from core.errors import DomainError, ErrorCode
from core.roles import Role
from core.web.auth import person_required
from core.web.errors import describe

from .. import selectors, services
from ..models import SeizureCase
from . import presenters
from .forms import AssetForm, CaseDetailsForm, EvidenceForm, HandoverForm, SweepForm

CLERKS = {Role.CLERK}

STEPS = (
    ("details", "intake:file-details", gettext_lazy("Case details")),
    ("assets", "intake:file-assets", gettext_lazy("Assets")),
    ("evidence", "intake:file-evidence", gettext_lazy("Evidence")),
    ("handovers", "intake:file-handovers", gettext_lazy("Chain of custody")),
    ("check", "intake:file-check", gettext_lazy("Check and submit")),
)


def _steps(case: SeizureCase | None, current: str) -> list[dict[str, Any]]:
    return [{"key": key, "label": label, "current": key == current,
             "url": reverse(url_name, args=[case.public_id]) if case else None,
             "number": number}
            for number, (key, url_name, label) in enumerate(STEPS, start=1)]


def _editable_case(request: HttpRequest, case_id) -> SeizureCase | HttpResponse:
    """The case, if this clerk may still file on it; else back to its page."""
    case = selectors.case_get_for_user(user=request.user, public_id=case_id)
    if not presenters.clerk_may_edit(request.user, case):
        messages.info(request, _("This case is no longer a draft: it can't be changed here."))
        return redirect("intake:case-detail", case_id=case.public_id)
    return case


def _page(request: HttpRequest, template: str, case: SeizureCase | None, step: str,
          **context: Any) -> HttpResponse:
    forms_ = [f for f in context.values() if isinstance(f, forms.BaseForm)]
    return render(request, template, {
        "case": case, "steps": _steps(case, step), "step": step,
        "step_number": [s[0] for s in STEPS].index(step) + 1, "step_count": len(STEPS),
        "page_has_errors": any(f.is_bound and f.errors for f in forms_), **context,
    })


# --- 1. details ------------------------------------------------------------------------------
@person_required(roles=CLERKS)
@require_http_methods(["GET", "POST"])
def file_new(request: HttpRequest) -> HttpResponse:
    form = CaseDetailsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.case_create(actor=request.user, data=form.cleaned_data)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            return redirect("intake:file-assets", case_id=case.public_id)
    return _page(request, "intake/filing/details.html", None, "details", form=form)


@person_required(roles=CLERKS)
@require_http_methods(["GET", "POST"])
def file_details(request: HttpRequest, case_id) -> HttpResponse:
    case = _editable_case(request, case_id)
    if isinstance(case, HttpResponse):
        return case
    initial = {name: getattr(case, name) for name in CaseDetailsForm.base_fields}
    form = CaseDetailsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.case_update(case=case, actor=request.user, data=form.cleaned_data)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            back_to_check = request.POST.get("then") == "check"
            return redirect("intake:file-check" if back_to_check else "intake:file-assets",
                            case_id=case.public_id)
    return _page(request, "intake/filing/details.html", case, "details", form=form)


# --- 2. assets and sweeps --------------------------------------------------------------------
def record_sweep(request: HttpRequest, case: SeizureCase) -> tuple[SweepForm, str]:
    """POST action=sweep: (the form, the asset's public id); the form is bound, and valid
    when the sweep was recorded."""
    asset_id = request.POST.get("asset", "")
    form = SweepForm(request.POST, asset_id=asset_id)
    if form.is_valid():
        try:
            asset = selectors.asset_get_for_user(user=request.user, case=case,
                                                 public_id=asset_id)
            services.sweep_record(asset=asset, actor=request.user,
                                  txid=form.cleaned_data["txid"])
        except DomainError as exc:
            form.add_domain_error(exc)
    return form, asset_id


@person_required(roles=CLERKS)
@require_http_methods(["GET", "POST"])
def file_assets(request: HttpRequest, case_id) -> HttpResponse:
    case = _editable_case(request, case_id)
    if isinstance(case, HttpResponse):
        return case
    asset_form = AssetForm()
    sweep_form, sweep_asset = None, ""
    if request.method == "POST" and request.POST.get("action") == "sweep":
        sweep_form, sweep_asset = record_sweep(request, case)
        if not sweep_form.errors:
            messages.success(request, _("Sweep recorded. Qazyna now watches the chain for it."))
            return redirect("intake:file-assets", case_id=case.public_id)
    elif request.method == "POST":
        asset_form = AssetForm(request.POST)
        if asset_form.is_valid():
            data = asset_form.cleaned_data
            try:
                services.asset_add(case=case, actor=request.user, asset=data["asset"],
                                   network=data["network"],
                                   declared_amount=data["declared_amount"],
                                   asset_label=data.get("asset_label", ""),
                                   source_address=data.get("source_address", ""))
            except DomainError as exc:
                asset_form.add_domain_error(exc)
            else:
                messages.success(request, _("Asset recorded."))
                return redirect("intake:file-assets", case_id=case.public_id)
        case.refresh_from_db()
    return _page(request, "intake/filing/assets.html", case, "assets", asset_form=asset_form,
                 sweep_form=sweep_form,
                 assets=presenters.assets(case, sweep_form_class=SweepForm,
                                          bound_form=sweep_form, bound_asset=sweep_asset))


# --- 3. evidence -----------------------------------------------------------------------------
def upload_evidence(request: HttpRequest, case: SeizureCase) -> EvidenceForm:
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            evidence = services.evidence_upload(
                case=case, actor=request.user, uploaded_file=form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
                description=form.cleaned_data.get("description", ""))
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("%(name)s uploaded. SHA-256: %(sha256)s") % {
                "name": evidence.original_name, "sha256": evidence.sha256})
    return form


@person_required(roles=CLERKS)
@require_http_methods(["GET", "POST"])
def file_evidence(request: HttpRequest, case_id) -> HttpResponse:
    case = _editable_case(request, case_id)
    if isinstance(case, HttpResponse):
        return case
    form = EvidenceForm()
    if request.method == "POST":
        form = upload_evidence(request, case)
        if not form.errors:
            return redirect("intake:file-evidence", case_id=case.public_id)
    return _page(request, "intake/filing/evidence.html", case, "evidence", form=form,
                 evidence=list(case.evidence.all()))


# --- 4. chain of custody ---------------------------------------------------------------------
@person_required(roles=CLERKS)
@require_http_methods(["GET", "POST"])
def file_handovers(request: HttpRequest, case_id) -> HttpResponse:
    case = _editable_case(request, case_id)
    if isinstance(case, HttpResponse):
        return case
    form = HandoverForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        try:
            services.handover_add(case=case, actor=request.user, data=data)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Chain-of-custody entry recorded."))
            return redirect("intake:file-handovers", case_id=case.public_id)
    return _page(request, "intake/filing/handovers.html", case, "handovers", form=form,
                 entries=list(case.handovers.all()))


# --- 5. check your answers, submit, confirmation ---------------------------------------------
@person_required(roles=CLERKS)
@require_http_methods(["GET", "POST"])
def file_check(request: HttpRequest, case_id) -> HttpResponse:
    case = _editable_case(request, case_id)
    if isinstance(case, HttpResponse):
        return case
    problem = None
    if request.method == "POST":
        try:
            services.case_submit(case=case, actor=request.user)
        except DomainError as exc:
            problem = exc
        else:
            return redirect("intake:file-submitted", case_id=case.public_id)
    return _page(request, "intake/filing/check.html", case, "check",
                 problem=problem, page_has_errors=problem is not None,
                 problem_message=describe(problem) if problem else "",
                 problem_anchor="evidence" if problem and problem.code ==
                 ErrorCode.WARRANT_DOCUMENT_MISSING else "assets",
                 assets=presenters.assets(case), evidence=list(case.evidence.all()),
                 entries=list(case.handovers.all()))


@person_required(roles=CLERKS)
def file_submitted(request: HttpRequest, case_id) -> HttpResponse:
    case = selectors.case_get_for_user(user=request.user, public_id=case_id)
    return render(request, "intake/filing/submitted.html", {"case": case})

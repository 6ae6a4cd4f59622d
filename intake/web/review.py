"""The legal officer's pages: the review queue and the decisions on a case.

A decision page is offered only when the transition table allows this person one of its
commands from the case's state (CASE_TABLE.commands_for), and every decision asks for a
fresh second-factor code (StepUpFormMixin) before its service is called."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import Conflict, DomainError, ErrorCode
from core.roles import Role
from core.second_factor import StepUp
from core.web.auth import person_required
from core.web.forms import StepUpFormMixin

from .. import selectors, services
from ..models import CaseStatus, ConfiscationOrder, Evidence, SeizureCase
from ..transitions import CaseCommand
from . import presenters
from .cases import case_context
from .forms import AppealOutcomeForm, OrderForm, ReasonForm

C = CaseCommand
LEGAL = {Role.LEGAL_OFFICER}


def _case_offering(request: HttpRequest, case_id, commands: set[str]) -> SeizureCase:
    """The case, when the table offers this person one of commands from its state; a 409
    page otherwise (someone else moved it, or it was never theirs to move)."""
    case = selectors.case_get_for_user(user=request.user, public_id=case_id)
    if not presenters.commands_for(case, request.user) & commands:
        raise Conflict(f"A case in state {case.status} does not offer this to you.",
                       code=ErrorCode.INVALID_TRANSITION)
    return case


def decide(request: HttpRequest, case: SeizureCase, form: StepUpFormMixin,
           perform: Callable[[StepUp], Any], done: str) -> HttpResponse | None:
    """Check the fresh code, then perform the decision. Returns the redirect after
    success, or None with the errors on the form (nothing changed)."""
    proof = form.step_up(request.user)
    if proof is None:
        return None
    try:
        perform(proof)  # the service takes it as step_up= and records it in the audit event
    except DomainError as exc:
        form.add_domain_error(exc)
        return None
    messages.success(request, done)
    return redirect("intake:case-detail", case_id=case.public_id)


# --- the queue -------------------------------------------------------------------------------
@person_required(roles=LEGAL)
def review_queue(request: HttpRequest) -> HttpResponse:
    def cases(*statuses: str) -> list[SeizureCase]:
        return list(selectors.case_list_for_user(user=request.user,
                                                 filters={"status": list(statuses)}))

    under_review = cases(CaseStatus.UNDER_REVIEW)
    return render(request, "intake/review/queue.html", {
        "sections": [
            {"key": "waiting", "title": _("Waiting for a reviewer"),
             "cases": cases(CaseStatus.SUBMITTED)},
            {"key": "mine", "title": _("Your reviews"),
             "cases": [c for c in under_review if c.reviewer_id == request.user.pk]},
            {"key": "others", "title": _("Under review by other legal officers"),
             "cases": [c for c in under_review if c.reviewer_id != request.user.pk]},
            {"key": "appeal", "title": _("On appeal"), "cases": cases(CaseStatus.ON_APPEAL)},
            {"key": "returned", "title": _("Returned to the clerk, waiting for corrections"),
             "cases": cases(CaseStatus.RETURNED_FOR_CORRECTION)},
        ],
    })


# --- start the review ------------------------------------------------------------------------
@person_required(roles=LEGAL)
@require_POST
def start_review(request: HttpRequest, case_id) -> HttpResponse:
    case = _case_offering(request, case_id, {C.START_REVIEW})
    try:
        services.case_start_review(case=case, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("You are now the reviewer of case %(number)s.")
                         % {"number": case.case_number})
    return redirect("intake:case-detail", case_id=case.public_id)


# --- the court's order -----------------------------------------------------------------------
ORDER_COMMANDS = {ConfiscationOrder.Finality.FINAL: C.RECORD_FINAL_ORDER,
                  ConfiscationOrder.Finality.UNDER_APPEAL: C.RECORD_ORDER_UNDER_APPEAL}


@person_required(roles=LEGAL)
@require_http_methods(["GET", "POST"])
def record_order(request: HttpRequest, case_id) -> HttpResponse:
    case = _case_offering(request, case_id, set(ORDER_COMMANDS.values()))
    allowed = presenters.commands_for(case, request.user)
    discrepant = selectors.discrepant_assets(case=case)

    def order_documents() -> list[Evidence]:
        return list(case.evidence.filter(kind=Evidence.Kind.COURT_ORDER))

    form = OrderForm(request.POST or None, request.FILES or None, documents=order_documents(),
                     initial={"accepted_amounts": OrderForm.amounts_shown(discrepant)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if ORDER_COMMANDS[data["finality"]] not in allowed:
            raise Conflict("This order's finality is not on offer for this case.",
                           code=ErrorCode.INVALID_TRANSITION)
        done = (_("Final order recorded: confiscation of case %(number)s is approved.")
                if data["finality"] == ConfiscationOrder.Finality.FINAL
                else _("Order recorded as under appeal: case %(number)s is on appeal and its "
                       "assets are frozen.")) % {"number": case.case_number}

        def perform(proof: StepUp) -> SeizureCase:
            document_sha256 = data.get("document") or ""
            if data.get("file"):  # uploaded here: a document of the case, then the order
                document_sha256 = services.evidence_upload(
                    case=case, actor=request.user, uploaded_file=data["file"],
                    kind=Evidence.Kind.COURT_ORDER,
                    description=_("Court order %(order)s") % {
                        "order": data["order_number"]}).sha256
            return services.case_approve_confiscation(
                case=case, actor=request.user, court=data["court"],
                order_number=data["order_number"], order_date=data["order_date"],
                document_sha256=document_sha256, finality=data["finality"],
                step_up=proof, reason=data.get("reason", ""),
                accepted_amounts=form.accepted(),
                acceptance_reason=data.get("acceptance_reason", ""))

        response = decide(request, case, form, perform, done)
        if response is not None:
            return response
        form.set_documents(order_documents())  # an upload before a refusal is kept
    return render(request, "intake/review/order.html", case_context(
        request, case, form=form, discrepant=discrepant,
        offer_final=C.RECORD_FINAL_ORDER in allowed,
        offer_under_appeal=C.RECORD_ORDER_UNDER_APPEAL in allowed))


# --- decisions with a reason -----------------------------------------------------------------
@dataclass(frozen=True)
class ReasonDecision:
    command: str
    service: Callable[..., Any]
    title: Any
    button: Any
    label: Any
    hint: Any
    missing: Any
    done: Any
    commits: Any
    style: str = ""


REASON_DECISIONS = {
    "return": ReasonDecision(
        C.RETURN_FOR_CORRECTION, services.case_return_for_correction,
        title=gettext_lazy("Return case %(number)s to the clerk for correction"),
        button=gettext_lazy("Return case %(number)s for correction"),
        label=gettext_lazy("What must the clerk correct?"),
        hint=gettext_lazy("The clerk sees this on the case. Be specific: which field, which "
                          "document."),
        missing=gettext_lazy("Enter what the clerk must correct"),
        done=gettext_lazy("Case %(number)s returned to the clerk for correction."),
        commits=gettext_lazy("The case goes back to its agency's clerks, who can change it "
                             "and submit it again. It comes back to the review queue then."),
        style="secondary"),
    "reject": ReasonDecision(
        C.REJECT, services.case_reject,
        title=gettext_lazy("Reject case %(number)s"),
        button=gettext_lazy("Reject case %(number)s"),
        label=gettext_lazy("Why is the case rejected?"),
        hint=gettext_lazy("For example: the court refused confiscation; give the decision's "
                          "number and date."),
        missing=gettext_lazy("Enter why the case is rejected"),
        done=gettext_lazy("Case %(number)s rejected."),
        commits=gettext_lazy("Rejection is final for this case: its assets are to be "
                             "released to their owner, and no transfer to the reserve can be "
                             "proposed."),
        style="warning"),
    "appeal": ReasonDecision(
        C.RECORD_APPEAL, services.case_record_appeal,
        title=gettext_lazy("Record an appeal against the order on case %(number)s"),
        button=gettext_lazy("Record the appeal on case %(number)s"),
        label=gettext_lazy("The appeal"),
        hint=gettext_lazy("Who appealed, to which court, the appeal's number and date."),
        missing=gettext_lazy("Describe the appeal"),
        done=gettext_lazy("Appeal recorded: case %(number)s is on appeal and its assets are "
                          "frozen."),
        commits=gettext_lazy("While the appeal runs, no transfer of this case's assets can "
                             "be proposed or approved."),
        style="secondary"),
    "close": ReasonDecision(
        C.CLOSE, services.case_close,
        title=gettext_lazy("Close case %(number)s"),
        button=gettext_lazy("Close case %(number)s"),
        label=gettext_lazy("Why is the case closed?"),
        hint=gettext_lazy("For example: assets released to the owner on the court's order."),
        missing=gettext_lazy("Enter why the case is closed"),
        done=gettext_lazy("Case %(number)s closed."),
        commits=gettext_lazy("A closed case can't be changed or reopened."),
        style="secondary"),
}


@person_required(roles={Role.LEGAL_OFFICER, Role.BANK_OFFICER})
@require_http_methods(["GET", "POST"])
def reason_decision(request: HttpRequest, case_id, decision: str) -> HttpResponse:
    spec = REASON_DECISIONS[decision]
    case = _case_offering(request, case_id, {spec.command})
    number = {"number": case.case_number}
    form = ReasonForm(request.POST or None, label=spec.label, hint=spec.hint,
                      missing=spec.missing)
    if request.method == "POST" and form.is_valid():
        response = decide(request, case, form, lambda proof: spec.service(
            case=case, actor=request.user, reason=form.cleaned_data["reason"],
            step_up=proof),
            str(spec.done) % number)
        if response is not None:
            return response
    return render(request, "intake/review/reason.html", case_context(
        request, case, form=form, decision=spec, title=str(spec.title) % number,
        button=str(spec.button) % number))


# --- the appeal's outcome --------------------------------------------------------------------
@person_required(roles=LEGAL)
@require_http_methods(["GET", "POST"])
def appeal_outcome(request: HttpRequest, case_id) -> HttpResponse:
    case = _case_offering(request, case_id, {C.UPHOLD_APPEAL, C.OVERTURN_APPEAL})
    allowed = presenters.commands_for(case, request.user)
    form = AppealOutcomeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = form.cleaned_data["outcome"]
        command = C.UPHOLD_APPEAL if outcome == services.AppealOutcome.UPHELD \
            else C.OVERTURN_APPEAL
        if command not in allowed:
            raise Conflict("This outcome is not on offer for this case.",
                           code=ErrorCode.INVALID_TRANSITION)
        done = (_("Appeal dismissed: the order on case %(number)s stands.")
                if outcome == services.AppealOutcome.UPHELD
                else _("Order overturned: case %(number)s is rejected.")) % {
            "number": case.case_number}
        response = decide(request, case, form, lambda proof: services.case_resolve_appeal(
            case=case, actor=request.user, outcome=outcome,
            reason=form.cleaned_data["reason"], step_up=proof), done)
        if response is not None:
            return response
    return render(request, "intake/review/appeal_outcome.html", case_context(
        request, case, form=form, offer_uphold=C.UPHOLD_APPEAL in allowed,
        offer_overturn=C.OVERTURN_APPEAL in allowed))

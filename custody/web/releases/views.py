"""Court-ordered releases in the browser (README "Nothing left behind, and releases a court
orders"): a legal officer records the court's release order on a rejected or confiscated
case; a second legal officer reviews exactly what is ordered and approves it, or rejects
it, with a fresh code; then a bank officer proposes the release transfer, which goes on
through the transfer pages (approvals, PSBT, progress).

Every read is custody's (or intake's) selector, every write custody's service, the same the
API calls; the decisions offered are RELEASE_ORDER_TABLE's commands for this person."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import Conflict, DomainError, ErrorCode
from core.models import User
from core.roles import Role, has_any_role
from core.web.auth import person_required
from core.web.templatetags.qazyna import btc
from intake import selectors as intake_selectors
from intake.models import Evidence

from ... import selectors, services
from ...models import ApprovalStatus, ReleaseOrder
from ...transitions import RELEASE_ORDER_TABLE, Command
from . import presenters
from .forms import (
    ApproveReleaseOrderForm,
    ProposeReleaseForm,
    RejectReleaseOrderForm,
    ReleaseOrderForm,
)


class PersonRequest(HttpRequest):
    user: User


LEGAL = frozenset({Role.LEGAL_OFFICER})
BANK = frozenset({Role.BANK_OFFICER})
READERS = frozenset({Role.LEGAL_OFFICER, Role.BANK_OFFICER, Role.AUDITOR, Role.ADMIN})


# --- the queue -------------------------------------------------------------------------------
@person_required(roles=READERS)
@require_GET
def release_queue(request: PersonRequest) -> HttpResponse:
    orders = selectors.release_order_list_for_user(user=request.user)
    pending = list(orders.filter(status=ApprovalStatus.PENDING))
    return render(request, "custody/releases/queue.html", {
        "waiting_for_me": [o for o in pending if o.recorded_by_id != request.user.pk],
        "mine": [o for o in pending if o.recorded_by_id == request.user.pk],
        "approved": presenters.approved_rows(orders),
        "rejected": list(orders.filter(status=ApprovalStatus.REJECTED)[:25]),
        "releasable": (presenters.releasable_cases(request.user)
                       if has_any_role(request.user, LEGAL) else []),
        "kind_labels": presenters.KIND_LABELS,
    })


# --- record the order ---------------------------------------------------------------------------
@person_required(roles=LEGAL)
@require_http_methods(["GET", "POST"])
def release_order_new(request: PersonRequest, case_id: Any) -> HttpResponse:
    case = intake_selectors.case_get_for_user(user=request.user, public_id=case_id)
    documents = list(case.evidence.order_by("-kind", "id"))
    form = ReleaseOrderForm(request.POST or None, documents=documents)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = services.release_order_record(
                actor=request.user, case=case, kind=data["kind"], court=data["court"],
                order_number=data["order_number"], order_date=data["order_date"],
                document_sha256=data["document_sha256"], beneficiary=data["beneficiary"],
                destination_address=data["destination_address"])
        except DomainError as exc:
            if exc.code in presenters.ADDRESS_CODES and not exc.extra.get("field"):
                exc.extra["field"] = "destination_address"  # core.bitcoin names no field
            if exc.extra.get("field") == "document_sha256" and data.get("document"):
                exc.extra["field"] = "document"
            form.add_domain_error(exc)
        else:
            messages.success(request, _(
                "Release order %(order)s recorded on case %(number)s. A second legal officer "
                "must approve it before any coins can be released.")
                % {"order": order.order_number, "number": case.case_number})
            return redirect("custody:release-order-detail", order_id=order.public_id)
    return render(request, "custody/releases/new.html", {
        "case": case, "form": form, "documents": documents,
        "releasable": presenters.is_releasable(case),
        "court_orders": [d for d in documents if d.kind == Evidence.Kind.COURT_ORDER],
        "page_has_errors": form.is_bound and bool(form.errors),
    })


# --- the order, and the decisions on it --------------------------------------------------------
def _order(request: PersonRequest, order_id: Any) -> ReleaseOrder:
    return selectors.release_order_get_for_user(user=request.user, public_id=order_id)


def _detail(request: PersonRequest, order: ReleaseOrder, *, status: int = 200,
            **forms: Any) -> HttpResponse:
    forms.setdefault("approve_form", ApproveReleaseOrderForm())
    forms.setdefault("reject_form", RejectReleaseOrderForm())
    forms.setdefault("propose_form", ProposeReleaseForm())
    bound = [f for f in forms.values() if f.is_bound and f.errors]
    return render(request, "custody/releases/detail.html", {
        "order": order, "case": order.case, "view": presenters.order_view(order, request.user),
        "kind_labels": presenters.KIND_LABELS, "status_labels": presenters.STATUS_LABELS,
        "page_has_errors": bool(bound), "error_forms": bound, **forms,
    }, status=status)


@person_required(roles=READERS)
@require_GET
def release_order_detail(request: PersonRequest, order_id: Any) -> HttpResponse:
    return _detail(request, _order(request, order_id))


def _offered(order: ReleaseOrder, user: User, command: str) -> None:
    if command not in RELEASE_ORDER_TABLE.commands_for(order.status, user):
        raise Conflict(f"A release order {order.status.lower()} does not offer this to you.",
                       code=ErrorCode.INVALID_TRANSITION)


@person_required(roles=LEGAL)
@require_POST
def release_order_approve(request: PersonRequest, order_id: Any) -> HttpResponse:
    order = _order(request, order_id)
    _offered(order, request.user, Command.APPROVE)
    form = ApproveReleaseOrderForm(request.POST)
    if form.is_valid():
        try:
            services.release_order_approve(order=order, actor=request.user,
                                           step_up=form.cleaned_data.get("otp") or None)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _(
                "Release order %(order)s approved: a bank officer may now propose the "
                "release of case %(number)s to %(address)s.")
                % {"order": order.order_number, "number": order.case.case_number,
                   "address": order.destination_address})
            return redirect("custody:release-order-detail", order_id=order.public_id)
    order.refresh_from_db()
    return _detail(request, order, approve_form=form)


@person_required(roles=LEGAL)
@require_POST
def release_order_reject(request: PersonRequest, order_id: Any) -> HttpResponse:
    order = _order(request, order_id)
    _offered(order, request.user, Command.REJECT)
    form = RejectReleaseOrderForm(request.POST)
    # The service takes no code: it is checked here first, as on the other reject pages.
    if form.is_valid() and form.step_up(request.user) is not None:
        try:
            services.release_order_reject(order=order, actor=request.user,
                                          reason=form.cleaned_data["reason"])
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Release order %(order)s rejected: nothing will be "
                                        "released on it.") % {"order": order.order_number})
            return redirect("custody:release-order-detail", order_id=order.public_id)
    order.refresh_from_db()
    return _detail(request, order, reject_form=form)


@person_required(roles=BANK)
@require_POST
def release_propose(request: PersonRequest, order_id: Any) -> HttpResponse:
    """The bank officer proposes the release transfer the approved order allows; it goes on
    through the transfer pages (approvals with codes, PSBT, progress)."""
    order = _order(request, order_id)
    form = ProposeReleaseForm(request.POST)
    if form.is_valid():
        try:
            transfer = services.transfer_propose_release(
                actor=request.user, case=order.case, release_order=order,
                fee_rate_sat_vb=form.cleaned_data.get("fee_rate_sat_vb"))
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _(
                "Release proposed: %(amount)s BTC from case %(number)s to the address the "
                "order names. It needs %(required)s approvals by other bank officers.") % {
                "amount": btc(transfer.amount_sats), "number": order.case.case_number,
                "required": transfer.approvals_required})
            return redirect("custody:transfer-detail", transfer_id=transfer.public_id)
    order.refresh_from_db()
    return _detail(request, order, propose_form=form)



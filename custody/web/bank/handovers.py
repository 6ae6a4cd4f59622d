"""Assets handed over without a transfer (README "Nothing left behind"): a bank officer
records that an asset no chain adapter moves (USDT, ETH…) was handed to the fund's
custodian, or released on an approved court order, with the receipt's SHA-256 and the
transaction id; a second officer approves it with a fresh code. The same services as the
API (custody.services.handovers); the decisions offered are HANDOVER_TABLE's commands for
this person."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import Conflict, DomainError, ErrorCode
from core.web.auth import person_required

from ... import selectors, services
from ...models import ApprovalStatus, AssetHandover
from ...transitions import HANDOVER_TABLE, Command
from . import presenters
from .forms import ApproveHandoverForm, HandoverForm, RejectHandoverForm
from .views import BANK, READERS, PersonRequest


@person_required(roles=READERS)
@require_GET
def handover_list(request: PersonRequest) -> HttpResponse:
    handovers = selectors.handover_list_for_user(user=request.user)
    waiting = list(handovers.filter(status=AssetHandover.Status.PROPOSED))
    return render(request, "custody/bank/handover_list.html", {
        "waiting": waiting,
        "decided": list(handovers.exclude(status=AssetHandover.Status.PROPOSED)[:25]),
        "assets": list(presenters.assets_to_hand_over(request.user)[:100]),
        "status_labels": presenters.HANDOVER_STATUS_LABELS,
        "status_colours": presenters.HANDOVER_STATUS_COLOURS,
        "kind_labels": presenters.HANDOVER_KIND_LABELS,
    })


@person_required(roles=BANK)
@require_http_methods(["GET", "POST"])
def handover_new(request: PersonRequest, asset_id: Any) -> HttpResponse:
    asset = selectors.asset_get_for_handover(user=request.user, public_id=asset_id)
    case = asset.case
    documents = list(case.evidence.order_by("-id"))
    orders = list(selectors.release_order_list_for_user(
        user=request.user, filters={"case": case.public_id, "status": ApprovalStatus.ACTIVE}))
    form = HandoverForm(request.POST or None, documents=documents, orders=orders)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = (selectors.release_order_get_for_user(user=request.user,
                                                          public_id=data["release_order"])
                     if data.get("release_order") else None)
            handover = services.handover_propose(
                actor=request.user, asset=asset, kind=data["kind"],
                recipient=data["recipient"], txid=data["txid"],
                receipt_sha256=data["receipt_sha256"], release_order=order,
                amount=data.get("amount"), note=data.get("note") or "",
                step_up=data.get("otp") or None)
        except DomainError as exc:
            if exc.extra.get("field") == "receipt_sha256" and data.get("receipt"):
                exc.extra["field"] = "receipt"
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Handover recorded for case %(number)s: another bank "
                                        "officer must approve it.")
                             % {"number": case.case_number})
            return redirect("custody:handover-detail", handover_id=handover.public_id)
    return render(request, "custody/bank/handover_new.html", {
        "asset": asset, "case": case, "form": form, "documents": documents,
        "page_has_errors": form.is_bound and bool(form.errors)})


def _detail(request: PersonRequest, handover: AssetHandover, **forms: Any) -> HttpResponse:
    forms.setdefault("approve_form", ApproveHandoverForm())
    forms.setdefault("reject_form", RejectHandoverForm())
    bound = [f for f in forms.values() if f.is_bound and f.errors]
    return render(request, "custody/bank/handover_detail.html", {
        "handover": handover, "case": handover.case, "asset": handover.asset,
        "offers": presenters.handover_offers(handover, request.user),
        "status_labels": presenters.HANDOVER_STATUS_LABELS,
        "status_colours": presenters.HANDOVER_STATUS_COLOURS,
        "kind_labels": presenters.HANDOVER_KIND_LABELS,
        "page_has_errors": bool(bound), "error_forms": bound, **forms})


def _handover(request: PersonRequest, handover_id: Any) -> AssetHandover:
    return selectors.handover_get_for_user(user=request.user, public_id=handover_id)


@person_required(roles=READERS)
@require_GET
def handover_detail(request: PersonRequest, handover_id: Any) -> HttpResponse:
    return _detail(request, _handover(request, handover_id))


def _offered(handover: AssetHandover, request: PersonRequest, command: str) -> None:
    if command not in HANDOVER_TABLE.commands_for(handover.status, request.user):
        raise Conflict(f"A handover {handover.status.lower()} does not offer this.",
                       code=ErrorCode.INVALID_TRANSITION)


@person_required(roles=BANK)
@require_POST
def handover_approve(request: PersonRequest, handover_id: Any) -> HttpResponse:
    handover = _handover(request, handover_id)
    _offered(handover, request, Command.APPROVE)
    form = ApproveHandoverForm(request.POST)
    if form.is_valid():
        try:
            services.handover_approve(handover=handover, actor=request.user,
                                      step_up=form.cleaned_data.get("otp") or None)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Handover approved: the asset of case %(number)s is "
                                        "recorded as handed over.")
                             % {"number": handover.case.case_number})
            return redirect("custody:handover-detail", handover_id=handover.public_id)
    handover.refresh_from_db()
    return _detail(request, handover, approve_form=form)


@person_required(roles=BANK)
@require_POST
def handover_reject(request: PersonRequest, handover_id: Any) -> HttpResponse:
    handover = _handover(request, handover_id)
    _offered(handover, request, Command.REJECT)
    form = RejectHandoverForm(request.POST)
    # The service takes no code: it is checked here first, as on the other reject pages.
    if form.is_valid() and form.step_up(request.user) is not None:
        try:
            services.handover_reject(handover=handover, actor=request.user,
                                     reason=form.cleaned_data["reason"])
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Handover rejected: the asset stays held."))
            return redirect("custody:handover-detail", handover_id=handover.public_id)
    handover.refresh_from_db()
    return _detail(request, handover, reject_form=form)

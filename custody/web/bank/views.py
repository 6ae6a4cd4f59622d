"""The bank officers' pages: cases ready for transfer and the proposal, the transfers with
their approval, signing and confirmations, deposits waiting for attribution, prices, and the
chain's circuit breaker.

Every read goes through custody's (and intake's) selectors: what a person may not see is a
404. Every write is one of custody's services, the same the API calls; a decision's
second-factor code goes to the service in the same request (it checks the code after its own
refusals, so a refused command never spends a code), or, where the service takes none, is
checked here first (StepUpFormMixin.step_up), as the legal pages do."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chain import health as chain_health
from chain.models import CircuitBreaker
from core.errors import Conflict, DomainError, ErrorCode, ValidationFailed
from core.models import User
from core.roles import Role, has_any_role
from core.web.auth import person_required
from core.web.templatetags.qazyna import btc
from intake import selectors as intake_selectors
from intake.web import presenters as case_presenters

from ... import chainio, selectors, services
from ...models import (
    IN_FLIGHT_STATES,
    ApprovalStatus,
    Deposit,
    PriceRecord,
    Transfer,
    Valuation,
)
from ...psbt import MAX_PSBT_BYTES
from ...transitions import takes_signatures
from . import presenters
from .forms import (
    ApproveTransferForm,
    AttributeDepositForm,
    CancelTransferForm,
    DepositDecisionForm,
    DepositFilterForm,
    PriceForm,
    ProposeTransferForm,
    SignedPsbtForm,
    StepUpOnlyForm,
    TransferFilterForm,
)


class PersonRequest(HttpRequest):
    """A request through core.web.auth.person_required: its user is a signed-in person."""

    user: User


BANK = frozenset({Role.BANK_OFFICER})
PRICE_KEEPERS = frozenset({Role.BANK_OFFICER, Role.ADMIN})
READERS = frozenset({Role.BANK_OFFICER, Role.AUDITOR, Role.ADMIN})
ADDRESS_CODES = frozenset({ErrorCode.INVALID_ADDRESS, ErrorCode.WRONG_NETWORK})
PAGE_SIZE = 25
VALUATIONS_SHOWN = 25
POLL_SECONDS = 2


def _page(request: PersonRequest, rows: Any) -> dict[str, Any]:
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {"page_obj": page, "rows": page.object_list,
            "query_without_page": f"{query.urlencode()}&" if query else ""}


# --- cases ready for transfer, and the proposal -------------------------------------------------
@person_required(roles=BANK)
@require_GET
def ready_cases(request: PersonRequest) -> HttpResponse:
    context = _page(request, presenters.cases_ready_for_transfer(request.user))
    context["rows"] = [(case, presenters.open_transfer_of(case),
                        sum(a.declared_amount for a in case.assets.all() if a.asset == "BTC"))
                       for case in context["rows"]]
    return render(request, "custody/bank/ready_cases.html", context)


@person_required(roles=BANK)
@require_http_methods(["GET", "POST"])
def propose_transfer(request: PersonRequest, case_id: Any) -> HttpResponse:
    case = intake_selectors.case_get_for_user(user=request.user, public_id=case_id)
    wallets = list(selectors.reserve_wallet_list_for_user(user=request.user)
                   .filter(status=ApprovalStatus.ACTIVE))
    form = ProposeTransferForm(request.POST or None, wallets=wallets)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            wallet = selectors.reserve_wallet_get_for_user(user=request.user,
                                                           public_id=data["reserve_wallet"])
            transfer = services.transfer_propose(
                actor=request.user, case=case, reserve_wallet=wallet,
                destination_address=data.get("destination") or None,
                fee_rate_sat_vb=data.get("fee_rate_sat_vb"))
        except DomainError as exc:
            if exc.code in ADDRESS_CODES and not exc.extra.get("field"):
                exc.extra["field"] = "destination"  # core.bitcoin names no field
            form.add_domain_error(exc)
        else:
            messages.success(request, _(
                "Transfer proposed: %(amount)s BTC from case %(number)s. It needs "
                "%(required)s approvals by other bank officers.") % {
                "amount": btc(transfer.amount_sats), "number": case.case_number,
                "required": transfer.approvals_required})
            return redirect("custody:transfer-detail", transfer_id=transfer.public_id)
    return render(request, "custody/bank/propose.html", {
        "case": case, "form": form, "wallets": wallets,
        "assets": list(case.assets.all()),
        "order": getattr(case, "confiscation_order", None),
        "open_transfer": presenters.open_transfer_of(case),
    })


# --- transfers -----------------------------------------------------------------------------------
@person_required(roles=READERS)
@require_GET
def transfer_list(request: PersonRequest) -> HttpResponse:
    form = TransferFilterForm(request.GET or None)
    filters = form.filters()
    rows = selectors.transfer_list_for_user(user=request.user, filters=filters)
    if filters.get("awaiting_me"):
        rows = rows.filter(pk__in=presenters.transfers_awaiting_my_approval(request.user))
    context = _page(request, rows)
    context["rows"] = [{"transfer": t, "label": presenters.transfer_status_label(t.status),
                        "colour": presenters.TRANSFER_STATUS_COLOURS.get(t.status, "grey"),
                        "approvals": selectors.counted_approvals(t).count()}
                       for t in context["rows"]]
    case = None
    if filters.get("case"):
        case = intake_selectors.case_list_for_user(user=request.user).filter(
            public_id=filters["case"]).first()
    return render(request, "custody/bank/transfer_list.html", {
        **context, "form": form if form.is_bound else TransferFilterForm(),
        "filtered": bool(filters), "filter_case": case,
        "page_has_errors": form.is_bound and bool(form.errors),
    })


def _transfer(request: PersonRequest, transfer_id: Any) -> Transfer:
    return selectors.transfer_get_for_user(user=request.user, public_id=transfer_id)


def _detail(request: PersonRequest, transfer: Transfer, *, status: int = 200,
            **forms: Any) -> HttpResponse:
    view = presenters.transfer_view(transfer, request.user)
    forms.setdefault("approve_form", ApproveTransferForm(
        initial={"payload_hash": transfer.payload_hash}))
    forms.setdefault("cancel_form", CancelTransferForm())
    forms.setdefault("sign_form", SignedPsbtForm())
    bound = [f for f in forms.values() if f.is_bound and f.errors]
    return render(request, "custody/bank/transfer_detail.html", {
        "transfer": transfer, "view": view, "case": transfer.case,
        "colour": presenters.TRANSFER_STATUS_COLOURS.get(transfer.status, "grey"),
        "alerts": case_presenters.alerts(transfer.case, request.user),
        "poll_seconds": POLL_SECONDS, "page_has_errors": bool(bound),
        "error_forms": bound, **forms,
    }, status=status)


@person_required(roles=READERS)
@require_GET
def transfer_detail(request: PersonRequest, transfer_id: Any) -> HttpResponse:
    return _detail(request, _transfer(request, transfer_id))


@person_required(roles=BANK)
@require_POST
def transfer_approve(request: PersonRequest, transfer_id: Any) -> HttpResponse:
    transfer = _transfer(request, transfer_id)
    form = ApproveTransferForm(request.POST)
    if form.is_valid():
        try:
            services.transfer_approve(transfer=transfer, actor=request.user,
                                      payload_hash=form.cleaned_data["payload_hash"],
                                      step_up=form.cleaned_data.get("otp") or None)
        except DomainError as exc:
            form.add_domain_error(exc)
            if exc.code == ErrorCode.PAYLOAD_CHANGED:
                # The page now shows the new payload: its button approves that one.
                data = form.data.copy()  # type: ignore[attr-defined]  # a QueryDict
                data["payload_hash"] = exc.extra.get("payload_hash", "")
                form.data = data
        else:
            transfer.refresh_from_db()
            messages.success(request, _("You approved the transfer of %(amount)s BTC "
                                        "(payload %(hash)s…).")
                             % {"amount": btc(transfer.amount_sats),
                                "hash": transfer.payload_hash[:16]})
            return redirect("custody:transfer-detail", transfer_id=transfer.public_id)
    transfer.refresh_from_db()
    return _detail(request, transfer, approve_form=form)


@person_required(roles=BANK)
@require_POST
def transfer_cancel(request: PersonRequest, transfer_id: Any) -> HttpResponse:
    transfer = _transfer(request, transfer_id)
    form = CancelTransferForm(request.POST)
    if form.is_valid() and form.step_up(request.user) is not None:
        try:
            services.transfer_cancel(transfer=transfer, actor=request.user,
                                     reason=form.cleaned_data["reason"])
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Transfer rejected and cancelled: the coins of case "
                                        "%(number)s stay in custody.")
                             % {"number": transfer.case.case_number})
            return redirect("custody:transfer-detail", transfer_id=transfer.public_id)
    transfer.refresh_from_db()
    return _detail(request, transfer, cancel_form=form)


@person_required(roles=BANK)
@require_GET
def transfer_psbt(request: PersonRequest, transfer_id: Any) -> HttpResponse:
    """The approved unsigned PSBT for the key holders, as the API hands it out."""
    transfer = _transfer(request, transfer_id)
    if not takes_signatures(transfer.status):
        raise Conflict("The PSBT is handed out once the quorum has approved it.",
                       code=ErrorCode.INVALID_TRANSITION, current_status=transfer.status)
    response = HttpResponse(transfer.unsigned_psbt + "\n",
                            content_type="application/octet-stream")
    response["Content-Disposition"] = (
        f'attachment; filename="transfer-{transfer.public_id}.psbt"')
    response["X-Payload-Hash"] = transfer.payload_hash
    return response


@person_required(roles=BANK)
@require_POST
def transfer_sign(request: PersonRequest, transfer_id: Any) -> HttpResponse:
    transfer = _transfer(request, transfer_id)
    form = SignedPsbtForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data.get("psbt_file")
        try:
            if upload is not None and upload.size > MAX_PSBT_BYTES:
                raise ValidationFailed("The PSBT file is too large.",
                                       code=ErrorCode.FILE_TOO_LARGE, field="file")
            transfer = services.transfer_upload_signed(
                transfer=transfer, actor=request.user, psbt=form.cleaned_data["psbt"],
                step_up=form.cleaned_data.get("otp") or None)
        except DomainError as exc:
            form.add_domain_error(exc)
            form.keep_upload()
        else:
            transfer.refresh_from_db()
            done = (_("Signed PSBT accepted: the transaction is fully signed and is being "
                      "sent to the network.") if transfer.final_tx_hex
                    else _("Signed PSBT accepted: more signatures are needed."))
            messages.success(request, done)
            return redirect("custody:transfer-detail", transfer_id=transfer.public_id)
    transfer.refresh_from_db()
    return _detail(request, transfer, sign_form=form)


@person_required(roles=BANK)
@require_POST
def transfer_broadcast(request: PersonRequest, transfer_id: Any) -> HttpResponse:
    """Queue the broadcast of a fully signed transfer again (the task is safe to run twice;
    the service decides whether it may be sent, and waits while the breaker is tripped)."""
    transfer = _transfer(request, transfer_id)
    if not presenters.transfer_view(transfer, request.user).waiting_for_broadcast:
        raise Conflict("Only a fully signed transfer not yet sent can be broadcast.",
                       code=ErrorCode.INVALID_TRANSITION, current_status=transfer.status)
    services.queue_broadcast(transfer.pk)
    messages.success(request, _("The broadcast is queued: the page shows when the network "
                                "has the transaction."))
    return redirect("custody:transfer-detail", transfer_id=transfer.public_id)


@person_required(roles=READERS)
@require_GET
def transfer_progress(request: PersonRequest, transfer_id: Any) -> HttpResponse:
    """The confirmation progress, polled by htmx. When the transfer's state is no longer the
    one the page was drawn with, the whole page reloads (its offers change with it)."""
    transfer = _transfer(request, transfer_id)
    response = render(request, "custody/bank/partials/progress.html", {
        "transfer": transfer, "progress": presenters.progress(transfer),
        "poll_seconds": POLL_SECONDS})
    seen = request.GET.get("seen")
    if request.headers.get("HX-Request") and seen and seen != transfer.status:
        response["HX-Refresh"] = "true"
    return response


# --- deposits ------------------------------------------------------------------------------------
@person_required(roles=READERS)
@require_GET
def deposit_list(request: PersonRequest) -> HttpResponse:
    form = DepositFilterForm(request.GET or None)
    filters = form.filters()
    if not request.GET:
        filters = {"status": Deposit.Status.UNATTRIBUTED}
        form = DepositFilterForm(initial=filters)
    context = _page(request, selectors.deposit_list_for_user(user=request.user,
                                                             filters=filters))
    context["rows"] = [{"deposit": d, "label": presenters.DEPOSIT_STATUS_LABELS.get(d.status),
                        "source": presenters.FUND_SOURCE_LABELS.get(d.source, "")}
                       for d in context["rows"]]
    return render(request, "custody/bank/deposit_list.html", {
        **context, "form": form,
        "needed": presenters.confirmations_needed(settings.BITCOIN_NETWORK)})


@person_required(roles=BANK)
@require_http_methods(["GET", "POST"])
def deposit_attribute(request: PersonRequest, deposit_id: Any) -> HttpResponse:
    deposit = selectors.deposit_get_for_user(user=request.user, public_id=deposit_id)
    form = AttributeDepositForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.deposit_attribute(deposit=deposit, actor=request.user,
                                       source=form.cleaned_data["source"],
                                       note=form.cleaned_data.get("note", ""),
                                       step_up=form.cleaned_data.get("otp") or None)
        except DomainError as exc:
            form.add_domain_error(exc)
            if exc.code == ErrorCode.PAYLOAD_CHANGED:
                # The page now shows the new payload: its button approves that one.
                data = form.data.copy()  # type: ignore[attr-defined]  # a QueryDict
                data["payload_hash"] = exc.extra.get("payload_hash", "")
                form.data = data
        else:
            messages.success(request, _("Attribution proposed: another bank officer must "
                                        "approve it before the deposit enters the ledger."))
            return redirect("custody:deposit-list")
        deposit.refresh_from_db()
    return render(request, "custody/bank/deposit_attribute.html", _deposit_context(deposit, form))


@person_required(roles=BANK)
@require_http_methods(["GET", "POST"])
def deposit_decide(request: PersonRequest, deposit_id: Any) -> HttpResponse:
    deposit = selectors.deposit_get_for_user(user=request.user, public_id=deposit_id)
    form = DepositDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data.get("otp") or None
        try:
            if form.cleaned_data["decision"] == "approve":
                services.deposit_attribution_approve(deposit=deposit, actor=request.user,
                                                     step_up=code)
                done = _("Attribution approved: the deposit entered the reserve ledger.")
            else:
                if form.step_up(request.user) is None:
                    raise _Shown()
                services.deposit_attribution_reject(deposit=deposit, actor=request.user,
                                                    reason=form.cleaned_data["reason"])
                done = _("Attribution rejected: the deposit waits for attribution again.")
        except _Shown:
            pass
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, done)
            return redirect("custody:deposit-list")
        deposit.refresh_from_db()
    return render(request, "custody/bank/deposit_decide.html", _deposit_context(deposit, form))


def _deposit_context(deposit: Deposit, form: Any) -> dict[str, Any]:
    return {"deposit": deposit, "form": form,
            "source_label": presenters.FUND_SOURCE_LABELS.get(deposit.source, ""),
            "needed": presenters.confirmations_needed(deposit.reserve_address.wallet.network)}


class _Shown(Exception):
    """The form already shows why (a refused code)."""


# --- prices --------------------------------------------------------------------------------------
@person_required(roles=READERS)
@require_http_methods(["GET", "POST"])
def price_list(request: PersonRequest) -> HttpResponse:
    # ?observed_at=<ISO moment>: the moment of a valuation open item, filled in for the
    # person recording its price (valuation_items.html links here).
    moment = parse_datetime(request.GET.get("observed_at", "") or "")
    form = PriceForm(request.POST or None,
                     initial={"observed_at": moment} if moment else None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                price = services.price_record(
                    actor=request.user, kzt_per_unit=data["kzt_per_unit"],
                    source=data["source"], observed_at=data["observed_at"],
                    step_up=data.get("otp") or None)
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("Price recorded: %(price)s KZT per BTC. It is used "
                                            "once a second person approves it.")
                                 % {"price": price.kzt_per_unit})
                return redirect("custody:price-list")
    context = _page(request, selectors.price_list_for_user(user=request.user).select_related(
        "recorded_by", "approved_by"))
    context["rows"] = [{"price": p, "label": presenters.PRICE_STATUS_LABELS.get(p.status)}
                       for p in context["rows"]]
    recent = (Valuation.objects.filter(case__in=intake_selectors.case_list_for_user(
        user=request.user)).order_by("-id")[:VALUATIONS_SHOWN])
    return render(request, "custody/bank/price_list.html", {
        **context, "form": form, "valuations": presenters.valuations(
            Valuation.objects.filter(pk__in=[v.pk for v in recent])),
        "may_record": has_any_role(request.user, PRICE_KEEPERS)})


@person_required(roles=PRICE_KEEPERS)
@require_http_methods(["GET", "POST"])
def price_approve(request: PersonRequest, price_id: Any) -> HttpResponse:
    price = selectors.price_get_for_user(user=request.user, public_id=price_id)
    form = StepUpOnlyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.price_approve(price=price, actor=request.user,
                                   step_up=form.cleaned_data.get("otp") or None)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Price approved: valuations use it from now on."))
            return redirect("custody:price-list")
        price.refresh_from_db()
    return render(request, "custody/bank/price_approve.html", {
        "price": price, "form": form, "pending": price.status == PriceRecord.Status.PENDING})


# --- the chain's circuit breaker -------------------------------------------------------------
@person_required(roles=READERS)
@require_GET
def chain_status(request: PersonRequest) -> HttpResponse:
    breaker = CircuitBreaker.objects.filter(id=1).first()
    return render(request, "custody/bank/chain_status.html", {
        "breaker": breaker, "node": chain_health.node_section(),
        "breaker_section": chain_health.breaker_section(),
        "cause": presenters.BREAKER_CAUSES.get(breaker.cause, "") if breaker else "",
        "paused": chainio.settlement_paused(),
        "in_flight": selectors.transfer_list_for_user(
            user=request.user, filters={"status": list(IN_FLIGHT_STATES)}),
    })

"""The auditor's pages of the reserve: the dashboard with its charts, the full accounting,
proof of reserves, valuations, and the registers of transfers, deposits and ledger entries,
each with its CSV export (streamed). Who may see what is custody.selectors' call: bank
officers, auditors and admins; anyone else gets the 404 the API gives."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.api.exports import streaming_csv_response
from core.web.auth import person_required

from ... import exporters, selectors
from . import presenters
from .common import csv_name, page_context, paged, person, require_reader
from .forms import DepositFilterForm, PeriodForm, TransferFilterForm


@person_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    require_reader(request.user)
    proof = exporters.proof_of_reserves()
    return render(request, "custody/auditor/dashboard.html", {
        "holdings": presenters.holdings(), "wallets": proof["wallets"],
        **page_context(request),
    })


@person_required
@require_GET
def accounting(request: HttpRequest) -> HttpResponse:
    require_reader(request.user)
    return render(request, "custody/auditor/accounting.html", {
        **page_context(request),
        "holdings": presenters.holdings(), "source_labels": presenters.SOURCE_LABELS,
        "period_form": PeriodForm(),
    })


@person_required
@require_GET
def accounting_csv(request: HttpRequest) -> StreamingHttpResponse:
    require_reader(request.user)
    return streaming_csv_response(exporters.accounting_rows(), filename=csv_name("accounting"))


@person_required
@require_GET
def proof_of_reserves(request: HttpRequest) -> HttpResponse:
    require_reader(request.user)
    return render(request, "custody/auditor/proof_of_reserves.html",
                  {"wallets": exporters.proof_of_reserves()["wallets"],
                   **page_context(request)})


@person_required
@require_GET
def proof_of_reserves_csv(request: HttpRequest) -> StreamingHttpResponse:
    require_reader(request.user)
    return streaming_csv_response(exporters.proof_of_reserves_rows(),
                                  filename=csv_name("proof-of-reserves"))


@person_required
@require_GET
def valuations(request: HttpRequest) -> HttpResponse:
    require_reader(request.user)
    rows = selectors.valuation_list_for_user(user=person(request))
    return render(request, "custody/auditor/valuations.html", {
        **page_context(request), **paged(request, rows),
        "point_labels": presenters.POINT_LABELS})


@person_required
@require_GET
def valuations_csv(request: HttpRequest) -> StreamingHttpResponse:
    require_reader(request.user)
    rows = selectors.valuation_list_for_user(user=person(request))
    return streaming_csv_response(exporters.valuation_rows(rows), filename=csv_name("valuations"))


@person_required
@require_GET
def transfers(request: HttpRequest) -> HttpResponse:
    require_reader(request.user)
    form = TransferFilterForm(request.GET or None)
    rows = selectors.transfer_list_for_user(user=person(request), filters=form.filters())
    return render(request, "custody/auditor/transfers.html", {
        **page_context(request), **paged(request, rows),
        "form": form if form.is_bound else TransferFilterForm(),
        "filtered": bool(form.is_bound and form.filters()),
        "page_has_errors": form.is_bound and bool(form.errors),
        "status_labels": presenters.TRANSFER_STATUS_LABELS})


@person_required
@require_GET
def transfers_csv(request: HttpRequest) -> StreamingHttpResponse:
    require_reader(request.user)
    form = TransferFilterForm(request.GET or None)
    rows = selectors.transfer_list_for_user(user=person(request), filters=form.filters())
    return streaming_csv_response(exporters.transfer_rows(rows), filename=csv_name("transfers"))


@person_required
@require_GET
def deposits(request: HttpRequest) -> HttpResponse:
    require_reader(request.user)
    form = DepositFilterForm(request.GET or None)
    rows = selectors.deposit_list_for_user(user=person(request), filters=form.filters())
    return render(request, "custody/auditor/deposits.html", {
        **page_context(request), **paged(request, rows),
        "form": form if form.is_bound else DepositFilterForm(),
        "filtered": bool(form.is_bound and form.filters()),
        "page_has_errors": form.is_bound and bool(form.errors),
        "status_labels": presenters.DEPOSIT_STATUS_LABELS,
        "source_labels": presenters.SOURCE_LABELS})


@person_required
@require_GET
def deposits_csv(request: HttpRequest) -> StreamingHttpResponse:
    require_reader(request.user)
    form = DepositFilterForm(request.GET or None)
    rows = selectors.deposit_list_for_user(user=person(request), filters=form.filters())
    return streaming_csv_response(exporters.deposit_rows(rows), filename=csv_name("deposits"))


@person_required
@require_GET
def ledger(request: HttpRequest) -> HttpResponse:
    require_reader(request.user)
    entries = selectors.journal_for_user(user=person(request)).prefetch_related(
        "lines__case", "lines__reserve_wallet").order_by("-id")
    return render(request, "custody/auditor/ledger.html", {
        **page_context(request), **paged(request, entries),
        "entry_labels": presenters.ENTRY_LABELS,
        "account_labels": presenters.ACCOUNT_LABELS,
        "source_labels": presenters.SOURCE_LABELS})

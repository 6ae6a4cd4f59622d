"""Valuation open items: milestones of a case (seizure, confiscation, reserve entry,
release) that could not be valued in KZT when they happened, for want of an approved price
in force then (custody.models.ValuationGap, with a MISSING_PRICE alert to the bank). Bank
officers record the price of that moment from here (the price pages: recorded by one,
approved by another, which values the item); auditors and bank officers see the items
resolved, with the price used. Reads through custody.selectors only."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.api.exports import streaming_csv_response
from core.bitcoin import format_btc
from core.roles import has_any_role
from core.web.auth import person_required

from ... import selectors
from ...models import ValuationGap
from . import presenters
from .views import PRICE_KEEPERS, READERS, PersonRequest, _page

CSV_COLUMNS = ["case_number", "milestone", "asset", "at", "amount_sats", "amount_btc", "status",
               "kzt_per_unit", "price_source", "price_observed_at", "value_kzt", "resolved_at"]


def _iso(value: Any) -> str:
    return value.isoformat() if value else ""


def _gaps(request: PersonRequest, status: str) -> Any:
    return (selectors.valuation_gap_list_for_user(user=request.user, filters={"status": status})
            .select_related("valuation__price"))


@person_required(roles=READERS)
@require_GET
def valuation_items(request: PersonRequest) -> HttpResponse:
    resolved = _page(request, _gaps(request, ValuationGap.Status.RESOLVED).order_by(
        "-resolved_at", "-id"))
    return render(request, "custody/bank/valuation_items.html", {
        "open_items": list(_gaps(request, ValuationGap.Status.OPEN)[:200]),
        **resolved, "point_labels": presenters.VALUATION_POINTS,
        "may_record": has_any_role(request.user, PRICE_KEEPERS)})


@person_required(roles=READERS)
@require_GET
def valuation_items_csv(request: PersonRequest) -> StreamingHttpResponse:
    def rows() -> Any:
        yield CSV_COLUMNS
        gaps = (selectors.valuation_gap_list_for_user(user=request.user)
                .select_related("valuation__price").order_by("at", "id"))
        for gap in gaps.iterator(chunk_size=500):
            price = gap.valuation.price if gap.valuation else None
            yield [gap.case.case_number if gap.case else "", gap.point, gap.asset,
                   _iso(gap.at), gap.amount_sats, format_btc(gap.amount_sats), gap.status,
                   price.kzt_per_unit if price else "", price.source if price else "",
                   _iso(price.observed_at) if price else "",
                   gap.valuation.value_kzt if gap.valuation else "", _iso(gap.resolved_at)]

    return streaming_csv_response(
        rows(), filename=f"qazyna-valuation-items-{timezone.now():%Y%m%d-%H%M}.csv")

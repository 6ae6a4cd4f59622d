"""What custody puts on the shared pages (core.web.registry): the value in KZT beside an
amount, at the latest approved price this person may see (custody.selectors decides who
sees prices)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone

from core.bitcoin import SATS_PER_BTC
from core.web.registry import KztValue

from ..models import PriceRecord
from ..selectors import price_list_for_user


def kzt_value(*, user: Any, asset: str, amount: int) -> KztValue | None:
    if asset != "BTC":
        return None
    # Only an approved price values anything (four eyes: PriceRecord), as in valuations.
    price = (price_list_for_user(user=user)
             .filter(asset=asset, observed_at__lte=timezone.now(),
                     status=PriceRecord.Status.ACTIVE)
             .order_by("-observed_at", "-id").first())
    if price is None:
        return None
    value = (Decimal(amount) * price.kzt_per_unit / SATS_PER_BTC).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP)
    return KztValue(kzt=value, source=price.source, observed_at=price.observed_at)

"""Recorded prices (KZT per unit, with their source) and the valuations made from them at
seizure, confiscation and reserve entry."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from core.audit import record_event
from core.bitcoin import SATS_PER_BTC, refuse_private_keys
from core.errors import ValidationFailed
from core.models import User
from core.roles import Role, require_role
from intake.models import AssetKind, ConfiscationOrder

from ..audit import CustodyAction
from ..models import PriceRecord, Transfer, Valuation
from ..selectors import price_at


@transaction.atomic
def price_record(*, actor: User, kzt_per_unit: Decimal | int, source: str,
                 observed_at: dt.datetime, asset: str = "BTC") -> PriceRecord:
    require_role(actor, Role.BANK_OFFICER, Role.ADMIN)
    refuse_private_keys({"source": source})
    if not (source or "").strip():
        raise ValidationFailed("Say where the price comes from.", field="source")
    price = PriceRecord.objects.create(asset=asset, kzt_per_unit=kzt_per_unit, source=source,
                                       observed_at=observed_at, recorded_by=actor)
    record_event(actor=actor, action=CustodyAction.PRICE_RECORDED, obj=price,
                 after={"asset": asset, "kzt_per_unit": str(kzt_per_unit), "source": source,
                        "observed_at": observed_at})
    return price


def value_kzt(amount_sats: int, price: PriceRecord) -> Decimal:
    return (Decimal(amount_sats) * price.kzt_per_unit / Decimal(SATS_PER_BTC)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP)


def value_at_settlement(transfer: Transfer) -> None:
    """The case's coins valued at seizure, confiscation and reserve entry, each once, from
    the latest price recorded at that moment (none when no price was recorded)."""
    case = transfer.case
    declared = sum(case.assets.filter(asset=AssetKind.BTC).values_list("declared_amount",
                                                                         flat=True))
    order = ConfiscationOrder.objects.filter(case=case).first()
    points = [(Valuation.Point.SETTLEMENT, transfer.settled_at, transfer.amount_sats)]
    if case.seizure_date:
        seized_at = timezone.make_aware(dt.datetime.combine(case.seizure_date, dt.time.max))
        points.append((Valuation.Point.SEIZURE, seized_at, declared))
    if order is not None:
        points.append((Valuation.Point.CONFISCATION, order.recorded_at, declared))
    for point, when, amount in points:
        if when is None or not amount or Valuation.objects.filter(
                case=case, point=point, transfer=transfer).exists():
            continue
        price = price_at("BTC", when)
        if price is None:
            continue
        Valuation.objects.create(case=case, transfer=transfer, point=point, amount_sats=amount,
                                 price=price, value_kzt=value_kzt(amount, price))

"""What custody puts on the shared pages (core.web.registry): the value in KZT beside an
amount, at the latest approved price this person may see (custody.selectors decides who
sees prices), and the links on a case's page to its release orders."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.bitcoin import SATS_PER_BTC
from core.roles import Role, has_any_role
from core.web.registry import CaseLink, KztValue
from intake.transitions import RELEASABLE_STATES

from ..models import PriceRecord
from ..selectors import price_list_for_user, release_order_list_for_user


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


def case_links(*, user: Any, case: Any) -> list[CaseLink]:
    """The case's release orders this person may see, and for a legal officer on a case a
    court may release, the page to record one (the service decides for real)."""
    links = [CaseLink(_("Release order %(number)s of %(court)s") % {
                 "number": order.order_number, "court": order.court},
                 reverse("custody:release-order-detail", args=[order.public_id]))
             for order in release_order_list_for_user(user=user, filters={"case": case.public_id})]
    if case.status in RELEASABLE_STATES and has_any_role(user, {Role.LEGAL_OFFICER}):
        links.append(CaseLink(_("Record a court's release order on this case"),
                              reverse("custody:release-order-new", args=[case.public_id])))
    return links

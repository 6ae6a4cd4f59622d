"""Recorded prices (KZT per unit, with their source, four eyes) and the valuations made from
them when each milestone happens: seizure (once the case is filed), confiscation (once the
order is final), reserve entry (settlement) and release. A milestone with no approved price
in force at its moment is an open item (ValuationGap) with an alert asking the bank for the
price; approving that price values it."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from core.audit import record_event
from core.bitcoin import SATS_PER_BTC, refuse_private_keys
from core.errors import ErrorCode, PermissionRefused, ValidationFailed
from core.models import User
from core.roles import Role, require_role
from core.second_factor import StepUp, require_step_up
from core.statemachine import apply_transition
from intake.models import AssetKind, CaseAlert, CaseStatus, ConfiscationOrder, SeizureCase

from ..audit import CustodyAction
from ..models import PriceRecord, Transfer, Valuation, ValuationGap
from ..selectors import price_at
from ..transitions import PRICE_TABLE, Command, check_command, require_command_role
from .cases import close_alert, raise_alert

# A case is seized, for the record, once it is filed (submitted) with its seizure date.
NOT_YET_SEIZED = frozenset({CaseStatus.DRAFT})


@transaction.atomic
def price_record(*, actor: User, kzt_per_unit: Decimal | int, source: str,
                 observed_at: dt.datetime, step_up: StepUp | str | None,
                 asset: str = "BTC") -> PriceRecord:
    """A price as one person read it; it is used once a second person approves it."""
    require_role(actor, Role.BANK_OFFICER, Role.ADMIN)
    proof = require_step_up(actor, step_up)
    refuse_private_keys({"source": source})
    if not (source or "").strip():
        raise ValidationFailed("Say where the price comes from.", field="source")
    if observed_at > timezone.now():
        raise ValidationFailed("A price cannot be observed in the future.",
                               code=ErrorCode.DATE_IN_FUTURE, field="observed_at")
    price = PriceRecord.objects.create(asset=asset, kzt_per_unit=kzt_per_unit, source=source,
                                       observed_at=observed_at, recorded_by=actor)
    record_event(actor=actor, action=CustodyAction.PRICE_RECORDED, obj=price,
                 after={"asset": asset, "kzt_per_unit": str(kzt_per_unit), "source": source,
                        "observed_at": observed_at, "status": price.status,
                        **proof.audit()})
    return price


@transaction.atomic
def price_approve(*, price: PriceRecord, actor: User, step_up: StepUp | str | None) -> PriceRecord:
    """The second person: from now on valuations use this price."""
    require_command_role(actor, PRICE_TABLE, Command.APPROVE)
    price = PriceRecord.objects.select_for_update().get(pk=price.pk)
    if price.recorded_by_id == actor.pk:
        raise PermissionRefused("You recorded this price: someone else must approve it.",
                                code=ErrorCode.OWN_ENTRY)
    check_command(PRICE_TABLE, price.status, Command.APPROVE)
    proof = require_step_up(actor, step_up)
    price.approved_by, price.approved_at = actor, timezone.now()
    apply_transition(price, table=PRICE_TABLE, command=Command.APPROVE, actor=actor,
                     action=CustodyAction.PRICE_APPROVED,
                     update_fields=["approved_by", "approved_at"],
                     after={"kzt_per_unit": str(price.kzt_per_unit), "source": price.source,
                            "recorded_by": price.recorded_by.get_username()
                            if price.recorded_by else None, **proof.audit()})
    resolve_gaps_with(price, actor=actor)
    return price


def value_kzt(amount_sats: int, price: PriceRecord) -> Decimal:
    return (Decimal(amount_sats) * price.kzt_per_unit / Decimal(SATS_PER_BTC)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP)


def value_at_settlement(transfer: Transfer) -> None:
    """Reserve entry: the transfer's coins valued at the moment it settled; and the case's
    earlier milestones, if the periodic valuation has not reached them yet. Runs in the
    settlement's transaction."""
    value_milestone(case=transfer.case, transfer=transfer, point=Valuation.Point.SETTLEMENT,
                    at=transfer.settled_at, amount_sats=transfer.amount_sats)
    value_case_milestones(transfer.case)


def value_release(*, case: SeizureCase, at: dt.datetime, amount_sats: int,
                  transfer: Transfer | None = None) -> Valuation | ValuationGap | None:
    """A court-ordered release (disposal): valued when it happens."""
    return value_milestone(case=case, transfer=transfer, point=Valuation.Point.RELEASE, at=at,
                           amount_sats=amount_sats)


def seizure_moment(case: SeizureCase) -> dt.datetime | None:
    """The seizure's day, to its end in the project's time zone: the price in force that
    day."""
    if case.seizure_date is None:
        return None
    return timezone.make_aware(dt.datetime.combine(case.seizure_date, dt.time.max))


def declared_btc(case: SeizureCase) -> int:
    return sum(case.assets.filter(asset=AssetKind.BTC).values_list("declared_amount",
                                                                   flat=True))


def value_case_milestones(case: SeizureCase) -> list[Valuation | ValuationGap]:
    """The case's seizure (once submitted) and confiscation (once the order is final), each
    valued once from the price in force when it happened, or an open item."""
    done: list[Valuation | ValuationGap] = []
    if case.status not in NOT_YET_SEIZED:
        found = value_milestone(case=case, point=Valuation.Point.SEIZURE,
                                at=seizure_moment(case), amount_sats=declared_btc(case))
        if found is not None:
            done.append(found)
    order = ConfiscationOrder.objects.filter(case=case,
                                             finality=ConfiscationOrder.Finality.FINAL).first()
    if order is not None:
        found = value_milestone(case=case, point=Valuation.Point.CONFISCATION,
                                at=order.recorded_at, amount_sats=declared_btc(case))
        if found is not None:
            done.append(found)
    return done


def value_due_milestones(limit: int = 200) -> int:
    """The periodic pass (beat): every case whose seizure or confiscation has happened and
    is neither valued nor an open item yet. Each case in its own transaction."""
    def missing(point: str) -> Q:
        return (~Q(Exists(Valuation.objects.filter(case=OuterRef("pk"), point=point)))
                & ~Q(Exists(ValuationGap.objects.filter(case=OuterRef("pk"), point=point))))

    seized = (SeizureCase.objects.exclude(status__in=NOT_YET_SEIZED)
              .filter(seizure_date__isnull=False).filter(missing(Valuation.Point.SEIZURE)))
    confiscated = (SeizureCase.objects
                   .filter(confiscation_order__finality=ConfiscationOrder.Finality.FINAL)
                   .filter(missing(Valuation.Point.CONFISCATION)))
    ids = sorted(set(seized.values_list("pk", flat=True)[:limit])
                 | set(confiscated.values_list("pk", flat=True)[:limit]))
    count = 0
    for pk in ids:
        with transaction.atomic():
            case = SeizureCase.objects.select_for_update().get(pk=pk)
            count += len(value_case_milestones(case))
    return count


def value_milestone(*, case: SeizureCase | None, point: str, at: dt.datetime | None,
                    amount_sats: int, transfer: Transfer | None = None,
                    asset: str = "BTC") -> Valuation | ValuationGap | None:
    """One milestone valued once, from the approved price in force at `at` with its source;
    with no such price, an open item (ValuationGap) and an alert asking the bank to record
    one. Runs in the caller's transaction; a repeat finds what the first call made (None)."""
    if at is None or amount_sats <= 0:
        return None
    if Valuation.objects.filter(case=case, transfer=transfer, point=point).exists() or \
            ValuationGap.objects.filter(case=case, transfer=transfer, point=point).exists():
        return None
    price = price_at(asset, at)
    if price is not None:
        return _valuation(case=case, transfer=transfer, point=point, at=at,
                          amount_sats=amount_sats, price=price)
    with transaction.atomic():
        gap = ValuationGap.objects.create(case=case, transfer=transfer, point=point,
                                          asset=asset, at=at, amount_sats=amount_sats)
        record_event(actor=None, action=CustodyAction.VALUATION_GAP_OPENED, obj=gap, after={
            "case": str(case.public_id) if case else None, "point": point, "asset": asset,
            "at": at, "amount_sats": amount_sats})
        where = f" of case {case.case_number}" if case else ""
        raise_alert(case=case, kind=CaseAlert.Kind.MISSING_PRICE,
                    dedup_key=f"price:{gap.public_id}",
                    message=f"No approved {asset}/KZT price in force at {at:%Y-%m-%d %H:%M} "
                            f"to value the {Valuation.Point(point).label.lower()}{where} "
                            f"({amount_sats} sats). Record the price of that moment with its "
                            f"source; once a second person approves it, the milestone is "
                            f"valued.",
                    details={"gap": str(gap.public_id), "point": point, "asset": asset,
                             "at": at.isoformat(), "amount_sats": amount_sats})
    return gap


def _valuation(*, case: SeizureCase | None, transfer: Transfer | None, point: str,
               at: dt.datetime, amount_sats: int, price: PriceRecord) -> Valuation:
    valuation = Valuation.objects.create(case=case, transfer=transfer, point=point, at=at,
                                         amount_sats=amount_sats, price=price,
                                         value_kzt=value_kzt(amount_sats, price))
    record_event(actor=None, action=CustodyAction.VALUATION_RECORDED,
                 object_type="custody.valuation", object_id=str(valuation.pk), after={
                     "case": str(case.public_id) if case else None, "point": point,
                     "at": at, "amount_sats": amount_sats, "value_kzt": valuation.value_kzt,
                     "price": str(price.public_id), "kzt_per_unit": price.kzt_per_unit,
                     "source": price.source})
    return valuation


def resolve_gaps_with(price: PriceRecord, *, actor: User) -> int:
    """A price was approved: every open item it now covers (a milestone at or after the
    price's observation) is valued from the price in force then, and its alert resolved.
    Runs in the approval's transaction."""
    count = 0
    for gap in (ValuationGap.objects.select_for_update()
                .filter(status=ValuationGap.Status.OPEN, asset=price.asset,
                        at__gte=price.observed_at).order_by("at", "id")):
        in_force = price_at(gap.asset, gap.at)
        if in_force is None:
            continue
        gap.valuation = _valuation(case=gap.case, transfer=gap.transfer, point=gap.point,
                                   at=gap.at, amount_sats=gap.amount_sats, price=in_force)
        gap.status, gap.resolved_at = ValuationGap.Status.RESOLVED, timezone.now()
        gap.save(update_fields=["valuation", "status", "resolved_at"])
        record_event(actor=actor, action=CustodyAction.VALUATION_GAP_RESOLVED, obj=gap,
                     after={"price": str(in_force.public_id), "source": in_force.source,
                            "value_kzt": gap.valuation.value_kzt})
        close_alert(kind=CaseAlert.Kind.MISSING_PRICE, dedup_key=f"price:{gap.public_id}",
                    actor=actor, reason=f"Valued at {in_force.kzt_per_unit} KZT per "
                                        f"{gap.asset} ({in_force.source}).")
        count += 1
    return count

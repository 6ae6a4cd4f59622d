"""Alerts: something on a case (or on the reserve) a person must look at, and the people who
must be told.

An alert is raised once per (kind, dedup_key) while open. Raising it records, in the same
transaction, one AlertDelivery per channel for its first level (email to the people
responsible, the signed webhook for the bank's monitoring) and queues them after commit
(intake.notify does the sending, intake.tasks retries). Nobody acknowledges it within
ALERT_ESCALATE_AFTER_SECONDS: the beat task escalates it to the next level (the table's
system command `escalate`, audited) and it is sent again. People acknowledge and resolve it
with a reason (resolving is a decision: a fresh code), through the table in
intake.transitions like every other state change."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import record_event
from core.errors import PermissionRefused
from core.roles import Role, require_reason, roles_of
from core.second_factor import StepUp, require_step_up
from core.statemachine import apply_transition
from core.tasks import enqueue

from ..audit import IntakeAction
from ..models import AlertDelivery, AlertStatus, CaseAlert, CaseStatus, SeizureCase
from ..transitions import ALERT_TABLE, AlertCommand

# The case states in which the reserve side (the bank) answers for the case's alerts.
RESERVE_SIDE_STATES = frozenset({
    CaseStatus.CONFISCATION_APPROVED, CaseStatus.ON_APPEAL, CaseStatus.IN_TRANSFER,
    CaseStatus.IN_RESERVE, CaseStatus.CLOSED,
})
# Kinds only the reserve side can answer, whichever state the case is in (a price is
# recorded by bank officers).
RESERVE_SIDE_KINDS = frozenset({CaseAlert.Kind.MISSING_PRICE})
DELIVER_TASK = "intake.deliver_alert"


# --- who is responsible ------------------------------------------------------------------------
def alert_side(alert: CaseAlert) -> str:
    """"agency" while the case is with its agency and the legal review; "reserve" once
    confiscation is approved, and for alerts on no case (reconciliation, deposits)."""
    case = alert.case
    if case is None or case.status in RESERVE_SIDE_STATES or alert.kind in RESERVE_SIDE_KINDS:
        return "reserve"
    return "agency"


def escalation_roles(alert: CaseAlert) -> list[str]:
    return list(settings.ALERT_ESCALATION_ROLES[alert_side(alert)])


def max_level(alert: CaseAlert) -> int:
    return len(escalation_roles(alert)) - 1


def alert_recipients(alert: CaseAlert, level: int) -> list[Any]:
    """The active people holding the role of this level (a clerk: of the case's agency),
    who have an email address."""
    roles = escalation_roles(alert)
    role = roles[min(level, len(roles) - 1)]
    people = get_user_model().objects.filter(is_active=True, groups__name=role).exclude(
        email="")
    if role == Role.CLERK:
        if alert.case is None:
            return []
        people = people.filter(agency_id=alert.case.agency_id)
    return list(people.order_by("username").distinct())


def _plan_deliveries(alert: CaseAlert, *, level: int, event: str) -> list[AlertDelivery]:
    """One delivery per channel for this level (a second call finds them made)."""
    now = timezone.now()
    people = alert_recipients(alert, level)
    wanted = [(AlertDelivery.Channel.EMAIL,
               [{"username": p.get_username(), "email": p.email} for p in people])]
    if settings.ALERT_WEBHOOK_URL:
        wanted.append((AlertDelivery.Channel.WEBHOOK, []))
    made = []
    for channel, recipients in wanted:
        if channel == AlertDelivery.Channel.EMAIL and not recipients:
            continue  # nobody with an address at this level: the escalation goes on
        delivery, _ = AlertDelivery.objects.get_or_create(
            alert=alert, channel=channel, level=level,
            defaults={"event": event, "recipients": recipients, "next_attempt_at": now})
        made.append(delivery)
    return made


def _queue(deliveries: list[AlertDelivery]) -> None:
    ids = [d.pk for d in deliveries if d.status == AlertDelivery.Status.PENDING]
    if ids:
        transaction.on_commit(lambda: [enqueue(DELIVER_TASK, pk) for pk in ids])


def _escalate_at(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(seconds=settings.ALERT_ESCALATE_AFTER_SECONDS)


# --- raising -----------------------------------------------------------------------------------
def alert_raise(*, case: SeizureCase | None, kind: str, dedup_key: str, message: str,
                details: dict[str, Any] | None = None,
                actor: Any = None) -> tuple[CaseAlert, bool]:
    """Raise an alert once: an open alert with the same key is left as it is. Runs in the
    caller's transaction (the watcher's service); the people responsible are told after
    commit. Returns (alert, created)."""
    existing = CaseAlert.objects.filter(kind=kind, dedup_key=dedup_key,
                                        resolved_at__isnull=True).first()
    if existing is not None:
        return existing, False
    with transaction.atomic():
        now = timezone.now()
        alert = CaseAlert.objects.create(case=case, agency_id=case.agency_id if case else None,
                                         kind=kind, dedup_key=dedup_key,
                                         message=message, details=details or {},
                                         status=AlertStatus.OPEN, status_changed_at=now)
        record_event(actor=actor, action=IntakeAction.ALERT_RAISED, obj=alert,
                     after={"kind": kind, "case": str(case.public_id) if case else None,
                            "message": message, "details": details or {}})
        if max_level(alert) > 0:
            alert.escalate_at = _escalate_at(now)
            alert.save(update_fields=["escalate_at"])
        _queue(_plan_deliveries(alert, level=0, event="alert.raised"))
    return alert, True


# --- people answer -----------------------------------------------------------------------------
def _locked() -> Any:
    # The case is read with the alert, but only the alert's row is locked (a case-less
    # alert is the nullable side of the join, which FOR UPDATE cannot lock).
    return CaseAlert.objects.select_for_update(of=("self",)).select_related("case")


def _lock(alert: CaseAlert) -> CaseAlert:
    return _locked().get(pk=alert.pk)


def _require_responsible(actor: Any, alert: CaseAlert) -> None:
    """A clerk answers only for their own agency's cases (the selector already hid the
    others; this holds for any caller)."""
    roles = roles_of(actor)
    if (alert.case is not None and roles == {Role.CLERK}
            and actor.agency_id != alert.case.agency_id):
        raise PermissionRefused("Only clerks of the case's agency answer for its alerts.")


@transaction.atomic
def alert_acknowledge(*, alert: CaseAlert, actor: Any, reason: str) -> CaseAlert:
    """Someone responsible has seen it and is acting: escalation stops."""
    reason = require_reason(reason)
    alert = _lock(alert)
    _require_responsible(actor, alert)
    alert.acknowledged_by, alert.acknowledged_at = actor, timezone.now()
    alert.escalate_at = None
    apply_transition(alert, table=ALERT_TABLE, command=AlertCommand.ACKNOWLEDGE, actor=actor,
                     action=IntakeAction.ALERT_ACKNOWLEDGED, reason=reason,
                     update_fields=["acknowledged_by", "acknowledged_at", "escalate_at"],
                     after={"level": alert.escalation_level})
    return alert


@transaction.atomic
def alert_resolve(*, alert: CaseAlert, actor: Any, reason: str,
                  step_up: StepUp | str | None) -> CaseAlert:
    """The alarm is closed in the record, with what was found and done: a decision, so a
    fresh second-factor code (checked after the service's own refusals)."""
    reason = require_reason(reason)
    alert = _lock(alert)
    _require_responsible(actor, alert)
    ALERT_TABLE.resolve(alert.status, AlertCommand.RESOLVE)
    proof = require_step_up(actor, step_up)
    alert.resolved_by, alert.resolved_at = actor, timezone.now()
    alert.escalate_at = None
    apply_transition(alert, table=ALERT_TABLE, command=AlertCommand.RESOLVE, actor=actor,
                     action=IntakeAction.ALERT_RESOLVED, reason=reason,
                     update_fields=["resolved_by", "resolved_at", "escalate_at"],
                     after={"level": alert.escalation_level, **proof.audit()})
    return alert


def alert_close_by_system(*, kind: str, dedup_key: str, actor: Any, reason: str) -> bool:
    """What the alert asked for was done through another decision (a price recorded and
    approved, say): the open alert with this key is resolved by that decision's actor, in
    the caller's transaction, through the same table. False when none is open."""
    alert = _locked().filter(kind=kind, dedup_key=dedup_key, resolved_at__isnull=True).first()
    if alert is None:
        return False
    alert.resolved_by = actor if getattr(actor, "pk", None) else None
    alert.resolved_at, alert.escalate_at = timezone.now(), None
    return apply_transition(alert, table=ALERT_TABLE, command=AlertCommand.RESOLVE,
                            actor=actor, action=IntakeAction.ALERT_RESOLVED, reason=reason,
                            as_system=True,
                            update_fields=["resolved_by", "resolved_at", "escalate_at"])


# --- escalation (the beat task) ----------------------------------------------------------------
def alerts_due_for_escalation(now: dt.datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(CaseAlert.objects.filter(status=AlertStatus.OPEN, escalate_at__lte=now)
                .order_by("escalate_at").values_list("pk", flat=True)[:500])


@transaction.atomic
def alert_escalate(*, alert_id: int, now: dt.datetime | None = None) -> bool:
    """Nobody acknowledged it in time: tell the next level. Safe to run twice: the row is
    locked and must still be open and due."""
    now = now or timezone.now()
    alert = _locked().filter(
        pk=alert_id, status=AlertStatus.OPEN, escalate_at__lte=now).first()
    if alert is None:
        return False
    level = alert.escalation_level + 1
    if level > max_level(alert):
        alert.escalate_at = None
        alert.save(update_fields=["escalate_at"])
        return False
    alert.escalation_level = level
    alert.escalate_at = _escalate_at(now) if level < max_level(alert) else None
    apply_transition(alert, table=ALERT_TABLE, command=AlertCommand.ESCALATE, actor=None,
                     action=IntakeAction.ALERT_ESCALATED, as_system=True,
                     reason=f"not acknowledged within "
                            f"{settings.ALERT_ESCALATE_AFTER_SECONDS} s",
                     update_fields=["escalation_level", "escalate_at"],
                     before={"level": level - 1},
                     after={"level": level, "roles": escalation_roles(alert)[level]})
    _queue(_plan_deliveries(alert, level=level, event="alert.escalated"))
    return True


# --- deliveries (intake.notify sends; these record) -----------------------------------------
def deliveries_due(now: dt.datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(AlertDelivery.objects.filter(
        status=AlertDelivery.Status.PENDING).filter(
        Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True))
        .order_by("next_attempt_at").values_list("pk", flat=True)[:500])


def delivery_claim(delivery_id: int, *, lease_seconds: int) -> AlertDelivery | None:
    """Compare-and-swap: the delivery, if it was pending and due and this caller moved its
    next attempt on by the lease; None if another worker has it (or it is done)."""
    now = timezone.now()
    claimed = AlertDelivery.objects.filter(
        Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True),
        pk=delivery_id, status=AlertDelivery.Status.PENDING,
    ).update(next_attempt_at=now + dt.timedelta(seconds=lease_seconds))
    if claimed != 1:
        return None
    return AlertDelivery.objects.select_related("alert", "alert__case").get(pk=delivery_id)


@transaction.atomic
def delivery_sent(*, delivery_id: int) -> None:
    delivery = AlertDelivery.objects.select_for_update().get(pk=delivery_id)
    if delivery.status != AlertDelivery.Status.PENDING:
        return
    delivery.status, delivery.sent_at = AlertDelivery.Status.SENT, timezone.now()
    delivery.attempts += 1
    delivery.next_attempt_at = None
    delivery.save(update_fields=["status", "sent_at", "attempts", "next_attempt_at"])
    record_event(actor=None, action=IntakeAction.ALERT_SENT, obj=delivery.alert, after={
        "channel": delivery.channel, "level": delivery.level, "event": delivery.event,
        "delivery": str(delivery.public_id),
        "to": [r["username"] for r in delivery.recipients]})


@transaction.atomic
def delivery_failed(*, delivery_id: int, error: str) -> int | None:
    """Count a failed attempt; the seconds until the next one, or None once it gave up."""
    delivery = AlertDelivery.objects.select_for_update().get(pk=delivery_id)
    if delivery.status != AlertDelivery.Status.PENDING:
        return None
    delivery.attempts += 1
    delivery.last_error = error[:2000]
    if delivery.attempts >= settings.ALERT_DELIVERY_MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = AlertDelivery.Status.FAILED, None
        delivery.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
        record_event(actor=None, action=IntakeAction.ALERT_DELIVERY_FAILED, obj=delivery.alert,
                     after={"channel": delivery.channel, "level": delivery.level,
                            "attempts": delivery.attempts, "error": delivery.last_error})
        return None
    wait = min(settings.ALERT_RETRY_SECONDS * 2 ** (delivery.attempts - 1),
               settings.ALERT_RETRY_MAX_SECONDS)
    delivery.next_attempt_at = timezone.now() + dt.timedelta(seconds=wait)
    delivery.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    return int(wait)


"""Reads, and who may see what. An object a user may not see does not exist for them (404)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from chain.models import ChainCursor, WatchedTransaction
from core.errors import NotFound
from core.models import AuditEvent
from core.roles import Role, roles_of

from .models import CaseAlert, CaseStatus, SeizedAsset, SeizureCase, VerificationStatus

LEGAL_VISIBLE = ~Q(status=CaseStatus.DRAFT)
BANK_STATUSES = [
    CaseStatus.CONFISCATION_APPROVED, CaseStatus.ON_APPEAL, CaseStatus.IN_TRANSFER,
    CaseStatus.IN_RESERVE, CaseStatus.CLOSED,
]
BANK_VISIBLE = Q(status__in=BANK_STATUSES)


def case_visibility(user: Any, *, prefix: str = "", agency: str | None = None) -> Q | None:
    """A Q of the cases this user may see; None when they may see none. With prefix
    ("case__") the same condition on a model that points at the case, so a list of alerts
    joins the case instead of testing membership in the whole visible set; agency names
    that model's own copy of the case's agency, which its index serves without the join."""
    roles = roles_of(user)
    if user.is_superuser or roles & {Role.AUDITOR, Role.ADMIN}:
        return Q()
    conditions = []
    if Role.CLERK in roles and user.agency_id:
        conditions.append(Q(**{agency or f"{prefix}agency_id": user.agency_id}))
    if Role.LEGAL_OFFICER in roles:
        conditions.append(~Q(**{f"{prefix}status": CaseStatus.DRAFT}))
    if Role.BANK_OFFICER in roles:
        conditions.append(Q(**{f"{prefix}status__in": BANK_STATUSES}))
    if not conditions:
        return None
    combined = conditions[0]
    for condition in conditions[1:]:
        combined |= condition
    return combined


def case_queryset_for_user(*, user: Any) -> QuerySet[SeizureCase]:
    visible = case_visibility(user)
    if visible is None:
        return SeizureCase.objects.none()
    return SeizureCase.objects.filter(visible)


def _count_of(related: QuerySet[Any]) -> Coalesce:
    rows = (related.filter(case=OuterRef("pk")).order_by().values("case")
            .annotate(n=Count("*")).values("n"))
    return Coalesce(Subquery(rows), Value(0))


def case_list_for_user(*, user: Any,
                       filters: Mapping[str, Any] | None = None) -> QuerySet[SeizureCase]:
    """filters: validated values (CaseFilterSerializer): status a list of CaseStatus, agency
    an agency code, q a search term."""
    filters = filters or {}
    # The counts are correlated subqueries: PostgreSQL evaluates them for the page's rows
    # only, after ORDER BY … LIMIT (a COUNT(DISTINCT) with GROUP BY would aggregate the whole
    # visible set first), and the paginator's count() leaves them out.
    qs = (case_queryset_for_user(user=user)
          .select_related("agency", "filed_by", "reviewer", "confiscation_order")
          .annotate(asset_count=_count_of(SeizedAsset.objects.all()),
                    open_alert_count=_count_of(CaseAlert.objects.filter(
                        resolved_at__isnull=True)))
          .order_by("-created_at", "-id"))
    if filters.get("status"):
        qs = qs.filter(status__in=filters["status"])
    if filters.get("agency"):
        qs = qs.filter(agency__code=filters["agency"])
    if filters.get("q"):
        term = filters["q"]
        qs = qs.filter(Q(case_number__icontains=term) | Q(owner_name__icontains=term)
                       | Q(warrant_number__icontains=term) | Q(custody_address=term))
    return qs


def case_get_for_user(*, user: Any, public_id: Any) -> SeizureCase:
    try:
        return case_queryset_for_user(user=user).select_related("agency", "filed_by").get(
            public_id=public_id)
    except (SeizureCase.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such case.") from None


def asset_get_for_user(*, user: Any, case: SeizureCase, public_id: Any) -> SeizedAsset:
    try:
        return SeizedAsset.objects.get(case=case, public_id=public_id)
    except (SeizedAsset.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such asset on this case.") from None


def alert_list_for_user(*, user: Any, open_only: bool = False,
                        filters: Mapping[str, Any] | None = None) -> QuerySet[CaseAlert]:
    """Alerts of the cases this user may see, newest first; case-less alerts
    (reconciliation) too for the bank and oversight. filters (AlertFilterSerializer / the
    alerts page): status a list of AlertStatus, kind a list of CaseAlert.Kind, case a case's
    public id."""
    visible = case_visibility(user, prefix="case__", agency="agency_id")
    if visible is None:
        return CaseAlert.objects.none()
    roles = roles_of(user)
    qs = (CaseAlert.objects.select_related("case", "case__agency", "acknowledged_by",
                                           "resolved_by").order_by("-created_at", "-id"))
    filters = filters or {}
    if filters.get("status"):
        qs = qs.filter(status__in=filters["status"])
    if filters.get("kind"):
        qs = qs.filter(kind__in=filters["kind"])
    if filters.get("case"):
        qs = qs.filter(case__public_id=filters["case"])
    if open_only:
        qs = qs.filter(resolved_at__isnull=True)
    if visible == Q():
        return qs
    if user.is_superuser or roles & {Role.AUDITOR, Role.ADMIN, Role.BANK_OFFICER}:
        return qs.filter(Q(case__isnull=True) | visible)
    return qs.filter(Q(case__isnull=False) & visible)


def alert_get_for_user(*, user: Any, public_id: Any) -> CaseAlert:
    try:
        return alert_list_for_user(user=user).get(public_id=public_id)
    except (CaseAlert.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such alert.") from None


def alert_timeline(*, alert: CaseAlert) -> QuerySet[AuditEvent]:
    """The audit events of an alert the caller may already see: raised, sent, escalated,
    acknowledged, resolved; oldest first."""
    return AuditEvent.objects.filter(object_id=str(alert.public_id)).order_by("seq")


def discrepant_assets(*, case: SeizureCase) -> list[SeizedAsset]:
    """The case's assets whose verification found a discrepancy: what a legal officer must
    see, and accept at the observed amount with a reason, to approve confiscation."""
    return list(SeizedAsset.objects.filter(
        case=case, verification_status=VerificationStatus.DISCREPANCY).order_by("pk"))


def case_timeline(*, case: SeizureCase) -> QuerySet[AuditEvent]:
    """The audit events of a case the caller may already see (case_get_for_user), and of
    its assets, evidence, handovers and alerts, oldest first."""
    object_ids = [str(case.public_id)]
    for related in (case.assets, case.evidence, case.handovers, case.alerts):
        object_ids.extend(str(i) for i in related.values_list("public_id", flat=True))
    return AuditEvent.objects.filter(object_id__in=object_ids).order_by("seq")


def sweep_progress(*, assets: Any) -> dict[int, list[tuple[str, str, int, int]]]:
    """{asset id: [(txid, state, confirmations, needed)]}: what the chain watcher knows of
    each recorded sweep. Confirmations are derived from the block height and our tip."""
    assets = list(assets)
    tip = ChainCursor.objects.filter(id=1).values_list("height", flat=True).first()
    watched = {(w.txid, w.ref): w for w in WatchedTransaction.objects.filter(
        purpose=WatchedTransaction.Purpose.SWEEP, ref__in=[str(a.public_id) for a in assets])}
    needed = settings.INTAKE_CONFIRMATIONS
    progress: dict[int, list[tuple[str, str, int, int]]] = {}
    for asset in assets:
        rows = []
        for sweep in asset.sweeps.all():
            w = watched.get((sweep.txid, str(asset.public_id)))
            rows.append((sweep.txid, w.state if w else "PENDING",
                         w.confirmations(tip) if w else 0, needed))
        progress[asset.pk] = rows
    return progress

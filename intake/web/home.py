"""What intake puts on the shared pages (core.web.registry): its navigation, and its lines of
the home page's "what needs me now", counted through intake's selectors."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.roles import Role, has_any_role
from core.web.registry import NavItem, WorkItem

from .. import selectors
from ..models import CaseAlert, CaseStatus

CASE_READERS = frozenset({Role.CLERK, Role.LEGAL_OFFICER, Role.BANK_OFFICER, Role.AUDITOR,
                          Role.ADMIN})

NAV = (
    NavItem(gettext_lazy("Cases"), "intake:case-list", CASE_READERS, order=10),
    NavItem(gettext_lazy("File a new case"), "intake:file-new", frozenset({Role.CLERK}),
            order=20),
    NavItem(gettext_lazy("Alerts"), "intake:alert-list", CASE_READERS, order=15),
    NavItem(gettext_lazy("Review queue"), "intake:review-queue",
            frozenset({Role.LEGAL_OFFICER}), order=20),
)


def _cases_url(**filters: str) -> str:
    return f"{reverse('intake:case-list')}?{urlencode(filters)}"


def _alerts_url(**filters: str) -> str:
    return f"{reverse('intake:alert-list')}?{urlencode(filters)}"


def _count(user: Any, status: str) -> int:
    return selectors.case_list_for_user(user=user, filters={"status": [status]}).count()


def needs_me_now(user: Any) -> list[WorkItem]:
    items: list[WorkItem] = []
    alarms = selectors.alert_list_for_user(user=user, open_only=True).filter(
        kind=CaseAlert.Kind.UNAPPROVED_SPEND).count()
    if alarms:
        items.append(WorkItem(_("Custody alarms: coins moved without an approved transfer"),
                              _alerts_url(kind=CaseAlert.Kind.UNAPPROVED_SPEND), alarms,
                              urgent=True))
    if has_any_role(user, {Role.CLERK}):
        items.append(WorkItem(_("File a new case"), reverse("intake:file-new"),
                              hint=_("Record a seizure: details, assets, evidence, custody.")))
        for status, label in ((CaseStatus.RETURNED_FOR_CORRECTION,
                               _("Cases returned to you for correction")),
                              (CaseStatus.DRAFT, _("Drafts not yet submitted"))):
            count = _count(user, status)
            if count:
                items.append(WorkItem(label, _cases_url(status=status), count,
                                      urgent=status == CaseStatus.RETURNED_FOR_CORRECTION))
    if has_any_role(user, {Role.LEGAL_OFFICER}):
        review = reverse("intake:review-queue")
        mine = selectors.case_list_for_user(user=user, filters={
            "status": [CaseStatus.UNDER_REVIEW]}).filter(reviewer=user).count()
        items.append(WorkItem(_("Cases waiting for a reviewer"), review,
                              _count(user, CaseStatus.SUBMITTED)))
        items.append(WorkItem(_("Your reviews in progress"), review, mine))
        appeals = _count(user, CaseStatus.ON_APPEAL)
        if appeals:
            items.append(WorkItem(_("Cases on appeal"), review, appeals))
    discrepancies = selectors.alert_list_for_user(user=user, open_only=True).filter(
        kind=CaseAlert.Kind.INTAKE_DISCREPANCY).count()
    if discrepancies:
        items.append(WorkItem(_("Open intake discrepancies"),
                              _alerts_url(kind=CaseAlert.Kind.INTAKE_DISCREPANCY),
                              discrepancies, urgent=True))
    return items

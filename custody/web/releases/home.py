"""The release pages' navigation and lines of the home page's "what needs me now", counted
through custody's selectors."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.roles import Role, has_any_role
from core.web.registry import NavItem, WorkItem
from intake.transitions import RELEASABLE_STATES

from ... import selectors
from ...models import LOCKING_STATES, ApprovalStatus

NAV = (
    NavItem(gettext_lazy("Release orders"), "custody:release-queue",
            frozenset({Role.LEGAL_OFFICER, Role.BANK_OFFICER}), order=25),
)


def needs_me_now(user: Any) -> list[WorkItem]:
    items: list[WorkItem] = []
    queue = reverse("custody:release-queue")
    orders = selectors.release_order_list_for_user(user=user)
    if has_any_role(user, {Role.LEGAL_OFFICER}):
        waiting = orders.filter(status=ApprovalStatus.PENDING).exclude(recorded_by=user).count()
        items.append(WorkItem(_("Release orders waiting for your approval"), queue, waiting))
    if has_any_role(user, {Role.BANK_OFFICER}):
        to_release = (orders.filter(status=ApprovalStatus.ACTIVE)
                      .filter(case__status__in=RELEASABLE_STATES)
                      .exclude(transfers__status__in=LOCKING_STATES).count())
        if to_release:
            items.append(WorkItem(_("Approved release orders waiting for a release transfer"),
                                  queue, to_release))
    return items

"""The auditor's navigation and lines of the home page's "what needs me now": the audit
chain's latest verification (read, never walked) and reserve wallets whose latest
reconciliation found a difference."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import selectors as core_selectors
from core.audit import verification_report
from core.roles import Role, has_any_role
from core.web.registry import NavItem, WorkItem

from ... import exporters

OVERSIGHT = frozenset({Role.AUDITOR, Role.ADMIN})

NAV = (
    NavItem(gettext_lazy("Reserve dashboard"), "custody:auditor-dashboard", OVERSIGHT,
            order=40),
    NavItem(gettext_lazy("Accounting"), "custody:auditor-accounting", OVERSIGHT, order=41),
    NavItem(gettext_lazy("Audit record"), "custody:auditor-chain", OVERSIGHT, order=42),
)


def needs_me_now(user: Any) -> list[WorkItem]:
    if not has_any_role(user, {Role.AUDITOR}):
        return []
    items: list[WorkItem] = []
    if core_selectors.can_read_audit(user):
        chain = reverse("custody:auditor-chain")
        report = verification_report()
        if report["ok"] is False:
            items.append(WorkItem(
                _("The audit chain is broken at event #%(seq)s") % {"seq": report["broken_seq"]},
                chain, urgent=True, hint=str(report["problem"])))
        elif report["unverified_events"]:
            items.append(WorkItem(_("Audit events not yet verified"), chain,
                                  report["unverified_events"]))
    differences = [w for w in exporters.proof_of_reserves()["wallets"]
                   if w["difference_sats"]]
    if differences:
        items.append(WorkItem(_("Reserve wallets whose balance differs from the node"),
                              reverse("custody:auditor-proof"), len(differences), urgent=True))
    items.append(WorkItem(_("Open the reserve dashboard"), reverse("custody:auditor-dashboard"),
                          hint=_("Holdings by source, wallet and agency; the audit chain; "
                                 "exports.")))
    return items

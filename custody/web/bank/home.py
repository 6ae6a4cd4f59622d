"""What the bank pages put on the shared pages (core.web.registry): their navigation, and the
bank officer's lines of the home page's "what needs me now", counted through custody's
selectors (and intake's, for the cases)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.roles import Role, has_any_role
from core.web.registry import NavItem, WorkItem

from ... import chainio, selectors
from ...models import AssetHandover, Deposit, PriceRecord, ValuationGap
from . import presenters

BANK = frozenset({Role.BANK_OFFICER})

NAV = (
    NavItem(gettext_lazy("Ready for transfer"), "custody:ready-cases", BANK, order=30),
    NavItem(gettext_lazy("Transfers"), "custody:transfer-list", BANK, order=31),
    NavItem(gettext_lazy("Deposits"), "custody:deposit-list", BANK, order=32),
    NavItem(gettext_lazy("Prices"), "custody:price-list", BANK, order=33),
    NavItem(gettext_lazy("Chain status"), "custody:chain-status", BANK, order=34),
    NavItem(gettext_lazy("Handovers"), "custody:handover-list", BANK, order=35),
    NavItem(gettext_lazy("Valuation open items"), "custody:valuation-items", BANK, order=36),
)


def _url(name: str, **query: str) -> str:
    url = reverse(name)
    return f"{url}?{urlencode(query)}" if query else url


def needs_me_now(user: Any) -> list[WorkItem]:
    if not has_any_role(user, BANK):
        return []
    items: list[WorkItem] = []
    paused, why = chainio.settlement_paused()
    if paused:
        items.append(WorkItem(_("The circuit breaker is tripped: settlement and broadcasts "
                                "are paused"), _url("custody:chain-status"), urgent=True,
                              hint=why))
    transfers = selectors.transfer_list_for_user(user=user)
    mine = presenters.transfers_awaiting_my_approval(user)
    items.append(WorkItem(_("Transfers waiting for your approval"),
                          _url("custody:transfer-list", awaiting_me="on"), mine.count()))
    signing = transfers.filter(status__in=presenters.AWAITING_SIGNATURES).count()
    if signing:
        items.append(WorkItem(_("Approved transfers waiting for signatures"),
                              _url("custody:transfer-list", status="APPROVED"), signing))
    on_chain = transfers.filter(status__in=presenters.ON_THE_CHAIN).count()
    if on_chain:
        items.append(WorkItem(_("Transfers confirming on the chain"),
                              _url("custody:transfer-list", status="CONFIRMING"), on_chain))
    ready = presenters.cases_ready_for_transfer(user).count()
    items.append(WorkItem(_("Cases ready for transfer to the reserve"),
                          _url("custody:ready-cases"), ready))
    deposits = selectors.deposit_list_for_user(user=user)
    waiting = deposits.filter(status=Deposit.Status.UNATTRIBUTED).count()
    if waiting:
        items.append(WorkItem(_("Deposits waiting for attribution"),
                              _url("custody:deposit-list", status=Deposit.Status.UNATTRIBUTED),
                              waiting))
    second = deposits.filter(status=Deposit.Status.PROPOSED).exclude(attributed_by=user).count()
    if second:
        items.append(WorkItem(_("Deposit attributions waiting for a second officer"),
                              _url("custody:deposit-list", status=Deposit.Status.PROPOSED),
                              second))
    gaps = selectors.valuation_gap_list_for_user(
        user=user, filters={"status": ValuationGap.Status.OPEN}).count()
    if gaps:
        items.append(WorkItem(_("Milestones waiting for a price to be valued"),
                              _url("custody:valuation-items"), gaps, urgent=True))
    prices = (selectors.price_list_for_user(user=user)
              .filter(status=PriceRecord.Status.PENDING).exclude(recorded_by=user).count())
    if prices:
        items.append(WorkItem(_("Prices waiting for your approval"),
                              _url("custody:price-list"), prices))
    return items


def handovers_needing_me(user: Any) -> list[WorkItem]:
    """The bank officer's handovers: those another officer recorded, waiting for a second,
    and the assets still to hand over."""
    if not has_any_role(user, BANK):
        return []
    items: list[WorkItem] = []
    url = _url("custody:handover-list")
    waiting = (selectors.handover_list_for_user(user=user)
               .filter(status=AssetHandover.Status.PROPOSED).exclude(proposed_by=user).count())
    if waiting:
        items.append(WorkItem(_("Handovers waiting for your approval"), url, waiting))
    assets = presenters.assets_to_hand_over(user).count()
    if assets:
        items.append(WorkItem(_("Assets waiting to be handed to the custodian or released"),
                              url, assets))
    return items

"""What the release pages show, gathered from custody's and intake's selectors: the words
for an order's kind and state, the cases a court may release, an order with its transfers.
Nothing here decides what may be done: the services do, and the decisions offered are
RELEASE_ORDER_TABLE's commands for this person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from core.errors import ErrorCode
from core.roles import Role, has_any_role
from intake import selectors as intake_selectors
from intake.models import SeizureCase
from intake.transitions import RELEASABLE_STATES

from ... import selectors
from ...models import OPEN_STATES, ApprovalStatus, ReleaseOrder, Transfer
from ...transitions import RELEASE_ORDER_TABLE, Command
from ..bank.presenters import TRANSFER_STATUS_COLOURS, transfer_status_label
from .forms import KIND_LABELS

ADDRESS_CODES = frozenset({ErrorCode.INVALID_ADDRESS, ErrorCode.WRONG_NETWORK})
STATUS_LABELS: dict[str, Any] = {
    ApprovalStatus.PENDING: _("Waiting for a second legal officer"),
    ApprovalStatus.ACTIVE: _("Approved"),
    ApprovalStatus.REJECTED: _("Rejected"),
    ApprovalStatus.SUPERSEDED: _("Superseded"),
}
STATUS_COLOURS = {ApprovalStatus.PENDING: "blue", ApprovalStatus.ACTIVE: "green",
                  ApprovalStatus.REJECTED: "grey", ApprovalStatus.SUPERSEDED: "grey"}

__all__ = ["ADDRESS_CODES", "KIND_LABELS", "STATUS_LABELS", "approved_rows", "is_releasable",
           "order_view", "releasable_cases"]


def is_releasable(case: SeizureCase) -> bool:
    return case.status in RELEASABLE_STATES


def releasable_cases(user: Any) -> QuerySet[SeizureCase]:
    """Cases this person sees that a court may release (rejected or confiscated)."""
    return intake_selectors.case_list_for_user(
        user=user, filters={"status": sorted(RELEASABLE_STATES)})[:50]


def _open_transfer(transfers: list[Transfer]) -> Transfer | None:
    return next((t for t in transfers if t.status in OPEN_STATES), None)


def approved_rows(orders: QuerySet[ReleaseOrder]) -> list[dict[str, Any]]:
    """Approved orders with their latest release transfer (bank officers propose from
    here)."""
    rows = []
    for order in orders.filter(status=ApprovalStatus.ACTIVE).prefetch_related("transfers")[:50]:
        transfers = sorted(order.transfers.all(), key=lambda t: t.id, reverse=True)
        latest = transfers[0] if transfers else None
        rows.append({"order": order, "transfer": latest,
                     "label": transfer_status_label(latest.status) if latest else "",
                     "colour": TRANSFER_STATUS_COLOURS.get(latest.status, "grey")
                     if latest else ""})
    return rows


@dataclass(frozen=True)
class OrderView:
    commands: frozenset[str]
    i_recorded: bool
    transfers: list[dict[str, Any]]
    open_transfer: Transfer | None
    btc_declared: int
    offers_proposal: bool

    @property
    def offers_approval(self) -> bool:
        return Command.APPROVE in self.commands and not self.i_recorded

    @property
    def offers_rejection(self) -> bool:
        return Command.REJECT in self.commands and not self.i_recorded


def order_view(order: ReleaseOrder, user: Any) -> OrderView:
    transfers = list(selectors.transfer_list_for_user(user=user)
                     .filter(release_order=order).order_by("-id"))
    commands = frozenset(RELEASE_ORDER_TABLE.commands_for(order.status, user))
    open_transfer = _open_transfer(transfers)
    return OrderView(
        commands=commands, i_recorded=order.recorded_by_id == user.pk,
        transfers=[{"transfer": t, "label": transfer_status_label(t.status),
                    "colour": TRANSFER_STATUS_COLOURS.get(t.status, "grey")}
                   for t in transfers],
        open_transfer=open_transfer,
        btc_declared=sum(a.declared_amount for a in order.case.assets.all()
                         if a.asset == "BTC"),
        # Offered to bank officers once approved, while no release of it is under way (the
        # service decides for real).
        offers_proposal=(has_any_role(user, {Role.BANK_OFFICER})
                         and order.status == ApprovalStatus.ACTIVE and open_transfer is None
                         and is_releasable(order.case)))


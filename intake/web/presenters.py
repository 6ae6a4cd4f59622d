"""What the case pages show, gathered once: the commands on offer (from the transition
table, for this person), the timeline in words, each asset's verification."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _

from chain.models import TxState
from core.audit import CoreAction
from core.roles import Role, has_any_role

from .. import selectors
from ..audit import IntakeAction
from ..models import (
    AlertStatus,
    CaseAlert,
    CaseStatus,
    SeizureCase,
    SweepTransaction,
    VerificationStatus,
)
from ..transitions import CASE_TABLE, EDITABLE_STATES, SWEEP_RECORDING_STATES, CaseCommand

C = CaseCommand


@dataclass(frozen=True)
class Offer:
    """A page (or button) that performs one or more of the table's commands."""

    commands: frozenset[str]
    url_name: str
    label: Any
    style: str = ""  # "" primary, "secondary", "warning"
    post: bool = False  # a button that posts at once (no form to fill)


OFFERS = (
    Offer(frozenset({C.SUBMIT}), "intake:file-check", _("Check the answers and submit")),
    Offer(frozenset({C.START_REVIEW}), "intake:start-review", _("Start the review"),
          post=True),
    Offer(frozenset({C.RECORD_FINAL_ORDER, C.RECORD_ORDER_UNDER_APPEAL}),
          "intake:record-order", _("Record the court's confiscation order")),
    Offer(frozenset({C.RETURN_FOR_CORRECTION}), "intake:return",
          _("Return to the clerk for correction"), style="secondary"),
    Offer(frozenset({C.RECORD_APPEAL}), "intake:appeal", _("Record an appeal against the order"),
          style="secondary"),
    Offer(frozenset({C.UPHOLD_APPEAL, C.OVERTURN_APPEAL}), "intake:appeal-outcome",
          _("Record the outcome of the appeal")),
    Offer(frozenset({C.REJECT}), "intake:reject", _("Reject the case"), style="warning"),
    Offer(frozenset({C.CLOSE}), "intake:close", _("Close the case"), style="secondary"),
)


def commands_for(case: SeizureCase, user: Any) -> set[str]:
    return set(CASE_TABLE.commands_for(case.status, user))


def offers_for(case: SeizureCase, user: Any) -> list[Offer]:
    """Only what the transition table allows this person from the case's state."""
    allowed = commands_for(case, user)
    return [offer for offer in OFFERS if offer.commands & allowed]


def is_agency_clerk(user: Any, case: SeizureCase) -> bool:
    """Whether to offer the clerk's forms on this case (the services decide for real)."""
    return has_any_role(user, {Role.CLERK}) and user.agency_id == case.agency_id


def clerk_may_edit(user: Any, case: SeizureCase) -> bool:
    return is_agency_clerk(user, case) and case.status in EDITABLE_STATES


def clerk_may_record_sweeps(user: Any, case: SeizureCase) -> bool:
    return is_agency_clerk(user, case) and case.status in SWEEP_RECORDING_STATES


# --- the timeline in words -------------------------------------------------------------------
ACTION_LABELS: dict[str, Any] = {
    IntakeAction.CASE_CREATED: _("Case opened as a draft"),
    IntakeAction.CASE_UPDATED: _("Case details changed"),
    IntakeAction.CASE_SUBMITTED: _("Submitted for legal review"),
    IntakeAction.CASE_REVIEW_STARTED: _("Legal review started"),
    IntakeAction.CASE_RETURNED: _("Returned to the clerk for correction"),
    IntakeAction.CASE_REJECTED: _("Rejected"),
    IntakeAction.CASE_CONFISCATION_APPROVED: _("Court order recorded"),
    IntakeAction.CASE_APPEALED: _("Appeal recorded"),
    IntakeAction.CASE_APPEAL_UPHELD: _("Appeal dismissed: the order stands"),
    IntakeAction.CASE_APPEAL_OVERTURNED: _("Order overturned on appeal"),
    IntakeAction.CASE_CLOSED: _("Case closed"),
    IntakeAction.CASE_TRANSFER_PROPOSED: _("Transfer to the reserve proposed"),
    IntakeAction.CASE_TRANSFER_RELEASED: _("Transfer cancelled: the coins stay in custody"),
    IntakeAction.CASE_IN_RESERVE: _("Settled in the reserve"),
    IntakeAction.CASE_RESERVE_REORGED: _("Reserve settlement undone by a chain reorganisation"),
    IntakeAction.CUSTODY_ADDRESS_ASSIGNED: _("Custody address assigned"),
    IntakeAction.ASSET_ADDED: _("Asset recorded"),
    IntakeAction.ASSET_SWEEP_RECORDED: _("Sweep transaction recorded"),
    IntakeAction.ASSET_VERIFIED: _("Asset verified on the chain"),
    IntakeAction.ASSET_DISCREPANCY: _("Discrepancy found on the chain"),
    IntakeAction.ASSET_VERIFICATION_REVERTED: _("Verification withdrawn"),
    IntakeAction.EVIDENCE_UPLOADED: _("Evidence uploaded"),
    IntakeAction.HANDOVER_RECORDED: _("Chain-of-custody entry recorded"),
    IntakeAction.ALERT_RAISED: _("Alert raised"),
    IntakeAction.ALERT_SENT: _("Alert sent to the people responsible"),
    IntakeAction.ALERT_ESCALATED: _("Alert escalated: nobody acknowledged it in time"),
    IntakeAction.ALERT_ACKNOWLEDGED: _("Alert acknowledged"),
    IntakeAction.ALERT_RESOLVED: _("Alert resolved"),
    IntakeAction.ALERT_DELIVERY_FAILED: _("Alert could not be sent"),
    CoreAction.LOGIN: _("Signed in"),
}

# What of an event's "after" is worth showing on the timeline, and under which name.
DETAILS = (
    ("txid", _("Transaction")),
    ("name", _("File")),
    ("sha256", "SHA-256"),
    ("address", _("Custody address")),
    ("custody_address", _("Custody address")),
    ("message", _("Message")),
)


@dataclass(frozen=True)
class TimelineEntry:
    at: Any
    label: str
    actor: str
    reason: str
    status_change: tuple[str, str] | None
    details: list[tuple[str, str]]


def _details(after: Any) -> list[tuple[str, str]]:
    if not isinstance(after, dict):
        return []
    found: list[tuple[str, str]] = []
    for key, label in DETAILS:
        value = after.get(key)
        if isinstance(value, str) and value and value not in (v for _k, v in found):
            found.append((str(label), value))
    return found


def _status_label(value: Any) -> str:
    for choices in (CaseStatus, AlertStatus):
        try:
            return str(choices(value).label)
        except ValueError:
            continue
    return str(value)


def alert_timeline(alert: CaseAlert) -> list[TimelineEntry]:
    return _entries(selectors.alert_timeline(alert=alert))


def timeline(case: SeizureCase) -> list[TimelineEntry]:
    return _entries(selectors.case_timeline(case=case))


def _entries(events: Any) -> list[TimelineEntry]:
    entries = []
    for event in events:
        before, after = event.before or {}, event.after or {}
        status_change = None
        if isinstance(before, dict) and isinstance(after, dict) and "status" in before \
                and "status" in after:
            status_change = (_status_label(before["status"]), _status_label(after["status"]))
        entries.append(TimelineEntry(
            at=event.created_at, label=str(ACTION_LABELS.get(event.action, event.action)),
            actor=event.actor_username or str(_("the system")), reason=event.reason,
            status_change=status_change, details=_details(after)))
    return entries


# --- assets and their verification -----------------------------------------------------------
@dataclass(frozen=True)
class SweepView:
    txid: str
    state: str
    confirmations: int
    needed: int

    @property
    def state_label(self) -> str:
        try:
            return str(TxState(self.state).label)
        except ValueError:
            return self.state

    @property
    def percent(self) -> int:
        if self.needed <= 0:
            return 100
        return min(100, int(100 * self.confirmations / self.needed))


@dataclass(frozen=True)
class AssetView:
    asset: Any
    sweeps: list[SweepView]
    discrepancy: dict[str, Any] | None
    sweep_form: Any = None  # the "record a sweep" form shown with this asset, if any

    @property
    def waiting(self) -> bool:
        return self.asset.verification_status == VerificationStatus.PENDING


def assets(case: SeizureCase, *, sweep_form_class: Any = None, bound_form: Any = None,
           bound_asset: str = "") -> list[AssetView]:
    """Each asset with its sweeps' progress and, when sweep_form_class is given, its own
    "record a sweep" form (the bound one, with its errors, for bound_asset)."""
    rows = list(case.assets.prefetch_related(
        Prefetch("sweeps", queryset=SweepTransaction.objects.order_by("id"))))
    progress = selectors.sweep_progress(assets=rows)
    # What the watcher saw, from its own audit event (structured, never a parsed string).
    seen = {event.object_id: (event.after or {}).get("details") or {}
            for event in selectors.case_timeline(case=case)
            .filter(action__in=[IntakeAction.ASSET_DISCREPANCY, IntakeAction.ASSET_SWEEP_LOST])}
    views = []
    for asset in rows:
        discrepancy = None
        if asset.verification_status == VerificationStatus.DISCREPANCY:
            discrepancy = _with_lost_sweeps(seen.get(str(asset.public_id), {}))
        form = None
        if sweep_form_class is not None and asset.is_chain_tracked:
            form = (bound_form if bound_form is not None and bound_asset == str(asset.public_id)
                    else sweep_form_class(asset_id=asset.public_id))
        views.append(AssetView(
            asset=asset, discrepancy=discrepancy, sweep_form=form,
            sweeps=[SweepView(txid, state, confs, needed)
                    for txid, state, confs, needed in progress.get(asset.pk, [])]))
    return views


def _with_lost_sweeps(details: dict[str, Any]) -> dict[str, Any]:
    """The watcher's details with "lost": the recorded sweeps that were replaced or
    double-spent, and what replaced them, whichever watcher saw it."""
    lost = []
    if details.get("lost_sweep"):  # the chain watchers' news (intake.asset_sweep_lost)
        lost.append({"txid": details["lost_sweep"],
                     "conflicting_txid": details.get("conflicting_txid", ""),
                     "what": details.get("what", "")})
    for txid in details.get("lost_sweeps") or []:  # the intake watcher's check
        sweep = (details.get("sweeps") or {}).get(txid) or {}
        lost.append({"txid": txid, "conflicting_txid": sweep.get("conflicting_txid", ""),
                     "what": str(sweep.get("state", ""))})
    return {**details, "lost": lost}


ALARM_KINDS = frozenset({CaseAlert.Kind.UNAPPROVED_SPEND})


def alerts(case: SeizureCase, user: Any) -> list[CaseAlert]:
    """Open alerts first, custody alarms first among them."""
    rows = list(selectors.alert_list_for_user(user=user).filter(case=case))
    rows.sort(key=lambda a: (a.resolved_at is not None, a.kind not in ALARM_KINDS,
                             -a.created_at.timestamp()))
    return rows

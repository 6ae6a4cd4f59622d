"""A case's life: filing, review, the court's order, appeals, closing, and the moves the
reserve side makes. Same shape every time: transaction → lock the row → who may act →
the table (core.statemachine.apply_transition) → audit event in the same transaction.
Every legal decision (the order, a return, a rejection, an appeal and its outcome, closing)
takes a fresh second-factor code, checked after the decision's own refusals
(core.second_factor.require_step_up); its audit event records that it was given."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import record_event
from core.bitcoin import refuse_private_keys
from core.errors import Conflict, ErrorCode, PermissionRefused, ValidationFailed
from core.roles import Role, has_any_role, require_reason, require_role
from core.second_factor import StepUp, require_step_up
from core.statemachine import apply_transition

from ..audit import IntakeAction
from ..models import (
    CaseStatus,
    ConfiscationOrder,
    Disposition,
    Evidence,
    SeizedAsset,
    SeizureCase,
    VerificationStatus,
)
from ..transitions import CASE_TABLE, EDITABLE_STATES, CaseCommand
from .common import lock_case, require_agency_clerk, require_own_review, require_reviewer
from .dispositions import DISPOSED_STATES, require_all_disposed, undisposed_assets

CASE_FIELDS = ("case_number", "warrant_number", "warrant_date", "seizure_protocol_number",
               "seizure_date", "owner_name", "owner_identifier", "owner_details", "description")

# What the reserve side may do to a case, and how the audit record names it.
SYSTEM_COMMANDS = {
    CaseCommand.TRANSFER_PROPOSED: IntakeAction.CASE_TRANSFER_PROPOSED,
    CaseCommand.TRANSFER_RELEASED: IntakeAction.CASE_TRANSFER_RELEASED,
    CaseCommand.SETTLED_IN_RESERVE: IntakeAction.CASE_IN_RESERVE,
    CaseCommand.RESERVE_REORGED: IntakeAction.CASE_RESERVE_REORGED,
    CaseCommand.ASSETS_HANDED_OVER: IntakeAction.CASE_IN_RESERVE,
    CaseCommand.ASSETS_RELEASED: IntakeAction.CASE_RELEASED,
}


class AppealOutcome:
    UPHELD = "UPHELD"
    OVERTURNED = "OVERTURNED"
    CHOICES = (UPHELD, OVERTURNED)


def _duplicate_number() -> ValidationFailed:
    return ValidationFailed("This agency already has a case with this number.",
                            code=ErrorCode.DUPLICATE, field="case_number")


def refuse_future_dates(**dates: dt.date | None) -> None:
    """The law's dates (warrant, seizure, court order) are facts: none lies in the future
    (as of today in the project's time zone)."""
    today = timezone.localdate()
    for field, value in dates.items():
        if isinstance(value, dt.date) and value > today:
            raise ValidationFailed(f"{field.replace('_', ' ')} {value} is in the future.",
                                   code=ErrorCode.DATE_IN_FUTURE, field=field)


def _may_decide(case: SeizureCase, command: str, actor: Any) -> None:
    """Before a decision's fresh code is checked: the table (409) and the role (403)."""
    t = CASE_TABLE.resolve(case.status, command)
    if t is not None and not has_any_role(actor, t.roles):
        raise PermissionRefused(f"This needs the role {' or '.join(sorted(t.roles))}.")


def _decide(case: SeizureCase, command: str, *, actor: Any, step_up: StepUp | str | None,
            action: IntakeAction, reason: str = "") -> SeizureCase:
    """A legal decision that writes nothing but the move: who and what first, then the fresh
    code (403 second_factor_*), then the move; the audit event records the code was given."""
    _may_decide(case, command, actor)
    proof = require_step_up(actor, step_up)
    return _perform(case, command, actor=actor, action=action, reason=reason,
                    after=proof.audit())


def order_document(case: SeizureCase, document_sha256: str) -> Evidence:
    """The case's court-order document with this SHA-256 (400 order_document_missing when
    no document of the case has it, order_document_mismatch when it is another kind)."""
    sha256 = document_sha256.strip().lower()
    document = case.evidence.filter(sha256=sha256).first()
    if document is None:
        raise ValidationFailed("No document of this case has this SHA-256: upload the court "
                               "order's document (kind COURT_ORDER) first.",
                               code=ErrorCode.ORDER_DOCUMENT_MISSING, field="document_sha256")
    if document.kind != Evidence.Kind.COURT_ORDER:
        raise ValidationFailed(f"The document with this SHA-256 is of kind {document.kind}, "
                               "not COURT_ORDER.", code=ErrorCode.ORDER_DOCUMENT_MISMATCH,
                               field="document_sha256")
    return document


def _perform(case: SeizureCase, command: str, *, actor: Any, action: IntakeAction,
             reason: str = "", **kwargs: Any) -> SeizureCase:
    transition = CASE_TABLE.get(case.status, command)
    if transition is not None and transition.target in DISPOSED_STATES:
        require_all_disposed(case, target=transition.target)  # nothing left behind
    apply_transition(case, table=CASE_TABLE, command=command, actor=actor, action=action,
                     reason=reason, **kwargs)
    return case


def case_fields(*, actor: Any, data: dict[str, Any]) -> dict[str, Any]:
    """A new case's fields from data, after the checks that need no database: a clerk of an
    agency, no private key, no date in the future."""
    require_role(actor, Role.CLERK)
    if actor.agency_id is None:
        raise PermissionRefused("A clerk must belong to an agency to file cases.")
    refuse_private_keys(data)
    fields = {k: data[k] for k in CASE_FIELDS if k in data}
    refuse_future_dates(warrant_date=fields.get("warrant_date"),
                        seizure_date=fields.get("seizure_date"))
    return fields


def case_insert(case: SeizureCase) -> None:
    """INSERT a new case inside the caller's transaction (no savepoint): a duplicate number
    is a 400 duplicate and the caller's transaction rolls back with it."""
    try:
        case.save(force_insert=True)
    except IntegrityError:
        raise _duplicate_number() from None


def case_created_event(case: SeizureCase, actor: Any) -> None:
    record_event(actor=actor, action=IntakeAction.CASE_CREATED, obj=case,
                 after={"case_number": case.case_number, "status": case.status,
                        "agency": case.agency.code})


def case_create(*, actor: Any, data: dict[str, Any]) -> SeizureCase:
    fields = case_fields(actor=actor, data=data)
    try:
        with transaction.atomic():
            case = SeizureCase.objects.create(agency_id=actor.agency_id, filed_by=actor,
                                              status=CaseStatus.DRAFT, **fields)
            case_created_event(case, actor)
    except IntegrityError:
        raise _duplicate_number() from None
    return case


def case_update(*, case: SeizureCase, actor: Any, data: dict[str, Any]) -> SeizureCase:
    refuse_private_keys(data)
    refuse_future_dates(warrant_date=data.get("warrant_date"),
                        seizure_date=data.get("seizure_date"))
    try:
        with transaction.atomic():
            case = lock_case(case)
            require_agency_clerk(actor, case)
            if case.status not in EDITABLE_STATES:
                raise Conflict(f"A case in state {case.status} can no longer be edited.",
                               code=ErrorCode.INVALID_TRANSITION)
            changed = {k: v for k, v in data.items() if k in CASE_FIELDS
                       and getattr(case, k) != v}
            if not changed:
                return case
            before = {k: getattr(case, k) for k in changed}
            for key, value in changed.items():
                setattr(case, key, value)
            case.save(update_fields=[*changed, "updated_at"])
            record_event(actor=actor, action=IntakeAction.CASE_UPDATED, obj=case,
                         before=before, after=changed)
    except IntegrityError:
        raise _duplicate_number() from None
    return case


@transaction.atomic
def case_submit(*, case: SeizureCase, actor: Any) -> SeizureCase:
    case = lock_case(case)
    require_agency_clerk(actor, case)
    CASE_TABLE.resolve(case.status, CaseCommand.SUBMIT)
    if not case.assets.exists():
        raise Conflict("Record at least one seized asset before submitting.",
                       code=ErrorCode.CONFLICT)
    if not case.evidence.filter(kind__in=Evidence.SEIZURE_BASIS).exists():
        raise Conflict("Upload the warrant or the seizure protocol (evidence of kind WARRANT "
                       "or SEIZURE_PROTOCOL) before submitting: the seizure rests on it.",
                       code=ErrorCode.WARRANT_DOCUMENT_MISSING)
    return _perform(case, CaseCommand.SUBMIT, actor=actor,
                    action=IntakeAction.CASE_SUBMITTED)


@transaction.atomic
def case_start_review(*, case: SeizureCase, actor: Any) -> SeizureCase:
    case = lock_case(case)
    require_own_review(actor, case)
    CASE_TABLE.resolve(case.status, CaseCommand.START_REVIEW)
    case.reviewer = actor
    return _perform(case, CaseCommand.START_REVIEW, actor=actor,
                    action=IntakeAction.CASE_REVIEW_STARTED, update_fields=["reviewer"])


@transaction.atomic
def case_return_for_correction(*, case: SeizureCase, actor: Any, reason: str,
                               step_up: StepUp | str | None) -> SeizureCase:
    require_reason(reason)
    case = lock_case(case)
    require_own_review(actor, case)
    return _decide(case, CaseCommand.RETURN_FOR_CORRECTION, actor=actor, step_up=step_up,
                   action=IntakeAction.CASE_RETURNED, reason=reason)


@transaction.atomic
def case_reject(*, case: SeizureCase, actor: Any, reason: str,
                step_up: StepUp | str | None) -> SeizureCase:
    require_reason(reason)
    case = lock_case(case)
    require_own_review(actor, case)
    return _decide(case, CaseCommand.REJECT, actor=actor, step_up=step_up,
                   action=IntakeAction.CASE_REJECTED, reason=reason)


@transaction.atomic
def case_approve_confiscation(*, case: SeizureCase, actor: Any, court: str, order_number: str,
                              order_date: dt.date, document_sha256: str, finality: str,
                              step_up: StepUp | str | None, reason: str = "",
                              accepted_amounts: dict[str, int] | None = None,
                              acceptance_reason: str = "") -> SeizureCase:
    """Record the court's confiscation order. A final order approves confiscation; an
    order under appeal puts the case ON_APPEAL, which freezes transfers. The order names its
    document by SHA-256: a document of the case, of kind COURT_ORDER, uploaded first (400
    order_document_missing / order_document_mismatch).

    When an asset of the case shows a discrepancy (the chain does not show what was
    declared), the legal officer accepts its observed amount explicitly: accepted_amounts
    maps each such asset's id to the observed amount they saw, and acceptance_reason says
    why. Missing, or an amount that is no longer the observed one: 409
    discrepancy_not_accepted, nothing changed. The step-up code is checked last, after
    every refusal of the decision itself."""
    refuse_private_keys({"court": court, "order_number": order_number, "reason": reason,
                         "acceptance_reason": acceptance_reason})
    refuse_future_dates(order_date=order_date)
    case = lock_case(case)
    require_own_review(actor, case)
    command = (CaseCommand.RECORD_FINAL_ORDER if finality == ConfiscationOrder.Finality.FINAL
               else CaseCommand.RECORD_ORDER_UNDER_APPEAL)
    _may_decide(case, command, actor)  # before the order is written
    document = order_document(case, document_sha256)
    accepted = _accept_discrepancies(case, actor, accepted_amounts or {}, acceptance_reason)
    proof = require_step_up(actor, step_up)
    ConfiscationOrder.objects.create(
        case=case, court=court, order_number=order_number, order_date=order_date,
        document_sha256=document.sha256, document=document, finality=finality,
        recorded_by=actor)
    return _perform(case, command, actor=actor,
                    action=IntakeAction.CASE_CONFISCATION_APPROVED, reason=reason, after={
                        "order": {"court": court, "order_number": order_number,
                                  "order_date": str(order_date), "finality": finality,
                                  "document_sha256": document.sha256,
                                  "document": str(document.public_id)},
                        "accepted_discrepancies": accepted, **proof.audit()})


def _accept_discrepancies(case: SeizureCase, actor: Any, accepted_amounts: dict[str, int],
                          reason: str) -> list[dict[str, Any]]:
    """Each asset of the case in DISCREPANCY must be accepted at its observed amount now;
    the acceptance is written on the asset and audited. Returns what was accepted."""
    discrepant = list(SeizedAsset.objects.select_for_update().filter(
        case=case, verification_status=VerificationStatus.DISCREPANCY).order_by("pk"))
    if not discrepant:
        return []
    given = {str(k): v for k, v in accepted_amounts.items()}
    missing = [a for a in discrepant
               if given.get(str(a.public_id)) is None
               or given[str(a.public_id)] != (a.observed_amount or 0)]
    if missing or not reason.strip():
        raise Conflict(
            "An asset of this case shows a discrepancy: the chain does not show what was "
            "declared. Accept each observed amount explicitly, with a reason, to approve: "
            + "; ".join(f"{a.public_id}: declared {a.declared_amount}, observed "
                        f"{a.observed_amount or 0}" for a in discrepant) + ".",
            code=ErrorCode.DISCREPANCY_NOT_ACCEPTED, field="accept_observed",
            discrepancies=[{"asset": str(a.public_id), "declared_amount": a.declared_amount,
                            "observed_amount": a.observed_amount or 0}
                           for a in discrepant],
            reason_missing=not reason.strip())
    now, accepted = timezone.now(), []
    for asset in discrepant:
        before = {"accepted_amount": asset.accepted_amount}
        asset.accepted_amount = asset.observed_amount or 0
        asset.acceptance_reason = reason.strip()
        asset.accepted_by = actor
        asset.accepted_at = now
        asset.save(update_fields=["accepted_amount", "acceptance_reason", "accepted_by",
                                  "accepted_at"])
        record_event(actor=actor, action=IntakeAction.ASSET_DISCREPANCY_ACCEPTED, obj=asset,
                     before=before, reason=reason.strip(),
                     after={"declared_amount": asset.declared_amount,
                            "accepted_amount": asset.accepted_amount,
                            "case": str(case.public_id)})
        accepted.append({"asset": str(asset.public_id),
                         "declared_amount": asset.declared_amount,
                         "accepted_amount": asset.accepted_amount})
    return accepted


@transaction.atomic
def case_record_appeal(*, case: SeizureCase, actor: Any, reason: str,
                       step_up: StepUp | str | None) -> SeizureCase:
    require_reason(reason)
    case = lock_case(case)
    require_reviewer(actor, case)
    _may_decide(case, CaseCommand.RECORD_APPEAL, actor)
    proof = require_step_up(actor, step_up)
    ConfiscationOrder.objects.filter(case=case).update(
        finality=ConfiscationOrder.Finality.UNDER_APPEAL)
    return _perform(case, CaseCommand.RECORD_APPEAL, actor=actor,
                    action=IntakeAction.CASE_APPEALED, reason=reason, after=proof.audit())


@transaction.atomic
def case_resolve_appeal(*, case: SeizureCase, actor: Any, outcome: str, reason: str,
                        step_up: StepUp | str | None) -> SeizureCase:
    if outcome not in AppealOutcome.CHOICES:
        raise ValidationFailed("outcome is UPHELD or OVERTURNED.", field="outcome")
    require_reason(reason)
    case = lock_case(case)
    require_reviewer(actor, case)
    if outcome == AppealOutcome.OVERTURNED:
        return _decide(case, CaseCommand.OVERTURN_APPEAL, actor=actor, step_up=step_up,
                       action=IntakeAction.CASE_APPEAL_OVERTURNED, reason=reason)
    _may_decide(case, CaseCommand.UPHOLD_APPEAL, actor)
    orders = ConfiscationOrder.objects.filter(case=case)
    if not orders.exists():
        raise Conflict("There is no confiscation order to uphold.")
    proof = require_step_up(actor, step_up)
    orders.update(finality=ConfiscationOrder.Finality.FINAL)
    return _perform(case, CaseCommand.UPHOLD_APPEAL, actor=actor,
                    action=IntakeAction.CASE_APPEAL_UPHELD, reason=reason, after=proof.audit())


@transaction.atomic
def case_close(*, case: SeizureCase, actor: Any, reason: str,
               step_up: StepUp | str | None) -> SeizureCase:
    require_reason(reason)
    case = lock_case(case)
    return _decide(case, CaseCommand.CLOSE, actor=actor, step_up=step_up,
                   action=IntakeAction.CASE_CLOSED, reason=reason)


def case_move_by_system(*, case: SeizureCase, command: str, actor: Any = None,
                        reason: str = "") -> SeizureCase:
    """The reserve side's moves (transfer proposed, released, settled, reorged): the same
    lock, table and audit, inside the caller's transaction."""
    if command not in SYSTEM_COMMANDS:
        raise ValueError(f"{command!r} is not a command the reserve side performs")
    case = lock_case(case)
    return _perform(case, command, actor=actor, action=SYSTEM_COMMANDS[command],
                    reason=reason, as_system=True)


def case_advance_if_disposed(*, case: SeizureCase, transfer_open: bool,
                             actor: Any = None) -> SeizureCase:
    """The reserve side's last step on a case (inside its transaction): once every asset has
    a disposition and no transfer of the case is open, a confiscated case moves on — to
    CLOSED when everything was released by court order, to IN_RESERVE otherwise. A rejected
    case stays for a legal officer to close; any other state is left as it is."""
    with transaction.atomic():
        case = lock_case(case)
        if transfer_open or undisposed_assets(case):
            return case
        assets = SeizedAsset.objects.filter(case=case)
        released_only = assets.exists() and not assets.exclude(
            disposition=Disposition.RELEASED).exists()
        command: str | None = {
            CaseStatus.IN_TRANSFER: (CaseCommand.ASSETS_RELEASED if released_only
                                     else CaseCommand.SETTLED_IN_RESERVE),
            CaseStatus.CONFISCATION_APPROVED: (CaseCommand.ASSETS_RELEASED if released_only
                                               else CaseCommand.ASSETS_HANDED_OVER),
        }.get(CaseStatus(case.status))
        if command is None:
            return case
        return case_move_by_system(case=case, command=command, actor=actor)

"""A court's release order: the only way a destination that is not a reserve address enters
the whitelist. Recorded by one legal officer from the order's document (its SHA-256, and the
uploaded evidence with that hash when there is one), approved by another with a fresh second
factor. The transfer it allows is custody's own (transfer_propose_release): the same quorum,
payload hash, step-up and PSBT ceremony."""

from __future__ import annotations

import datetime as dt
import re

from django.db import transaction
from django.utils import timezone

from core.audit import record_event
from core.bitcoin import refuse_private_keys, validate_address
from core.errors import ErrorCode, PermissionRefused, ValidationFailed
from core.models import User
from core.roles import require_reason
from core.second_factor import StepUp, require_step_up
from core.statemachine import apply_transition
from intake.models import Evidence, SeizureCase
from intake.services.cases import refuse_future_dates
from intake.transitions import RELEASABLE_STATES

from ..audit import CustodyAction
from ..models import ReleaseOrder
from ..transitions import RELEASE_ORDER_TABLE, Command, check_command, require_command_role

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def document_of(case: SeizureCase, sha256: str, *, field: str) -> Evidence | None:
    """The case's uploaded evidence with this SHA-256 (None when the document was not
    uploaded; the hash alone stands as the reference)."""
    sha256 = (sha256 or "").strip().lower()
    if not _SHA256.match(sha256):
        raise ValidationFailed("A document's SHA-256: 64 hexadecimal characters.",
                               field=field)
    return Evidence.objects.filter(case=case, sha256=sha256).first()


@transaction.atomic
def release_order_record(*, actor: User, case: SeizureCase, kind: str, court: str,
                         order_number: str, order_date: dt.date, document_sha256: str,
                         beneficiary: str, destination_address: str) -> ReleaseOrder:
    """A legal officer records the court's release order of a rejected case (return to the
    owner) or a confiscated one (restitution to a victim). Pending until a second legal
    officer approves it."""
    require_command_role(actor, RELEASE_ORDER_TABLE, Command.APPROVE)
    refuse_private_keys({"court": court, "order_number": order_number,
                         "beneficiary": beneficiary, "destination": destination_address})
    refuse_future_dates(order_date=order_date)
    if kind not in ReleaseOrder.Kind.values:
        raise ValidationFailed(f"kind is one of {', '.join(ReleaseOrder.Kind.values)}.",
                               field="kind")
    case = SeizureCase.objects.select_for_update(of=("self",)).select_related(
        "custody_wallet").get(pk=case.pk)
    if case.status not in RELEASABLE_STATES:
        raise ValidationFailed(f"A case in state {case.status} has nothing a court releases "
                               "(rejected or confiscated cases only).",
                               code=ErrorCode.CASE_NOT_TRANSFERABLE)
    if case.custody_wallet is None:
        raise ValidationFailed("The case has no custody address on chain.",
                               code=ErrorCode.NOTHING_TO_TRANSFER)
    network = case.custody_wallet.network
    destination_address = destination_address.strip()
    validate_address(destination_address, network)
    document = document_of(case, document_sha256, field="document_sha256")
    order = ReleaseOrder.objects.create(
        case=case, kind=kind, court=court, order_number=order_number, order_date=order_date,
        document_sha256=document_sha256.strip().lower(), document=document,
        beneficiary=beneficiary, destination_address=destination_address, network=network,
        recorded_by=actor, status_changed_at=timezone.now())
    record_event(actor=actor, action=CustodyAction.RELEASE_ORDER_RECORDED, obj=order, after={
        "case": str(case.public_id), "kind": kind, "court": court,
        "order_number": order_number, "order_date": str(order_date),
        "document_sha256": order.document_sha256,
        "document": str(document.public_id) if document else None,
        "beneficiary": beneficiary, "destination": destination_address, "status": order.status})
    return order


@transaction.atomic
def release_order_approve(*, order: ReleaseOrder, actor: User,
                          step_up: StepUp | str | None) -> ReleaseOrder:
    """The second legal officer (never the one who recorded it), with a fresh code: the
    order's address may now receive the case's coins."""
    require_command_role(actor, RELEASE_ORDER_TABLE, Command.APPROVE)
    order = ReleaseOrder.objects.select_for_update().get(pk=order.pk)
    if order.recorded_by_id == actor.pk:
        raise PermissionRefused("You recorded this order: another legal officer approves it.",
                                code=ErrorCode.OWN_ENTRY)
    check_command(RELEASE_ORDER_TABLE, order.status, Command.APPROVE)
    proof = require_step_up(actor, step_up)
    order.approved_by, order.approved_at = actor, timezone.now()
    apply_transition(order, table=RELEASE_ORDER_TABLE, command=Command.APPROVE, actor=actor,
                     action=CustodyAction.RELEASE_ORDER_APPROVED,
                     update_fields=["approved_by", "approved_at"],
                     after={"destination": order.destination_address,
                            "document_sha256": order.document_sha256, **proof.audit()})
    return order


@transaction.atomic
def release_order_reject(*, order: ReleaseOrder, actor: User, reason: str) -> ReleaseOrder:
    require_command_role(actor, RELEASE_ORDER_TABLE, Command.REJECT)
    require_reason(reason)
    order = ReleaseOrder.objects.select_for_update().get(pk=order.pk)
    if order.recorded_by_id == actor.pk:
        raise PermissionRefused("You recorded this order: another legal officer decides it.",
                                code=ErrorCode.OWN_ENTRY)
    apply_transition(order, table=RELEASE_ORDER_TABLE, command=Command.REJECT, actor=actor,
                     action=CustodyAction.RELEASE_ORDER_REJECTED, reason=reason)
    return order

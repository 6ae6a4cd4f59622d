"""The offline signing ceremony's online half: signed copies uploaded, checked and merged;
the fully signed transaction broadcast (a task, safe to run twice, never a new
transaction)."""

from __future__ import annotations

import hashlib
import logging
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from core.audit import record_event
from core.errors import Conflict, DomainError, ErrorCode
from core.models import User
from core.second_factor import StepUp, require_step_up
from core.statemachine import apply_transition
from core.tasks import enqueue
from intake.models import CaseAlert

from .. import chainio
from .. import psbt as ceremony
from ..audit import CustodyAction
from ..models import SignedPsbtUpload, Transfer, TransferApproval
from ..transitions import (
    TRANSFER_TABLE,
    Command,
    check_command,
    refuse_if_on_hold,
    require_command_role,
)
from .cases import raise_alert
from .transfers import custody_wallet_of, release

if TYPE_CHECKING:
    from embit.psbt import PSBT

log = logging.getLogger(__name__)

BROADCAST_TASK = "custody.tasks.broadcast_transfer_task"


def transfer_upload_signed(*, transfer: Transfer, actor: User, psbt: str | bytes,
                           step_up: StepUp | str | None) -> Transfer:
    """A signed copy from one key holder. Refused unless it is the approved transaction and
    every signature in it is valid for a key of the case's custody descriptor. Its new
    signatures are merged; the first copy starts the signing (APPROVED → SIGNING), each later
    one is a re-entry of SIGNING; with enough of them the transaction is finalized and
    queued for broadcast after commit."""
    require_command_role(actor, TRANSFER_TABLE, Command.SIGN)
    signed = ceremony.parse_psbt(psbt)
    current = Transfer.objects.get(pk=transfer.pk)
    refuse_if_on_hold(current.status)
    check_command(TRANSFER_TABLE, current.status, Command.SIGN)  # 409 before anything else
    refuse_if_unbound(current, at="signature upload")
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().get(pk=transfer.pk)
        refuse_if_on_hold(transfer.status)
        check_command(TRANSFER_TABLE, transfer.status, Command.SIGN)  # 409 before verifying
        if transfer.final_tx_hex:
            raise Conflict(f"A transfer in state {transfer.status} takes no signatures "
                           "(it is fully signed).",
                           code=ErrorCode.INVALID_TRANSITION, current_status=transfer.status)
        proof = require_step_up(actor, step_up)
        fields, after = _merge_signed_copy(transfer, signed, psbt, actor)
        after.update(proof.audit())
        apply_transition(transfer, table=TRANSFER_TABLE, command=Command.SIGN, actor=actor,
                         action=CustodyAction.TRANSFER_SIGNATURE_UPLOADED, after=after,
                         update_fields=fields)
        if transfer.final_tx_hex:
            transaction.on_commit(partial(queue_broadcast, transfer.pk))
    return transfer


def unbound_reason(transfer: Transfer) -> str:
    """"" when the transaction being signed (and, once finalized, the one to broadcast) is
    the payload the quorum approved: its hash recomputed from the PSBT itself equals the
    approved hash, enough approvals (never the proposer's) are bound to that hash, and the
    final transaction has the PSBT's txid. Otherwise, what differs."""
    try:
        payload = ceremony.payload_of_psbt(transfer.unsigned_psbt, transfer.network)
    except DomainError as exc:
        return f"the stored PSBT cannot be read: {exc.detail}"
    recomputed = ceremony.payload_hash(payload)
    if recomputed != transfer.payload_hash:
        return (f"the PSBT being signed hashes to {recomputed}, the approved payload to "
                f"{transfer.payload_hash}")
    bound = (TransferApproval.objects.filter(transfer=transfer, payload_hash=recomputed)
             .exclude(approver_id=transfer.proposed_by_id).count())
    if bound < max(transfer.approvals_required, 1):
        return f"{bound} approvals are bound to this payload; {transfer.approvals_required} " \
               "are required"
    if transfer.final_tx_hex and ceremony.final_txid(transfer.final_tx_hex) != payload["txid"]:
        return "the finalized transaction is not the approved one (another txid)"
    return ""


def refuse_if_unbound(transfer: Transfer, *, at: str) -> None:
    """Refuse (409 psbt_mismatch), alarm and audit when the transfer is not bound to its
    approvals. The alarm and its audit event commit on their own: the refusal rolls back
    nothing of theirs."""
    reason = unbound_reason(transfer)
    if not reason:
        return
    with transaction.atomic():
        record_event(actor=None, action=CustodyAction.TRANSFER_PAYLOAD_MISMATCH, obj=transfer,
                     after={"at": at, "problem": reason, "payload_hash": transfer.payload_hash})
        raise_alert(case=transfer.case, kind=CaseAlert.Kind.TAMPERING,
                    dedup_key=f"payload-mismatch:{transfer.public_id}",
                    message=f"Transfer {transfer.public_id} was refused at {at}: {reason}.",
                    details={"transfer": str(transfer.public_id), "problem": reason,
                             "at": at})
    log.error("transfer %s refused at %s: %s", transfer.public_id, at, reason)
    raise Conflict(f"This transfer is not what the quorum approved: {reason}.",
                   code=ErrorCode.PSBT_MISMATCH)


def _merge_signed_copy(transfer: Transfer, signed: PSBT, raw: str | bytes,
                       actor: User) -> tuple[list[str], dict[str, Any]]:
    """Verify the copy, keep it as evidence, merge its new signatures into the (locked,
    unsaved) transfer and finalize when they are enough. The fields changed and the audit
    record's "after"."""
    case = transfer.case
    custody = custody_wallet_of(case)
    found = ceremony.verify_signed_copy(
        approved_base64=transfer.unsigned_psbt, signed=signed,
        custody_descriptor=custody.descriptor, custody_index=case.custody_index)
    base = transfer.combined_psbt or transfer.unsigned_psbt
    have = ceremony.parse_psbt(base)
    new = [s for s in found if not any(
        pub.sec().hex() == s.pubkey for pub in have.inputs[s.input_index].partial_sigs)]
    if not new:
        raise Conflict("This PSBT adds no new signatures.", code=ErrorCode.NO_NEW_SIGNATURES)
    raw = raw if isinstance(raw, str) else signed.to_string()
    fingerprints = sorted({s.fingerprint for s in new})
    SignedPsbtUpload.objects.create(
        transfer=transfer, uploaded_by=actor, psbt=signed.to_string(),
        sha256=hashlib.sha256(raw.encode()).hexdigest(), payload_hash=transfer.payload_hash,
        signer_fingerprints=fingerprints, signatures_added=len(new))
    transfer.combined_psbt = ceremony.merge_signatures(base_base64=base, signed=signed)
    fields = ["combined_psbt"]
    final_hex = ceremony.finalize(transfer.combined_psbt, custody.threshold)
    if final_hex:
        transfer.final_tx_hex, transfer.txid = final_hex, transfer.unsigned_txid
        fields += ["final_tx_hex", "txid"]
    return fields, {"signers": fingerprints,
                    "signatures_per_input": ceremony.signature_counts(transfer.combined_psbt),
                    "fully_signed": bool(final_hex)}


def queue_broadcast(transfer_id: int) -> None:
    """If this is lost (broker down), the sweeper re-drives signed SIGNING transfers."""
    enqueue(BROADCAST_TASK, transfer_id)


def transfer_broadcast(*, transfer_id: int) -> Transfer:
    """Send the fully signed transaction (system command; safe to run twice). The node's
    refusal fails the transfer with its reason; a timeout is resolved by asking the node for
    the txid, and the same bytes are sent again later — never a new transaction. Just
    before, the transaction is checked once more against the approved payload."""
    current = Transfer.objects.get(pk=transfer_id)
    if current.final_tx_hex and TRANSFER_TABLE.get(current.status, Command.BROADCAST):
        try:
            refuse_if_unbound(current, at="broadcast")
        except Conflict:
            return current  # alarmed; a person must look before anything is sent
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().get(pk=transfer_id)
        if TRANSFER_TABLE.get(transfer.status, Command.BROADCAST) is None \
                or not transfer.final_tx_hex:
            return transfer  # nothing signed is waiting to be sent
        paused, why = chainio.settlement_paused()
        if paused:
            log.warning("broadcast of %s paused: %s", transfer.public_id, why)
            return transfer
        transfer.broadcast_attempted_at = timezone.now()
        transfer.save(update_fields=["broadcast_attempted_at"])
    outcome, detail = _send(transfer)
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().get(pk=transfer_id)
        if TRANSFER_TABLE.get(transfer.status, Command.BROADCAST) is None:
            return transfer  # the watchers saw it first
        if outcome == "accepted":
            return mark_broadcast(transfer, already_known=bool(detail))
        if outcome == "rejected":
            reason = f"The node rejected it: {detail}"
            transfer.failure_reason = detail
            apply_transition(transfer, table=TRANSFER_TABLE, command=Command.FAIL, actor=None,
                             action=CustodyAction.TRANSFER_FAILED, as_system=True,
                             reason=reason, update_fields=["failure_reason"])
            release(transfer, actor=None, reason=reason)
    return transfer


def _send(transfer: Transfer) -> tuple[str, Any]:
    """The node's answer to the signed bytes, outside any lock: ("accepted", already known),
    ("rejected", why) or ("unknown", True) when it timed out and does not know the txid."""
    errors = chainio.chain_errors()
    try:
        return "accepted", chainio.broadcast(transfer.final_tx_hex).already_known
    except errors.TransactionRejected as exc:
        return "rejected", f"{exc.code}: {exc.message}"
    except errors.ChainError as exc:
        log.warning("broadcast of %s ambiguous (%s); asking the node", transfer.pk, exc)
        try:
            status = chainio.transaction_status(transfer.txid)
        except errors.ChainError:
            status = None
        return ("accepted" if status is not None else "unknown"), True


def mark_broadcast(transfer: Transfer, *, already_known: bool = False) -> Transfer:
    """The node has it (or the watchers saw it): BROADCAST, and watched from now on."""
    if apply_transition(transfer, table=TRANSFER_TABLE, command=Command.BROADCAST, actor=None,
                        action=CustodyAction.TRANSFER_BROADCAST, as_system=True,
                        after={"txid": transfer.txid, "already_known": already_known}):
        chainio.watch_transfer(txid=transfer.txid, ref=str(transfer.public_id),
                               inputs=[i.outpoint for i in transfer.inputs.all()])
    return transfer

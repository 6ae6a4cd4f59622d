"""Assets that leave without a Qazyna transfer (USDT, ETH, coins on a network no adapter
watches): handed to the fund's custodian for that asset, or released by an approved court
order, with the receipt document (its SHA-256, and the uploaded evidence with that hash), the
transaction id on the asset's chain, and four eyes: proposed by one bank officer, approved by
another, each with a fresh second factor. The approval records the asset's disposition,
posts the books, and moves the case on when nothing is left behind."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from chain import chains
from core.audit import record_event
from core.bitcoin import refuse_private_keys
from core.errors import Conflict, ErrorCode, PermissionRefused, ValidationFailed
from core.models import User
from core.roles import require_reason
from core.second_factor import StepUp, require_step_up
from core.statemachine import apply_transition
from intake.models import CaseStatus, Disposition, SeizedAsset, SeizureCase
from intake.services import asset_dispose, case_advance_if_disposed
from intake.transitions import RELEASABLE_STATES

from ..audit import CustodyAction
from ..models import OPEN_STATES, ApprovalStatus, AssetHandover, ReleaseOrder
from ..transitions import HANDOVER_TABLE, Command, check_command, require_command_role
from .ledger import post_handover
from .releases import document_of

# Where a handover may happen: a custodian takes what the court confiscated (IN_RESERVE
# too: a case that reached it before this rule, its USDT untouched, is put right); a release
# follows its order.
CUSTODIAN_STATES = frozenset({CaseStatus.CONFISCATION_APPROVED, CaseStatus.IN_TRANSFER,
                              CaseStatus.IN_RESERVE})
DISPOSITION_OF = {AssetHandover.Kind.TO_CUSTODIAN: Disposition.WITH_CUSTODIAN,
                  AssetHandover.Kind.RELEASE: Disposition.RELEASED}


def _txid(asset: SeizedAsset, txid: str) -> str:
    if asset.chain:
        return chains.chain_txid(asset.chain, txid)
    value = (txid or "").strip()
    if not value or len(value) > 128:
        raise ValidationFailed("The transaction id (or the custodian's reference) is empty or "
                               "too long.", code=ErrorCode.INVALID_TXID, field="txid")
    return value


def handover_propose(*, actor: User, asset: SeizedAsset, kind: str, recipient: str, txid: str,
                     receipt_sha256: str, step_up: StepUp | str | None,
                     release_order: ReleaseOrder | None = None, amount: Any = None,
                     note: str = "") -> AssetHandover:
    """A bank officer records that an asset no adapter moves was handed over, with the
    receipt. Chain-watched assets leave by transfer only (409)."""
    require_command_role(actor, HANDOVER_TABLE, Command.APPROVE)
    refuse_private_keys({"recipient": recipient, "txid": txid, "note": note})
    if kind not in AssetHandover.Kind.values:
        raise ValidationFailed(f"kind is one of {', '.join(AssetHandover.Kind.values)}.",
                               field="kind")
    try:
        with transaction.atomic():
            case = SeizureCase.objects.select_for_update().get(pk=asset.case_id)
            asset = SeizedAsset.objects.select_for_update().get(pk=asset.pk)
            _check(case, asset, kind, release_order)
            amount = asset.declared_amount if amount is None else amount
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise ValidationFailed("An amount is a positive integer of the smallest unit.",
                                       code=ErrorCode.INVALID_AMOUNT, field="amount")
            txid = _txid(asset, txid)
            receipt = document_of(case, receipt_sha256, field="receipt_sha256")
            proof = require_step_up(actor, step_up)
            handover = AssetHandover.objects.create(
                asset=asset, case=case, kind=kind, recipient=recipient,
                release_order=release_order if kind == AssetHandover.Kind.RELEASE else None,
                txid=txid, amount=amount, receipt_sha256=receipt_sha256.strip().lower(),
                receipt=receipt, note=note, proposed_by=actor,
                status_changed_at=timezone.now())
            record_event(actor=actor, action=CustodyAction.HANDOVER_PROPOSED, obj=handover,
                         after={"case": str(case.public_id), "asset": str(asset.public_id),
                                "kind": kind, "recipient": recipient, "txid": txid,
                                "amount": amount, "receipt_sha256": handover.receipt_sha256,
                                "receipt": str(receipt.public_id) if receipt else None,
                                "release_order": (str(handover.release_order.public_id)
                                                  if handover.release_order else None),
                                **proof.audit()})
    except IntegrityError:
        raise Conflict("A handover of this asset is already waiting or approved.",
                       code=ErrorCode.ALREADY_DISPOSED) from None
    return handover


def _check(case: SeizureCase, asset: SeizedAsset, kind: str,
           release_order: ReleaseOrder | None) -> None:
    if asset.is_chain_tracked:
        raise Conflict("This asset is watched on chain at the case's custody address: it "
                       "leaves by transfer (into the reserve, or a release), not by receipt.",
                       code=ErrorCode.CONFLICT)
    if asset.is_disposed:
        raise Conflict(f"This asset is already {asset.get_disposition_display().lower()}.",
                       code=ErrorCode.ALREADY_DISPOSED)
    if kind == AssetHandover.Kind.TO_CUSTODIAN:
        if case.status not in CUSTODIAN_STATES:
            raise Conflict(f"A case in state {case.status} hands nothing to the fund's "
                           "custodian: the confiscation order must be final.",
                           code=ErrorCode.CASE_NOT_TRANSFERABLE, case_status=case.status)
        return
    if release_order is None or release_order.case_id != case.pk:
        raise ValidationFailed("A release names an approved release order of the case.",
                               code=ErrorCode.NO_RELEASE_ORDER, field="release_order")
    if release_order.status != ApprovalStatus.ACTIVE:
        raise Conflict("The release order is not approved.", code=ErrorCode.NO_RELEASE_ORDER)
    if case.status not in RELEASABLE_STATES | CUSTODIAN_STATES:
        raise Conflict(f"A case in state {case.status} cannot be released.",
                       code=ErrorCode.CASE_NOT_TRANSFERABLE, case_status=case.status)


@transaction.atomic
def handover_approve(*, handover: AssetHandover, actor: User,
                     step_up: StepUp | str | None) -> AssetHandover:
    """The second bank officer, with a fresh code: the asset's disposition is recorded, the
    books posted, and the case moves on if nothing is left behind."""
    require_command_role(actor, HANDOVER_TABLE, Command.APPROVE)
    handover = AssetHandover.objects.select_for_update().get(pk=handover.pk)
    if handover.proposed_by_id == actor.pk:
        raise PermissionRefused("You recorded this handover: another officer approves it.",
                                code=ErrorCode.OWN_ENTRY)
    check_command(HANDOVER_TABLE, handover.status, Command.APPROVE)
    proof = require_step_up(actor, step_up)
    handover.approved_by, handover.approved_at = actor, timezone.now()
    apply_transition(handover, table=HANDOVER_TABLE, command=Command.APPROVE, actor=actor,
                     action=CustodyAction.HANDOVER_APPROVED,
                     update_fields=["approved_by", "approved_at"],
                     after={"asset": str(handover.asset.public_id), "txid": handover.txid,
                            **proof.audit()})
    asset_dispose(asset_id=handover.asset_id,
                  disposition=DISPOSITION_OF[AssetHandover.Kind(handover.kind)],
                  ref=str(handover.public_id), actor=actor,
                  details={"handover": str(handover.public_id), "txid": handover.txid,
                           "receipt_sha256": handover.receipt_sha256})
    post_handover(handover)
    case_advance_if_disposed(case=handover.case, actor=actor,
                             transfer_open=handover.case.transfers.filter(
                                 status__in=OPEN_STATES).exists())
    return handover


@transaction.atomic
def handover_reject(*, handover: AssetHandover, actor: User, reason: str) -> AssetHandover:
    require_command_role(actor, HANDOVER_TABLE, Command.REJECT)
    require_reason(reason)
    handover = AssetHandover.objects.select_for_update().get(pk=handover.pk)
    if handover.proposed_by_id == actor.pk:
        raise PermissionRefused("You recorded this handover: another officer decides it.",
                                code=ErrorCode.OWN_ENTRY)
    apply_transition(handover, table=HANDOVER_TABLE, command=Command.REJECT, actor=actor,
                     action=CustodyAction.HANDOVER_REJECTED, reason=reason)
    return handover

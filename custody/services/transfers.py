"""A transfer from proposal to the quorum's approval: propose, approve, rebuild, cancel.
Reserve addresses are the only destinations, except a release a court orders: its address
comes from an approved release order (custody.services.releases), and the rest is the same
machinery, kind RELEASE. The quorum approves a hash of the exact payload, and a rebuilt
payload needs approving again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import record_event
from core.bitcoin import refuse_private_keys, script_pubkey_of, validate_address
from core.errors import Conflict, ErrorCode, PermissionRefused, ValidationFailed
from core.models import User
from core.roles import Role, require_reason, require_role
from core.second_factor import StepUp, require_step_up
from core.statemachine import apply_transition
from intake.models import (
    CaseAlert,
    CaseStatus,
    ConfiscationOrder,
    CustodyWallet,
    SeizedAsset,
    SeizureCase,
)
from intake.transitions import RELEASABLE_STATES, TRANSFERABLE_STATES

from .. import chainio
from .. import psbt as ceremony
from ..audit import CustodyAction
from ..models import (
    PENDING_STATES,
    ApprovalStatus,
    QuorumPolicy,
    ReleaseOrder,
    ReserveAddress,
    ReserveWallet,
    Transfer,
    TransferApproval,
    TransferInput,
    TransferKind,
)
from ..psbt import BuiltTransfer, SpendableOutput
from ..selectors import active_policy, counted_approvals
from ..transitions import TRANSFER_TABLE, Command, check_command, require_command_role
from .cases import CaseCommand, move_case, raise_alert
from .wallets import allocate_reserve_address

# What a rebuild writes: the payload and everything derived from it.
PAYLOAD_FIELDS = ["payload", "payload_hash", "input_total_sats", "amount_sats", "fee_sats",
                  "fee_rate_sat_vb", "unsigned_psbt", "unsigned_txid", "combined_psbt",
                  "final_tx_hex", "txid", "approvals_required"]


def transfer_propose(*, actor: User, case: SeizureCase, reserve_wallet: ReserveWallet,
                     destination_address: str | None = None,
                     utxos: list[SpendableOutput] | None = None,
                     fee_rate_sat_vb: int | None = None) -> Transfer:
    """A bank officer proposes moving a confiscated case's custody coins to a fresh address of
    a reserve wallet. The UTXOs come from the node (or are given, for tests and re-drives);
    the PSBT, its payload hash and the coin locks are written in one transaction with the
    case's move to IN_TRANSFER."""
    require_role(actor, Role.BANK_OFFICER)
    refuse_private_keys({"destination": destination_address or ""})
    _require_transferable(case)
    if utxos is None:
        utxos = chainio.custody_utxos(case.custody_address)
    fee_rate = _fee_rate(fee_rate_sat_vb)
    with transaction.atomic():
        case = (SeizureCase.objects.select_for_update(of=("self",))
                .select_related("custody_wallet").get(pk=case.pk))
        _require_transferable(case)
        wallet = ReserveWallet.objects.select_for_update().get(pk=reserve_wallet.pk)
        policy = _require_active_wallet(wallet, custody_wallet_of(case).network)
        reserve_address = _destination(wallet, destination_address)
        built = _built(case, utxos, fee_rate, destination=reserve_address.address,
                       script_pubkey=reserve_address.script_pubkey, reserve_wallet=wallet,
                       reserve_index=reserve_address.index)
        transfer = _create(case=case, built=built, fee_rate=fee_rate, actor=actor,
                           approvals_required=policy.approvals_for(built.amount_sats),
                           kind=TransferKind.RESERVE, reserve_wallet=wallet,
                           destination=reserve_address,
                           destination_address=reserve_address.address)
        _lock_inputs(transfer, utxos)
        record_event(actor=actor, action=CustodyAction.TRANSFER_PROPOSED, obj=transfer, after={
            "status": transfer.status, "case": str(case.public_id),
            "reserve_wallet": str(wallet.public_id), "destination": reserve_address.address,
            "payload": built.payload, "payload_hash": built.payload_hash,
            "approvals_required": transfer.approvals_required, "fee_rate_sat_vb": fee_rate})
        move_case(case, CaseCommand.TRANSFER_PROPOSED, actor=actor)
    return transfer


@transaction.atomic
def transfer_approve(*, transfer: Transfer, actor: User, payload_hash: str,
                     step_up: StepUp | str | None) -> Transfer:
    """One bank officer approves one exact payload. The proposer's approval never counts and
    is refused; the same officer twice is refused; an approval of an older payload is
    refused. At the policy's count the transfer is APPROVED; after that, approvals are
    refused (409) like any command the table does not list from the transfer's state."""
    require_command_role(actor, TRANSFER_TABLE, Command.APPROVE)
    transfer = Transfer.objects.select_for_update().get(pk=transfer.pk)
    if transfer.proposed_by_id == actor.pk:
        raise PermissionRefused("You proposed this transfer: other officers approve it.",
                                code=ErrorCode.OWN_TRANSFER)
    check_command(TRANSFER_TABLE, transfer.status, Command.APPROVE)  # 409 before the rest
    proof = require_step_up(actor, step_up)
    if payload_hash != transfer.payload_hash:
        raise Conflict("The payload changed since you looked at it: review it again.",
                       code=ErrorCode.PAYLOAD_CHANGED, payload_hash=transfer.payload_hash)
    if TransferApproval.objects.filter(transfer=transfer, approver=actor,
                                       payload_hash=payload_hash).exists():
        raise Conflict("You have already approved this payload.",
                       code=ErrorCode.ALREADY_APPROVED)
    TransferApproval.objects.create(transfer=transfer, approver=actor, payload_hash=payload_hash)
    count = counted_approvals(transfer).count()
    record_event(actor=actor, action=CustodyAction.TRANSFER_APPROVAL_GIVEN, obj=transfer,
                 after={"payload_hash": payload_hash, "approvals": count,
                        "required": transfer.approvals_required, **proof.audit()})
    if count >= transfer.approvals_required:
        apply_transition(transfer, table=TRANSFER_TABLE, command=Command.APPROVE, actor=actor,
                         action=CustodyAction.TRANSFER_APPROVED, after={"approvals": count})
    return transfer


def transfer_rebuild(*, transfer: Transfer, actor: User, reason: str,
                     utxos: list[SpendableOutput] | None = None,
                     fee_rate_sat_vb: int | None = None) -> Transfer:
    """Build the payload again from the node's UTXOs and fee estimate (before broadcast).
    If anything changed, every approval and signature so far stops counting (a re-entry of
    PROPOSED, performed each time); if nothing did, nothing is written."""
    require_command_role(actor, TRANSFER_TABLE, Command.REBUILD)
    require_reason(reason)
    if utxos is None:
        utxos = chainio.custody_utxos(transfer.case.custody_address)
    fee_rate = _fee_rate(fee_rate_sat_vb)
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().get(pk=transfer.pk)
        check_command(TRANSFER_TABLE, transfer.status, Command.REBUILD)  # 409 before building
        _require_assets_verified(transfer.case)
        refuse_if_maybe_on_the_node(transfer)
        built = _built_for(transfer, utxos, fee_rate)
        if built.payload_hash == transfer.payload_hash:
            return transfer
        old_hash = transfer.payload_hash
        transfer.inputs.all().delete()
        _lock_inputs(transfer, utxos)
        _write_payload(transfer, built, fee_rate)
        apply_transition(transfer, table=TRANSFER_TABLE, command=Command.REBUILD, actor=actor,
                         action=CustodyAction.TRANSFER_REBUILT, reason=reason,
                         update_fields=PAYLOAD_FIELDS, before={"payload_hash": old_hash},
                         after={"payload": built.payload, "payload_hash": built.payload_hash,
                                "approvals_invalidated": True})
    return transfer


def refuse_if_maybe_on_the_node(transfer: Transfer) -> None:
    """After an ambiguous broadcast the node may hold the signed transaction and mine it any
    time: the transfer is neither cancelled nor rebuilt (its coins would be spent twice over)
    until the chain answers: broadcast, or refused by the node (FAILED)."""
    if transfer.may_be_on_the_node:
        raise Conflict("A broadcast was attempted: the node may have the transaction. Wait "
                       "for the chain to answer.", code=ErrorCode.INVALID_TRANSITION)


@transaction.atomic
def transfer_cancel(*, transfer: Transfer, actor: User, reason: str) -> Transfer:
    require_command_role(actor, TRANSFER_TABLE, Command.CANCEL)
    require_reason(reason)
    transfer = Transfer.objects.select_for_update().get(pk=transfer.pk)
    check_command(TRANSFER_TABLE, transfer.status, Command.CANCEL)  # 409 before the rest
    refuse_if_maybe_on_the_node(transfer)
    apply_transition(transfer, table=TRANSFER_TABLE, command=Command.CANCEL, actor=actor,
                     action=CustodyAction.TRANSFER_CANCELLED, reason=reason)
    release(transfer, actor=actor, reason=reason)
    return transfer


def transfers_hold_for_vanished(*, outpoints: set[tuple[str, int]] | None = None,
                                txid: str = "", why: str,
                                details: dict[str, Any]) -> list[Transfer]:
    """Pending transfers (proposed, approved, being signed) spending a coin that vanished
    are put ON_HOLD at once, with an alert, and are never offered for signing again. A coin
    vanishes when the sweep that created it (txid) was replaced, double-spent or left the
    chain, or when it was spent elsewhere (outpoints). Runs in the watcher's transaction;
    safe to run twice. A transfer whose signed transaction may already be on the node is
    left to the chain watchers."""
    match = Q()
    if txid:
        match |= Q(inputs__txid=txid)
    for coin_txid, vout in outpoints or ():
        match |= Q(inputs__txid=coin_txid, inputs__vout=vout)
    if not match:
        return []
    held = []
    with transaction.atomic():
        ids = list(Transfer.objects.filter(match, status__in=PENDING_STATES)
                   .values_list("pk", flat=True).distinct())
        for transfer in Transfer.objects.select_for_update().filter(pk__in=ids).order_by("pk"):
            if transfer.status not in PENDING_STATES or transfer.may_be_on_the_node:
                continue
            gone = sorted(f"{i.txid}:{i.vout}" for i in transfer.inputs.all()
                          if i.txid == txid or (i.txid, i.vout) in (outpoints or set()))
            apply_transition(transfer, table=TRANSFER_TABLE, command=Command.HOLD, actor=None,
                             as_system=True, action=CustodyAction.TRANSFER_HELD, reason=why,
                             after={"vanished_inputs": gone, **details})
            raise_alert(case=transfer.case, kind=CaseAlert.Kind.TRANSFER_ON_HOLD,
                        dedup_key=f"transfer-hold:{transfer.public_id}",
                        message=f"Transfer {transfer.public_id} is on hold: its input(s) "
                                f"{', '.join(gone)} vanished ({why}). It can't be signed; "
                                "cancel it and propose again from the coins there are.",
                        details={"transfer": str(transfer.public_id),
                                 "vanished_inputs": gone, "why": why, **details})
            held.append(transfer)
    return held


def release(transfer: Transfer, *, actor: User | None, reason: str) -> None:
    """Cancelled or failed before broadcast: the coins are unlocked, the case goes back (a
    rejected case's release never moved it)."""
    transfer.inputs.update(locked=False)
    if transfer.case.status == CaseStatus.IN_TRANSFER:
        move_case(transfer.case, CaseCommand.TRANSFER_RELEASED, actor=actor, reason=reason)


# --- a court-ordered release -----------------------------------------------------------------
def transfer_propose_release(*, actor: User, case: SeizureCase, release_order: ReleaseOrder,
                             destination_address: str | None = None,
                             utxos: list[SpendableOutput] | None = None,
                             fee_rate_sat_vb: int | None = None) -> Transfer:
    """A bank officer proposes releasing a case's custody coins to the address an approved
    court order names (the owner of a rejected case, or a victim). The same payload hash,
    quorum, step-up and PSBT ceremony as a reserve transfer; the quorum is the strictest
    approved policy among the network's reserve wallets (a release takes coins out of the
    state's hands: never fewer approvals than a reserve transfer of the same amount). An
    address other than the order's is refused (destination_not_in_order)."""
    require_role(actor, Role.BANK_OFFICER)
    refuse_private_keys({"destination": destination_address or ""})
    _require_releasable(case, release_order, destination_address)
    if utxos is None:
        utxos = chainio.custody_utxos(case.custody_address)
    fee_rate = _fee_rate(fee_rate_sat_vb)
    with transaction.atomic():
        case = (SeizureCase.objects.select_for_update(of=("self",))
                .select_related("custody_wallet").get(pk=case.pk))
        order = ReleaseOrder.objects.select_for_update().get(pk=release_order.pk)
        _require_releasable(case, order, destination_address)
        built = _built(case, utxos, fee_rate, destination=order.destination_address,
                       script_pubkey=script_pubkey_of(order.destination_address,
                                                      order.network))
        quorum = release_quorum(order.network, built.amount_sats)
        transfer = _create(case=case, built=built, fee_rate=fee_rate, actor=actor,
                           approvals_required=quorum.approvals,
                           kind=TransferKind.RELEASE, release_order=order,
                           destination_address=order.destination_address)
        _lock_inputs(transfer, utxos)
        record_event(actor=actor, action=CustodyAction.TRANSFER_PROPOSED, obj=transfer, after={
            "status": transfer.status, "kind": transfer.kind, "case": str(case.public_id),
            "release_order": str(order.public_id), "order_number": order.order_number,
            "order_document_sha256": order.document_sha256,
            "destination": order.destination_address, "payload": built.payload,
            "payload_hash": built.payload_hash,
            "approvals_required": transfer.approvals_required, **quorum.audit(),
            "fee_rate_sat_vb": fee_rate})
        if case.status in TRANSFERABLE_STATES:  # restitution from a confiscated case
            move_case(case, CaseCommand.TRANSFER_PROPOSED, actor=actor)
    return transfer


def _require_releasable(case: SeizureCase, order: ReleaseOrder,
                        destination_address: str | None) -> None:
    if order.case_id != case.pk:
        raise ValidationFailed("This release order is for another case.",
                               code=ErrorCode.NO_RELEASE_ORDER, field="release_order")
    if order.status != ApprovalStatus.ACTIVE:
        raise Conflict(f"The release order is {order.status.lower()}: a second legal officer "
                       "must approve it first.", code=ErrorCode.NO_RELEASE_ORDER,
                       order_status=order.status)
    if case.status not in RELEASABLE_STATES:
        raise Conflict(f"A case in state {case.status} cannot be released.",
                       code=ErrorCode.CASE_NOT_TRANSFERABLE, case_status=case.status)
    if destination_address and destination_address.strip() != order.destination_address:
        validate_address(destination_address, order.network)
        raise ValidationFailed("The destination is not the address the court's order names.",
                               code=ErrorCode.DESTINATION_NOT_IN_ORDER, field="destination")
    if not case.custody_address:
        raise Conflict("The case has no custody address on chain.",
                       code=ErrorCode.NOTHING_TO_TRANSFER)
    if custody_wallet_of(case).network != order.network:
        raise Conflict(f"The order's address is on {order.network}, the case's coins on "
                       f"{custody_wallet_of(case).network}.",
                       code=ErrorCode.DESTINATION_NOT_IN_ORDER)


@dataclass(frozen=True, slots=True)
class ReleaseQuorum:
    """How many approvals a release of amount_sats needs, and the policy that says so.

    The rule (README, "releases a court orders"): a release spends a case's custody coins,
    and a custody wallet has no quorum policy of its own (DESIGN §3: quorum policies are
    the reserve wallets'); "the same quorum" as a reserve transfer is read as never fewer
    approvals than moving those coins into any active reserve wallet of the network would
    need, so the strictest approved policy there decides (the oldest of equals). The
    proposal's audit event names it."""

    approvals: int
    policy: QuorumPolicy

    def audit(self) -> dict[str, Any]:
        return {"quorum_rule": "strictest active reserve-wallet policy of the network",
                "quorum_policy": str(self.policy.public_id),
                "quorum_wallet": str(self.policy.wallet.public_id),
                "quorum_wallet_label": self.policy.wallet.label}


def release_quorum(network: str, amount_sats: int) -> ReleaseQuorum:
    policies = list(QuorumPolicy.objects.filter(
        status=ApprovalStatus.ACTIVE, wallet__status=ApprovalStatus.ACTIVE,
        wallet__network=network).select_related("wallet").order_by("id"))
    if not policies:
        raise Conflict("No reserve wallet on this network has an approved quorum policy: "
                       "a release needs the same quorum.", code=ErrorCode.NO_ACTIVE_POLICY)
    strictest = max(policies, key=lambda p: (p.approvals_for(amount_sats), -p.pk))
    return ReleaseQuorum(approvals=strictest.approvals_for(amount_sats), policy=strictest)


def release_approvals(network: str, amount_sats: int) -> int:
    """The strictest approved quorum among the network's active reserve wallets."""
    return release_quorum(network, amount_sats).approvals


# --- building and checking a proposal -------------------------------------------------------
def _require_transferable(case: SeizureCase) -> None:
    order = ConfiscationOrder.objects.filter(case=case).first()
    if case.status != CaseStatus.CONFISCATION_APPROVED or order is None \
            or order.finality != ConfiscationOrder.Finality.FINAL:
        raise Conflict(f"A case in state {case.status} with "
                       f"{'no order' if order is None else 'an order ' + order.finality} "
                       "cannot be transferred: the confiscation order must be final.",
                       code=ErrorCode.CASE_NOT_TRANSFERABLE, case_status=case.status)
    if not case.custody_address:
        raise Conflict("The case has no custody address on chain.",
                       code=ErrorCode.NOTHING_TO_TRANSFER)
    custody_wallet_of(case)
    _require_assets_verified(case)


def _require_assets_verified(case: SeizureCase) -> None:
    """Coins leave custody only from assets verified on chain, or whose discrepancy a legal
    officer accepted at the amount observed now: never from an asset still waiting for the
    chain, or whose verification was withdrawn (a sweep reorged out, replaced or
    double-spent)."""
    blocked = [a for a in SeizedAsset.objects.filter(case=case).order_by("pk")
               if not a.may_leave_custody]
    if blocked:
        raise Conflict(
            "No transfer can be proposed from an asset that is not verified on chain (or "
            "whose discrepancy was not accepted at the amount observed now): "
            + "; ".join(f"{a.public_id} is {a.verification_status}" for a in blocked) + ".",
            code=ErrorCode.ASSET_NOT_VERIFIED,
            assets=[{"asset": str(a.public_id), "verification_status": a.verification_status,
                     "observed_amount": a.observed_amount, "accepted_amount": a.accepted_amount}
                    for a in blocked])


def custody_wallet_of(case: SeizureCase) -> CustodyWallet:
    """The agency's wallet the case's custody address is derived from."""
    if case.custody_wallet is None:
        raise Conflict("The case has no custody address on chain.",
                       code=ErrorCode.NOTHING_TO_TRANSFER)
    return case.custody_wallet


def _require_active_wallet(wallet: ReserveWallet, network: str) -> QuorumPolicy:
    if wallet.status != ApprovalStatus.ACTIVE:
        raise Conflict("This reserve wallet is not approved for use.",
                       code=ErrorCode.WALLET_NOT_ACTIVE)
    if wallet.network != network:
        raise Conflict(f"The reserve wallet is on {wallet.network}, the case on {network}.",
                       code=ErrorCode.WALLET_NOT_ACTIVE)
    policy = active_policy(wallet)
    if policy is None:
        raise Conflict("The reserve wallet has no approved quorum policy.",
                       code=ErrorCode.NO_ACTIVE_POLICY)
    return policy


def _destination(wallet: ReserveWallet, destination_address: str | None) -> ReserveAddress:
    """A fresh reserve address, or the given one if it is an unused address of the wallet.
    Anything else is refused: reserve addresses are the only destinations."""
    if not destination_address:
        return allocate_reserve_address(wallet)
    validate_address(destination_address, wallet.network)
    reserve_address = ReserveAddress.objects.filter(wallet=wallet,
                                                    address=destination_address).first()
    if reserve_address is None:
        raise ValidationFailed("The destination is not an address of this reserve wallet.",
                               code=ErrorCode.DESTINATION_NOT_RESERVE, field="destination")
    if hasattr(reserve_address, "transfer") or reserve_address.deposits.exists():
        raise ValidationFailed("This reserve address is already used; each transfer gets a "
                               "fresh one.", code=ErrorCode.DESTINATION_NOT_RESERVE,
                               field="destination")
    return reserve_address


def _fee_rate(fee_rate_sat_vb: int | None) -> int:
    rate = chainio.fee_rate_sat_vb() if fee_rate_sat_vb is None else fee_rate_sat_vb
    if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
        raise ValidationFailed("A fee rate is a positive integer of sat/vB.",
                               code=ErrorCode.INVALID_AMOUNT, field="fee_rate_sat_vb")
    if rate > settings.MAX_FEE_RATE_SAT_VB:
        raise ValidationFailed(f"{rate} sat/vB is above the ceiling of "
                               f"{settings.MAX_FEE_RATE_SAT_VB}.",
                               code=ErrorCode.INVALID_AMOUNT, field="fee_rate_sat_vb")
    return rate


def _built(case: SeizureCase, utxos: list[SpendableOutput], fee_rate: int, *,
           destination: str, script_pubkey: str, reserve_wallet: ReserveWallet | None = None,
           reserve_index: int | None = None) -> BuiltTransfer:
    custody = custody_wallet_of(case)
    return ceremony.build_transfer_psbt(
        utxos=utxos, custody_descriptor=custody.descriptor, custody_index=case.custody_index,
        destination_address=destination, destination_script_pubkey=script_pubkey,
        fee_rate_sat_vb=fee_rate, threshold=custody.threshold, key_count=custody.key_count,
        network=custody.network,
        reserve_descriptor=reserve_wallet.descriptor if reserve_wallet else None,
        reserve_index=reserve_index)


def _built_for(transfer: Transfer, utxos: list[SpendableOutput],
               fee_rate: int) -> BuiltTransfer:
    """The payload of an existing transfer rebuilt, to the same destination."""
    if transfer.kind == TransferKind.RELEASE:
        return _built(transfer.case, utxos, fee_rate, destination=transfer.destination_address,
                      script_pubkey=script_pubkey_of(transfer.destination_address,
                                                     transfer.network))
    reserve_address = transfer.destination
    assert reserve_address is not None  # a reserve transfer has one (a check constraint)
    return _built(transfer.case, utxos, fee_rate, destination=reserve_address.address,
                  script_pubkey=reserve_address.script_pubkey,
                  reserve_wallet=transfer.reserve_wallet, reserve_index=reserve_address.index)


def _create(*, case: SeizureCase, built: BuiltTransfer, fee_rate: int, actor: User,
            approvals_required: int, **where: object) -> Transfer:
    """where: kind, destination_address and the reserve wallet and address (RESERVE) or the
    release order (RELEASE)."""
    try:
        with transaction.atomic():
            return Transfer.objects.create(
                case=case, network=custody_wallet_of(case).network, proposed_by=actor,
                payload=built.payload, payload_hash=built.payload_hash,
                approvals_required=approvals_required, **where,
                input_total_sats=built.input_total_sats, amount_sats=built.amount_sats,
                fee_sats=built.fee_sats, fee_rate_sat_vb=fee_rate,
                unsigned_psbt=built.psbt_base64, unsigned_txid=built.txid,
                status_changed_at=timezone.now())
    except IntegrityError:
        raise Conflict("The case already has an open transfer.",
                       code=ErrorCode.COINS_LOCKED) from None


def _lock_inputs(transfer: Transfer, utxos: list[SpendableOutput]) -> None:
    try:
        with transaction.atomic():
            TransferInput.objects.bulk_create([
                TransferInput(transfer=transfer, txid=u.txid, vout=u.vout,
                              value_sats=u.value_sats, script_pubkey=u.script_pubkey)
                for u in utxos])
    except IntegrityError:
        raise Conflict("These custody coins are locked by another pending transfer.",
                       code=ErrorCode.COINS_LOCKED) from None


def _write_payload(transfer: Transfer, built: BuiltTransfer, fee_rate: int) -> None:
    """A rebuilt payload on the (locked) transfer, unsaved: the signatures so far go."""
    transfer.payload, transfer.payload_hash = built.payload, built.payload_hash
    transfer.input_total_sats, transfer.amount_sats = built.input_total_sats, built.amount_sats
    transfer.fee_sats, transfer.fee_rate_sat_vb = built.fee_sats, fee_rate
    transfer.unsigned_psbt, transfer.unsigned_txid = built.psbt_base64, built.txid
    transfer.combined_psbt, transfer.final_tx_hex, transfer.txid = "", "", ""
    if transfer.kind == TransferKind.RELEASE:
        transfer.approvals_required = release_approvals(transfer.network, built.amount_sats)
        return
    policy = active_policy(transfer.reserve_wallet) if transfer.reserve_wallet else None
    if policy is not None:
        transfer.approvals_required = policy.approvals_for(built.amount_sats)

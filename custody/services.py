"""Writes of the custody side. One action, one function, same shape every time:
transaction → lock the row → check who and the transition table → save → audit event in
the same transaction → follow-up work on commit. Chain I/O (custody.chainio) happens
before or after the transaction, never under a row lock."""

import hashlib
import logging
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import record_event
from core.bitcoin import (
    MultisigDescriptor,
    build_multisig_descriptor,
    parse_multisig_descriptor,
    refuse_private_keys,
    validate_address,
)
from core.errors import Conflict, ErrorCode, PermissionRefused, ValidationFailed
from core.roles import Role, require_reason, require_role
from core.statemachine import apply_transition
from core.tasks import enqueue
from intake.models import AssetKind, CaseAlert, CaseStatus, ConfiscationOrder, SeizureCase
from intake.services import alert_raise, case_move_by_system

from . import chainio
from . import psbt as ceremony
from .audit import CustodyAction
from .models import (
    OPEN_STATES,
    ApprovalStatus,
    Deposit,
    FundSource,
    JournalEntry,
    LedgerAccount,
    LedgerLine,
    PriceRecord,
    QuorumPolicy,
    ReserveAddress,
    ReserveWallet,
    SignedPsbtUpload,
    Transfer,
    TransferApproval,
    TransferInput,
    TransferStatus,
    Valuation,
)
from .selectors import active_policy, counted_approvals, price_at
from .transitions import (
    APPROVAL_TABLE,
    DEPOSIT_TABLE,
    TRANSFER_TABLE,
    WATCHED_STATES,
    Command,
    check_command,
    require_command_role,
)

log = logging.getLogger(__name__)

BROADCAST_TASK = "custody.tasks.broadcast_transfer_task"


# --- reserve wallets and quorum policy ----------------------------------------------------
def reserve_wallet_register(*, actor, network, label, threshold=None, keys=None,
                            descriptor=None):
    """An admin enters a reserve wallet's public descriptor; it stays PENDING until a second
    person approves it."""
    require_role(actor, Role.ADMIN)
    refuse_private_keys({"label": label, "keys": keys or [], "descriptor": descriptor or ""})
    if descriptor:
        parsed = parse_multisig_descriptor(descriptor, network)
    else:
        parsed = build_multisig_descriptor(threshold=threshold, keys=keys or [], network=network)
    try:
        with transaction.atomic():
            wallet = ReserveWallet.objects.create(
                network=network, label=label, descriptor=parsed.text,
                threshold=parsed.threshold, key_count=parsed.key_count, entered_by=actor)
            record_event(actor=actor, action=CustodyAction.RESERVE_WALLET_ENTERED, obj=wallet,
                         after={"network": network, "label": label, "descriptor": parsed.text,
                                "status": wallet.status})
    except IntegrityError:
        raise Conflict("This descriptor is already registered.",
                       code=ErrorCode.DUPLICATE) from None
    return wallet


def _refuse_own_entry(entered_by_id, actor, noun):
    if entered_by_id == actor.pk:
        raise PermissionRefused(f"You entered this {noun}: someone else must approve it.",
                                code=ErrorCode.OWN_ENTRY)


@transaction.atomic
def reserve_wallet_approve(*, wallet, actor):
    require_command_role(actor, APPROVAL_TABLE, Command.APPROVE)
    wallet = ReserveWallet.objects.select_for_update().get(pk=wallet.pk)
    _refuse_own_entry(wallet.entered_by_id, actor, "wallet")
    if check_command(APPROVAL_TABLE, wallet.status, Command.APPROVE):
        wallet.approved_by, wallet.approved_at = actor, timezone.now()
        apply_transition(wallet, table=APPROVAL_TABLE, command=Command.APPROVE, actor=actor,
                         action=CustodyAction.RESERVE_WALLET_APPROVED,
                         update_fields=["approved_by", "approved_at"])
    return wallet


@transaction.atomic
def reserve_wallet_retire(*, wallet, actor, reason):
    require_command_role(actor, APPROVAL_TABLE, Command.RETIRE)
    require_reason(reason)
    wallet = ReserveWallet.objects.select_for_update().get(pk=wallet.pk)
    apply_transition(wallet, table=APPROVAL_TABLE, command=Command.RETIRE, actor=actor,
                     action=CustodyAction.RESERVE_WALLET_RETIRED, reason=reason)
    return wallet


def _validate_tiers(tiers, wallet):
    if not isinstance(tiers, list) or not tiers:
        raise ValidationFailed("tiers is a non-empty list.", field="tiers")
    seen, clean = set(), []
    for tier in tiers:
        try:
            minimum, approvals = tier["min_amount_sats"], tier["approvals"]
        except (TypeError, KeyError):
            raise ValidationFailed("Each tier has min_amount_sats and approvals.",
                                   field="tiers") from None
        for value in (minimum, approvals):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationFailed("Tier values are non-negative integers.",
                                       code=ErrorCode.INVALID_AMOUNT, field="tiers")
        if approvals < 1:
            raise ValidationFailed("Every tier needs at least one approval.", field="tiers")
        if minimum in seen:
            raise ValidationFailed("Two tiers start at the same amount.", field="tiers")
        seen.add(minimum)
        clean.append({"min_amount_sats": minimum, "approvals": approvals})
    if 0 not in seen:
        raise ValidationFailed("The lowest tier must start at 0 sats.", field="tiers")
    clean.sort(key=lambda t: t["min_amount_sats"])
    if any(b["approvals"] < a["approvals"] for a, b in zip(clean, clean[1:], strict=False)):
        raise ValidationFailed("Larger amounts cannot need fewer approvals.", field="tiers")
    return clean


@transaction.atomic
def quorum_policy_propose(*, wallet, actor, tiers):
    """A new policy for a wallet; it replaces the active one only once someone else approves."""
    require_role(actor, Role.ADMIN, Role.BANK_OFFICER)
    wallet = ReserveWallet.objects.select_for_update().get(pk=wallet.pk)
    tiers = _validate_tiers(tiers, wallet)
    policy = QuorumPolicy.objects.create(wallet=wallet, tiers=tiers, proposed_by=actor)
    record_event(actor=actor, action=CustodyAction.QUORUM_POLICY_PROPOSED, obj=policy,
                 after={"wallet": str(wallet.public_id), "tiers": tiers})
    return policy


@transaction.atomic
def quorum_policy_approve(*, policy, actor):
    """The policy becomes the wallet's active one; the one active so far is superseded."""
    require_command_role(actor, APPROVAL_TABLE, Command.APPROVE)
    policy = QuorumPolicy.objects.select_for_update().get(pk=policy.pk)
    ReserveWallet.objects.select_for_update().get(pk=policy.wallet_id)
    _refuse_own_entry(policy.proposed_by_id, actor, "policy")
    if not check_command(APPROVAL_TABLE, policy.status, Command.APPROVE):
        return policy
    previous = (QuorumPolicy.objects.select_for_update()
                .filter(wallet_id=policy.wallet_id, status=ApprovalStatus.ACTIVE).first())
    if previous is not None:
        apply_transition(previous, table=APPROVAL_TABLE, command=Command.SUPERSEDE,
                         actor=actor, action=CustodyAction.QUORUM_POLICY_SUPERSEDED,
                         as_system=True, after={"superseded_by": str(policy.public_id)})
    policy.approved_by, policy.approved_at = actor, timezone.now()
    apply_transition(policy, table=APPROVAL_TABLE, command=Command.APPROVE, actor=actor,
                     action=CustodyAction.QUORUM_POLICY_APPROVED,
                     update_fields=["approved_by", "approved_at"],
                     before={"active": str(previous.public_id) if previous else None},
                     after={"wallet": str(policy.wallet.public_id), "tiers": policy.tiers})
    return policy


def _allocate_reserve_address(wallet):
    """A fresh address of the wallet (wallet row already locked)."""
    index = wallet.next_index
    descriptor = MultisigDescriptor(wallet.descriptor, wallet.threshold, wallet.key_count)
    reserve_address = ReserveAddress.objects.create(
        wallet=wallet, index=index, address=descriptor.address_at(index, wallet.network),
        script_pubkey=descriptor.script_pubkey_at(index))
    wallet.next_index = index + 1
    wallet.save(update_fields=["next_index"])
    chainio.watch_reserve_address(address=reserve_address.address, ref=str(wallet.public_id))
    return reserve_address


# --- transfers ----------------------------------------------------------------------------
def _lock_transfer(transfer):
    return Transfer.objects.select_for_update().get(pk=transfer.pk)


class CaseCommand(StrEnum):
    """The case moves custody causes, by the names of intake's commands."""

    TRANSFER_PROPOSED = "transfer_proposed"  # → IN_TRANSFER
    TRANSFER_RELEASED = "transfer_released"  # cancelled or failed → CONFISCATION_APPROVED
    SETTLED_IN_RESERVE = "settled_in_reserve"  # → IN_RESERVE
    RESERVE_REORGED = "reserve_reorged"  # a deep reorg undid the settlement → IN_TRANSFER


# TEMPORARY, until intake's case_move_by_system takes (case, command, actor, reason): what
# each command is in today's terms (target state, audit action). A release's action names
# what released the case (its transfer's state).
_CASE_MOVES = {
    CaseCommand.TRANSFER_PROPOSED: (CaseStatus.IN_TRANSFER,
                                    CustodyAction.CASE_TRANSFER_PROPOSED),
    CaseCommand.SETTLED_IN_RESERVE: (CaseStatus.IN_RESERVE, CustodyAction.CASE_IN_RESERVE),
    CaseCommand.RESERVE_REORGED: (CaseStatus.IN_TRANSFER, CustodyAction.CASE_RESERVE_REORGED),
}
_RELEASE_ACTIONS = {TransferStatus.CANCELLED: CustodyAction.CASE_TRANSFER_CANCELLED,
                    TransferStatus.FAILED: CustodyAction.CASE_TRANSFER_FAILED}


def _move_case(case, command, *, actor=None, reason="", released_by=None):
    """Every case move custody causes goes through here, inside the caller's transaction
    (intake locks the case, checks its table and audits)."""
    if command == CaseCommand.TRANSFER_RELEASED:
        target, action = CaseStatus.CONFISCATION_APPROVED, _RELEASE_ACTIONS[released_by]
    else:
        target, action = _CASE_MOVES[command]
    return case_move_by_system(case=case, target=target, actor=actor, action=action,
                               reason=reason)


def _raise_alert(*, case, kind, dedup_key, message, details):
    """Every alert custody raises goes through here (intake owns alerts)."""
    return alert_raise(case=case, kind=kind, dedup_key=dedup_key, message=message,
                       details=details)


def _require_transferable(case):
    order = ConfiscationOrder.objects.filter(case=case).first()
    if case.status != CaseStatus.CONFISCATION_APPROVED or order is None \
            or order.finality != ConfiscationOrder.Finality.FINAL:
        raise Conflict(f"A case in state {case.status} with "
                       f"{'no order' if order is None else 'an order ' + order.finality} "
                       "cannot be transferred: the confiscation order must be final.",
                       code=ErrorCode.CASE_NOT_TRANSFERABLE, case_status=case.status)
    if not case.custody_address or case.custody_wallet_id is None:
        raise Conflict("The case has no custody address on chain.",
                       code=ErrorCode.NOTHING_TO_TRANSFER)


def _require_active_wallet(wallet, network):
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


def _destination(wallet, destination_address):
    """A fresh reserve address, or the given one if it is an unused address of the wallet.
    Anything else is refused: reserve addresses are the only destinations."""
    if not destination_address:
        return _allocate_reserve_address(wallet)
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


def _lock_inputs(transfer, utxos):
    try:
        with transaction.atomic():
            TransferInput.objects.bulk_create([
                TransferInput(transfer=transfer, txid=u.txid, vout=u.vout,
                              value_sats=u.value_sats, script_pubkey=u.script_pubkey)
                for u in utxos])
    except IntegrityError:
        raise Conflict("These custody coins are locked by another pending transfer.",
                       code=ErrorCode.COINS_LOCKED) from None


def _built(case, wallet, reserve_address, utxos, fee_rate):
    custody = case.custody_wallet
    return ceremony.build_transfer_psbt(
        utxos=utxos, custody_descriptor=custody.descriptor, custody_index=case.custody_index,
        destination_address=reserve_address.address,
        destination_script_pubkey=reserve_address.script_pubkey, fee_rate_sat_vb=fee_rate,
        threshold=custody.threshold, key_count=custody.key_count, network=custody.network,
        reserve_descriptor=wallet.descriptor, reserve_index=reserve_address.index)


def _fee_rate(fee_rate_sat_vb):
    rate = chainio.fee_rate_sat_vb() if fee_rate_sat_vb is None else fee_rate_sat_vb
    if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
        raise ValidationFailed("A fee rate is a positive integer of sat/vB.",
                               code=ErrorCode.INVALID_AMOUNT, field="fee_rate_sat_vb")
    if rate > settings.MAX_FEE_RATE_SAT_VB:
        raise ValidationFailed(f"{rate} sat/vB is above the ceiling of "
                               f"{settings.MAX_FEE_RATE_SAT_VB}.",
                               code=ErrorCode.INVALID_AMOUNT, field="fee_rate_sat_vb")
    return rate


def transfer_propose(*, actor, case, reserve_wallet, destination_address=None, utxos=None,
                     fee_rate_sat_vb=None):
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
        policy = _require_active_wallet(wallet, case.custody_wallet.network)
        reserve_address = _destination(wallet, destination_address)
        built = _built(case, wallet, reserve_address, utxos, fee_rate)
        try:
            with transaction.atomic():
                transfer = Transfer.objects.create(
                    case=case, reserve_wallet=wallet, destination=reserve_address,
                    network=wallet.network, proposed_by=actor, payload=built.payload,
                    payload_hash=built.payload_hash,
                    approvals_required=policy.approvals_for(built.amount_sats),
                    input_total_sats=built.input_total_sats, amount_sats=built.amount_sats,
                    fee_sats=built.fee_sats, fee_rate_sat_vb=fee_rate,
                    unsigned_psbt=built.psbt_base64, unsigned_txid=built.txid,
                    status_changed_at=timezone.now())
        except IntegrityError:
            raise Conflict("The case already has an open transfer.",
                           code=ErrorCode.COINS_LOCKED) from None
        _lock_inputs(transfer, utxos)
        record_event(actor=actor, action=CustodyAction.TRANSFER_PROPOSED, obj=transfer, after={
            "status": transfer.status, "case": str(case.public_id),
            "reserve_wallet": str(wallet.public_id), "destination": reserve_address.address,
            "payload": built.payload, "payload_hash": built.payload_hash,
            "approvals_required": transfer.approvals_required, "fee_rate_sat_vb": fee_rate})
        _move_case(case, CaseCommand.TRANSFER_PROPOSED, actor=actor)
    return transfer


@transaction.atomic
def transfer_approve(*, transfer, actor, payload_hash):
    """One bank officer approves one exact payload. The proposer's approval never counts and
    is refused; the same officer twice is refused; an approval of an older payload is
    refused. At the policy's count the transfer is APPROVED; once it is, a further approval
    is a repeat of the command and changes nothing."""
    require_command_role(actor, TRANSFER_TABLE, Command.APPROVE)
    transfer = _lock_transfer(transfer)
    if transfer.proposed_by_id == actor.pk:
        raise PermissionRefused("You proposed this transfer: other officers approve it.",
                                code=ErrorCode.OWN_TRANSFER)
    if not check_command(TRANSFER_TABLE, transfer.status, Command.APPROVE):
        return transfer
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
                        "required": transfer.approvals_required})
    if count >= transfer.approvals_required:
        apply_transition(transfer, table=TRANSFER_TABLE, command=Command.APPROVE, actor=actor,
                         action=CustodyAction.TRANSFER_APPROVED, after={"approvals": count})
    return transfer


def transfer_rebuild(*, transfer, actor, reason, utxos=None, fee_rate_sat_vb=None):
    """Build the payload again from the node's UTXOs and fee estimate (before broadcast).
    If anything changed, every approval and signature so far stops counting (a re-entry of
    PROPOSED, performed each time); if nothing did, nothing is written."""
    require_command_role(actor, TRANSFER_TABLE, Command.REBUILD)
    require_reason(reason)
    if utxos is None:
        utxos = chainio.custody_utxos(transfer.case.custody_address)
    fee_rate = _fee_rate(fee_rate_sat_vb)
    with transaction.atomic():
        transfer = _lock_transfer(transfer)
        check_command(TRANSFER_TABLE, transfer.status, Command.REBUILD)  # 409 before building
        case = transfer.case
        built = _built(case, transfer.reserve_wallet, transfer.destination, utxos, fee_rate)
        if built.payload_hash == transfer.payload_hash:
            return transfer
        old_hash = transfer.payload_hash
        transfer.inputs.all().delete()
        _lock_inputs(transfer, utxos)
        policy = active_policy(transfer.reserve_wallet)
        transfer.payload, transfer.payload_hash = built.payload, built.payload_hash
        transfer.input_total_sats, transfer.amount_sats = built.input_total_sats, built.amount_sats
        transfer.fee_sats, transfer.fee_rate_sat_vb = built.fee_sats, fee_rate
        transfer.unsigned_psbt, transfer.unsigned_txid = built.psbt_base64, built.txid
        transfer.combined_psbt, transfer.final_tx_hex, transfer.txid = "", "", ""
        if policy is not None:
            transfer.approvals_required = policy.approvals_for(built.amount_sats)
        apply_transition(
            transfer, table=TRANSFER_TABLE, command=Command.REBUILD, actor=actor,
            action=CustodyAction.TRANSFER_REBUILT, reason=reason,
            before={"payload_hash": old_hash},
            after={"payload": built.payload, "payload_hash": built.payload_hash,
                   "approvals_invalidated": True},
            update_fields=["payload", "payload_hash", "input_total_sats", "amount_sats", "fee_sats",
                           "fee_rate_sat_vb", "unsigned_psbt", "unsigned_txid", "combined_psbt",
                           "final_tx_hex", "txid", "approvals_required"])
    return transfer


def _release(transfer, *, actor, reason):
    """Cancelled or failed before broadcast: the coins are unlocked, the case goes back."""
    transfer.inputs.update(locked=False)
    _move_case(transfer.case, CaseCommand.TRANSFER_RELEASED, actor=actor, reason=reason,
               released_by=transfer.status)


@transaction.atomic
def transfer_cancel(*, transfer, actor, reason):
    require_command_role(actor, TRANSFER_TABLE, Command.CANCEL)
    require_reason(reason)
    transfer = _lock_transfer(transfer)
    if not check_command(TRANSFER_TABLE, transfer.status, Command.CANCEL):
        return transfer
    if transfer.may_be_on_the_node:
        raise Conflict("A broadcast was attempted: the node may have the transaction. Wait "
                       "for the chain to answer.", code=ErrorCode.INVALID_TRANSITION)
    apply_transition(transfer, table=TRANSFER_TABLE, command=Command.CANCEL, actor=actor,
                     action=CustodyAction.TRANSFER_CANCELLED, reason=reason)
    _release(transfer, actor=actor, reason=reason)
    return transfer


def transfer_upload_signed(*, transfer, actor, psbt):
    """A signed copy from one key holder. Refused unless it is the approved transaction and
    every signature in it is valid for a key of the case's custody descriptor. Its new
    signatures are merged; with enough of them the transaction is finalized and queued for
    broadcast after commit."""
    require_command_role(actor, TRANSFER_TABLE, Command.START_SIGNING)
    signed = ceremony.parse_psbt(psbt)
    with transaction.atomic():
        transfer = _lock_transfer(transfer)
        # APPROVED: the first copy starts the signing; SIGNING: a repeat, more signatures.
        check_command(TRANSFER_TABLE, transfer.status, Command.START_SIGNING)
        if transfer.final_tx_hex:
            raise Conflict(f"A transfer in state {transfer.status} takes no signatures "
                           "(it is fully signed).",
                           code=ErrorCode.INVALID_TRANSITION, current_status=transfer.status)
        case = transfer.case
        custody = case.custody_wallet
        found = ceremony.verify_signed_copy(
            approved_base64=transfer.unsigned_psbt, signed=signed,
            custody_descriptor=custody.descriptor, custody_index=case.custody_index)
        base = transfer.combined_psbt or transfer.unsigned_psbt
        have = ceremony.parse_psbt(base)
        new = [s for s in found if not any(
            pub.sec().hex() == s.pubkey for pub in have.inputs[s.input_index].partial_sigs)]
        if not new:
            raise Conflict("This PSBT adds no new signatures.", code=ErrorCode.NO_NEW_SIGNATURES)
        merged = ceremony.merge_signatures(base_base64=base, signed=signed)
        raw = psbt if isinstance(psbt, str) else signed.to_string()
        fingerprints = sorted({s.fingerprint for s in new})
        SignedPsbtUpload.objects.create(
            transfer=transfer, uploaded_by=actor, psbt=signed.to_string(),
            sha256=hashlib.sha256(raw.encode() if isinstance(raw, str) else raw).hexdigest(),
            payload_hash=transfer.payload_hash, signer_fingerprints=fingerprints,
            signatures_added=len(new))
        transfer.combined_psbt = merged
        final_hex = ceremony.finalize(merged, custody.threshold)
        fields = ["combined_psbt"]
        if final_hex:
            transfer.final_tx_hex, transfer.txid = final_hex, transfer.unsigned_txid
            fields += ["final_tx_hex", "txid"]
        counts = ceremony.signature_counts(merged)
        after = {"signers": fingerprints, "signatures_per_input": counts,
                 "fully_signed": bool(final_hex)}
        if not apply_transition(transfer, table=TRANSFER_TABLE, command=Command.START_SIGNING,
                                actor=actor, action=CustodyAction.TRANSFER_SIGNATURE_UPLOADED,
                                after=after, update_fields=fields):
            transfer.save(update_fields=fields)
            record_event(actor=actor, action=CustodyAction.TRANSFER_SIGNATURE_UPLOADED,
                         obj=transfer, after=after)
        if final_hex:
            transfer_id = transfer.pk
            transaction.on_commit(lambda: queue_broadcast(transfer_id))
    return transfer


def queue_broadcast(transfer_id):
    """If this is lost (broker down), the sweeper re-drives signed SIGNING transfers."""
    enqueue(BROADCAST_TASK, transfer_id)


def _mark_broadcast(transfer, *, already_known=False):
    if apply_transition(transfer, table=TRANSFER_TABLE, command=Command.BROADCAST, actor=None,
                        action=CustodyAction.TRANSFER_BROADCAST, as_system=True,
                        after={"txid": transfer.txid, "already_known": already_known}):
        chainio.watch_transfer(txid=transfer.txid, ref=str(transfer.public_id),
                               inputs=[i.outpoint for i in transfer.inputs.all()])
    return transfer


def transfer_broadcast(*, transfer_id):
    """Send the fully signed transaction (system action; safe to run twice). The node's
    refusal fails the transfer with its reason; a timeout is resolved by asking the node for
    the txid, and the same bytes are sent again later — never a new transaction."""
    errors = chainio.chain_errors()
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
        raw_hex = transfer.final_tx_hex
    outcome, detail = "accepted", None
    try:
        result = chainio.broadcast(raw_hex)
        detail = result.already_known
    except errors.TransactionRejected as exc:
        outcome, detail = "rejected", f"{exc.code}: {exc.message}"
    except errors.ChainError as exc:
        log.warning("broadcast of %s ambiguous (%s); asking the node", transfer_id, exc)
        try:
            status = chainio.transaction_status(transfer.txid)
        except errors.ChainError:
            status = None
        outcome = "accepted" if status is not None else "unknown"
        detail = True
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().get(pk=transfer_id)
        if TRANSFER_TABLE.get(transfer.status, Command.BROADCAST) is None:
            return transfer  # the watchers saw it first
        if outcome == "accepted":
            return _mark_broadcast(transfer, already_known=bool(detail))
        if outcome == "rejected":
            reason = f"The node rejected it: {detail}"
            transfer.failure_reason = detail
            apply_transition(transfer, table=TRANSFER_TABLE, command=Command.FAIL, actor=None,
                             action=CustodyAction.TRANSFER_FAILED, as_system=True,
                             reason=reason, update_fields=["failure_reason"])
            _release(transfer, actor=None, reason=reason)
    return transfer


# --- what the chain watchers report ---------------------------------------------------------
# The watchers' state of a transfer's transaction (and older names for it), as the command
# it means. From a state the command already leads to, it is a repeat: only the node's view
# (confirmations, block) is written.
_CHAIN_COMMANDS = {
    # PENDING after a block left the chain and the tx is in no mempool we see.
    "PENDING": Command.REORG, "SEEN": Command.REORG, "MEMPOOL": Command.REORG,
    "BROADCAST": Command.REORG, "UNCONFIRMED": Command.REORG,
    "CONFIRMING": Command.CONFIRM,
    "CONFIRMED": Command.SETTLE, "SETTLED": Command.SETTLE,
    "REPLACED": Command.REPLACE, "CONFLICTED": Command.CONFLICT,
}
_CHAIN_ACTIONS = {
    Command.CONFIRM: CustodyAction.TRANSFER_CONFIRMING,
    Command.SETTLE: CustodyAction.TRANSFER_SETTLED,
    Command.REORG: CustodyAction.TRANSFER_REORGED,
    Command.REPLACE: CustodyAction.TRANSFER_REPLACED,
    Command.CONFLICT: CustodyAction.TRANSFER_CONFLICTED,
}


@dataclass(frozen=True)
class _ChainView:
    """The node's view of a transfer's transaction, as the watcher last derived it."""

    confirmations: int
    block_hash: str
    block_height: int | None

    def write_to(self, transfer):
        for name, value in asdict(self).items():
            setattr(transfer, name, value)
        return list(asdict(self))


def transfer_apply_chain_state(*, transfer_id, state, confirmations=0, block_hash=None,
                               block_height=None):
    """The watcher's view of a broadcast transfer, applied (inside the watcher's transaction;
    idempotent). Settlement credits the ledger and moves the case to IN_RESERVE; a reorg
    that removes a settled transfer writes the compensating entry and raises an alert."""
    state = str(state).upper()
    view = _ChainView(confirmations or 0, block_hash or "", block_height)
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().get(pk=transfer_id)
        if transfer.status not in WATCHED_STATES:
            return transfer  # never signed, or cancelled or failed before the node had it
        if TRANSFER_TABLE.get(transfer.status, Command.BROADCAST) is not None:
            # Seen on chain before our broadcast call came back: it is broadcast.
            _mark_broadcast(transfer, already_known=True)
        command = _CHAIN_COMMANDS.get(state)
        if command is None:
            if state == "DROPPED":
                log.warning("transfer %s dropped from the mempool; re-driven by the sweeper",
                            transfer.public_id)
            else:
                log.warning("unknown chain state %r for transfer %s", state,
                            transfer.public_id)
            return transfer
        _CHAIN_BRANCHES.get(command, _chain_move)(transfer, command, view)
    return transfer


def _chain_move(transfer, command, view, *, update_fields=()):
    """Perform a chain command with the node's view; a repeat writes only the view."""
    fields = view.write_to(transfer)
    moved = apply_transition(transfer, table=TRANSFER_TABLE, command=command, actor=None,
                             action=_CHAIN_ACTIONS[command], as_system=True,
                             after=asdict(view), update_fields=[*fields, *update_fields])
    if not moved:
        transfer.save(update_fields=fields)
    return moved


def _settle(transfer, command, view):
    """At the threshold: settled, the ledger credited, valued; the case IN_RESERVE once no
    other transfer of it is open. The circuit breaker holds it (the sweeper re-drives)."""
    if TRANSFER_TABLE.get(transfer.status, Command.CONFIRM) is not None:
        _chain_move(transfer, Command.CONFIRM, view)  # seen straight at the threshold
    if not check_command(TRANSFER_TABLE, transfer.status, Command.SETTLE):
        transfer.save(update_fields=view.write_to(transfer))  # settled: a later block
        return
    paused, why = chainio.settlement_paused()
    if paused:
        log.warning("settlement of %s paused: %s", transfer.public_id, why)
        transfer.save(update_fields=view.write_to(transfer))
        return
    transfer.settled_at = timezone.now()
    _chain_move(transfer, Command.SETTLE, view, update_fields=["settled_at"])
    _ledger_settle(transfer)
    _value_at_settlement(transfer)
    if not transfer.case.transfers.exclude(pk=transfer.pk).filter(
            status__in=OPEN_STATES).exists():
        _move_case(transfer.case, CaseCommand.SETTLED_IN_RESERVE)


def _reorg(transfer, command, view):
    """The block left the chain: back to the mempool. Deeper than the settlement threshold,
    the settlement is undone: a compensating entry, the case back IN_TRANSFER, an alert."""
    was_settled = transfer.status == TransferStatus.SETTLED
    if not _chain_move(transfer, command, view) or not was_settled:
        return
    _ledger_reverse(transfer, "a reorganisation removed its block")
    _move_case(transfer.case, CaseCommand.RESERVE_REORGED,
               reason="A reorganisation removed the settled transfer.")
    _raise_alert(case=transfer.case, kind=CaseAlert.Kind.REORG,
                 dedup_key=f"transfer-reorg:{transfer.public_id}:{transfer.settled_at}",
                 message=f"A reorganisation deeper than the settlement threshold removed "
                         f"settled transfer {transfer.txid}; the ledger entry was reversed.",
                 details={"transfer": str(transfer.public_id), "txid": transfer.txid,
                          "amount_sats": transfer.amount_sats})


def _lose_to_conflict(transfer, command, view):
    """Replaced or conflicted: an input was spent by another transaction. A settled one's
    ledger entry is reversed; an alert either way."""
    was_settled = transfer.status == TransferStatus.SETTLED
    if not _chain_move(transfer, command, view):
        return
    if was_settled:
        _ledger_reverse(transfer, "a conflicting transaction replaced it")
    _raise_alert(case=transfer.case, kind=CaseAlert.Kind.CONFLICT,
                 dedup_key=f"transfer-conflict:{transfer.public_id}",
                 message=f"Transfer {transfer.txid} was {transfer.status.lower()}: an input "
                         "was spent by another transaction.",
                 details={"transfer": str(transfer.public_id), "txid": transfer.txid})


_CHAIN_BRANCHES = {Command.SETTLE: _settle, Command.REORG: _reorg,
                   Command.REPLACE: _lose_to_conflict, Command.CONFLICT: _lose_to_conflict}


# --- the ledger ---------------------------------------------------------------------------
def _ledger_settle(transfer):
    entry = JournalEntry.objects.create(
        kind=JournalEntry.Kind.TRANSFER_SETTLED, network=transfer.network, transfer=transfer,
        txid=transfer.txid, block_hash=transfer.block_hash, block_height=transfer.block_height,
        memo=f"Case {transfer.case.case_number} into reserve")
    common = {"case": transfer.case, "source": FundSource.SEIZURE}
    lines = [LedgerLine(entry=entry, account=LedgerAccount.RESERVE,
                        amount_sats=transfer.amount_sats, reserve_wallet=transfer.reserve_wallet,
                        reserve_address=transfer.destination, **common),
             LedgerLine(entry=entry, account=LedgerAccount.CUSTODY,
                        amount_sats=-transfer.input_total_sats, **common)]
    if transfer.fee_sats:
        lines.append(LedgerLine(entry=entry, account=LedgerAccount.NETWORK_FEES,
                                amount_sats=transfer.fee_sats, **common))
    LedgerLine.objects.bulk_create(lines)
    record_event(actor=None, action=CustodyAction.LEDGER_POSTED, obj=entry,
                 after={"kind": entry.kind, "transfer": str(transfer.public_id),
                        "lines": [(ln.account, ln.amount_sats) for ln in lines]})
    return entry


def _reverse_entry(entry, kind, memo):
    reversal = JournalEntry.objects.create(
        kind=kind, network=entry.network, transfer=entry.transfer, deposit=entry.deposit,
        reverses=entry, txid=entry.txid, memo=memo)
    lines = [LedgerLine(entry=reversal, account=ln.account, amount_sats=-ln.amount_sats,
                        reserve_wallet_id=ln.reserve_wallet_id,
                        reserve_address_id=ln.reserve_address_id, case_id=ln.case_id,
                        source=ln.source) for ln in entry.lines.all()]
    LedgerLine.objects.bulk_create(lines)
    record_event(actor=None, action=CustodyAction.LEDGER_REVERSED, obj=reversal,
                 after={"reverses": str(entry.public_id), "memo": memo,
                        "lines": [(ln.account, ln.amount_sats) for ln in lines]})
    return reversal


def _ledger_reverse(transfer, why):
    open_entries = transfer.journal_entries.filter(kind=JournalEntry.Kind.TRANSFER_SETTLED,
                                                   reversed_by__isnull=True)
    for entry in open_entries:
        _reverse_entry(entry, JournalEntry.Kind.TRANSFER_REVERSED,
                       f"Compensating entry: {why}.")


def _ledger_attribute(deposit, *, source, memo):
    wallet = deposit.reserve_address.wallet
    entry = JournalEntry.objects.create(
        kind=JournalEntry.Kind.DEPOSIT_ATTRIBUTED, network=wallet.network, deposit=deposit,
        txid=deposit.txid, block_height=deposit.block_height, memo=memo)
    LedgerLine.objects.bulk_create([
        LedgerLine(entry=entry, account=LedgerAccount.RESERVE, amount_sats=deposit.amount_sats,
                   reserve_wallet=wallet, reserve_address=deposit.reserve_address,
                   source=source),
        LedgerLine(entry=entry, account=LedgerAccount.EXTERNAL,
                   amount_sats=-deposit.amount_sats, source=source),
    ])
    return entry


def _ledger_reverse_deposit(deposit):
    for entry in deposit.journal_entries.filter(reversed_by__isnull=True,
                                                reverses__isnull=True):
        _reverse_entry(entry, JournalEntry.Kind.DEPOSIT_REVERSED,
                       "Compensating entry: a reorganisation removed the deposit.")


def _value_at_settlement(transfer):
    case = transfer.case
    declared = sum(case.assets.filter(asset=AssetKind.BTC).values_list("declared_amount",
                                                                         flat=True))
    order = ConfiscationOrder.objects.filter(case=case).first()
    points = [(Valuation.Point.SETTLEMENT, transfer.settled_at, transfer.amount_sats)]
    if case.seizure_date:
        seized_at = timezone.make_aware(
            timezone.datetime.combine(case.seizure_date, timezone.datetime.max.time()))
        points.append((Valuation.Point.SEIZURE, seized_at, declared))
    if order is not None:
        points.append((Valuation.Point.CONFISCATION, order.recorded_at, declared))
    for point, when, amount in points:
        if not amount or Valuation.objects.filter(case=case, point=point,
                                                  transfer=transfer).exists():
            continue
        price = price_at("BTC", when)
        if price is None:
            continue
        Valuation.objects.create(case=case, transfer=transfer, point=point, amount_sats=amount,
                                 price=price, value_kzt=value_kzt(amount, price))


def value_kzt(amount_sats, price):
    return (Decimal(amount_sats) * price.kzt_per_unit / Decimal(100_000_000)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- deposits no transfer explains ----------------------------------------------------------
def deposit_observe(*, reserve_address, txid, vout, amount_sats, confirmations,
                    block_height=None):
    """A UTXO at a reserve address that no transfer sent (idempotent)."""
    with transaction.atomic():
        deposit, created = Deposit.objects.select_for_update().get_or_create(
            txid=txid, vout=vout, defaults={
                "reserve_address": reserve_address, "amount_sats": amount_sats,
                "confirmations": confirmations, "block_height": block_height})
        if created:
            record_event(actor=None, action=CustodyAction.DEPOSIT_SEEN, obj=deposit,
                         after={"address": reserve_address.address, "txid": txid, "vout": vout,
                                "amount_sats": amount_sats})
        elif (deposit.confirmations, deposit.block_height) != (confirmations, block_height):
            deposit.confirmations, deposit.block_height = confirmations, block_height
            deposit.save(update_fields=["confirmations", "block_height"])
    return deposit


@transaction.atomic
def deposit_attribute(*, deposit, actor, source, note=""):
    """A bank officer says where an unexplained deposit came from; only then does it enter
    the ledger (and only once settled)."""
    require_command_role(actor, DEPOSIT_TABLE, Command.ATTRIBUTE)
    refuse_private_keys({"note": note})
    if source not in (FundSource.STATE_MINING, FundSource.OTHER):
        raise ValidationFailed("A deposit's source is STATE_MINING or OTHER (seized coins "
                               "arrive by transfer).", field="source")
    deposit = Deposit.objects.select_for_update(of=("self",)).select_related(
        "reserve_address__wallet").get(pk=deposit.pk)
    if not check_command(DEPOSIT_TABLE, deposit.status, Command.ATTRIBUTE):
        return deposit
    needed = settings.SETTLEMENT_CONFIRMATIONS[deposit.reserve_address.wallet.network]
    if deposit.confirmations < needed:
        raise Conflict(f"The deposit has {deposit.confirmations} of {needed} confirmations.",
                       code=ErrorCode.NOT_SETTLED)
    entry = _ledger_attribute(deposit, source=source, memo=note or source)
    deposit.source, deposit.note = source, note
    deposit.attributed_by, deposit.attributed_at = actor, timezone.now()
    apply_transition(deposit, table=DEPOSIT_TABLE, command=Command.ATTRIBUTE, actor=actor,
                     action=CustodyAction.DEPOSIT_ATTRIBUTED,
                     update_fields=["source", "note", "attributed_by", "attributed_at"],
                     after={"source": source, "note": note, "journal": str(entry.public_id)})
    chainio.watch_deposit(txid=deposit.txid, ref=str(deposit.public_id))
    return deposit


def deposit_apply_chain_state(*, txid, removed):
    """A reorg removed a deposit: it is reversed; an attributed one's ledger entry too, with
    an alert."""
    if not removed:
        return
    with transaction.atomic():
        for deposit in Deposit.objects.select_for_update().filter(txid=txid):
            was_attributed = deposit.status == Deposit.Status.ATTRIBUTED
            if not apply_transition(deposit, table=DEPOSIT_TABLE, command=Command.REVERSE,
                                    actor=None, action=CustodyAction.DEPOSIT_REVERSED,
                                    as_system=True):
                continue
            if was_attributed:
                _ledger_reverse_deposit(deposit)
                _raise_alert(case=None, kind=CaseAlert.Kind.REORG,
                             dedup_key=f"deposit-reorg:{deposit.public_id}",
                             message=f"A reorganisation removed attributed deposit {txid}.",
                             details={"deposit": str(deposit.public_id),
                                      "amount_sats": deposit.amount_sats})


# --- prices -------------------------------------------------------------------------------
@transaction.atomic
def price_record(*, actor, kzt_per_unit, source, observed_at, asset="BTC"):
    require_role(actor, Role.BANK_OFFICER, Role.ADMIN)
    refuse_private_keys({"source": source})
    if not (source or "").strip():
        raise ValidationFailed("Say where the price comes from.", field="source")
    price = PriceRecord.objects.create(asset=asset, kzt_per_unit=kzt_per_unit, source=source,
                                       observed_at=observed_at, recorded_by=actor)
    record_event(actor=actor, action=CustodyAction.PRICE_RECORDED, obj=price,
                 after={"asset": asset, "kzt_per_unit": str(kzt_per_unit), "source": source,
                        "observed_at": observed_at})
    return price

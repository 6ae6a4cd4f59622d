"""Writes of the custody side. One action, one function, same shape every time:
transaction → lock the row → check who and the transition table → save → audit event in
the same transaction → follow-up work on commit. Chain I/O (custody.chainio) happens
before or after the transaction, never under a row lock."""

import hashlib
import logging
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
from .transitions import APPROVAL_TRANSITIONS, TRANSFER_TRANSITIONS

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


def _four_eyes(obj, *, actor, entered_by_id, noun):
    """May actor approve this locked wallet or policy? False when it already is active
    (nothing to do); refuses the person who entered it, and any state but PENDING."""
    if entered_by_id == actor.pk:
        raise PermissionRefused(f"You entered this {noun}: someone else must approve it.",
                                code=ErrorCode.OWN_ENTRY)
    if obj.status == ApprovalStatus.ACTIVE:
        return False
    APPROVAL_TRANSITIONS.check(obj.status, ApprovalStatus.ACTIVE)
    return True


def _activate(obj, *, actor):
    obj.status, obj.approved_by, obj.approved_at = ApprovalStatus.ACTIVE, actor, timezone.now()
    obj.save(update_fields=["status", "approved_by", "approved_at"])


@transaction.atomic
def reserve_wallet_approve(*, wallet, actor):
    require_role(actor, Role.ADMIN, Role.BANK_OFFICER)
    wallet = ReserveWallet.objects.select_for_update().get(pk=wallet.pk)
    if not _four_eyes(wallet, actor=actor, entered_by_id=wallet.entered_by_id, noun="wallet"):
        return wallet
    _activate(wallet, actor=actor)
    record_event(actor=actor, action=CustodyAction.RESERVE_WALLET_APPROVED, obj=wallet,
                 before={"status": ApprovalStatus.PENDING}, after={"status": wallet.status})
    return wallet


@transaction.atomic
def reserve_wallet_retire(*, wallet, actor, reason):
    require_role(actor, Role.ADMIN)
    require_reason(reason)
    wallet = ReserveWallet.objects.select_for_update().get(pk=wallet.pk)
    if wallet.status == ApprovalStatus.RETIRED:
        return wallet
    APPROVAL_TRANSITIONS.check(wallet.status, ApprovalStatus.RETIRED)
    before = wallet.status
    wallet.status = ApprovalStatus.RETIRED
    wallet.save(update_fields=["status"])
    record_event(actor=actor, action=CustodyAction.RESERVE_WALLET_RETIRED, obj=wallet,
                 before={"status": before}, after={"status": wallet.status}, reason=reason)
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
    require_role(actor, Role.ADMIN, Role.BANK_OFFICER)
    policy = QuorumPolicy.objects.select_for_update().get(pk=policy.pk)
    ReserveWallet.objects.select_for_update().get(pk=policy.wallet_id)
    previous = QuorumPolicy.objects.filter(wallet_id=policy.wallet_id,
                                           status=ApprovalStatus.ACTIVE).first()
    if not _four_eyes(policy, actor=actor, entered_by_id=policy.proposed_by_id, noun="policy"):
        return policy
    if previous is not None:
        APPROVAL_TRANSITIONS.check(previous.status, ApprovalStatus.SUPERSEDED)
        previous.status = ApprovalStatus.SUPERSEDED
        previous.save(update_fields=["status"])
    _activate(policy, actor=actor)
    record_event(actor=actor, action=CustodyAction.QUORUM_POLICY_APPROVED, obj=policy,
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


def _move(transfer, *, target, actor, action, reason="", before_extra=None, after_extra=None,
          fields=()):
    """Check the table, save, audit. Inside the caller's transaction, transfer locked."""
    TRANSFER_TRANSITIONS.check(transfer.status, target)
    before = {"status": transfer.status, **(before_extra or {})}
    transfer.status = target
    transfer.status_changed_at = timezone.now()
    if reason:
        transfer.status_reason = reason
    transfer.save(update_fields=["status", "status_changed_at", "status_reason", *fields])
    record_event(actor=actor, action=action, obj=transfer, before=before,
                 after={"status": target, **(after_extra or {})}, reason=reason)
    return transfer


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
    refused. At the policy's count the transfer is APPROVED."""
    require_role(actor, Role.BANK_OFFICER)
    transfer = _lock_transfer(transfer)
    if transfer.proposed_by_id == actor.pk:
        raise PermissionRefused("You proposed this transfer: other officers approve it.",
                                code=ErrorCode.OWN_TRANSFER)
    if transfer.status != TransferStatus.PROPOSED:
        raise Conflict(f"A transfer in state {transfer.status} takes no approvals.",
                       code=ErrorCode.INVALID_TRANSITION, current_status=transfer.status)
    if payload_hash != transfer.payload_hash:
        raise Conflict("The payload changed since you looked at it: review it again.",
                       code=ErrorCode.PAYLOAD_CHANGED, payload_hash=transfer.payload_hash)
    if TransferApproval.objects.filter(transfer=transfer, approver=actor,
                                       payload_hash=payload_hash).exists():
        raise Conflict("You have already approved this payload.",
                       code=ErrorCode.ALREADY_APPROVED)
    approval = TransferApproval.objects.create(transfer=transfer, approver=actor,
                                               payload_hash=payload_hash)
    count = counted_approvals(transfer).count()
    record_event(actor=actor, action=CustodyAction.TRANSFER_APPROVAL_GIVEN, obj=transfer,
                 after={"payload_hash": payload_hash, "approvals": count,
                        "required": transfer.approvals_required})
    if count >= transfer.approvals_required:
        _move(transfer, target=TransferStatus.APPROVED, actor=actor,
              action=CustodyAction.TRANSFER_APPROVED, after_extra={"approvals": count})
    return approval


def transfer_rebuild(*, transfer, actor, reason, utxos=None, fee_rate_sat_vb=None):
    """Build the payload again from the node's UTXOs and fee estimate (before broadcast).
    If anything changed, every approval and signature so far stops counting."""
    require_role(actor, Role.BANK_OFFICER)
    require_reason(reason)
    if utxos is None:
        utxos = chainio.custody_utxos(transfer.case.custody_address)
    fee_rate = _fee_rate(fee_rate_sat_vb)
    with transaction.atomic():
        transfer = _lock_transfer(transfer)
        TRANSFER_TRANSITIONS.check(transfer.status, TransferStatus.PROPOSED)
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
        _move(transfer, target=TransferStatus.PROPOSED, actor=actor,
              action=CustodyAction.TRANSFER_REBUILT, reason=reason,
              before_extra={"payload_hash": old_hash},
              after_extra={"payload": built.payload, "payload_hash": built.payload_hash,
                           "approvals_invalidated": True},
              fields=["payload", "payload_hash", "input_total_sats", "amount_sats", "fee_sats",
                      "fee_rate_sat_vb", "unsigned_psbt", "unsigned_txid", "combined_psbt",
                      "final_tx_hex", "txid", "approvals_required"])
    return transfer


def _release(transfer, *, target, actor, action, reason, fields=()):
    """Cancel or fail before broadcast: unlock the coins, the case goes back."""
    _move(transfer, target=target, actor=actor, action=action, reason=reason, fields=fields)
    transfer.inputs.update(locked=False)
    _move_case(transfer.case, CaseCommand.TRANSFER_RELEASED, actor=actor, reason=reason,
               released_by=target)
    return transfer


@transaction.atomic
def transfer_cancel(*, transfer, actor, reason):
    require_role(actor, Role.BANK_OFFICER)
    require_reason(reason)
    transfer = _lock_transfer(transfer)
    if transfer.status == TransferStatus.CANCELLED:
        return transfer
    if transfer.status == TransferStatus.SIGNING and transfer.broadcast_attempted_at:
        raise Conflict("A broadcast was attempted: the node may have the transaction. Wait "
                       "for the chain to answer.", code=ErrorCode.INVALID_TRANSITION)
    return _release(transfer, target=TransferStatus.CANCELLED, actor=actor,
                    action=CustodyAction.TRANSFER_CANCELLED, reason=reason)


def transfer_upload_signed(*, transfer, actor, psbt):
    """A signed copy from one key holder. Refused unless it is the approved transaction and
    every signature in it is valid for a key of the case's custody descriptor. Its new
    signatures are merged; with enough of them the transaction is finalized and queued for
    broadcast after commit."""
    require_role(actor, Role.BANK_OFFICER)
    signed = ceremony.parse_psbt(psbt)
    with transaction.atomic():
        transfer = _lock_transfer(transfer)
        if transfer.status not in (TransferStatus.APPROVED, TransferStatus.SIGNING) \
                or transfer.final_tx_hex:
            raise Conflict(f"A transfer in state {transfer.status} takes no signatures"
                           f"{' (it is fully signed)' if transfer.final_tx_hex else ''}.",
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
        if transfer.status == TransferStatus.APPROVED:
            _move(transfer, target=TransferStatus.SIGNING, actor=actor,
                  action=CustodyAction.TRANSFER_SIGNATURE_UPLOADED, after_extra=after,
                  fields=fields)
        else:
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
    _move(transfer, target=TransferStatus.BROADCAST, actor=None,
          action=CustodyAction.TRANSFER_BROADCAST,
          after_extra={"txid": transfer.txid, "already_known": already_known})
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
        if transfer.status != TransferStatus.SIGNING or not transfer.final_tx_hex:
            return transfer
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
        if transfer.status != TransferStatus.SIGNING:
            return transfer
        if outcome == "accepted":
            return _mark_broadcast(transfer, already_known=bool(detail))
        if outcome == "rejected":
            transfer.failure_reason = detail
            return _release(transfer, target=TransferStatus.FAILED, actor=None,
                            action=CustodyAction.TRANSFER_FAILED,
                            reason=f"The node rejected it: {detail}", fields=["failure_reason"])
    return transfer


# --- what the chain watchers report ---------------------------------------------------------
_CONFLICT_ACTIONS = {TransferStatus.REPLACED: CustodyAction.TRANSFER_REPLACED,
                     TransferStatus.CONFLICTED: CustodyAction.TRANSFER_CONFLICTED}
_CHAIN_STATE_TO_STATUS = {
    # PENDING after a block left the chain and the tx is in no mempool we see.
    "PENDING": TransferStatus.BROADCAST,
    "SEEN": TransferStatus.BROADCAST, "MEMPOOL": TransferStatus.BROADCAST,
    "BROADCAST": TransferStatus.BROADCAST, "UNCONFIRMED": TransferStatus.BROADCAST,
    "CONFIRMING": TransferStatus.CONFIRMING, "SETTLED": TransferStatus.SETTLED,
    "CONFIRMED": TransferStatus.SETTLED, "REPLACED": TransferStatus.REPLACED,
    "CONFLICTED": TransferStatus.CONFLICTED,
}


def transfer_apply_chain_state(*, transfer_id, state, confirmations=0, block_hash=None,
                               block_height=None):
    """The watcher's view of a broadcast transfer, applied (inside the watcher's transaction;
    idempotent). Settlement credits the ledger and moves the case to IN_RESERVE; a reorg
    that removes a settled transfer writes the compensating entry and raises an alert."""
    state = str(state).upper()
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().get(pk=transfer_id)
        if transfer.status in (TransferStatus.PROPOSED, TransferStatus.APPROVED,
                               TransferStatus.CANCELLED, TransferStatus.FAILED):
            return transfer
        if transfer.status == TransferStatus.SIGNING:
            # Seen on chain before our broadcast call came back: it is broadcast.
            _mark_broadcast(transfer, already_known=True)
        confirmations = confirmations or 0
        if state == "DROPPED":
            log.warning("transfer %s dropped from the mempool; re-driven by the sweeper",
                        transfer.public_id)
            return transfer
        target = _CHAIN_STATE_TO_STATUS.get(state)
        if target is None:
            log.warning("unknown chain state %r for transfer %s", state, transfer.public_id)
            return transfer
        chain_fields = {"confirmations": confirmations, "block_hash": block_hash or "",
                        "block_height": block_height}
        for name, value in chain_fields.items():
            setattr(transfer, name, value)
        fields = list(chain_fields)
        if target == transfer.status:
            transfer.save(update_fields=fields)
            return transfer
        was_settled = transfer.status == TransferStatus.SETTLED
        if target == TransferStatus.SETTLED and transfer.status == TransferStatus.BROADCAST:
            _move(transfer, target=TransferStatus.CONFIRMING, actor=None,
                  action=CustodyAction.TRANSFER_CONFIRMING, after_extra=chain_fields, fields=fields)
        if target == TransferStatus.SETTLED:
            paused, why = chainio.settlement_paused()
            if paused:
                # The circuit breaker holds settlement; the sweeper settles it once cleared.
                log.warning("settlement of %s paused: %s", transfer.public_id, why)
                transfer.save(update_fields=fields)
                return transfer
            transfer.settled_at = timezone.now()
            _move(transfer, target=target, actor=None, action=CustodyAction.TRANSFER_SETTLED,
                  after_extra=chain_fields, fields=[*fields, "settled_at"])
            _ledger_settle(transfer)
            _value_at_settlement(transfer)
            if not transfer.case.transfers.exclude(pk=transfer.pk).filter(
                    status__in=OPEN_STATES).exists():
                _move_case(transfer.case, CaseCommand.SETTLED_IN_RESERVE)
            return transfer
        if target in (TransferStatus.REPLACED, TransferStatus.CONFLICTED):
            _move(transfer, target=target, actor=None, action=_CONFLICT_ACTIONS[target],
                  after_extra=chain_fields, fields=fields)
            if was_settled:
                _ledger_reverse(transfer, "a conflicting transaction replaced it")
            _raise_alert(case=transfer.case, kind=CaseAlert.Kind.CONFLICT,
                        dedup_key=f"transfer-conflict:{transfer.public_id}",
                        message=f"Transfer {transfer.txid} was {target.lower()}: an input was "
                                "spent by another transaction.",
                        details={"transfer": str(transfer.public_id), "txid": transfer.txid})
            return transfer
        _move(transfer, target=target, actor=None,
              action=CustodyAction.TRANSFER_REORGED if target == TransferStatus.BROADCAST
              else CustodyAction.TRANSFER_CONFIRMING, after_extra=chain_fields, fields=fields)
        if was_settled:
            _ledger_reverse(transfer, "a reorganisation removed its block")
            _move_case(transfer.case, CaseCommand.RESERVE_REORGED,
                       reason="A reorganisation removed the settled transfer.")
            _raise_alert(case=transfer.case, kind=CaseAlert.Kind.REORG,
                        dedup_key=f"transfer-reorg:{transfer.public_id}:{transfer.settled_at}",
                        message=f"A reorganisation deeper than the settlement threshold "
                                f"removed settled transfer {transfer.txid}; the ledger entry "
                                "was reversed.",
                        details={"transfer": str(transfer.public_id), "txid": transfer.txid,
                                 "amount_sats": transfer.amount_sats})
        return transfer


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
    require_role(actor, Role.BANK_OFFICER)
    refuse_private_keys({"note": note})
    if source not in (FundSource.STATE_MINING, FundSource.OTHER):
        raise ValidationFailed("A deposit's source is STATE_MINING or OTHER (seized coins "
                               "arrive by transfer).", field="source")
    deposit = Deposit.objects.select_for_update(of=("self",)).select_related(
        "reserve_address__wallet").get(pk=deposit.pk)
    if deposit.status != Deposit.Status.UNATTRIBUTED:
        raise Conflict(f"A deposit in state {deposit.status} cannot be attributed.",
                       code=ErrorCode.INVALID_TRANSITION)
    needed = settings.SETTLEMENT_CONFIRMATIONS[deposit.reserve_address.wallet.network]
    if deposit.confirmations < needed:
        raise Conflict(f"The deposit has {deposit.confirmations} of {needed} confirmations.",
                       code=ErrorCode.NOT_SETTLED)
    deposit.status, deposit.source, deposit.note = Deposit.Status.ATTRIBUTED, source, note
    deposit.attributed_by, deposit.attributed_at = actor, timezone.now()
    deposit.save(update_fields=["status", "source", "note", "attributed_by", "attributed_at"])
    wallet = deposit.reserve_address.wallet
    entry = JournalEntry.objects.create(
        kind=JournalEntry.Kind.DEPOSIT_ATTRIBUTED, network=wallet.network, deposit=deposit,
        txid=deposit.txid, block_height=deposit.block_height, memo=note or source)
    LedgerLine.objects.bulk_create([
        LedgerLine(entry=entry, account=LedgerAccount.RESERVE, amount_sats=deposit.amount_sats,
                   reserve_wallet=wallet, reserve_address=deposit.reserve_address,
                   source=source),
        LedgerLine(entry=entry, account=LedgerAccount.EXTERNAL,
                   amount_sats=-deposit.amount_sats, source=source),
    ])
    chainio.watch_deposit(txid=deposit.txid, ref=str(deposit.public_id))
    record_event(actor=actor, action=CustodyAction.DEPOSIT_ATTRIBUTED, obj=deposit,
                 before={"status": Deposit.Status.UNATTRIBUTED},
                 after={"status": deposit.status, "source": source, "note": note,
                        "journal": str(entry.public_id)})
    return deposit


def deposit_apply_chain_state(*, txid, removed):
    """A reorg removed a deposit: an attributed one is reversed, with an alert."""
    with transaction.atomic():
        for deposit in Deposit.objects.select_for_update().filter(txid=txid):
            if not removed or deposit.status == Deposit.Status.REVERSED:
                continue
            before = deposit.status
            if before == Deposit.Status.ATTRIBUTED:
                for entry in deposit.journal_entries.filter(reversed_by__isnull=True,
                                                            reverses__isnull=True):
                    _reverse_entry(entry, JournalEntry.Kind.DEPOSIT_REVERSED,
                                   "Compensating entry: a reorganisation removed the deposit.")
                _raise_alert(case=None, kind=CaseAlert.Kind.REORG,
                            dedup_key=f"deposit-reorg:{deposit.public_id}",
                            message=f"A reorganisation removed attributed deposit {txid}.",
                            details={"deposit": str(deposit.public_id),
                                     "amount_sats": deposit.amount_sats})
            deposit.status = Deposit.Status.REVERSED
            deposit.save(update_fields=["status"])
            record_event(actor=None, action=CustodyAction.DEPOSIT_REVERSED, obj=deposit,
                         before={"status": before}, after={"status": deposit.status})


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

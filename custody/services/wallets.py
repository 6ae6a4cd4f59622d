"""Reserve wallets and their quorum policies: entered by one person, usable only once
another approves (four eyes)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import record_event
from core.bitcoin import MultisigDescriptor, multisig_from, refuse_private_keys
from core.errors import Conflict, ErrorCode, PermissionRefused, ValidationFailed
from core.models import User
from core.roles import Role, require_reason, require_role
from core.second_factor import StepUp, require_step_up
from core.statemachine import apply_transition

from .. import chainio
from ..audit import CustodyAction
from ..models import ApprovalStatus, QuorumPolicy, ReserveAddress, ReserveWallet
from ..transitions import APPROVAL_TABLE, Command, check_command, require_command_role


def reserve_wallet_register(*, actor: User, network: str, label: str,
                            threshold: int | None = None, keys: list[str] | None = None,
                            descriptor: str | None = None) -> ReserveWallet:
    """An admin enters a reserve wallet's public descriptor; it stays PENDING until a second
    person approves it."""
    require_role(actor, Role.ADMIN)
    refuse_private_keys({"label": label})
    parsed = multisig_from(network=network, descriptor=descriptor, threshold=threshold,
                           keys=keys)
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


def _refuse_own_entry(entered_by_id: int, actor: User, noun: str) -> None:
    if entered_by_id == actor.pk:
        raise PermissionRefused(f"You entered this {noun}: someone else must approve it.",
                                code=ErrorCode.OWN_ENTRY)


@transaction.atomic
def reserve_wallet_approve(*, wallet: ReserveWallet, actor: User,
                           step_up: StepUp | str | None) -> ReserveWallet:
    require_command_role(actor, APPROVAL_TABLE, Command.APPROVE)
    wallet = ReserveWallet.objects.select_for_update().get(pk=wallet.pk)
    _refuse_own_entry(wallet.entered_by_id, actor, "wallet")
    check_command(APPROVAL_TABLE, wallet.status, Command.APPROVE)  # 409 before the code
    proof = require_step_up(actor, step_up)
    wallet.approved_by, wallet.approved_at = actor, timezone.now()
    apply_transition(wallet, table=APPROVAL_TABLE, command=Command.APPROVE, actor=actor,
                     action=CustodyAction.RESERVE_WALLET_APPROVED,
                     update_fields=["approved_by", "approved_at"], after=proof.audit())
    return wallet


@transaction.atomic
def reserve_wallet_retire(*, wallet: ReserveWallet, actor: User, reason: str) -> ReserveWallet:
    require_command_role(actor, APPROVAL_TABLE, Command.RETIRE)
    require_reason(reason)
    wallet = ReserveWallet.objects.select_for_update().get(pk=wallet.pk)
    apply_transition(wallet, table=APPROVAL_TABLE, command=Command.RETIRE, actor=actor,
                     action=CustodyAction.RESERVE_WALLET_RETIRED, reason=reason)
    return wallet


def _validate_tiers(tiers: Any) -> list[dict[str, int]]:
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
def quorum_policy_propose(*, wallet: ReserveWallet, actor: User,
                          tiers: list[dict[str, int]]) -> QuorumPolicy:
    """A new policy for a wallet; it replaces the active one only once someone else approves."""
    require_role(actor, Role.ADMIN, Role.BANK_OFFICER)
    wallet = ReserveWallet.objects.select_for_update().get(pk=wallet.pk)
    tiers = _validate_tiers(tiers)
    policy = QuorumPolicy.objects.create(wallet=wallet, tiers=tiers, proposed_by=actor)
    record_event(actor=actor, action=CustodyAction.QUORUM_POLICY_PROPOSED, obj=policy,
                 after={"wallet": str(wallet.public_id), "tiers": tiers})
    return policy


@transaction.atomic
def quorum_policy_approve(*, policy: QuorumPolicy, actor: User,
                          step_up: StepUp | str | None) -> QuorumPolicy:
    """The policy becomes the wallet's active one; the one active so far is superseded."""
    require_command_role(actor, APPROVAL_TABLE, Command.APPROVE)
    policy = QuorumPolicy.objects.select_for_update().get(pk=policy.pk)
    ReserveWallet.objects.select_for_update().get(pk=policy.wallet_id)
    _refuse_own_entry(policy.proposed_by_id, actor, "policy")
    check_command(APPROVAL_TABLE, policy.status, Command.APPROVE)  # 409 before superseding
    proof = require_step_up(actor, step_up)
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
                     after={"wallet": str(policy.wallet.public_id), "tiers": policy.tiers,
                            **proof.audit()})
    return policy


def allocate_reserve_address(wallet: ReserveWallet) -> ReserveAddress:
    """A fresh address of the wallet (wallet row already locked), watched for deposits."""
    index = wallet.next_index
    descriptor = MultisigDescriptor(wallet.descriptor, wallet.threshold, wallet.key_count)
    reserve_address = ReserveAddress.objects.create(
        wallet=wallet, index=index, address=descriptor.address_at(index, wallet.network),
        script_pubkey=descriptor.script_pubkey_at(index))
    wallet.next_index = index + 1
    wallet.save(update_fields=["next_index"])
    chainio.watch_reserve_address(address=reserve_address.address, ref=str(wallet.public_id))
    return reserve_address

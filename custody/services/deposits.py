"""Coins at a reserve address that no transfer sent (state mining payouts, for example):
seen by the watchers, attributed to a source by a bank officer, reversed by a reorg."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from chain.models import WatchedOutput
from core.audit import record_event
from core.bitcoin import refuse_private_keys
from core.errors import Conflict, ErrorCode, PermissionRefused, ValidationFailed
from core.models import User
from core.roles import require_reason
from core.second_factor import StepUp, require_step_up
from core.statemachine import apply_transition
from intake.models import CaseAlert

from .. import chainio
from ..audit import CustodyAction
from ..models import Deposit, FundSource, ReserveAddress
from ..transitions import DEPOSIT_TABLE, Command, check_command, require_command_role
from .cases import raise_alert
from .ledger import post_deposit_attributed, reverse_deposit

# Past this depth a deposit's confirmations stop being followed block by block (a reorg that
# deep trips the circuit breaker, and the ledger's compensating entries take over).
CONFIRMATIONS_KEPT = 1000


def deposit_observe(*, reserve_address: ReserveAddress, txid: str, vout: int, amount_sats: int,
                    confirmations: int, block_height: int | None = None) -> Deposit:
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


def deposits_follow_the_chain(*, tip_height: int) -> int:
    """Every deposit still on the books takes its block from the watchers' record of its
    output (filled in the poll that sees it mined, emptied by a reorg) and its confirmations
    from that block and the tip: never a count frozen at the last reconciliation. Runs in
    the poll's transaction; returns how many changed."""
    live = list(Deposit.objects.exclude(status=Deposit.Status.REVERSED)
                .filter(Q(block_height__isnull=True) | Q(confirmations__lt=CONFIRMATIONS_KEPT)))
    if not live:
        return 0
    outputs = {(o.txid, o.vout): o for o in WatchedOutput.objects.filter(
        txid__in={d.txid for d in live})}
    changed = []
    for deposit in live:
        output = outputs.get((deposit.txid, deposit.vout))
        height = output.block_height if output is not None else deposit.block_height
        confirmations = max(tip_height - height + 1, 0) if height is not None else 0
        if (deposit.block_height, deposit.confirmations) != (height, confirmations):
            deposit.block_height, deposit.confirmations = height, confirmations
            changed.append(deposit)
    Deposit.objects.bulk_update(changed, ["block_height", "confirmations"])
    return len(changed)


def _lock(deposit: Deposit) -> Deposit:
    return Deposit.objects.select_for_update(of=("self",)).select_related(
        "reserve_address__wallet").get(pk=deposit.pk)


@transaction.atomic
def deposit_attribute(*, deposit: Deposit, actor: User, source: str,
                      step_up: StepUp | str | None, note: str = "") -> Deposit:
    """A bank officer says where an unexplained deposit came from (once it is settled). It
    enters the ledger only when a second officer approves (deposit_attribution_approve)."""
    require_command_role(actor, DEPOSIT_TABLE, Command.PROPOSE_ATTRIBUTION)
    refuse_private_keys({"note": note})
    if source not in (FundSource.STATE_MINING, FundSource.OTHER):
        raise ValidationFailed("A deposit's source is STATE_MINING or OTHER (seized coins "
                               "arrive by transfer).", field="source")
    deposit = _lock(deposit)
    check_command(DEPOSIT_TABLE, deposit.status, Command.PROPOSE_ATTRIBUTION)
    needed = settings.SETTLEMENT_CONFIRMATIONS[deposit.reserve_address.wallet.network]
    if deposit.confirmations < needed:
        raise Conflict(f"The deposit has {deposit.confirmations} of {needed} confirmations.",
                       code=ErrorCode.NOT_SETTLED)
    proof = require_step_up(actor, step_up)
    deposit.source, deposit.note = source, note
    deposit.attributed_by, deposit.attributed_at = actor, timezone.now()
    apply_transition(deposit, table=DEPOSIT_TABLE, command=Command.PROPOSE_ATTRIBUTION,
                     actor=actor, action=CustodyAction.DEPOSIT_ATTRIBUTION_PROPOSED,
                     update_fields=["source", "note", "attributed_by", "attributed_at"],
                     after={"source": source, "note": note, **proof.audit()})
    return deposit


@transaction.atomic
def deposit_attribution_approve(*, deposit: Deposit, actor: User,
                                step_up: StepUp | str | None) -> Deposit:
    """The second officer: the deposit enters the ledger as its proposed source."""
    require_command_role(actor, DEPOSIT_TABLE, Command.ATTRIBUTE)
    deposit = _lock(deposit)
    check_command(DEPOSIT_TABLE, deposit.status, Command.ATTRIBUTE)
    if deposit.attributed_by_id == actor.pk:
        raise PermissionRefused("You proposed this attribution: another officer approves it.",
                                code=ErrorCode.OWN_ENTRY)
    proof = require_step_up(actor, step_up)
    entry = post_deposit_attributed(deposit, source=deposit.source,
                                    memo=deposit.note or deposit.source)
    deposit.attribution_approved_by, deposit.attribution_approved_at = actor, timezone.now()
    apply_transition(deposit, table=DEPOSIT_TABLE, command=Command.ATTRIBUTE, actor=actor,
                     action=CustodyAction.DEPOSIT_ATTRIBUTED,
                     update_fields=["attribution_approved_by", "attribution_approved_at"],
                     after={"source": deposit.source, "note": deposit.note,
                            "proposed_by": deposit.attributed_by.get_username()
                            if deposit.attributed_by else None,
                            "journal": str(entry.public_id), **proof.audit()})
    chainio.watch_deposit(txid=deposit.txid, ref=str(deposit.public_id))
    return deposit


@transaction.atomic
def deposit_attribution_reject(*, deposit: Deposit, actor: User, reason: str) -> Deposit:
    """The second officer disagrees: the deposit waits for attribution again."""
    require_command_role(actor, DEPOSIT_TABLE, Command.REJECT_ATTRIBUTION)
    require_reason(reason)
    deposit = _lock(deposit)
    check_command(DEPOSIT_TABLE, deposit.status, Command.REJECT_ATTRIBUTION)
    if deposit.attributed_by_id == actor.pk:
        raise PermissionRefused("You proposed this attribution: another officer decides.",
                                code=ErrorCode.OWN_ENTRY)
    apply_transition(deposit, table=DEPOSIT_TABLE, command=Command.REJECT_ATTRIBUTION,
                     actor=actor, action=CustodyAction.DEPOSIT_ATTRIBUTION_REJECTED,
                     reason=reason)
    return deposit


def deposit_apply_chain_state(*, txid: str, removed: bool) -> None:
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
                reverse_deposit(deposit)
                raise_alert(case=None, kind=CaseAlert.Kind.REORG,
                            dedup_key=f"deposit-reorg:{deposit.public_id}",
                            message=f"A reorganisation removed attributed deposit {txid}.",
                            details={"deposit": str(deposit.public_id),
                                     "amount_sats": deposit.amount_sats})

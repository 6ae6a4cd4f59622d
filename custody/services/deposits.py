"""Coins at a reserve address that no transfer sent (state mining payouts, for example):
seen by the watchers, attributed to a source by a bank officer, reversed by a reorg."""

from __future__ import annotations

import uuid

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
        if deposit.status in Deposit.WAITING:
            # Watched from its first sighting (idempotent): if its transaction is dropped,
            # replaced or double-spent before anyone attributes it, the watchers say so
            # (deposit_vanished) instead of leaving it in the queue at 0 confirmations.
            chainio.watch_deposit(txid=txid, ref=str(deposit.public_id))
    return deposit


def deposits_follow_the_chain(*, tip_height: int) -> int:
    """Every deposit still on the books takes its block from the watchers' record of its
    output (filled in the poll that sees it mined, emptied by a reorg) and its confirmations
    from that block and the tip: never a count frozen at the last reconciliation. Runs in
    the poll's transaction; returns how many changed."""
    live = list(Deposit.objects.exclude(status__in=[Deposit.Status.REVERSED,
                                                    *Deposit.VANISHED])
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


def _deposits_of(txid: str, ref: str) -> list[Deposit]:
    """The deposits a watched transaction stands for, locked: its ref names one (the
    watchers watch each deposit by its public id), else every deposit of the txid."""
    qs = Deposit.objects.select_for_update().filter(txid=txid)
    try:
        one = qs.filter(public_id=uuid.UUID(str(ref)))
    except ValueError:
        return list(qs.order_by("pk"))
    return list(one) or list(qs.order_by("pk"))


def deposit_apply_chain_state(*, txid: str, removed: bool, ref: str = "") -> None:
    """A reorg removed an attributed deposit's block: it is reversed, its ledger entry too,
    with an alert. (A deposit not yet attributed just follows the chain: its confirmations
    fall to 0 and come back when it is mined again; deposits_follow_the_chain.)"""
    if not removed:
        return
    with transaction.atomic():
        for deposit in _deposits_of(txid, ref):
            if deposit.status == Deposit.Status.ATTRIBUTED:
                _reverse_attributed(deposit)


def _reverse_attributed(deposit: Deposit) -> None:
    if not apply_transition(deposit, table=DEPOSIT_TABLE, command=Command.REVERSE,
                            actor=None, action=CustodyAction.DEPOSIT_REVERSED, as_system=True):
        return
    reverse_deposit(deposit)
    raise_alert(case=None, kind=CaseAlert.Kind.REORG,
                dedup_key=f"deposit-reorg:{deposit.public_id}",
                message=f"A reorganisation removed attributed deposit {deposit.txid}.",
                details={"deposit": str(deposit.public_id),
                         "amount_sats": deposit.amount_sats})


# The watchers' verdict on a vanished transaction → the deposit's command and audit action.
_VANISHED = {
    Deposit.Status.DROPPED: (Command.DROP, CustodyAction.DEPOSIT_DROPPED,
                             "dropped from the mempool without being mined"),
    Deposit.Status.REPLACED: (Command.REPLACE, CustodyAction.DEPOSIT_REPLACED,
                              "replaced in the mempool"),
    Deposit.Status.CONFLICTED: (Command.CONFLICT, CustodyAction.DEPOSIT_CONFLICTED,
                                "double-spent by a mined transaction"),
}


def deposit_vanished(*, txid: str, ref: str, state: str, conflicting_txid: str = "") -> None:
    """The deposit's transaction is gone: DROPPED (evicted, never mined), REPLACED (another
    mempool transaction took its inputs) or CONFLICTED (a mined one did; conflicting_txid
    when the watchers could name it). A deposit waiting for attribution leaves the queue
    with an audit event (never counted in proof of reserves again); a proposed attribution
    is withdrawn and the bank is alerted; an attributed one is reversed in the ledger. Runs
    in the watchers' transaction."""
    status = Deposit.Status(state)
    command, action, what = _VANISHED[status]
    with transaction.atomic():
        for deposit in _deposits_of(txid, ref):
            if deposit.status == Deposit.Status.ATTRIBUTED:
                _reverse_attributed(deposit)
                continue
            if deposit.status == status:  # seen again, maybe with the spender named now
                if conflicting_txid and conflicting_txid != deposit.conflicting_txid:
                    deposit.conflicting_txid = conflicting_txid
                    deposit.save(update_fields=["conflicting_txid"])
                    record_event(actor=None, action=action, obj=deposit,
                                 after={"txid": txid, "conflicting_txid": conflicting_txid})
                continue
            if DEPOSIT_TABLE.get(deposit.status, command) is None:
                continue  # reversed already
            proposal = None
            if deposit.status == Deposit.Status.PROPOSED:
                proposal = {"source": deposit.source, "note": deposit.note,
                            "proposed_by": deposit.attributed_by.get_username()
                            if deposit.attributed_by else None}
                record_event(actor=None, action=CustodyAction.DEPOSIT_ATTRIBUTION_WITHDRAWN,
                             obj=deposit, before=proposal,
                             reason=f"the deposit's transaction was {what}")
                deposit.source, deposit.note = "", ""
                deposit.attributed_by, deposit.attributed_at = None, None
            deposit.conflicting_txid = conflicting_txid
            deposit.confirmations, deposit.block_height = 0, None
            spender = f" by {conflicting_txid}" if conflicting_txid else ""
            apply_transition(
                deposit, table=DEPOSIT_TABLE, command=command, actor=None, action=action,
                as_system=True, reason=f"the deposit's transaction was {what}{spender}",
                update_fields=["conflicting_txid", "confirmations", "block_height", "source",
                               "note", "attributed_by", "attributed_at"],
                after={"txid": txid, "vout": deposit.vout, "amount_sats": deposit.amount_sats,
                       "conflicting_txid": conflicting_txid,
                       "attribution_withdrawn": proposal is not None})
            if proposal is not None:
                raise_alert(
                    case=None, kind=CaseAlert.Kind.DEPOSIT_VANISHED,
                    dedup_key=f"deposit-vanished:{deposit.public_id}",
                    message=f"Deposit {txid}:{deposit.vout} ({deposit.amount_sats} sats), "
                            f"proposed for attribution as {proposal['source']}, was {what}"
                            f"{spender}: the proposal is withdrawn.",
                    details={"deposit": str(deposit.public_id), "txid": txid,
                             "vout": deposit.vout, "amount_sats": deposit.amount_sats,
                             "state": str(status), "conflicting_txid": conflicting_txid,
                             "proposal": proposal})


def deposit_reappeared(*, txid: str, ref: str) -> None:
    """A vanished deposit's transaction is back (rebroadcast, or a reorg restored it): it
    waits for attribution again, from the start."""
    with transaction.atomic():
        for deposit in _deposits_of(txid, ref):
            if deposit.status in Deposit.VANISHED:
                apply_transition(deposit, table=DEPOSIT_TABLE, command=Command.REAPPEAR,
                                 actor=None, action=CustodyAction.DEPOSIT_REAPPEARED,
                                 as_system=True, reason="the transaction is back",
                                 after={"txid": txid, "vout": deposit.vout})

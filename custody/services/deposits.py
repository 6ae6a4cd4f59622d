"""Coins at a reserve address that no transfer sent (state mining payouts, for example):
seen by the watchers, attributed to a source by a bank officer, reversed by a reorg."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import record_event
from core.bitcoin import refuse_private_keys
from core.errors import Conflict, ErrorCode, ValidationFailed
from core.models import User
from core.statemachine import apply_transition
from intake.models import CaseAlert

from .. import chainio
from ..audit import CustodyAction
from ..models import Deposit, FundSource, ReserveAddress
from ..transitions import DEPOSIT_TABLE, Command, check_command, require_command_role
from .cases import raise_alert
from .ledger import post_deposit_attributed, reverse_deposit


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


@transaction.atomic
def deposit_attribute(*, deposit: Deposit, actor: User, source: str,
                      note: str = "") -> Deposit:
    """A bank officer says where an unexplained deposit came from; only then does it enter
    the ledger (and only once settled)."""
    require_command_role(actor, DEPOSIT_TABLE, Command.ATTRIBUTE)
    refuse_private_keys({"note": note})
    if source not in (FundSource.STATE_MINING, FundSource.OTHER):
        raise ValidationFailed("A deposit's source is STATE_MINING or OTHER (seized coins "
                               "arrive by transfer).", field="source")
    deposit = Deposit.objects.select_for_update(of=("self",)).select_related(
        "reserve_address__wallet").get(pk=deposit.pk)
    check_command(DEPOSIT_TABLE, deposit.status, Command.ATTRIBUTE)  # 409 before the rest
    needed = settings.SETTLEMENT_CONFIRMATIONS[deposit.reserve_address.wallet.network]
    if deposit.confirmations < needed:
        raise Conflict(f"The deposit has {deposit.confirmations} of {needed} confirmations.",
                       code=ErrorCode.NOT_SETTLED)
    entry = post_deposit_attributed(deposit, source=source, memo=note or source)
    deposit.source, deposit.note = source, note
    deposit.attributed_by, deposit.attributed_at = actor, timezone.now()
    apply_transition(deposit, table=DEPOSIT_TABLE, command=Command.ATTRIBUTE, actor=actor,
                     action=CustodyAction.DEPOSIT_ATTRIBUTED,
                     update_fields=["source", "note", "attributed_by", "attributed_at"],
                     after={"source": source, "note": note, "journal": str(entry.public_id)})
    chainio.watch_deposit(txid=deposit.txid, ref=str(deposit.public_id))
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

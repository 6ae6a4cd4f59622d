"""Celery edges of custody: take ids, do the network I/O outside locks, call services that are
safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db.models import Q

from chain.models import TxState

from . import chainio
from .models import Transfer, TransferStatus
from .reconciliation import reconcile_all
from .services import transfer_apply_chain_state, transfer_broadcast
from .services.prices import value_due_milestones

log = logging.getLogger(__name__)

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "time_limit": 120,
                "soft_time_limit": 90}


@shared_task(**TASK_OPTIONS)
def broadcast_transfer_task(transfer_id: int) -> None:
    transfer_broadcast(transfer_id=transfer_id)


@shared_task(**TASK_OPTIONS)
def redrive_transfers_task() -> None:
    """The sweeper: fully signed transfers not yet broadcast (a lost task, a node timeout)
    are sent again — the same bytes, never a new transaction."""
    stuck = Transfer.objects.filter(Q(status=TransferStatus.SIGNING) & ~Q(final_tx_hex=""))
    for transfer_id in stuck.values_list("pk", flat=True):
        broadcast_transfer_task.delay(transfer_id)
    # Settlements held by the circuit breaker, or a handler call lost in a crash.
    for transfer in Transfer.objects.filter(status__in=[TransferStatus.BROADCAST,
                                                        TransferStatus.CONFIRMING]):
        watched = chainio.watched_transfer_state(transfer)
        if watched is not None and watched.state in (TxState.CONFIRMED, TxState.CONFIRMING):
            transfer_apply_chain_state(
                transfer_id=transfer.pk, state=watched.state,
                confirmations=watched.confirmations_seen, block_hash=watched.block_hash,
                block_height=watched.block_height)


@shared_task(**{**TASK_OPTIONS, "time_limit": 600, "soft_time_limit": 540})
def reconcile_reserves_task() -> None:
    for run in reconcile_all():
        log.info("reconciled %s: difference %s", run.wallet, run.difference_sats)


@shared_task(**TASK_OPTIONS)
def value_milestones_task() -> int:
    """Beat: the seizures and confiscations that happened since the last pass, valued from
    the price in force then, or an open item asking for the price (safe to run twice)."""
    return value_due_milestones()


@shared_task(name="custody.accounting_pdf", acks_late=True, reject_on_worker_lost=True,
             time_limit=3600, soft_time_limit=3300)
def accounting_pdf_task(job: str) -> bool:
    """Make a long accounting PDF an auditor asked for (custody.web.auditor.accounting_pdf);
    safe to run twice: a finished job is left alone."""
    from .web.auditor import accounting_pdf

    try:
        return accounting_pdf.job_run(job)
    except Exception:
        accounting_pdf.job_fail(job)
        raise

"""Celery edges of the chain watchers. Tasks take ids, do their network I/O outside row
locks (chain.watcher), and are safe to run twice and safe to lose: every item has a
next_check_at that the beat sweeper (sweep_due) re-drives, and claims are leases."""

import logging

from celery import shared_task

from . import watcher
from .errors import NodeMisconfigured, NodeUnavailable

log = logging.getLogger(__name__)

TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    # A node that is down or slow comes back: retry. A wrong password, another network or
    # the devchain in production does not fix itself: fail at once, and let the cursor's
    # last_error and /health/ say why (NodeMisconfigured is deliberately not a NodeUnavailable).
    "autoretry_for": (NodeUnavailable,),
    "dont_autoretry_for": (NodeMisconfigured,),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
    "soft_time_limit": 120,
    "time_limit": 150,
}


@shared_task(name="chain.poll_chain", **TASK_OPTIONS)
def poll_chain():
    result = watcher.poll()
    return {"claimed": result.claimed, "new_blocks": result.new_blocks,
            "summary": result.summary}


@shared_task(name="chain.track_transaction", **TASK_OPTIONS)
def track_transaction_task(watched_tx_id):
    wtx = watcher.track(int(watched_tx_id))
    return wtx.state if wtx is not None else None


@shared_task(name="chain.watch_on_node", **TASK_OPTIONS)
def watch_on_node_task(watched_address_id):
    """Register a newly watched address with the node's watch-only wallet. If this is lost,
    adapter.address_utxos() imports the address itself on first use (a longer rescan)."""
    return watcher.register_address(int(watched_address_id))


@shared_task(name="chain.sweep_due", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=60, time_limit=90)
def sweep_due():
    """Beat re-driver: queue every watched transaction that is due. The task itself claims,
    so queueing something twice does the work once."""
    txs = watcher.due_transactions()
    for wtx_id in txs:
        track_transaction_task.delay(wtx_id)
    return {"transactions": len(txs)}

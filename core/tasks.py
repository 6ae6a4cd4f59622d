"""Queueing follow-up work, the one way every app does it.

A task is named, not imported, so a lower layer can queue work without importing the app
that defines it. If the broker is down the call is logged and dropped: every piece of
queued work has a `next_check_at` (or an equivalent) that a periodic sweeper re-drives,
so nothing is lost, only late."""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app, shared_task

from .audit import run_verification

log = logging.getLogger(__name__)


def enqueue(task_name: str, *args: Any) -> bool:
    """Queue task_name(*args); False (and a warning) when it could not be queued."""
    task = current_app.tasks.get(task_name)
    if task is None:
        # A web process has not imported the apps' tasks modules yet: autodiscover them.
        current_app.loader.import_default_modules()
        task = current_app.tasks.get(task_name)
    if task is None:
        log.error("no task named %s is registered", task_name)
        return False
    try:
        task.delay(*args)
    except Exception:  # noqa: BLE001 - any broker failure: the sweeper re-drives it
        log.warning("could not queue %s%s; the sweeper will", task_name, args)
        return False
    return True


@shared_task(name="core.verify_audit_chain", acks_late=True, reject_on_worker_lost=True,
             time_limit=3600, soft_time_limit=3300)
def verify_audit_chain_task(full=False):
    """Verify the audit chain (incrementally unless full) and store the result; safe to run
    twice, and safe to lose: the next beat runs it again."""
    run_verification(full=bool(full))

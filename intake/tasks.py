"""Celery edges of intake: take ids, do the network I/O outside row locks (intake.verification),
safe to run twice and safe to lose (the sweeper re-drives whatever is due)."""

from __future__ import annotations

from celery import shared_task

from chain.tasks import TASK_OPTIONS

from . import verification


@shared_task(name="intake.verify_asset", **TASK_OPTIONS)
def verify_asset_task(asset_id: int) -> str | None:
    return verification.verify_asset(int(asset_id))


@shared_task(name="intake.sweep_due_assets", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=60, time_limit=90)
def sweep_due_assets() -> dict[str, int]:
    """Beat re-driver: queue every asset check that is due; the task claims, so queueing
    one twice checks it once."""
    due = verification.assets_due()
    for asset_id in due:
        verify_asset_task.delay(asset_id)
    return {"assets": len(due)}

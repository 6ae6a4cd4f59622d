"""Celery edges of intake: take ids, do the network I/O outside row locks (intake.verification),
safe to run twice and safe to lose (the sweeper re-drives whatever is due)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from chain.tasks import TASK_OPTIONS

from . import notify, verification
from .services import alerts as alert_services

# A claimed delivery is not taken again for this long (a worker that died mid-send).
DELIVERY_LEASE_SECONDS = 120


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


# --- alerts reach people -----------------------------------------------------------------------
@shared_task(name="intake.deliver_alert", bind=True, acks_late=True,
             reject_on_worker_lost=True, soft_time_limit=60, time_limit=90, max_retries=None)
def deliver_alert_task(self: Any, delivery_id: int) -> str:
    """Send one delivery. The claim (a lease on next_attempt_at) makes a second copy of this
    task a no-op; a failed attempt is counted and retried after its backoff (and the beat
    re-driver finds it then if this retry is lost)."""
    delivery = alert_services.delivery_claim(int(delivery_id),
                                             lease_seconds=DELIVERY_LEASE_SECONDS)
    if delivery is None:
        return "not due"
    try:
        notify.send(delivery)
    except notify.DeliveryError as exc:
        wait = alert_services.delivery_failed(delivery_id=delivery.pk, error=str(exc))
        if wait is None:
            return "failed"
        raise self.retry(countdown=wait) from exc
    alert_services.delivery_sent(delivery_id=delivery.pk)
    return "sent"


@shared_task(name="intake.alerts_due", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=60, time_limit=90)
def alerts_due() -> dict[str, int]:
    """Beat: escalate each open alert nobody acknowledged in time (one transaction each, safe
    to run twice), then queue every delivery that is due (lost or waiting for a retry)."""
    escalated = sum(alert_services.alert_escalate(alert_id=pk)
                    for pk in alert_services.alerts_due_for_escalation())
    due = alert_services.deliveries_due()
    for pk in due:
        deliver_alert_task.delay(pk)
    return {"escalated": escalated, "deliveries": len(due)}

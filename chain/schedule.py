"""The beat entries of the chain watchers, for settings.CELERY_BEAT_SCHEDULE."""

from django.conf import settings


def chain_beat_schedule():
    poll_seconds = getattr(settings, "CHAIN_POLL_SECONDS", 5)
    sweep_seconds = getattr(settings, "CHAIN_SWEEP_SECONDS", 15)
    return {
        "chain-poll": {"task": "chain.poll_chain", "schedule": float(poll_seconds),
                       "options": {"expires": float(poll_seconds) * 2}},
        "chain-sweep-due": {"task": "chain.sweep_due", "schedule": float(sweep_seconds),
                            "options": {"expires": float(sweep_seconds) * 2}},
    }

"""The beat schedule, run in-process: the embedded default's scheduler (no broker, no beat).

Production runs `celery -A config beat` and workers instead; this command reads the same
settings.CELERY_BEAT_SCHEDULE and runs each task locally at its interval."""

import logging
import time
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the periodic watchers in this process (development / embedded default)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every entry once, exit.")

    def handle(self, *args, once=False, **options):
        import config.celery  # noqa: F401 - registers the tasks

        current_app.loader.import_default_modules()
        schedule: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
        next_run = dict.fromkeys(schedule, 0.0)
        self.stdout.write(f"run_watchers: {', '.join(schedule)} (in-process)")
        while True:
            now = time.monotonic()
            for name, entry in schedule.items():
                if now < next_run[name]:
                    continue
                next_run[name] = now + float(entry["schedule"])
                task = current_app.tasks.get(entry["task"])
                if task is None:
                    log.warning("run_watchers: no task %s", entry["task"])
                    continue
                result = task.apply()
                if result.failed():
                    log.warning("run_watchers: %s failed (%s); it runs again next round",
                                name, result.result)
            if once:
                return
            time.sleep(0.5)

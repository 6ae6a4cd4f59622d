"""The beat schedule, run in-process: the embedded default's scheduler (no broker, no beat).

Production runs `celery -A config beat` and workers instead; this command reads the same
settings.CELERY_BEAT_SCHEDULE and runs each task locally at its interval. With --once it runs
every entry once and exits non-zero if any of them failed, so a script or a health probe can
tell "all is well" from "nothing worked"."""

import logging
import time
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the periodic watchers in this process (development / embedded default)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true",
                            help="Run every entry once, exit (non-zero if any failed).")

    def handle(self, *args, once=False, **options):
        import config.celery  # noqa: F401 - registers the tasks

        current_app.loader.import_default_modules()
        schedule: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
        next_run = dict.fromkeys(schedule, 0.0)
        self.stdout.write(f"run_watchers: {', '.join(schedule)} (in-process)")
        while True:
            failed = self._run_due(schedule, next_run)
            if once:
                if failed:
                    raise CommandError(
                        f"{len(failed)} of {len(schedule)} watcher tasks failed: "
                        + "; ".join(f"{name} ({error})" for name, error in failed))
                return
            time.sleep(0.5)

    def _run_due(self, schedule, next_run):
        """Run the entries that are due; returns [(name, error)] of those that failed."""
        failed = []
        now = time.monotonic()
        for name, entry in schedule.items():
            if now < next_run[name]:
                continue
            next_run[name] = now + float(entry["schedule"])
            task = current_app.tasks.get(entry["task"])
            if task is None:
                log.warning("run_watchers: no task %s", entry["task"])
                failed.append((name, f"no task {entry['task']}"))
                continue
            # In-process the schedule is the retry: starting at the task's last retry keeps
            # autoretry from re-running it on the spot (eagerly, without its backoff) while
            # the node is down.
            result = task.apply(retries=task.max_retries or 0)
            if result.failed():
                error = f"{type(result.result).__name__}: {result.result}"
                log.warning("run_watchers: %s failed (%s); it runs again next round",
                            name, error)
                failed.append((name, error))
        return failed

"""Run calls at the same moment, each thread on its own database connection."""

import threading

from django.db import connections


def run_at_once(*functions):
    """[("ok", result) | ("error", exception)] in the order given; the threads wait at a
    barrier so the calls really race."""
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def worker(i, func):
        try:
            barrier.wait(timeout=10)
            results[i] = ("ok", func())
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results[i] = ("error", exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results

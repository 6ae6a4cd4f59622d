"""The test settings: tasks only enqueue unless a test opts in, and nothing waits for a broker."""

import threading

from celery.result import EagerResult
from django.conf import settings

from config.celery import app

CALLS = []


@app.task(name="tests.project.record_call")
def record_call(value):
    CALLS.append(value)


def delay_in_thread(task, *args, timeout=10):
    """task.delay(*args), failing the test if it does not return within `timeout` seconds."""
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", task.delay(*args)),
                              daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"{task.name}.delay() still waiting after {timeout}s"
    return box["result"]


def test_tasks_are_not_eager_by_default_and_delay_only_enqueues():
    assert settings.CELERY_TASK_ALWAYS_EAGER is False
    assert app.conf.task_always_eager is False
    assert app.conf.broker_url == "memory://"
    CALLS.clear()
    result = delay_in_thread(record_call, "queued")
    assert not isinstance(result, EagerResult)
    assert CALLS == []


def test_a_real_task_is_queued_not_run():
    from custody.tasks import broadcast_transfer_task

    # Run in-process this would look up a transfer that does not exist and fail.
    result = delay_in_thread(broadcast_transfer_task, 999_999)
    assert not isinstance(result, EagerResult)


def test_run_tasks_in_process_runs_them_at_once(run_tasks_in_process):
    assert app.conf.task_always_eager is True
    CALLS.clear()
    result = delay_in_thread(record_call, "ran")
    assert isinstance(result, EagerResult) and result.successful()
    assert CALLS == ["ran"]


def test_passwords_hash_fast_and_media_stays_out_of_the_checkout():
    assert settings.PASSWORD_HASHERS[0].endswith("MD5PasswordHasher")
    assert settings.MEDIA_ROOT.is_dir()
    assert not settings.MEDIA_ROOT.resolve().is_relative_to(settings.BASE_DIR.resolve())

"""Settings for the test suite (pyproject.toml's DJANGO_SETTINGS_MODULE): the base settings
with what tests need.

Celery: a task never runs in the test process by ambient default. `.delay()` puts it on the
in-memory broker, where nothing consumes it and nothing waits. A test that needs a task's
effect says so: the `run_tasks_in_process` fixture (tests/fixtures/celery.py) for in-process
scenarios, or a real worker (tests/fixtures/worker.py) when it is meant to prove the worker
path."""

import atexit
import shutil
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import env

# Password hashing is not under test; the default hasher would cost every user created.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _test_media_root():
    """One temporary directory per test run, removed at exit; a worker the tests start is
    handed the same directory in QAZYNA_TEST_MEDIA_ROOT (its owner removes it)."""
    given = env.str("QAZYNA_TEST_MEDIA_ROOT", default="")
    if given:
        return Path(given)
    path = Path(tempfile.mkdtemp(prefix="qazyna-test-media-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


MEDIA_ROOT = _test_media_root()

# Not the environment's broker (REDIS_URL would make base pick Redis): an in-memory one, and
# never eager. The worker fixtures point the Celery app at their own Redis database.
CELERY_BROKER_URL = "memory://"
CELERY_TASK_ALWAYS_EAGER = False

# Rate limits are tested on their own (tests/core/test_api_auth.py sets low rates); the rest
# of the suite makes many requests a second as one person.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {  # noqa: F405
    scope: "100000/min" for scope in ("writes", "login", "export", "verify")}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

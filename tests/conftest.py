import os

import pytest
from django.db import connection

from tests.support.services import require_postgresql

# Celery takes these from the environment before any setting: this process uses the test
# settings' in-memory broker (the worker fixtures point it at their own Redis database).
for _name in ("CELERY_BROKER_URL", "CELERY_BROKER_READ_URL", "CELERY_BROKER_WRITE_URL"):
    os.environ.pop(_name, None)

pytest_plugins = [
    "tests.fixtures.people",
    "tests.fixtures.chain",
    "tests.fixtures.bitcoind",
    "tests.fixtures.worker",
    "tests.fixtures.celery",
    "tests.fixtures.reserve",
]


@pytest.fixture
def postgresql(db):
    """Tests of locking and triggers mean nothing on SQLite: they need PostgreSQL."""
    require_postgresql(connection, why="locks and triggers mean nothing on SQLite")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit and second-factor failure counts are keyed by ids the database reuses
    between tests: each test starts with an empty cache."""
    from django.core.cache import cache

    cache.clear()

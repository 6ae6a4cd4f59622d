"""The one rule for a service a test needs (PostgreSQL, Redis) that is not there: in CI
(CI=true) the test fails, so a green CI run never hides untested paths; on a developer's
machine it is skipped with the reason and how to provide the service."""

import os
from typing import NoReturn

import pytest


def in_ci():
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def require_service(name, reason) -> NoReturn:
    """Stop the current test because the service `name` is missing: pytest.fail under CI,
    pytest.skip otherwise. `reason` says what was tried and how to provide it."""
    message = f"{name} is not available: {reason}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: a missing service fails the run)", pytrace=False)
    pytest.skip(message)


def require_postgresql(connection, *, why="this test needs PostgreSQL"):
    """`connection` (django.db.connection) must be a reachable PostgreSQL database."""
    if connection.vendor != "postgresql":
        require_service("PostgreSQL", f"{why}; the test database is {connection.vendor}: "
                        "run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/qazyna")
    try:
        connection.ensure_connection()
    except Exception as exc:  # noqa: BLE001 - any connection failure means "not reachable"
        require_service("PostgreSQL", f"{why}; not reachable ({exc})")


def require_redis(url, *, why="this test needs Redis"):
    """A client of the Redis at `url`, which answered a ping."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any connection failure means "not reachable"
        require_service("Redis", f"{why}; not reachable at {url} ({exc}): set REDIS_URL")
    return client

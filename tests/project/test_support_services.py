"""A missing service fails the test under CI=true and skips it, with the reason, elsewhere."""

import socket
from types import SimpleNamespace

import pytest

from tests.support.services import require_postgresql, require_redis, require_service

CI_VALUES = ["true", "TRUE", "1"]
NOT_CI_VALUES = [None, "", "false", "0"]


def set_ci(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)


@pytest.mark.parametrize("value", CI_VALUES)
def test_a_missing_service_fails_in_ci(monkeypatch, value):
    set_ci(monkeypatch, value)
    with pytest.raises(pytest.fail.Exception) as failed:
        require_service("Redis", "not reachable at redis://nowhere")
    assert "Redis is not available: not reachable at redis://nowhere" in str(failed.value)
    assert "CI=true" in str(failed.value)


@pytest.mark.parametrize("value", NOT_CI_VALUES)
def test_a_missing_service_skips_outside_ci(monkeypatch, value):
    set_ci(monkeypatch, value)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_service("PostgreSQL", "the test database is sqlite")
    assert str(skipped.value) == "PostgreSQL is not available: the test database is sqlite"


@pytest.mark.parametrize(("value", "outcome"), [("true", pytest.fail.Exception),
                                                (None, pytest.skip.Exception)])
def test_sqlite_is_not_postgresql(monkeypatch, value, outcome):
    set_ci(monkeypatch, value)
    sqlite = SimpleNamespace(vendor="sqlite",
                             ensure_connection=lambda: pytest.fail("must not connect"))
    with pytest.raises(outcome, match="PostgreSQL is not available"):
        require_postgresql(sqlite)


@pytest.mark.parametrize(("value", "outcome"), [("true", pytest.fail.Exception),
                                                (None, pytest.skip.Exception)])
def test_an_unreachable_postgresql_is_missing(monkeypatch, value, outcome):
    set_ci(monkeypatch, value)

    def refuse():
        raise OSError("connection refused")

    down = SimpleNamespace(vendor="postgresql", ensure_connection=refuse)
    with pytest.raises(outcome, match="not reachable .connection refused"):
        require_postgresql(down)


@pytest.mark.parametrize(("value", "outcome"), [("true", pytest.fail.Exception),
                                                (None, pytest.skip.Exception)])
def test_an_unreachable_redis_is_missing(monkeypatch, value, outcome):
    set_ci(monkeypatch, value)
    with socket.socket() as s:  # a port nobody listens on once this socket is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(outcome, match=f"Redis is not available: .*127.0.0.1:{port}"):
        require_redis(f"redis://127.0.0.1:{port}/0")

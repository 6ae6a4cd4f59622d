import pytest
from django.db import connection

from tests.support.services import require_postgresql

pytest_plugins = [
    "tests.fixtures.people",
    "tests.fixtures.chain",
    "tests.fixtures.worker",
]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def postgresql(db):
    """Tests of locking and triggers mean nothing on SQLite: they need PostgreSQL."""
    require_postgresql(connection, why="locks and triggers mean nothing on SQLite")

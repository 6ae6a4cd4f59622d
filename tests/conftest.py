import pytest
from django.db import connection

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
    if connection.vendor != "postgresql":
        pytest.fail("This test needs PostgreSQL: set DATABASE_URL=postgres://… (the README's "
                    "test command does).")

import pytest

pytest_plugins = [
    "tests.fixtures.people",
    "tests.fixtures.chain",
    "tests.fixtures.worker",
]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

"""Helpers shared by the tests (plain functions and classes, no pytest fixtures).

Layout of tests/: helpers here; fixtures in tests/fixtures/ (loaded by tests/conftest.py) and
in an app's conftest.py; tests in tests/<app>/test_<layer>_<unit>.py."""

"""A tool a test needs (gettext, Chromium) that is not installed: in CI (CI=true) the test
fails, so a green CI run never hides an untested path; on a developer's machine it is
skipped, saying what to install. (The same rule as the suite's missing services.)"""

import os
import shutil

import pytest


def in_ci():
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def missing(name, how):
    message = f"{name} is not available: {how}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: a missing tool fails the run)", pytrace=False)
    pytest.skip(message)


def require_tool(command, how):
    """The path of command on PATH, or stop the test (fail in CI, skip elsewhere)."""
    path = shutil.which(command)
    if path is None:
        missing(command, how)
    return path

"""Dotted paths that a lower layer calls without importing the app that defines them (the
chain's handlers, the pages' providers): resolved once, and checked at start-up so a typo
fails `manage.py check` instead of silently doing nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core import checks
from django.utils.module_loading import import_string

_resolved: dict[str, Callable[..., Any]] = {}


def resolve(path: str) -> Callable[..., Any]:
    func = _resolved.get(path)
    if func is None:
        func = import_string(path)
        _resolved[path] = func
    return func


def check_paths(paths: Iterable[str], *, what: str, check_id: str) -> list[checks.CheckMessage]:
    """An Error (check_id) for each path that cannot be imported."""
    errors: list[checks.CheckMessage] = []
    for path in paths:
        try:
            resolve(path)
        except ImportError as exc:
            errors.append(checks.Error(
                f"{what} {path!r} cannot be imported: {exc}",
                hint="Fix the dotted path registered in the app's AppConfig.ready().",
                id=check_id))
    return errors

"""A command's transaction, with the savepoint only where it is needed.

transaction.atomic() nested in another atomic block takes a savepoint (two more statements,
SAVEPOINT and RELEASE), so that an error inside can be rolled back while the outer block goes
on. A command whose every error leaves it needs none of that when the block around it is
another command's, which rolls back whole on any error: the idempotent API edge
(core.api.idempotency) around the service it calls (intake.services.case_file). Nested in
any other atomic block (a caller's own, a test's), all_or_nothing() still takes a savepoint,
so such a caller can catch the error and go on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction

# How many atomic blocks were open just inside the innermost all_or_nothing block.
_DEPTH: ContextVar[int | None] = ContextVar("all_or_nothing_depth", default=None)


@contextmanager
def all_or_nothing() -> Iterator[None]:
    """transaction.atomic(), without a savepoint when directly inside another all_or_nothing
    block (no other atomic block between them): that block's error handling is the same, the
    error leaves it and everything rolls back."""
    connection = transaction.get_connection()
    nested = _DEPTH.get() is not None and _DEPTH.get() == len(connection.atomic_blocks)
    with transaction.atomic(savepoint=not nested):
        token = _DEPTH.set(len(connection.atomic_blocks))
        try:
            yield
        finally:
            _DEPTH.reset(token)

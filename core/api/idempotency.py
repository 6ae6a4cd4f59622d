"""Idempotency-Key for every state-changing POST (DESIGN §7), uploads included.

The contract (README, "Idempotency-Key"):
- The key is claimed in the command's own transaction, before the command runs, so a second
  request with the same key sees it at once: while the first is in flight it gets 409
  `idempotency_in_flight`; once it has finished, the stored reply (`Idempotent-Replayed:
  true`), without running the command again. On PostgreSQL the claim is a transaction-level
  advisory lock on (user, key), tried without waiting, in the same statement that looks for
  a stored reply; on SQLite each write transaction holds the database's write lock from its
  start (IMMEDIATE, config.settings), so a second request finds the first one's reply.
- The reply is stored in the command's own transaction: the command and its stored reply
  commit together or not at all, so a connection lost between the two cannot make a retry
  run the command twice or answer differently. One transaction, one commit per command.
- The same key with a different request (method, path, body, uploaded files' SHA-256) is a
  422 `idempotency_key_reused`.
- A refused command (4xx) stores nothing and frees the key: it changed nothing, and a retry
  answers the same way. A reservation row that never completed (written by the earlier
  shape, which reserved in a transaction of its own) counts as in flight, and is taken over
  after IDEMPOTENCY_IN_FLIGHT_SECONDS.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.response import Response

from core.errors import Conflict, ErrorCode, Unprocessable, ValidationFailed
from core.models import IdempotencyRecord
from core.transactions import all_or_nothing

HEADER = "HTTP_IDEMPOTENCY_KEY"


def _request_hash(request: Any) -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    data = request.data
    if hasattr(data, "lists"):  # QueryDict (form/multipart)
        fields = sorted((k, v) for k, values in data.lists() for v in values
                        if isinstance(v, str))
        digest.update(json.dumps(fields).encode())
    else:
        digest.update(json.dumps(data, sort_keys=True, default=str).encode())
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            file_hash = hashlib.sha256()
            for chunk in upload.chunks():
                file_hash.update(chunk)
            upload.seek(0)
            digest.update(f"\n{name}:{file_hash.hexdigest()}".encode())
    return digest.hexdigest()


def _in_flight_seconds() -> int:
    return getattr(settings, "IDEMPOTENCY_IN_FLIGHT_SECONDS", 300)


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(record.response_body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def _lock_id(user_id: int, key: str) -> int:
    """The advisory lock's 64-bit id for (user, key)."""
    digest = hashlib.sha256(f"qazyna.idempotency:{user_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _claim(user_id: int, key: str) -> tuple[bool, int | None]:
    """(claimed, id of a stored record with this key) in one statement."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(IdempotencyRecord._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT pg_try_advisory_xact_lock(%s), (SELECT id FROM {table} "  # noqa: S608
                "WHERE user_id = %s AND key = %s)", [_lock_id(user_id, key), user_id, key])
            claimed, existing = cursor.fetchone()
        return claimed, existing
    existing = (IdempotencyRecord.objects.filter(user_id=user_id, key=key)
                .values_list("id", flat=True).first())
    return True, existing


def _in_flight() -> Conflict:
    return Conflict("A request with this Idempotency-Key is still in flight; retry shortly.",
                    code=ErrorCode.IDEMPOTENCY_IN_FLIGHT)


def _reserve(request: Any, key: str, digest: str) -> IdempotencyRecord | Response:
    """Inside the command's transaction: the record to store the reply in (not yet saved
    when the key is new), or the stored reply, or a refusal."""
    user = request.user
    claimed, existing_id = _claim(user.pk, key)
    if not claimed:
        raise _in_flight()
    if existing_id is None:
        return IdempotencyRecord(user=user, key=key, method=request.method,
                                 path=request.path[:512], request_hash=digest, status_code=0)
    existing = IdempotencyRecord.objects.get(pk=existing_id)
    if existing.request_hash != digest:
        raise Unprocessable("This Idempotency-Key was used for a different request.",
                            code=ErrorCode.IDEMPOTENCY_KEY_REUSED)
    if existing.completed_at is not None:
        return _replay(existing)
    stale = timezone.now() - timedelta(seconds=_in_flight_seconds())
    if existing.created_at < stale:  # its request died with its process: this one takes over
        return existing
    raise _in_flight()


def _store(record: IdempotencyRecord, response: Any) -> None:
    """The reply, in the command's transaction: one INSERT (one UPDATE for a taken-over
    reservation)."""
    record.status_code = response.status_code
    record.response_body = json.loads(json.dumps(response.data, default=str))
    record.completed_at = timezone.now()
    if record.pk is None:
        record.save(force_insert=True)
    else:
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            status_code=record.status_code, response_body=record.response_body,
            completed_at=record.completed_at)


def _free(reserved: Any) -> None:
    """After a refusal or an error (its transaction rolled back): a taken-over reservation
    row is deleted too, so the key is free. A new key left nothing behind."""
    if isinstance(reserved, IdempotencyRecord) and reserved.pk is not None:
        IdempotencyRecord.objects.filter(pk=reserved.pk, completed_at__isnull=True).delete()


def idempotent(view_method: Callable[..., Any]) -> Callable[..., Any]:
    if getattr(view_method, "is_idempotent", False):
        return view_method

    @functools.wraps(view_method)
    def wrapper(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        key = request.META.get(HEADER, "").strip()
        if not key or not request.user.is_authenticated:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 128 or "\x00" in key:
            raise ValidationFailed("An Idempotency-Key is at most 128 printable characters.",
                                   code=ErrorCode.INVALID)
        digest = _request_hash(request)
        reserved = None
        try:
            with all_or_nothing():  # the service's own block inside takes no savepoint
                reserved = _reserve(request, key, digest)
                if isinstance(reserved, Response):
                    return reserved
                response = view_method(self, request, *args, **kwargs)
                if response.status_code >= 300:
                    raise _NotStored(response)
                _store(reserved, response)
            return response
        except _NotStored as not_stored:
            _free(reserved)
            return not_stored.response
        except Exception:
            _free(reserved)
            raise

    wrapper.is_idempotent = True  # type: ignore[attr-defined]
    return wrapper


class _NotStored(Exception):
    """A reply that is not a success: its transaction rolls back, the key is freed."""

    def __init__(self, response: Any):
        super().__init__(response.status_code)
        self.response = response

"""Idempotency-Key for every state-changing POST (DESIGN §7), uploads included.

The contract (README, "Idempotency-Key"):
- The key is reserved before the command runs, in a transaction of its own, so a second
  request with the same key sees it at once: while the first is in flight it gets 409
  `idempotency_in_flight`; once it has finished, the stored reply (`Idempotent-Replayed:
  true`), without running the command again.
- The reply is stored in the command's own transaction: the command and its stored reply
  commit together or not at all, so a connection lost between the two cannot make a retry
  run the command twice or answer differently.
- The same key with a different request (method, path, body, uploaded files' SHA-256) is a
  422 `idempotency_key_reused`.
- A refused command (4xx) stores nothing and frees the key: it changed nothing, and a retry
  answers the same way. A reservation whose request died with its process is taken over after
  IDEMPOTENCY_IN_FLIGHT_SECONDS.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from core.errors import Conflict, ErrorCode, Unprocessable, ValidationFailed
from core.models import IdempotencyRecord

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


def _reserve(request: Any, key: str, digest: str) -> IdempotencyRecord | Response:
    """The reservation (a committed row) — or the stored reply, or a refusal."""
    user = request.user
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                user=user, key=key, method=request.method, path=request.path[:512],
                request_hash=digest, status_code=0, response_body=None)
    except IntegrityError:
        pass
    existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
    if existing is None:  # freed meanwhile by a refused first request: try once more
        return _reserve(request, key, digest)
    if existing.request_hash != digest:
        raise Unprocessable("This Idempotency-Key was used for a different request.",
                            code=ErrorCode.IDEMPOTENCY_KEY_REUSED)
    if existing.completed_at is not None:
        return _replay(existing)
    stale = timezone.now() - timedelta(seconds=_in_flight_seconds())
    taken = IdempotencyRecord.objects.filter(
        pk=existing.pk, completed_at__isnull=True, created_at__lt=stale,
    ).update(created_at=timezone.now())
    if taken == 1:  # its request died with its process: this one takes over
        return IdempotencyRecord.objects.get(pk=existing.pk)
    raise Conflict("A request with this Idempotency-Key is still in flight; retry shortly.",
                   code=ErrorCode.IDEMPOTENCY_IN_FLIGHT)


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
        reserved = _reserve(request, key, _request_hash(request))
        if isinstance(reserved, Response):
            return reserved
        try:
            with transaction.atomic():
                response = view_method(self, request, *args, **kwargs)
                if response.status_code >= 300:
                    raise _NotStored(response)
                IdempotencyRecord.objects.filter(pk=reserved.pk).update(
                    status_code=response.status_code,
                    response_body=json.loads(json.dumps(response.data, default=str)),
                    completed_at=timezone.now())
            return response
        except _NotStored as not_stored:
            reserved.delete()
            return not_stored.response
        except BaseException:
            IdempotencyRecord.objects.filter(pk=reserved.pk, completed_at__isnull=True).delete()
            raise

    wrapper.is_idempotent = True  # type: ignore[attr-defined]
    return wrapper


class _NotStored(Exception):
    """A reply that is not a success: its transaction rolls back, the key is freed."""

    def __init__(self, response: Any):
        super().__init__(response.status_code)
        self.response = response

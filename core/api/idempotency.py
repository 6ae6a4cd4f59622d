"""Idempotency-Key for POSTs that move state (DESIGN §7).

The first reply under a key is stored; the same key with the same request replays it,
the same key with a different request is a 409. Both happen without running the
command again.
"""

import functools
import hashlib
import json

from django.db import IntegrityError, transaction
from rest_framework.response import Response

from core.errors import Conflict, ErrorCode
from core.models import IdempotencyRecord

HEADER = "HTTP_IDEMPOTENCY_KEY"


def _request_hash(request):
    try:
        body = json.dumps(request.data, sort_keys=True, default=str)
    except Exception:  # noqa: BLE001 - multipart and friends: hash what is hashable
        body = repr(sorted(request.data.keys()))
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(view_method):
    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.META.get(HEADER, "").strip()
        if not key or not request.user.is_authenticated:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 128:
            raise Conflict("Idempotency-Key is longer than 128 characters.",
                           code=ErrorCode.INVALID)
        digest = _request_hash(request)
        existing = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
        if existing is not None:
            if existing.request_hash != digest:
                raise Conflict("This Idempotency-Key was used for a different request.",
                               code=ErrorCode.IDEMPOTENCY_KEY_REUSED)
            response = Response(existing.response_body, status=existing.status_code)
            response["Idempotent-Replayed"] = "true"
            return response
        response = view_method(self, request, *args, **kwargs)
        if response.status_code < 500:
            try:
                with transaction.atomic():
                    IdempotencyRecord.objects.create(
                        user=request.user, key=key, method=request.method, path=request.path,
                        request_hash=digest, status_code=response.status_code,
                        response_body=response.data,
                    )
            except IntegrityError:
                pass  # a concurrent duplicate stored it first; its reply stands
        return response

    return wrapper

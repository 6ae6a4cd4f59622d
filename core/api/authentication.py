"""How API clients prove who they are. Browsers: the session (with CSRF). Machine clients:
`Authorization: Bearer qz_…`, an expiring token from POST /api/auth/token/ (a password, and a
second-factor code for the roles that need one). No HTTP Basic: it sends the password on
every request and costs a password hash each time."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from core.audit import CoreAction, record_event
from core.models import ApiToken

PREFIX = "qz_"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_token(*, user: Any, name: str = "", second_factor: bool = False,
                hours: int | None = None) -> tuple[str, ApiToken]:
    """A new token for user: (the token, shown once; its row)."""
    key = PREFIX + secrets.token_urlsafe(32)
    lifetime = timedelta(hours=hours or settings.API_TOKEN_HOURS)
    with transaction.atomic():
        token = ApiToken.objects.create(key_hash=_digest(key), user=user, name=name[:100],
                                        second_factor=second_factor,
                                        expires_at=timezone.now() + lifetime)
        # A sign-in like any other (never the token itself: only its row's id).
        record_event(actor=user, action=CoreAction.TOKEN_ISSUED, obj=user,
                     after={"token": token.pk, "name": token.name,
                            "second_factor": second_factor,
                            "expires_at": token.expires_at.isoformat()})
    return key, token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization: Bearer <token>.")
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        token = (ApiToken.objects.select_related("user")
                 .filter(key_hash=_digest(key), revoked_at__isnull=True).first())
        now = timezone.now()
        if token is None or token.expires_at <= now or not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token is not valid or has expired.")
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """The token scheme in the OpenAPI schema (drf-spectacular)."""

    target_class = "core.api.authentication.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer",
                "description": "An expiring token from POST /api/auth/token/."}

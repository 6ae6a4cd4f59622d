"""Sessions of the people who decide end when they sit idle (DESIGN §1: legal officers, bank
officers and admins); everyone's session has a hard maximum (SESSION_COOKIE_AGE)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout

from .second_factor import needs_second_factor

KEY = "qazyna_last_seen"


class OfficerIdleTimeoutMiddleware:
    def __init__(self, get_response: Callable[[Any], Any]):
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session") \
                and needs_second_factor(user):
            now = int(time.time())
            last = request.session.get(KEY)
            if last is not None and now - int(last) > settings.OFFICER_IDLE_SECONDS:
                logout(request)
            else:
                request.session[KEY] = now
        return self.get_response(request)

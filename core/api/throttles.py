"""Rate limits (DRF throttles) on what an attacker with an account would hammer: logins,
writes, exports and the audit verification. Rates are settings (REST_FRAMEWORK
DEFAULT_THROTTLE_RATES); counts live in the cache (Redis in production)."""

from typing import Any

from rest_framework.throttling import UserRateThrottle


class WriteThrottle(UserRateThrottle):
    """Every state-changing request of one person (or one address, anonymous)."""

    scope = "writes"

    def allow_request(self, request: Any, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)

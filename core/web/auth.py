"""The gate every page goes through: a person, signed in, with their second factor.

`person_required` (a view decorator; `PersonRequiredMixin` for class-based views):

- not signed in → the sign-in page, then back here;
- a person who needs a second factor (legal officers, bank officers, admins:
  core.second_factor.needs_second_factor) and whose session is not verified yet → set it up
  (not enrolled yet) or enter a code (enrolled), then back here;
- `roles=`: a person holding none of them gets the 403 page;
- a DomainError the page lets through becomes the matching error page (404 for what this
  person may not see, 403, 409 for a stale command…) with its code, never a 500.

Clerks and auditors have no second factor: password sign-in lets them straight in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render, resolve_url
from django.utils.translation import gettext as _

from core import second_factor
from core.errors import DomainError
from core.roles import has_any_role

from .errors import describe


def second_factor_pending(user: Any) -> bool:
    """Signed in with a password only, by someone who must also give a code."""
    return second_factor.needs_second_factor(user) and not user.is_verified()


def _with_next(url_name: str, request: HttpRequest) -> HttpResponse:
    url = resolve_url(url_name)
    target = f"{url}?{urlencode({'next': request.get_full_path()})}"
    if request.headers.get("HX-Request"):
        # An htmx fragment must not swap a whole page in: send the browser there instead.
        response = HttpResponse(status=401)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


def gate(request: HttpRequest) -> HttpResponse | None:
    """Where this request must go first, or None when it may proceed."""
    user = request.user
    if not user.is_authenticated:
        return _with_next("web:sign-in", request)
    if second_factor_pending(user):
        if second_factor.is_enrolled(user):
            return _with_next("web:second-factor", request)
        return _with_next("web:second-factor-setup", request)
    return None


def error_page(request: HttpRequest, exc: DomainError) -> HttpResponse:
    status = exc.status if exc.status in (400, 403, 404, 409) else 400
    titles = {
        400: _("There is a problem with the request"),
        403: _("You cannot do this"),
        404: _("Page not found"),
        409: _("This can no longer be done"),
    }
    return render(request, "web/error.html", {
        "title": titles[status], "message": describe(exc), "code": exc.code.value,
    }, status=status)


def forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "web/error.html", {
        "title": _("You cannot do this"),
        "message": _("Your role does not give access to this page."), "code": "forbidden",
    }, status=403)


def person_required(view: Callable[..., HttpResponseBase] | None = None, *,
                    roles: Iterable[str] | None = None) -> Any:
    """Decorate a page: `@person_required` or `@person_required(roles={Role.CLERK})`."""
    wanted = frozenset(roles or ())

    def decorate(func: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @functools.wraps(func)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            stop = gate(request)
            if stop is not None:
                return stop
            if wanted and not has_any_role(request.user, wanted):
                return forbidden(request)
            try:
                return func(request, *args, **kwargs)
            except DomainError as exc:
                return error_page(request, exc)

        wrapper.person_required = True  # type: ignore[attr-defined]
        return wrapper

    if view is not None:
        return decorate(view)
    return decorate


class PersonRequiredMixin:
    """The same gate for class-based views; `person_roles` limits the page to roles."""

    person_roles: Iterable[str] = ()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        stop = gate(request)
        if stop is not None:
            return stop
        if self.person_roles and not has_any_role(request.user, self.person_roles):
            return forbidden(request)
        try:
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        except DomainError as exc:
            return error_page(request, exc)

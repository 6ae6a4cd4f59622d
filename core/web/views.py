"""The pages every person meets: sign-in, the second factor, the home page, errors."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core import second_factor
from core.errors import DomainError, ErrorCode, ValidationFailed

from . import registry
from .auth import person_required, second_factor_pending
from .forms import CodeForm, EnrolForm, SignInForm

BACKUP_CODES_SESSION_KEY = "qazyna_backup_codes"


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return resolve_url("web:home")


def _url_with_next(url_name: str, target: str) -> str:
    return f"{resolve_url(url_name)}?{urlencode({'next': target})}"


# --- sign-in and sign-out ----------------------------------------------------------------
class SignInView(auth_views.LoginView):
    template_name = "web/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    """POST only (Django's LogoutView): a link or a prefetch cannot sign anyone out."""


# --- the second factor -----------------------------------------------------------------------
def _signed_in_only(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect(_url_with_next("web:sign-in", request.get_full_path()))
    return None


@require_http_methods(["GET", "POST"])
def second_factor_verify(request: HttpRequest) -> HttpResponse:
    """Enter a code (or a backup code) after the password."""
    stop = _signed_in_only(request)
    if stop is not None:
        return stop
    user = request.user
    if not second_factor_pending(user):
        return redirect(_next_url(request))
    if not second_factor.is_enrolled(user):
        return redirect(_url_with_next("web:second-factor-setup", _next_url(request)))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = second_factor.verify(user, form.cleaned_data["code"])
        if device is not None:
            django_otp.login(request, device)
            return redirect(_next_url(request))
        form.add_domain_error(ValidationFailed(
            "The code is wrong or was already used.", code=ErrorCode.SECOND_FACTOR_INVALID,
            field="code"))
    return render(request, "web/second_factor/verify.html",
                  {"form": form, "next": _next_url(request)})


def _base32_secret(device: Any) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


@require_http_methods(["GET", "POST"])
def second_factor_setup(request: HttpRequest) -> HttpResponse:
    """Add Qazyna to an authenticator app (QR code), confirm with a first code, see the
    backup codes once. Replacing a device already set up needs a verified session first."""
    stop = _signed_in_only(request)
    if stop is not None:
        return stop
    user: Any = request.user
    if second_factor.is_enrolled(user) and not user.is_verified():
        return redirect(_url_with_next("web:second-factor", _next_url(request)))
    device = second_factor.enrol_start(user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = second_factor.enrol_confirm(user, form.cleaned_data["code"])
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            device.refresh_from_db()
            django_otp.login(request, device)
            request.session[BACKUP_CODES_SESSION_KEY] = codes
            return redirect(_url_with_next("web:backup-codes", _next_url(request)))
    return render(request, "web/second_factor/setup.html", {
        "form": form, "next": _next_url(request),
        # segno draws the SVG here from the device's own URI: nothing from outside.
        "qr_svg": mark_safe(second_factor.qr_svg(device)),  # noqa: S308
        "provisioning_uri": second_factor.provisioning_uri(device),
        "secret": _base32_secret(device),
        "replacing": second_factor.is_enrolled(user),
    })


@person_required
def backup_codes(request: HttpRequest) -> HttpResponse:
    codes = request.session.pop(BACKUP_CODES_SESSION_KEY, None)
    if not codes:
        messages.info(request, _("Backup codes are shown only once, right after you set up "
                                 "your authenticator."))
        return redirect(_next_url(request))
    return render(request, "web/second_factor/backup_codes.html",
                  {"codes": codes, "next": _next_url(request)})


# --- home ------------------------------------------------------------------------------------
@person_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html", {
        "work": registry.work_for(request.user),
        "second_factor": second_factor.is_enrolled(request.user),
    })


# --- error pages for what no view answered ---------------------------------------------------
def _api_error(request: HttpRequest, code: str, detail: str, status: int) -> HttpResponse | None:
    """Under /api/ the error pages answer in the API's one error format, so a machine client
    never gets HTML (a path that matches no route, a 500 outside DRF)."""
    if not request.path.startswith("/api/"):
        return None
    return JsonResponse({"code": code, "detail": detail}, status=status)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    api = _api_error(request, "not_found", "No such resource.", 404)
    if api is not None:
        return api
    return render(request, "web/error.html", {
        "title": _("Page not found"), "code": "not_found",
        "message": _("Check the address, or go back to the home page."),
    }, status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    api = _api_error(request, "forbidden", "You do not have permission.", 403)
    if api is not None:
        return api
    return render(request, "web/error.html", {
        "title": _("You cannot do this"), "code": "forbidden",
        "message": _("Your role does not give access to this page."),
    }, status=403)


def locked_out(request: HttpRequest) -> HttpResponse:
    """django-axes' answer on the pages (core.api.exceptions.lockout_response): too many
    failed sign-ins for this account or address."""
    return render(request, "web/error.html", {
        "title": _("Signing in is locked for a while"), "code": ErrorCode.LOCKED_OUT.value,
        "message": _("There were too many failed sign-ins for this account or from this "
                     "address. Try again in %(minutes)s minutes. If this was not you, tell "
                     "an admin.") % {"minutes": round(settings.AXES_COOLOFF_TIME * 60)},
    }, status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    api = _api_error(request, "server_error", "Server error.", 500)
    if api is not None:
        return api
    return render(request, "web/error.html", {
        "title": _("Sorry, there is a problem with the service"), "code": "server_error",
        "message": _("Try again in a few minutes. If it happens again, tell IT what you were "
                     "doing and when."),
    }, status=500)

"""One error format for the whole API: {"code", "detail", ...}."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError, ErrorCode
from core.web.views import locked_out


def flatten_errors(detail, prefix=""):
    """DRF's nested ErrorDetail structure → [{field, code, detail}]."""
    out = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            field = key if key != "non_field_errors" else ""
            out += flatten_errors(value, f"{prefix}.{field}".strip(".") if prefix else field)
    elif isinstance(detail, list):
        for item in detail:
            out += flatten_errors(item, prefix)
    else:
        out.append({"field": prefix or None, "code": getattr(detail, "code", "invalid"),
                    "detail": str(detail)})
    return out


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response({"code": exc.code.value, "detail": exc.detail, **exc.extra},
                        status=exc.status)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf.ValidationError):
        errors = flatten_errors(exc.detail)
        first = errors[0] if errors else {"code": ErrorCode.INVALID.value, "detail": "Invalid."}
        code = first["code"] if first["code"] not in ("invalid", None) else ErrorCode.INVALID
        response.data = {
            "code": str(code),
            "detail": (f"{first['field']}: " if first.get("field") else "") + first["detail"],
            "errors": errors,
        }
    else:
        code = {
            drf.NotFound: ErrorCode.NOT_FOUND,
            drf.PermissionDenied: ErrorCode.FORBIDDEN,
        }.get(type(exc), getattr(exc, "default_code", "error"))
        response.data = {"code": str(code), "detail": str(getattr(exc, "detail", exc))}
    return response


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out account or address: the API's error envelope for
    API paths, the site's error page with the code for the others."""
    if request.path.startswith("/api/"):
        detail = _("Too many failed sign-ins: this account or address is locked for a while. "
                   "Ask an admin if this was not you.")
        return JsonResponse({"code": ErrorCode.LOCKED_OUT.value, "detail": detail},
                            status=403)
    return locked_out(request)

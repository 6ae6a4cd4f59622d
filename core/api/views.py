"""The API base view, and the thin edges of core: who am I, agencies, the audit record."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core import selectors
from core.api import serializers as s
from core.api.authentication import issue_token
from core.api.filters import validate_filters
from core.api.idempotency import idempotent
from core.api.pagination import paginate
from core.audit import verification_report
from core.bitcoin import refuse_private_keys
from core.errors import ErrorCode, PermissionRefused
from core.second_factor import needs_second_factor, step_up


# The base of every API view. (A comment, not a docstring: the schema shows a view's
# docstring, inherited, as the description of each of its operations.)
class QazynaApiView(APIView):
    # After authentication: the people who decide must have given their second factor
    # (a verified session, or a token issued against a code); then, before anything else,
    # refuse a private key in any field.
    second_factor_exempt = False

    def __init_subclass__(cls, **kwargs):
        # Every state-changing POST takes an Idempotency-Key (core.api.idempotency).
        super().__init_subclass__(**kwargs)
        if "post" in cls.__dict__:
            setattr(cls, "post", idempotent(cls.__dict__["post"]))  # noqa: B010

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not self.second_factor_exempt and not second_factor_given(request):
            raise PermissionRefused(
                "Your role signs in with a second factor: verify this session with a code "
                "(or use a token issued with one).", code=ErrorCode.SECOND_FACTOR_REQUIRED)
        if request.method in ("POST", "PUT", "PATCH"):
            data = request.data
            if hasattr(data, "dict"):  # QueryDict (form/multipart): only the text fields
                data = {k: v for k, v in data.items() if isinstance(v, str)}
            refuse_private_keys(data)


def step_up_from(request) -> str:
    """The decision's step-up code: the `otp` field of the request body. The service checks
    it (core.second_factor.require_step_up) after its own refusals."""
    data = request.data
    code = data.get("otp") if hasattr(data, "get") else None
    return code if isinstance(code, str) else ""


def second_factor_given(request) -> bool:
    user = request.user
    if not needs_second_factor(user):
        return True
    if getattr(request.auth, "second_factor_verified", False):
        return True
    is_verified = getattr(getattr(request._request, "user", None), "is_verified", None)
    return bool(is_verified and is_verified())


class MeApi(QazynaApiView):
    second_factor_exempt = True  # so a client can learn what it still has to do

    @extend_schema(responses=dict)
    def get(self, request):
        user = request.user
        return Response({"username": user.username, "roles": user.role_names,
                         "agency": user.agency.code if user.agency else None,
                         "second_factor": {"required": needs_second_factor(user),
                                           "given": second_factor_given(request)}})


class TokenObtainApi(QazynaApiView):
    """POST username, password (and otp, for the roles with a second factor): an expiring
    bearer token for a machine client, shown once."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_scope = "login"
    second_factor_exempt = True
    # django-axes answers a locked-out account or address before the view runs.
    extra_error_codes = {403: {ErrorCode.LOCKED_OUT.value}}

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=1024, trim_whitespace=False)
        otp = serializers.CharField(max_length=16, required=False, allow_blank=True)
        name = serializers.CharField(max_length=100, required=False, allow_blank=True)

    @extend_schema(request=InputSerializer, responses={201: dict})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        user = authenticate(request._request, username=values["username"],
                            password=values["password"])
        if user is None:
            raise PermissionRefused("Wrong username or password, or too many attempts.",
                                    code=ErrorCode.LOGIN_FAILED)
        verified = False
        if needs_second_factor(user):
            step_up(user, values.get("otp"))
            verified = True
        key, token = issue_token(user=user, name=values.get("name", ""),
                                 second_factor=verified)
        return Response({"token": key, "expires_at": token.expires_at,
                         "second_factor": verified}, status=201)


class AgencyListApi(QazynaApiView):
    @extend_schema(responses=s.AgencyOutputSerializer(many=True))
    def get(self, request):
        agencies = selectors.agency_list_for_user(user=request.user)
        return Response(s.AgencyOutputSerializer(agencies, many=True).data)


class AuditEventListApi(QazynaApiView):
    @extend_schema(responses=s.AuditEventOutputSerializer(many=True),
                   parameters=[s.AuditEventFilterSerializer])
    def get(self, request):
        if not selectors.can_read_audit(request.user):
            raise PermissionRefused("The audit record is for auditors and admins.")
        filters = validate_filters(request, s.AuditEventFilterSerializer)
        events = selectors.audit_events_for_user(user=request.user, filters=filters)
        return paginate(request=request, queryset=events,
                        serializer_class=s.AuditEventOutputSerializer, view=self)


class AuditVerifyApi(QazynaApiView):
    throttle_scope = "verify"

    @extend_schema(responses=dict)
    def get(self, request):
        if not selectors.can_read_audit(request.user):
            raise PermissionRefused("The audit record is for auditors and admins.")
        # The latest stored verification and its age: a web request never walks the chain
        # (the beat schedule verifies it; manage.py verify_audit_chain does on demand).
        return Response(verification_report())

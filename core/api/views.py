"""The API base view, and the thin edges of core: who am I, agencies, the audit record."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core import selectors
from core.api import serializers as s
from core.api.filters import validate_filters
from core.api.pagination import paginate
from core.audit import verify_chain
from core.bitcoin import refuse_private_keys
from core.errors import PermissionRefused


# The base of every API view. (A comment, not a docstring: the schema shows a view's
# docstring, inherited, as the description of each of its operations.)
class QazynaApiView(APIView):
    # Before anything else, refuse a private key in any field.

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method in ("POST", "PUT", "PATCH"):
            data = request.data
            if hasattr(data, "dict"):  # QueryDict (form/multipart): only the text fields
                data = {k: v for k, v in data.items() if isinstance(v, str)}
            refuse_private_keys(data)


class MeApi(QazynaApiView):
    @extend_schema(responses=dict)
    def get(self, request):
        user = request.user
        return Response({"username": user.username, "roles": user.role_names,
                         "agency": user.agency.code if user.agency else None})


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
    @extend_schema(responses=dict)
    def get(self, request):
        if not selectors.can_read_audit(request.user):
            raise PermissionRefused("The audit record is for auditors and admins.")
        result = verify_chain()
        return Response({"ok": result.ok, "checked": result.checked,
                         "broken_seq": result.broken_seq, "problem": result.problem})

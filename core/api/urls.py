from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core import selectors
from core.api.pagination import DefaultPagination
from core.api.views import QazynaApiView
from core.audit import verification_report
from core.errors import PermissionRefused
from core.models import Agency, AuditEvent


class AgencyOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")

    class Meta:
        model = Agency
        fields = ["id", "code", "name", "kind"]


class AuditEventOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["seq", "created_at", "actor_username", "action", "object_type", "object_id",
                  "before", "after", "reason", "prev_hash", "hash"]


class MeApi(QazynaApiView):
    @extend_schema(responses=dict)
    def get(self, request):
        user = request.user
        return Response({"username": user.username, "roles": user.role_names,
                         "agency": user.agency.code if user.agency else None})


class AgencyListApi(QazynaApiView):
    @extend_schema(responses=AgencyOutputSerializer(many=True))
    def get(self, request):
        agencies = selectors.agency_list_for_user(user=request.user)
        return Response(AgencyOutputSerializer(agencies, many=True).data)


class AuditEventListApi(QazynaApiView):
    @extend_schema(responses=AuditEventOutputSerializer(many=True))
    def get(self, request):
        if not selectors.can_read_audit(request.user):
            raise PermissionRefused("The audit record is for auditors and admins.")
        events = selectors.audit_events_for_user(user=request.user, filters=request.query_params)
        paginator = DefaultPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(AuditEventOutputSerializer(page, many=True).data)


class AuditVerifyApi(QazynaApiView):
    @extend_schema(responses=dict)
    def get(self, request):
        if not selectors.can_read_audit(request.user):
            raise PermissionRefused("The audit record is for auditors and admins.")
        # The latest stored verification and its age: a web request never walks the chain
        # (the beat schedule verifies it; manage.py verify_audit_chain does on demand).
        return Response(verification_report())


urlpatterns = [
    path("me/", MeApi.as_view(), name="me"),
    path("agencies/", AgencyListApi.as_view(), name="agency-list"),
    path("audit/events/", AuditEventListApi.as_view(), name="audit-event-list"),
    path("audit/verify/", AuditVerifyApi.as_view(), name="audit-verify"),
]

from django.urls import path

from . import views as v

urlpatterns = [
    path("me/", v.MeApi.as_view(), name="me"),
    path("agencies/", v.AgencyListApi.as_view(), name="agency-list"),
    path("audit/events/", v.AuditEventListApi.as_view(), name="audit-event-list"),
    path("audit/verify/", v.AuditVerifyApi.as_view(), name="audit-verify"),
]

from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from core.api.views import TokenObtainApi
from core.health import health_view

# Django admin only for verified sessions: admins sign in with their second factor.
admin.site.__class__ = OTPAdminSite

api_v1 = [
    path("", include("core.api.urls")),
    path("", include("intake.api.urls")),
    path("", include("custody.api.urls")),
]

urlpatterns = [
    # The web application people work in (server-rendered pages).
    path("", include("core.web.urls")),
    path("", include("intake.web.urls")),
    path("", include("custody.web.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/auth/token/", TokenObtainApi.as_view(), name="api-token"),
    path("api/auth/", include("rest_framework.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI and Redoc from Qazyna's own static files (drf-spectacular-sidecar).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema",
                                                    template_name="web/redoc.html"),
         name="api-redoc"),
    path("health/", health_view, name="health"),
]

handler403 = "core.web.views.permission_denied"
handler404 = "core.web.views.page_not_found"
handler500 = "core.web.views.server_error"

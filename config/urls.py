from django.conf import settings
from django.contrib import admin
from django.shortcuts import render
from django.urls import include, path
from django_otp.admin import OTPAdminSite
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.api.views import TokenObtainApi
from core.health import health_view


def home(request):
    return render(request, "home.html", {"devchain": settings.DEVCHAIN_ALLOWED})


# Django admin only for verified sessions: admins sign in with their second factor.
admin.site.__class__ = OTPAdminSite

api_v1 = [
    path("", include("core.api.urls")),
    path("", include("intake.api.urls")),
    path("", include("custody.api.urls")),
]

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("api/auth/token/", TokenObtainApi.as_view(), name="api-token"),
    path("api/auth/", include("rest_framework.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("health/", health_view, name="health"),
]

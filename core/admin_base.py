from django.contrib import admin, messages

from core.errors import DomainError


class ReadOnlyAdmin(admin.ModelAdmin):
    """Read-mostly: admins look; changes go through services (admin actions call them)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def run_service(modeladmin, request, func, **kwargs):
    """Call a service from the admin, turning domain refusals into admin messages."""
    try:
        return func(**kwargs)
    except DomainError as exc:
        modeladmin.message_user(request, f"{exc.code}: {exc.detail}", level=messages.ERROR)
        return None

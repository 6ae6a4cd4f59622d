from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .admin_base import ReadOnlyAdmin
from .models import Agency, AuditEvent, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "agency", "is_active", "is_staff"]
    list_filter = ["groups", "agency", "is_active", "is_staff"]
    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), ("Qazyna", {"fields": ["agency"]}))
    add_fieldsets = (*DjangoUserAdmin.add_fieldsets, ("Qazyna", {"fields": ["agency"]}))

    def has_delete_permission(self, request, obj=None):
        return False  # people are deactivated, never deleted: the audit record names them


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "created_at"]
    search_fields = ["code", "name"]
    list_filter = ["kind"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "created_at", "actor_username", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor_username", "action", "hash"]
    ordering = ["-seq"]

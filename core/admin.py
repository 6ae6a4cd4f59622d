from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .admin_base import ReadOnlyAdmin, run_service
from .errors import DomainError
from .models import Agency, AuditEvent, RoleGrant, User
from .roles import Role
from .second_factor import step_up
from .services import role_grant_approve, role_grant_reject, role_grant_request


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """People: name, contact, agency, active or not. Roles are not edited here (they change
    only by a RoleGrant a second admin approves), nor superuser status (only
    `manage.py createsuperuser` makes one), nor raw groups and permissions."""

    list_display = ["username", "email", "agency", "roles", "is_active", "is_staff"]
    list_filter = ["groups", "agency", "is_active", "is_staff"]
    fieldsets = (
        (None, {"fields": ["username", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "email", "agency", "is_active"]}),
        ("Roles (change them with a role grant)", {"fields": ["roles", "is_staff",
                                                              "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    )
    add_fieldsets = (
        (None, {"classes": ["wide"],
                "fields": ["username", "password1", "password2", "agency"]}),
    )
    readonly_fields = ["roles", "is_staff", "is_superuser", "last_login", "date_joined"]

    @admin.display(description="roles")
    def roles(self, obj):
        return ", ".join(obj.role_names) or "—"

    def has_delete_permission(self, request, obj=None):
        return False  # people are deactivated, never deleted: the audit record names them


class RoleGrantForm(forms.ModelForm):
    """Ask for a grant (add) or decide one (change), each with a fresh second-factor code."""

    role = forms.ChoiceField(choices=[(r.value, r.value) for r in Role])
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")],
                                 required=False)
    decision_reason = forms.CharField(required=False, widget=forms.Textarea,
                                      help_text="Needed to reject.")
    otp = forms.CharField(label="Code from your authenticator", max_length=16)

    class Meta:
        model = RoleGrant
        fields = ["user", "role", "action", "reason"]


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    form = RoleGrantForm
    list_display = ["user", "action", "role", "status", "requested_by", "decided_by",
                    "created_at"]
    list_filter = ["status", "role", "action"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "role", "action", "reason", "otp"]
        if obj.status == RoleGrant.Status.PENDING:
            return ["user", "role", "action", "reason", "requested_by", "decision",
                    "decision_reason", "otp"]
        return ["user", "role", "action", "reason", "status", "requested_by", "decided_by"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["user", "role", "action", "reason", "status", "requested_by", "decided_by"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            proof = step_up(request.user, data.get("otp"))
        except DomainError as exc:
            self.message_user(request, f"{exc.code}: {exc.detail}", level="ERROR")
            return
        if not change:
            grant = run_service(self, request, role_grant_request, actor=request.user,
                                user=data["user"], role=data["role"], action=data["action"],
                                reason=data["reason"], step_up=proof)
        elif data.get("decision") == "approve":
            grant = run_service(self, request, role_grant_approve, grant=obj,
                                actor=request.user, step_up=proof)
        elif data.get("decision") == "reject":
            grant = run_service(self, request, role_grant_reject, grant=obj,
                                actor=request.user, reason=data.get("decision_reason", ""))
        else:
            self.message_user(request, "Choose approve or reject.", level="ERROR")
            return
        if grant is not None:
            obj.pk = grant.pk

    def has_delete_permission(self, request, obj=None):
        return False


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

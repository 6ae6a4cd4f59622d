from django.contrib import admin

from core.admin_base import ReadOnlyAdmin

from .models import (
    CaseAlert,
    ConfiscationOrder,
    CustodyEntry,
    Evidence,
    SeizedAsset,
    SeizureCase,
    SweepTransaction,
)
from .selectors import case_queryset_for_user


class CaseScopedAdmin(ReadOnlyAdmin):
    """The admin sees what the selectors let this person see, like everywhere else."""

    case_path = "case"

    def get_queryset(self, request):
        cases = case_queryset_for_user(user=request.user)
        return super().get_queryset(request).filter(**{f"{self.case_path}__in": cases})


class AssetInline(admin.TabularInline):
    model = SeizedAsset
    extra = 0
    can_delete = False
    fields = ["asset", "network", "declared_amount", "custody_address", "verification_status"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SeizureCase)
class SeizureCaseAdmin(ReadOnlyAdmin):
    list_display = ["case_number", "agency", "status", "owner_name", "filed_by", "created_at"]
    list_filter = ["status", "agency"]
    search_fields = ["case_number", "owner_name", "warrant_number", "custody_address"]
    inlines = [AssetInline]

    def get_queryset(self, request):
        return case_queryset_for_user(user=request.user).select_related("agency", "filed_by")


@admin.register(SeizedAsset)
class SeizedAssetAdmin(CaseScopedAdmin):
    list_display = ["case", "asset", "network", "declared_amount", "verification_status"]
    list_filter = ["asset", "network", "verification_status"]
    search_fields = ["custody_address", "case__case_number"]


@admin.register(SweepTransaction)
class SweepTransactionAdmin(CaseScopedAdmin):
    case_path = "asset__case"
    list_display = ["txid", "asset", "recorded_by", "created_at"]
    search_fields = ["txid"]


@admin.register(Evidence)
class EvidenceAdmin(CaseScopedAdmin):
    list_display = ["original_name", "case", "content_type", "size", "sha256", "uploaded_at"]
    list_filter = ["content_type"]
    search_fields = ["sha256", "original_name", "case__case_number"]


@admin.register(CustodyEntry)
class CustodyEntryAdmin(CaseScopedAdmin):
    list_display = ["case", "item_kind", "holder", "held_from", "held_until", "seal_number"]
    list_filter = ["item_kind"]
    search_fields = ["seal_number", "holder", "case__case_number"]


@admin.register(ConfiscationOrder)
class ConfiscationOrderAdmin(CaseScopedAdmin):
    list_display = ["case", "court", "order_number", "order_date", "finality"]
    list_filter = ["finality"]
    search_fields = ["order_number", "court", "case__case_number"]


@admin.register(CaseAlert)
class CaseAlertAdmin(CaseScopedAdmin):
    list_display = ["kind", "case", "message", "created_at", "resolved_at"]
    list_filter = ["kind"]
    search_fields = ["message", "dedup_key"]

    def get_queryset(self, request):
        from .selectors import alert_list_for_user

        return alert_list_for_user(user=request.user)

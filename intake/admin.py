from django.contrib import admin

from core.admin_base import MultisigWalletAddForm, ReadOnlyAdmin, run_service
from core.models import Agency

from .models import (
    CaseAlert,
    ConfiscationOrder,
    CustodyWallet,
    Evidence,
    HandoverEntry,
    SeizedAsset,
    SeizureCase,
    SweepTransaction,
)
from .selectors import case_queryset_for_user
from .services import custody_wallet_register


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
    readonly_fields = ["asset", "network", "declared_amount", "custody_address",
                       "verification_status"]

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


@admin.register(HandoverEntry)
class HandoverEntryAdmin(CaseScopedAdmin):
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
    list_display = ["kind", "case", "message", "status", "escalation_level", "created_at",
                    "resolved_at"]
    list_filter = ["kind", "status"]
    search_fields = ["message", "dedup_key"]

    def get_queryset(self, request):
        from .selectors import alert_list_for_user

        return alert_list_for_user(user=request.user)


class CustodyWalletAddForm(MultisigWalletAddForm):
    class Meta:
        model = CustodyWallet
        fields = ["agency", "network", "label", "descriptor"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = Agency.objects.all()  # type: ignore[attr-defined]


@admin.register(CustodyWallet)
class CustodyWalletAdmin(admin.ModelAdmin):
    list_display = ["label", "agency", "network", "threshold", "key_count", "next_index",
                    "is_active"]
    list_filter = ["network", "is_active", "agency"]
    search_fields = ["label", "descriptor"]
    readonly_fields = ["descriptor", "threshold", "key_count", "next_index", "is_active",
                       "agency", "network"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = CustodyWalletAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["agency", "network", "label", "threshold_m", "xpubs", "descriptor"]
        return ["label", *self.readonly_fields]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        data = form.cleaned_data
        wallet = run_service(
            self, request, custody_wallet_register, actor=request.user, agency=data["agency"],
            network=data["network"], label=data["label"], threshold=data.get("threshold_m"),
            keys=data["keys"], descriptor=data.get("descriptor") or None)
        if wallet is not None:
            obj.pk = wallet.pk
            obj.public_id = wallet.public_id

    def has_delete_permission(self, request, obj=None):
        return False

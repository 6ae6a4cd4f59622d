from django.contrib import admin

from core.admin_base import MultisigWalletAddForm, ReadOnlyAdmin, run_service

from .models import (
    AssetHandover,
    Deposit,
    JournalEntry,
    LedgerLine,
    PriceRecord,
    QuorumPolicy,
    ReconciliationRun,
    ReleaseOrder,
    ReserveAddress,
    ReserveWallet,
    Transfer,
    TransferApproval,
    TransferInput,
)
from .services import (
    quorum_policy_approve,
    reserve_wallet_approve,
    reserve_wallet_register,
)


# --- reserve side: read-mostly; every action goes through a service ---------------------------
class ReserveWalletAddForm(MultisigWalletAddForm):
    class Meta:
        model = ReserveWallet
        fields = ["network", "label", "descriptor"]


@admin.register(ReserveWallet)
class ReserveWalletAdmin(admin.ModelAdmin):
    list_display = ["label", "network", "threshold", "key_count", "status", "entered_by",
                    "approved_by", "next_index"]
    list_filter = ["network", "status"]
    search_fields = ["label", "descriptor"]
    actions = ["approve"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ReserveWalletAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["network", "label", "threshold_m", "xpubs", "descriptor"]
        return ["label", "network", "descriptor", "threshold", "key_count", "next_index",
                "status", "entered_by", "approved_by", "approved_at"]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        wallet = run_service(
            self, request, reserve_wallet_register, actor=request.user,
            network=data["network"], label=data["label"], threshold=data.get("threshold_m"),
            keys=data["keys"], descriptor=data.get("descriptor") or None)
        if wallet is not None:
            obj.pk, obj.public_id = wallet.pk, wallet.public_id

    @admin.action(description="Approve (four eyes: not the person who entered it)")
    def approve(self, request, queryset):
        for wallet in queryset:
            run_service(self, request, reserve_wallet_approve, wallet=wallet, actor=request.user)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(QuorumPolicy)
class QuorumPolicyAdmin(ReadOnlyAdmin):
    list_display = ["wallet", "tiers", "status", "proposed_by", "approved_by", "created_at"]
    list_filter = ["status"]
    actions = ["approve"]

    @admin.action(description="Approve (not the proposer)")
    def approve(self, request, queryset):
        for policy in queryset:
            run_service(self, request, quorum_policy_approve, policy=policy, actor=request.user)

    def has_change_permission(self, request, obj=None):
        return obj is None  # the changelist and its actions, never an edit form


@admin.register(ReserveAddress)
class ReserveAddressAdmin(ReadOnlyAdmin):
    list_display = ["address", "wallet", "index", "created_at"]
    search_fields = ["address"]


class TransferInputInline(admin.TabularInline):
    model = TransferInput
    extra = 0
    can_delete = False
    readonly_fields = ["txid", "vout", "value_sats", "locked"]
    fields = ["txid", "vout", "value_sats", "locked"]

    def has_add_permission(self, request, obj=None):
        return False


class TransferApprovalInline(admin.TabularInline):
    model = TransferApproval
    extra = 0
    can_delete = False
    readonly_fields = ["approver", "payload_hash", "created_at"]
    fields = ["approver", "payload_hash", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "case", "kind", "status", "destination_address",
                    "amount_sats", "fee_sats", "txid", "created_at"]
    list_filter = ["kind", "status", "network"]
    search_fields = ["txid", "unsigned_txid", "case__case_number"]
    inlines = [TransferInputInline, TransferApprovalInline]


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    list_display = ["txid", "vout", "reserve_address", "amount_sats", "status", "source",
                    "confirmations"]
    list_filter = ["status", "source"]


class LedgerLineInline(admin.TabularInline):
    model = LedgerLine
    extra = 0
    can_delete = False
    readonly_fields = ["account", "amount_sats", "reserve_wallet", "case", "source"]
    fields = ["account", "amount_sats", "reserve_wallet", "case", "source"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "kind", "txid", "created_at"]
    list_filter = ["kind"]
    inlines = [LedgerLineInline]


@admin.register(PriceRecord)
class PriceRecordAdmin(ReadOnlyAdmin):
    list_display = ["asset", "kzt_per_unit", "source", "observed_at"]


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    list_display = ["wallet", "tip_height", "ledger_sats", "node_sats", "difference_sats",
                    "created_at"]


@admin.register(ReleaseOrder)
class ReleaseOrderAdmin(ReadOnlyAdmin):
    """Recorded and approved through the API's services (four eyes, step-up), never here."""

    list_display = ["case", "kind", "court", "order_number", "destination_address", "status",
                    "recorded_by", "approved_by"]
    list_filter = ["kind", "status"]
    search_fields = ["order_number", "destination_address", "case__case_number"]


@admin.register(AssetHandover)
class AssetHandoverAdmin(ReadOnlyAdmin):
    list_display = ["case", "asset", "kind", "recipient", "amount", "txid", "status",
                    "proposed_by", "approved_by"]
    list_filter = ["kind", "status"]
    search_fields = ["txid", "receipt_sha256", "case__case_number"]

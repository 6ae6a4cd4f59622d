from django import forms
from django.contrib import admin

from core.admin_base import ReadOnlyAdmin, run_service
from core.bitcoin import (
    NETWORK_NAMES,
    build_multisig_descriptor,
    parse_multisig_descriptor,
    refuse_private_keys,
)
from core.errors import DomainError
from core.models import Agency

from .models import (
    CustodyWallet,
    Deposit,
    JournalEntry,
    LedgerLine,
    PriceRecord,
    QuorumPolicy,
    ReconciliationRun,
    ReserveAddress,
    ReserveWallet,
    Transfer,
    TransferApproval,
    TransferInput,
)
from .services import (
    custody_wallet_register,
    quorum_policy_approve,
    reserve_wallet_approve,
    reserve_wallet_register,
)


class MultisigWalletAddForm(forms.ModelForm):
    """Add form of a watch-only multisig wallet (custody or reserve): M and xpubs, or a
    ready descriptor. Validated by the same functions the services use; any private key
    is refused."""

    threshold_m = forms.IntegerField(min_value=1, max_value=15, required=False, label="M")
    xpubs = forms.CharField(widget=forms.Textarea, required=False,
                            help_text="One extended public key per line, with key origin "
                                      "[fingerprint/48h/1h/0h/2h]tpub… — never a private key.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["descriptor"].required = False

    def clean(self):
        data = super().clean()
        try:
            refuse_private_keys({k: v for k, v in data.items() if isinstance(v, str)})
            if data.get("network") not in NETWORK_NAMES:
                raise forms.ValidationError("Unknown network.")
            keys = [line for line in (data.get("xpubs") or "").splitlines() if line.strip()]
            if data.get("descriptor"):
                parse_multisig_descriptor(data["descriptor"], data["network"])
            else:
                build_multisig_descriptor(threshold=data.get("threshold_m"), keys=keys,
                                          network=data["network"])
        except DomainError as exc:
            raise forms.ValidationError(f"{exc.code}: {exc.detail}") from None
        data["keys"] = keys
        return data


class CustodyWalletAddForm(MultisigWalletAddForm):
    class Meta:
        model = CustodyWallet
        fields = ["agency", "network", "label", "descriptor"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = Agency.objects.all()


@admin.register(CustodyWallet)
class CustodyWalletAdmin(admin.ModelAdmin):
    list_display = ["label", "agency", "network", "threshold", "key_count", "next_index",
                    "is_active"]
    list_filter = ["network", "is_active", "agency"]
    search_fields = ["label", "descriptor"]
    readonly_fields = ["descriptor", "threshold", "key_count", "next_index", "is_active",
                       "agency", "network"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = CustodyWalletAddForm
        return super().get_form(request, obj, **kwargs)

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

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ReserveWalletAddForm
        return super().get_form(request, obj, **kwargs)

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
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


class TransferApprovalInline(admin.TabularInline):
    model = TransferApproval
    extra = 0
    can_delete = False
    readonly_fields = ["approver", "payload_hash", "created_at"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "case", "status", "amount_sats", "fee_sats", "txid",
                    "created_at"]
    list_filter = ["status", "network"]
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
    fields = readonly_fields

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

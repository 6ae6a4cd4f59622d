from django import forms
from django.contrib import admin

from core.admin_base import run_service
from core.errors import DomainError
from core.models import Agency

from .bitcoin import (
    NETWORK_NAMES,
    build_multisig_descriptor,
    parse_multisig_descriptor,
    refuse_private_keys,
)
from .models import CustodyWallet
from .services import custody_wallet_register


class CustodyWalletAddForm(forms.ModelForm):
    threshold_m = forms.IntegerField(min_value=1, max_value=15, required=False, label="M")
    xpubs = forms.CharField(widget=forms.Textarea, required=False,
                            help_text="One extended public key per line, with key origin "
                                      "[fingerprint/48h/1h/0h/2h]tpub… — never a private key.")

    class Meta:
        model = CustodyWallet
        fields = ["agency", "network", "label", "descriptor"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["descriptor"].required = False
        self.fields["agency"].queryset = Agency.objects.all()

    def clean(self):
        data = super().clean()
        try:
            refuse_private_keys({k: v for k, v in data.items() if isinstance(v, str)})
        except DomainError as exc:
            raise forms.ValidationError(exc.detail, code=exc.code.value) from None
        if data.get("network") not in NETWORK_NAMES:
            raise forms.ValidationError("Unknown network.")
        keys = [line for line in (data.get("xpubs") or "").splitlines() if line.strip()]
        try:
            if data.get("descriptor"):
                parse_multisig_descriptor(data["descriptor"], data["network"])
            else:
                build_multisig_descriptor(threshold=data.get("threshold_m"), keys=keys,
                                          network=data["network"])
        except DomainError as exc:
            raise forms.ValidationError(f"{exc.code}: {exc.detail}") from None
        data["keys"] = keys
        return data


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

from django import forms
from django.contrib import admin, messages

from core.bitcoin import (
    NETWORK_NAMES,
    build_multisig_descriptor,
    parse_multisig_descriptor,
    refuse_private_keys,
)
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
        super().clean()
        data = self.cleaned_data
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

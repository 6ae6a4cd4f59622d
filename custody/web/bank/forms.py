"""The bank officers' forms. They read what people type into the values custody's services
take; the rules are the services' (a form that passes can still be refused, and the refusal
is shown beside its field with its code). Decision forms carry the step-up code
(StepUpFormMixin), handed to the service in the same request."""

from __future__ import annotations

import base64
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.utils.translation import gettext_lazy as _

from core.web.forms import GovForm, StepUpFormMixin, required

from ...models import AssetHandover, Deposit, FundSource, TransferStatus
from . import presenters

DATETIME_WIDGET = forms.DateTimeInput(format="%Y-%m-%dT%H:%M",
                                      attrs={"type": "datetime-local",
                                             "class": "input input--date"})
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class BankForm(GovForm):
    def non_field_entries(self) -> list[dict[str, str]]:
        """A service's refusal that names no field, with its code (shown above the button)."""
        return self.field_errors(NON_FIELD_ERRORS)


def _text(**attrs: Any) -> forms.TextInput:
    return forms.TextInput(attrs={"class": "input", **attrs})


def _ids(prefix: str) -> dict[str, str]:
    """Several forms on one page: ids of their own (id_<prefix>_<field>)."""
    return {"auto_id": f"id_{prefix}_%s"}


# --- transfers ---------------------------------------------------------------------------------
class ProposeTransferForm(BankForm):
    domain_fields = {"destination": "destination", "fee_rate_sat_vb": "fee_rate_sat_vb"}

    reserve_wallet = forms.ChoiceField(
        label=_("Reserve wallet"), widget=forms.Select(attrs={"class": "select"}),
        error_messages={**required(_("Choose the reserve wallet")),
                        "invalid_choice": _("Choose one of the reserve wallets listed")})
    destination = forms.CharField(
        label=_("Reserve address"), max_length=100, required=False,
        help_text=_("Leave empty: Qazyna derives a fresh address of the reserve wallet. Only "
                    "an unused address of that wallet is accepted."),
        widget=_text(spellcheck="false", autocomplete="off", **{"class": "input input--hash"}))
    fee_rate_sat_vb = forms.IntegerField(
        label=_("Fee rate (sat/vB)"), required=False, min_value=1,
        help_text=_("Leave empty to use the node's estimate."),
        error_messages={"invalid": _("Enter the fee rate as a whole number of sat/vB"),
                        "min_value": _("Enter the fee rate as a whole number of sat/vB")},
        widget=forms.NumberInput(attrs={"class": "input input--amount", "inputmode": "numeric"}))

    def __init__(self, *args: Any, wallets: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["reserve_wallet"])
        field.choices = [(str(w.public_id), f"{w.label} ({w.threshold}-of-{w.key_count}, "
                          f"{w.network})") for w in wallets]
        if len(field.choices) == 1:
            field.initial = field.choices[0][0]

    def clean_destination(self) -> str:
        return (self.cleaned_data.get("destination") or "").strip()


class ApproveTransferForm(StepUpFormMixin, BankForm):
    domain_fields = {"payload_hash": "payload_hash"}

    payload_hash = forms.RegexField(
        regex=r"^[0-9a-f]{64}$", widget=forms.HiddenInput,
        error_messages={**required(_("The page did not send the payload hash: reload it")),
                        "invalid": _("The page did not send the payload hash: reload it")})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(_ids("approve"))
        super().__init__(*args, **kwargs)


class CancelTransferForm(StepUpFormMixin, BankForm):
    reason = forms.CharField(
        label=_("Why is the transfer rejected?"), max_length=2000,
        help_text=_("The proposal is cancelled: its coins stay in custody and the case can "
                    "be proposed again."),
        error_messages=required(_("Enter why the transfer is rejected")),
        widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(_ids("cancel"))
        super().__init__(*args, **kwargs)


class SignedPsbtForm(StepUpFormMixin, BankForm):
    domain_fields = {"psbt": "psbt_file", "file": "psbt_file"}

    psbt_file = forms.FileField(
        label=_("Signed PSBT file"), required=False,
        help_text=_("The .psbt file the key holder's signing device wrote (binary or "
                    "base64)."),
        widget=forms.ClearableFileInput(attrs={"class": "file-upload", "accept": ".psbt,.txt"}))
    psbt_text = forms.CharField(
        label=_("Or paste the signed PSBT (base64)"), required=False, max_length=700_000,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "textarea mono"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(_ids("sign"))
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        upload = data.get("psbt_file")
        text = (data.get("psbt_text") or "").strip()
        if upload is not None:
            data["psbt"] = upload.read()
        elif text:
            data["psbt"] = text
        else:
            self.add_error("psbt_file", forms.ValidationError(
                _("Choose the signed PSBT file, or paste it"), code="required"))
        return data

    def keep_upload(self) -> None:
        """After an error, what was uploaded stays on the page (as base64 in the text box):
        nothing is lost, and the person does not pick the file again."""
        psbt = self.cleaned_data.get("psbt") if hasattr(self, "cleaned_data") else None
        if not psbt:
            return
        if isinstance(psbt, bytes):
            text = (base64.b64encode(psbt).decode() if psbt.startswith(b"psbt\xff")
                    else psbt.decode(errors="replace").strip())
        else:
            text = psbt
        data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict
        data["psbt_text"] = text
        self.data = data


class TransferFilterForm(BankForm):
    status = forms.ChoiceField(
        label=_("Status"), required=False,
        choices=[("", _("Any status")),
                 *[(s.value, presenters.TRANSFER_STATUS_LABELS[s]) for s in TransferStatus]],
        widget=forms.Select(attrs={"class": "select"}))
    case = forms.UUIDField(required=False, widget=forms.HiddenInput)
    awaiting_me = forms.BooleanField(label=_("Only those waiting for my approval"),
                                     required=False)

    def filters(self) -> dict[str, Any]:
        """The selector's filters (custody.selectors.transfer_list_for_user)."""
        if not self.is_valid():
            return {}
        found: dict[str, Any] = {}
        if self.cleaned_data.get("awaiting_me"):
            found["awaiting_me"] = True
        if self.cleaned_data.get("status"):
            found["status"] = [self.cleaned_data["status"]]
        if self.cleaned_data.get("case"):
            found["case"] = self.cleaned_data["case"]
        return found


# --- deposits ---------------------------------------------------------------------------------
class AttributeDepositForm(StepUpFormMixin, BankForm):
    source = forms.ChoiceField(
        label=_("Where did these coins come from?"), widget=forms.RadioSelect,
        choices=[(FundSource.STATE_MINING, presenters.FUND_SOURCE_LABELS[FundSource.STATE_MINING]),
                 (FundSource.OTHER, presenters.FUND_SOURCE_LABELS[FundSource.OTHER])],
        error_messages=required(_("Choose where the coins came from")))
    note = forms.CharField(
        label=_("Note for the record"), max_length=2000, required=False,
        help_text=_("For example the mining pool's payout reference."),
        widget=forms.Textarea(attrs={"rows": 3}))


class DepositDecisionForm(StepUpFormMixin, BankForm):
    """The second officer: approve (a code), or reject (a reason and a code)."""

    reason = forms.CharField(
        label=_("Reason, if you reject the attribution"), max_length=2000, required=False,
        widget=forms.Textarea(attrs={"rows": 2}))
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("reject", "reject")],
                                 widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        if data.get("decision") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", forms.ValidationError(
                _("Enter why the attribution is rejected"), code="required"))
        return data


DEPOSIT_FILTER_CHOICES = [("", _("Any status")),
                          *[(s.value, presenters.DEPOSIT_STATUS_LABELS[s])
                            for s in Deposit.Status]]


class DepositFilterForm(BankForm):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=DEPOSIT_FILTER_CHOICES,
                               widget=forms.Select(attrs={"class": "select"}))

    def filters(self) -> dict[str, Any]:
        if not self.is_valid() or not self.cleaned_data.get("status"):
            return {}
        return {"status": self.cleaned_data["status"]}


class StepUpOnlyForm(StepUpFormMixin, BankForm):
    """A decision that needs nothing but the fresh code."""


# --- prices ----------------------------------------------------------------------------------
class PriceForm(StepUpFormMixin, BankForm):
    domain_fields = {"kzt_per_unit": "kzt_per_unit", "source": "source",
                     "observed_at": "observed_at"}

    kzt_per_unit = forms.CharField(
        label=_("Price of 1 BTC in KZT"), max_length=30,
        help_text=_("With up to 2 decimal places, for example 45000000.00"),
        error_messages=required(_("Enter the price of 1 BTC in KZT")),
        widget=_text(inputmode="decimal", autocomplete="off", **{"class": "input input--amount"}))
    source = forms.CharField(
        label=_("Source of the price"), max_length=200,
        help_text=_("Where the price was read, for example the exchange and its fixing."),
        error_messages=required(_("Enter where the price comes from")), widget=_text())
    observed_at = forms.DateTimeField(
        label=_("Observed at"), input_formats=DATETIME_FORMATS, widget=DATETIME_WIDGET,
        error_messages={"required": _("Enter when the price was observed"),
                        "invalid": _("Enter a real date and time")})

    def clean_kzt_per_unit(self) -> Decimal:
        raw = (self.cleaned_data.get("kzt_per_unit") or "").strip()
        raw = raw.replace("\u00a0", "").replace(" ", "")
        if "," in raw and "." not in raw:
            raw = raw.replace(",", ".")  # a decimal comma, as typed in ru and kk
        try:
            value = Decimal(raw)
        except InvalidOperation:
            value = Decimal(-1)
        exponent = value.as_tuple().exponent
        if not value.is_finite() or not isinstance(exponent, int) or value <= 0 \
                or exponent < -2 or value >= Decimal(10) ** 18:
            raise forms.ValidationError(
                _("Enter a positive price in KZT with at most 2 decimal places"),
                code="invalid_amount")
        return value


# --- assets handed over without a transfer --------------------------------------------------------
class HandoverForm(StepUpFormMixin, BankForm):
    """What custody.services.handover_propose takes, as the API does: the receipt's SHA-256
    (an uploaded document of the case, or typed), the transaction id on the asset's chain."""

    domain_fields = {"receipt_sha256": "receipt_sha256", "txid": "txid",
                     "release_order": "release_order", "amount": "amount", "kind": "kind"}

    kind = forms.ChoiceField(
        label=_("Where did the asset go?"), widget=forms.RadioSelect,
        choices=[(AssetHandover.Kind.TO_CUSTODIAN, _("Handed to the fund's custodian")),
                 (AssetHandover.Kind.RELEASE, _("Released by an approved court order"))],
        initial=AssetHandover.Kind.TO_CUSTODIAN,
        error_messages={**required(_("Choose where the asset went")),
                        "invalid_choice": _("Choose where the asset went")})
    release_order = forms.ChoiceField(
        label=_("The approved release order"), required=False,
        widget=forms.Select(attrs={"class": "select"}),
        help_text=_("Only for a release: the court's order, approved by two legal officers."))
    recipient = forms.CharField(
        label=_("Received by"), max_length=200,
        help_text=_("The custodian, or the beneficiary the release order names."),
        error_messages=required(_("Enter who received the asset")), widget=_text())
    txid = forms.CharField(
        label=_("Transaction id on the asset's chain"), max_length=200,
        help_text=_("Or the custodian's reference when the asset has no chain."),
        error_messages=required(_("Enter the transaction id")),
        widget=_text(spellcheck="false", autocomplete="off", **{"class": "input input--hash"}))
    receipt = forms.ChoiceField(
        label=_("The receipt's document"), required=False, widget=forms.RadioSelect,
        help_text=_("A document already uploaded to the case."))
    receipt_sha256 = forms.CharField(
        label=_("Or the SHA-256 of the receipt"), required=False, max_length=64,
        help_text=_("64 hexadecimal characters."),
        widget=_text(spellcheck="false", autocomplete="off", **{"class": "input input--hash"}))
    amount = forms.IntegerField(
        label=_("Amount handed over, in the asset's smallest unit"), required=False,
        min_value=1, max_value=2**63 - 1,
        help_text=_("Leave empty for the declared amount."),
        error_messages={"invalid": _("Enter the amount as a whole number of the smallest unit"),
                        "min_value": _("Enter the amount as a whole number of the smallest "
                                       "unit"),
                        "max_value": _("Enter the amount as a whole number of the smallest "
                                       "unit")},
        widget=forms.NumberInput(attrs={"class": "input input--amount", "inputmode": "numeric"}))
    note = forms.CharField(label=_("Note for the record"), max_length=2000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, documents: Any = (), orders: Any = (),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["receipt"]).choices = [
            (d.sha256, f"{d.original_name} · SHA-256 {d.sha256}") for d in documents]
        cast(forms.ChoiceField, self.fields["release_order"]).choices = [
            ("", _("None: handed to the custodian")),
            *[(str(o.public_id), f"{o.court}, № {o.order_number} → {o.beneficiary}")
              for o in orders]]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        typed = (data.get("receipt_sha256") or "").strip().lower()
        data["receipt_sha256"] = data.get("receipt") or typed
        if not data["receipt_sha256"] and "receipt" not in self.errors:
            self.add_error("receipt", forms.ValidationError(
                _("Choose the receipt's document, or enter its SHA-256"), code="required"))
        data["txid"] = (data.get("txid") or "").strip()
        return data


class RejectHandoverForm(StepUpFormMixin, BankForm):
    reason = forms.CharField(
        label=_("Why is the handover rejected?"), max_length=2000,
        help_text=_("The asset stays held; a corrected handover can be recorded."),
        error_messages=required(_("Enter why the handover is rejected")),
        widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(_ids("reject"))
        super().__init__(*args, **kwargs)


class ApproveHandoverForm(StepUpFormMixin, BankForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(_ids("approve"))
        super().__init__(*args, **kwargs)

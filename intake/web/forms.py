"""The intake pages' forms. They read what people type (types, lengths, formats) and turn
it into the values the services take; the rules themselves are the services' (and
core.bitcoin's, which the services call too), so a form that passes can still be refused,
and that refusal is shown beside its field with its code."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from core.bitcoin import NETWORK_NAMES, parse_btc_amount, validate_address, validate_txid
from core.errors import DomainError, ErrorCode, ValidationFailed
from core.web.errors import as_validation_error
from core.web.forms import GovForm, StepUpFormMixin, required

from ..models import (
    AlertStatus,
    AssetKind,
    CaseAlert,
    CaseStatus,
    ConfiscationOrder,
    Evidence,
    HandoverEntry,
)

DATE_WIDGET = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date",
                                                       "class": "input input--date"})
DATETIME_WIDGET = forms.DateTimeInput(format="%Y-%m-%dT%H:%M",
                                      attrs={"type": "datetime-local",
                                             "class": "input input--date"})
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


def _text(**attrs: Any) -> forms.TextInput:
    return forms.TextInput(attrs={"class": "input", **attrs})


# --- filing ----------------------------------------------------------------------------------
class CaseDetailsForm(GovForm):
    case_number = forms.CharField(
        label=_("Case number"), max_length=64,
        help_text=_("Your agency's number for the criminal case, for example AFM-2026-0107. "
                    "Letters, digits and / - _ . only."),
        validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9/\-_.]{0,63}$",
                                   _("Use letters, digits and / - _ . only, starting with a "
                                     "letter or digit."), code="invalid")],
        error_messages=required(_("Enter the case number")),
        widget=_text(spellcheck="false", autocomplete="off"))
    warrant_number = forms.CharField(
        label=_("Warrant number"), max_length=64,
        error_messages=required(_("Enter the number of the warrant or court decision that "
                                  "allowed the seizure")),
        widget=_text(autocomplete="off"))
    warrant_date = forms.DateField(
        label=_("Date of the warrant"), widget=DATE_WIDGET,
        error_messages={"required": _("Enter the date of the warrant"),
                        "invalid": _("Enter the date of the warrant as a real date")})
    seizure_protocol_number = forms.CharField(
        label=_("Seizure protocol number"), max_length=64, required=False,
        widget=_text(autocomplete="off"))
    seizure_date = forms.DateField(
        label=_("Date of the seizure"), required=False, widget=DATE_WIDGET,
        error_messages={"invalid": _("Enter the date of the seizure as a real date")})
    owner_name = forms.CharField(
        label=_("Full name of the owner"), max_length=200,
        help_text=_("The person or company the assets were seized from."),
        error_messages=required(_("Enter the name of the person or company the assets were "
                                  "seized from")),
        widget=_text(autocomplete="off"))
    owner_identifier = forms.CharField(
        label=_("IIN, BIN or passport number"), max_length=64, required=False,
        widget=_text(autocomplete="off", spellcheck="false"))
    owner_details = forms.CharField(
        label=_("Other details of the owner"), max_length=5000, required=False,
        help_text=_("Address, representative, contact – what the legal review needs."),
        widget=forms.Textarea(attrs={"rows": 3}))
    description = forms.CharField(
        label=_("What was seized, and how"), max_length=20000, required=False,
        help_text=_("Devices, seed records, exchange accounts; where and how the coins were "
                    "swept. Never write a seed phrase or private key here."),
        widget=forms.Textarea(attrs={"rows": 5}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        warrant, seized = data.get("warrant_date"), data.get("seizure_date")
        if warrant and seized and seized < warrant:
            self.add_error("seizure_date", forms.ValidationError(
                _("The seizure cannot be before the warrant"), code="invalid_date"))
        return data


class AssetForm(GovForm):
    domain_fields = {"declared_amount": "amount", "network": "network"}

    asset = forms.ChoiceField(
        label=_("Asset"), choices=AssetKind.choices, initial=AssetKind.BTC,
        widget=forms.Select(attrs={"class": "select"}),
        error_messages=required(_("Choose the asset")))
    network = forms.CharField(
        label=_("Network"), max_length=32,
        help_text=_("For Bitcoin: mainnet, testnet, signet or regtest. For other assets: "
                    "their chain, for example tron."),
        error_messages=required(_("Enter the network")),
        widget=_text(spellcheck="false", autocomplete="off", list="bitcoin-networks"))
    amount = forms.CharField(
        label=_("Declared amount"), max_length=40,
        help_text=_("Bitcoin in BTC with up to 8 decimal places, for example 0.25. Other "
                    "assets in whole units of their smallest denomination."),
        error_messages=required(_("Enter the declared amount")),
        widget=_text(inputmode="decimal", autocomplete="off", spellcheck="false"))
    asset_label = forms.CharField(
        label=_("Name of the asset"), max_length=64, required=False,
        help_text=_("Only for “Other”: the token or coin, for example USDC."),
        widget=_text(autocomplete="off"))
    source_address = forms.CharField(
        label=_("Address the coins were seized from"), max_length=200, required=False,
        help_text=_("If known. Bitcoin addresses are checked as you type."),
        widget=_text(spellcheck="false", autocomplete="off"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["network"].initial = settings.BITCOIN_NETWORK
        self.fields["source_address"].widget.attrs.update({
            "hx-get": reverse_lazy("intake:check-address"),
            "hx-trigger": "input changed delay:300ms, blur",
            "hx-include": "#id_network, #id_asset",
            "hx-target": "#source-address-check",
            "hx-sync": "this:replace",
        })

    def clean_network(self) -> str:
        return self.cleaned_data["network"].strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        asset, network = data.get("asset"), data.get("network")
        if asset == AssetKind.BTC and network and network not in NETWORK_NAMES:
            self.add_error("network", forms.ValidationError(
                _("Bitcoin networks are mainnet, testnet, signet and regtest"),
                code=ErrorCode.WRONG_NETWORK.value))
            return data
        raw = (data.get("amount") or "").strip().replace("\u00a0", "").replace(" ", "")
        if asset and raw:
            try:
                data["declared_amount"] = self._amount(asset, raw)
            except DomainError as exc:
                self.add_error("amount", as_validation_error(exc))
        source = (data.get("source_address") or "").strip()
        data["source_address"] = source
        if asset == AssetKind.BTC and network and source:
            try:
                validate_address(source, network)
            except DomainError as exc:
                self.add_error("source_address", as_validation_error(exc))
        return data

    @staticmethod
    def _amount(asset: str, raw: str) -> int:
        if asset == AssetKind.BTC:
            if "," in raw and "." not in raw:
                raw = raw.replace(",", ".")  # a decimal comma, as typed in ru and kk
            return parse_btc_amount(raw)
        if not raw.isdigit() or int(raw) <= 0:
            raise ValidationFailed("A positive whole number of the smallest unit.",
                                   code=ErrorCode.INVALID_AMOUNT, field="declared_amount")
        return int(raw)


class SweepForm(GovForm):
    txid = forms.CharField(
        label=_("Transaction id of the sweep"), max_length=200,
        help_text=_("The transaction that moved the seized coins into the case's custody "
                    "address: 64 hexadecimal characters. Checked as you type."),
        error_messages=required(_("Enter the transaction id of the sweep")),
        widget=_text(spellcheck="false", autocomplete="off", **{"class": "input input--hash"}))

    def __init__(self, *args: Any, asset_id: Any = "", **kwargs: Any) -> None:
        # One form per asset on a page: ids of their own, and the live check beside each.
        kwargs.setdefault("auto_id", f"id_sweep_{asset_id}_%s")
        super().__init__(*args, **kwargs)
        self.asset_id = str(asset_id)
        self.fields["txid"].widget.attrs.update({
            "hx-get": reverse_lazy("intake:check-txid"),
            "hx-trigger": "input changed delay:300ms, blur",
            "hx-target": f"#txid-check-{asset_id}",
            "hx-sync": "this:replace",
        })

    def clean_txid(self) -> str:
        try:
            return validate_txid(self.cleaned_data["txid"].strip().lower())
        except DomainError as exc:
            raise as_validation_error(exc) from None


class EvidenceForm(GovForm):
    kind = forms.ChoiceField(
        label=_("What is the document?"), choices=Evidence.Kind.choices,
        help_text=_("The case can be submitted only with the warrant or the seizure protocol "
                    "among its documents."),
        widget=forms.RadioSelect, error_messages=required(_("Choose what the document is")))
    file = forms.FileField(
        label=_("Evidence file"),
        error_messages={"required": _("Choose a file to upload"),
                        "empty": _("The file is empty"),
                        "invalid": _("Choose a file to upload")},
        widget=forms.ClearableFileInput(attrs={"class": "file-upload",
                                               "data-sha256-target": "file-sha256"}))
    description = forms.CharField(
        label=_("What the file shows"), max_length=5000, required=False,
        widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "PDF, JPEG, PNG, plain text or JSON, up to %(size)s MB. Qazyna records the "
            "file's SHA-256 hash, so anyone can later prove it is unchanged."
        ) % {"size": settings.EVIDENCE_MAX_BYTES // (1024 * 1024)}


class HandoverForm(GovForm):
    item_kind = forms.ChoiceField(
        label=_("What is held"), choices=HandoverEntry.ItemKind.choices,
        widget=forms.RadioSelect, error_messages=required(_("Choose what is held")))
    item_description = forms.CharField(
        label=_("Description of the item"), max_length=500,
        help_text=_("Make, model, serial number, the envelope it is sealed in."),
        error_messages=required(_("Describe the item")), widget=_text())
    holder = forms.CharField(
        label=_("Who holds it"), max_length=200,
        help_text=_("A person, or the evidence room and its officer."),
        error_messages=required(_("Enter who holds the item")), widget=_text())
    held_from = forms.DateTimeField(
        label=_("Held from"), input_formats=DATETIME_FORMATS, widget=DATETIME_WIDGET,
        error_messages={"required": _("Enter when they started to hold it"),
                        "invalid": _("Enter a real date and time")})
    held_until = forms.DateTimeField(
        label=_("Held until"), required=False, input_formats=DATETIME_FORMATS,
        help_text=_("Leave empty while they still hold it."), widget=DATETIME_WIDGET,
        error_messages={"invalid": _("Enter a real date and time")})
    seal_number = forms.CharField(label=_("Seal number"), max_length=64, required=False,
                                  widget=_text(**{"class": "input input--20"}))
    witnesses = forms.CharField(label=_("Witnesses"), max_length=2000, required=False,
                                widget=forms.Textarea(attrs={"rows": 2}))
    notes = forms.CharField(label=_("Notes"), max_length=5000, required=False,
                            widget=forms.Textarea(attrs={"rows": 2}))


# --- lists -----------------------------------------------------------------------------------
class CaseFilterForm(GovForm):
    q = forms.CharField(
        label=_("Search"), max_length=200, required=False,
        help_text=_("Case number, owner, warrant number or custody address."),
        widget=forms.TextInput(attrs={"class": "input", "type": "search"}))
    status = forms.ChoiceField(
        label=_("Status"), required=False,
        choices=[("", _("Any status")), *CaseStatus.choices],
        widget=forms.Select(attrs={"class": "select"}))
    agency = forms.ChoiceField(
        label=_("Agency"), required=False, widget=forms.Select(attrs={"class": "select"}))

    def __init__(self, *args: Any, agencies: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        agency = cast(forms.ChoiceField, self.fields["agency"])
        agency.choices = [("", _("Any agency")), *[(a.code, a.name) for a in agencies]]
        if len(agency.choices) <= 2:
            del self.fields["agency"]

    def filters(self) -> dict[str, str]:
        """The selector's filters (intake.selectors.case_list_for_user)."""
        if not self.is_valid():
            return {}
        found = {k: v for k, v in self.cleaned_data.items() if v}
        if "status" in found:
            found["status"] = [found["status"]]
        return found


# --- legal decisions -------------------------------------------------------------------------
class OrderForm(StepUpFormMixin, GovForm):
    domain_fields = {"document_sha256": "document"}

    court = forms.CharField(label=_("Court"), max_length=200,
                            error_messages=required(_("Enter the court that made the order")),
                            widget=_text())
    order_number = forms.CharField(label=_("Order number"), max_length=64,
                                   error_messages=required(_("Enter the number of the order")),
                                   widget=_text(**{"class": "input input--20"}))
    order_date = forms.DateField(
        label=_("Date of the order"), widget=DATE_WIDGET,
        error_messages={"required": _("Enter the date of the order"),
                        "invalid": _("Enter the date of the order as a real date")})
    document = forms.ChoiceField(
        label=_("The order's document"), required=False, widget=forms.RadioSelect,
        help_text=_("A court order document already uploaded to this case. The order is "
                    "recorded with its SHA-256."))
    file = forms.FileField(
        label=_("Or upload the order's document"), required=False,
        help_text=_("The signed order's scan (PDF, JPEG or PNG). It is added to the case's "
                    "evidence as a court order."),
        error_messages={"empty": _("The file is empty")},
        widget=forms.ClearableFileInput(attrs={"class": "file-upload",
                                               "data-sha256-target": "file-sha256"}))
    reason = forms.CharField(label=_("Note for the record"), max_length=5000, required=False,
                             widget=forms.Textarea(attrs={"rows": 3}))
    finality = forms.ChoiceField(choices=ConfiscationOrder.Finality.choices,
                                 widget=forms.HiddenInput,
                                 error_messages=required(_("Choose how to record the order")))
    # Shown only when an asset has a discrepancy: the observed amounts on the page, which
    # the service checks are still the observed ones.
    accept_observed = forms.BooleanField(
        label=_("I have seen the discrepancy and accept the observed amounts shown above"),
        required=False,
        help_text=_("The transfer to the reserve will move what is observed on the chain, "
                    "not what was declared."))
    acceptance_reason = forms.CharField(
        label=_("Why are the observed amounts accepted?"), max_length=5000, required=False,
        help_text=_("For example: the court's order names the amount found at seizure; the "
                    "clerk's declaration included the network fee."),
        widget=forms.Textarea(attrs={"rows": 3}))
    accepted_amounts = forms.CharField(required=False, widget=forms.HiddenInput)

    @staticmethod
    def amounts_shown(assets: Any) -> str:
        return ",".join(f"{a.public_id}={a.observed_amount or 0}" for a in assets)

    def accepted(self) -> dict[str, int]:
        """{asset id: observed amount shown} when the box is ticked; {} otherwise."""
        if not self.cleaned_data.get("accept_observed"):
            return {}
        accepted = {}
        for item in (self.cleaned_data.get("accepted_amounts") or "").split(","):
            asset, _sep, amount = item.partition("=")
            if asset and amount.isdigit():
                accepted[asset] = int(amount)
        return accepted

    def __init__(self, *args: Any, documents: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_documents(documents)

    def set_documents(self, documents: Any) -> None:
        """The case's court-order documents to pick from (value: the SHA-256)."""
        documents = list(documents)
        document = cast(forms.ChoiceField, self.fields["document"])
        document.choices = [(d.sha256, f"{d.original_name} · SHA-256 {d.sha256}")
                            for d in documents]
        if len(documents) == 1 and not self.is_bound:
            self.initial["document"] = documents[0].sha256

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("document") and not cleaned.get("file") \
                and "document" not in self.errors and "file" not in self.errors:
            self.add_error("document", forms.ValidationError(
                _("Choose the order's document, or upload it"), code="required"))
        return cleaned


class ReasonForm(StepUpFormMixin, GovForm):
    reason = forms.CharField(label=_("Reason"), max_length=5000,
                             error_messages=required(_("Enter the reason")),
                             widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args: Any, label: Any = None, hint: Any = None,
                 missing: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if label:
            self.fields["reason"].label = label
        if hint:
            self.fields["reason"].help_text = hint
        if missing:
            self.fields["reason"].error_messages = required(missing)


class AppealOutcomeForm(StepUpFormMixin, GovForm):
    reason = forms.CharField(label=_("The appeal court's decision"), max_length=5000,
                             help_text=_("Court, number and date of the decision, and what it "
                                         "says."),
                             error_messages=required(_("Enter the appeal court's decision")),
                             widget=forms.Textarea(attrs={"rows": 4}))
    outcome = forms.ChoiceField(choices=[("UPHELD", "UPHELD"), ("OVERTURNED", "OVERTURNED")],
                                widget=forms.HiddenInput,
                                error_messages=required(_("Choose the outcome")))


# --- alerts --------------------------------------------------------------------------------
class AlertFilterForm(GovForm):
    status = forms.ChoiceField(
        label=_("Status"), required=False,
        choices=[("", _("Not yet resolved")), ("ALL", _("Any status")), *AlertStatus.choices],
        widget=forms.Select(attrs={"class": "select"}))
    kind = forms.ChoiceField(
        label=_("Kind"), required=False,
        choices=[("", _("Any kind")), *CaseAlert.Kind.choices],
        widget=forms.Select(attrs={"class": "select"}))

    def filters(self) -> dict[str, list[str]]:
        """The selector's filters (intake.selectors.alert_list_for_user): open ones unless
        a status is chosen."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        status = data.get("status") or ""
        found: dict[str, list[str]] = {}
        if status == "":
            found["status"] = [AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED]
        elif status != "ALL":
            found["status"] = [status]
        if data.get("kind"):
            found["kind"] = [data["kind"]]
        return found


class AcknowledgeForm(GovForm):
    reason = forms.CharField(
        label=_("What are you doing about it?"), max_length=5000,
        help_text=_("Acknowledging stops the escalation. Say who is looking into it and how."),
        error_messages=required(_("Enter what you are doing about it")),
        widget=forms.Textarea(attrs={"rows": 3}))


class ResolveForm(StepUpFormMixin, GovForm):
    reason = forms.CharField(
        label=_("What was found, and what was done?"), max_length=5000,
        help_text=_("This closes the alert in the audit record."),
        error_messages=required(_("Enter what was found and what was done")),
        widget=forms.Textarea(attrs={"rows": 4}))

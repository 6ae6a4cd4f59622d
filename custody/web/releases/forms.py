"""The release order's forms. They read what people type into the values
custody.services.releases takes; the rules are the services' (a refusal is shown beside
its field with its code, and what was typed stays)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from core.web.forms import StepUpFormMixin, required

from ...models import ReleaseOrder
from ..bank.forms import BankForm

DATE_WIDGET = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date",
                                                        "class": "input input--date"})

KIND_LABELS: dict[str, Any] = {
    ReleaseOrder.Kind.RETURN_TO_OWNER: _("Return to the owner"),
    ReleaseOrder.Kind.RESTITUTION: _("Restitution to a victim"),
}


def _text(**attrs: Any) -> forms.TextInput:
    return forms.TextInput(attrs={"class": "input", **attrs})


class ReleaseOrderForm(BankForm):
    domain_fields = {"destination_address": "destination_address",
                     "document_sha256": "document_sha256", "order_date": "order_date",
                     "kind": "kind", "file": "file"}

    kind = forms.ChoiceField(
        label=_("What does the court order?"), widget=forms.RadioSelect,
        choices=list(KIND_LABELS.items()),
        error_messages={**required(_("Choose what the court orders")),
                        "invalid_choice": _("Choose what the court orders")})
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
    beneficiary = forms.CharField(
        label=_("Who receives the assets"), max_length=200,
        help_text=_("The owner or the victim, as the order names them."),
        error_messages=required(_("Enter who receives the assets")), widget=_text())
    destination_address = forms.CharField(
        label=_("Address the order names"), max_length=100,
        help_text=_("The Bitcoin address in the court's order, on the case's network. Only "
                    "this address may receive the case's coins."),
        error_messages=required(_("Enter the address the order names")),
        widget=_text(spellcheck="false", autocomplete="off", **{"class": "input input--hash"}))
    document = forms.ChoiceField(
        label=_("The order's document"), required=False, widget=forms.RadioSelect,
        help_text=_("A document already uploaded to this case. The order is recorded with "
                    "its SHA-256."))
    document_sha256 = forms.CharField(
        label=_("Or the SHA-256 of the order's document"), required=False, max_length=64,
        help_text=_("64 hexadecimal characters, when the document is kept outside Qazyna."),
        widget=_text(spellcheck="false", autocomplete="off", **{"class": "input input--hash"}))

    def __init__(self, *args: Any, documents: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        documents = list(documents)
        document = cast(forms.ChoiceField, self.fields["document"])
        document.choices = [(d.sha256, f"{d.original_name} · SHA-256 {d.sha256}")
                            for d in documents]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        typed = (cleaned.get("document_sha256") or "").strip().lower()
        cleaned["document_sha256"] = cleaned.get("document") or typed
        if not cleaned["document_sha256"] and "document" not in self.errors:
            self.add_error("document", forms.ValidationError(
                _("Choose the order's document, or enter its SHA-256"), code="required"))
        cleaned["destination_address"] = (cleaned.get("destination_address") or "").strip()
        return cleaned


class ApproveReleaseOrderForm(StepUpFormMixin, BankForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_approve_%s")
        super().__init__(*args, **kwargs)


class RejectReleaseOrderForm(StepUpFormMixin, BankForm):
    reason = forms.CharField(
        label=_("Why is the release order rejected?"), max_length=2000,
        help_text=_("For example: the order's number or address does not match the court's "
                    "document. The legal officer who recorded it sees this."),
        error_messages=required(_("Enter why the release order is rejected")),
        widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_reject_%s")
        super().__init__(*args, **kwargs)


class ProposeReleaseForm(BankForm):
    fee_rate_sat_vb = forms.IntegerField(
        label=_("Fee rate (sat/vB)"), required=False, min_value=1,
        help_text=_("Leave empty to use the node's estimate."),
        error_messages={"invalid": _("Enter the fee rate as a whole number of sat/vB"),
                        "min_value": _("Enter the fee rate as a whole number of sat/vB")},
        widget=forms.NumberInput(attrs={"class": "input input--amount", "inputmode": "numeric"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_propose_%s")
        super().__init__(*args, **kwargs)



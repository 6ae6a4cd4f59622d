"""The auditor pages' filter forms: a bad value is shown beside its field, never a 500."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.audit import AuditAction
from core.errors import ErrorCode, ValidationFailed
from core.web.forms import GovForm

from ...models import Deposit, TransferStatus


def _select() -> forms.Select:
    return forms.Select(attrs={"class": "select"})


class AuditEventFilterForm(GovForm):
    """The filters of core.selectors.audit_events_for_user (exact matches)."""

    action = forms.ChoiceField(label=_("Action"), required=False, widget=_select())
    object_type = forms.CharField(label=_("Type of record"), max_length=64, required=False,
                                  widget=forms.TextInput(attrs={"class": "input input--10"}))
    object_id = forms.CharField(label=_("Record id"), max_length=64, required=False,
                                widget=forms.TextInput(attrs={"class": "input input--20"}))
    actor_username = forms.CharField(label=_("Person (username)"), max_length=150,
                                     required=False,
                                     widget=forms.TextInput(attrs={"class": "input input--10"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        action = self.fields["action"]
        assert isinstance(action, forms.ChoiceField)
        action.choices = [("", _("Any action")),
                          *[(str(a), str(a)) for a in AuditAction.all_actions()]]

    def filters(self) -> dict[str, str]:
        if not self.is_valid():
            return {}
        return {k: v.strip() for k, v in self.cleaned_data.items() if v and v.strip()}


class TransferFilterForm(GovForm):
    status = forms.ChoiceField(label=_("Status"), required=False, widget=_select(),
                               choices=[("", _("Any status")), *TransferStatus.choices])

    def filters(self) -> dict[str, Any]:
        if not self.is_valid() or not self.cleaned_data.get("status"):
            return {}
        return {"status": [self.cleaned_data["status"]]}


class DepositFilterForm(GovForm):
    status = forms.ChoiceField(label=_("Status"), required=False, widget=_select(),
                               choices=[("", _("Any status")), *Deposit.Status.choices])

    def filters(self) -> dict[str, Any]:
        if not self.is_valid() or not self.cleaned_data.get("status"):
            return {}
        return {"status": self.cleaned_data["status"]}


class PeriodForm(GovForm):
    """The accounting's period: first and last day, both optional (the whole journal)."""

    start = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date", "class": "input"}),
                            error_messages={"invalid": _("Enter a real date")})
    end = forms.DateField(label=_("To"), required=False,
                          widget=forms.DateInput(attrs={"type": "date", "class": "input"}),
                          error_messages={"invalid": _("Enter a real date")})

    def period(self) -> tuple[Any, Any]:
        """(start, end) as dates or None; a bad or reversed period is a 400 (core.web's
        error page, in the person's language)."""
        if not self.is_bound:
            return None, None
        if not self.is_valid():
            raise ValidationFailed("start and end are dates (YYYY-MM-DD).",
                                   code=ErrorCode.INVALID_FILTER)
        start, end = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        if start and end and end < start:
            raise ValidationFailed("The period ends before it starts.",
                                   code=ErrorCode.INVALID_FILTER)
        return start, end

"""The auditor pages' filter forms: a bad value is shown beside its field, never a 500."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.audit import AuditAction
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

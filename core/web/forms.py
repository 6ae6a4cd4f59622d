"""Forms the GOV.UK way, and the step-up field decisions carry.

`GovFormMixin` gives a form what the templates need: the error summary (each error linked
to its field, non-field errors first), errors with their codes, and `add_domain_error` to
put a service's DomainError beside the field it names (`exc.extra["field"]`).

`StepUpFormMixin` adds the `otp` field a decision asks for (DESIGN §1: every approval asks
for a fresh code) and `step_up(actor)`, which checks it with core.second_factor.step_up and
returns the StepUp, or puts the error beside the field and returns None. The code is never
kept for the next rendering: it is single-use.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS
from django.utils.translation import gettext_lazy as _

from core import second_factor
from core.errors import DomainError

from .errors import as_validation_error, error_entries


class GovFormMixin:
    # Service field names that this form calls differently: {"declared_amount": "amount"}.
    domain_fields: dict[str, str] = {}
    # Given by the django.forms.Form this is mixed into.
    fields: dict[str, Any]
    errors: Any
    is_bound: bool
    cleaned_data: dict[str, Any]
    add_error: Any
    __getitem__: Any

    def add_domain_error(self, exc: DomainError) -> None:
        given = str(exc.extra.get("field") or "")
        name: str | None = self.domain_fields.get(given, given)
        if name not in self.fields:
            name = None
        self.add_error(name, as_validation_error(exc))

    def error_summary(self) -> list[dict[str, str]]:
        """[{href, message, code}] in the order the fields appear on the page."""
        if not self.is_bound or not self.errors:
            return []
        data = self.errors.as_data()
        summary = []
        first_field = next(iter(self.fields), None)
        for entry in error_entries(data.get(NON_FIELD_ERRORS, [])):
            target = self[first_field].id_for_label if first_field else ""
            summary.append({"href": f"#{target}", **entry})
        for name in self.fields:
            for entry in error_entries(data.get(name, [])):
                summary.append({"href": f"#{self[name].id_for_label}", **entry})
        return summary

    def field_errors(self, name: str) -> list[dict[str, str]]:
        if not self.is_bound:
            return []
        return error_entries(self.errors.as_data().get(name, []))


class GovForm(GovFormMixin, forms.Form):
    pass


def required(message: Any) -> dict[str, Any]:
    """error_messages for a field: what to do, in the person's language."""
    return {"required": message}


class OneTimeCodeInput(forms.TextInput):
    """A code is single-use: the page never shows a typed code again."""

    def format_value(self, value: Any) -> None:
        return None


class OtpField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Code from your authenticator app"))
        kwargs.setdefault("help_text", _("The 6-digit code the app shows now, or one of your "
                                         "backup codes. Each code works once."))
        kwargs.setdefault("max_length", 16)
        kwargs.setdefault("error_messages", required(
            _("Enter the code from your authenticator app")))
        kwargs.setdefault("widget", OneTimeCodeInput(attrs={
            "autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false",
            "class": "input input--code"}))
        super().__init__(**kwargs)


class StepUpFormMixin(GovFormMixin):
    """A decision form's fresh second-factor code (template: web/partials/step_up.html)."""

    step_up_proof: second_factor.StepUp | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["otp"] = OtpField()

    def step_up(self, actor: Any) -> second_factor.StepUp | None:
        """Check the code: the StepUp to hand to the service, or None with the error shown.
        Call it only once the rest of the form is valid, so a mistake elsewhere does not
        spend the code."""
        try:
            self.step_up_proof = second_factor.step_up(actor, self.cleaned_data.get("otp"))
        except DomainError as exc:
            exc.extra["field"] = "otp"
            self.add_domain_error(exc)
            return None
        return self.step_up_proof


# --- sign-in and the second factor -----------------------------------------------------------
class SignInForm(GovFormMixin, AuthenticationForm):
    error_messages = {
        "invalid_login": _("The username or password is not right. Both are case-sensitive."),
        "inactive": _("This account is not active. Ask an administrator."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Username")
        self.fields["username"].error_messages = required(_("Enter your username"))
        self.fields["username"].widget.attrs.update({"class": "input", "spellcheck": "false",
                                                     "autocapitalize": "none"})
        self.fields["username"].widget.attrs.pop("autofocus", None)
        self.fields["password"].label = _("Password")
        self.fields["password"].error_messages = required(_("Enter your password"))
        self.fields["password"].widget.attrs.update({"class": "input"})


class CodeForm(GovForm):
    code = OtpField()


class EnrolForm(GovForm):
    code = OtpField(label=_("Code from your authenticator app"),
                    help_text=_("After adding Qazyna to the app, enter the 6-digit code "
                                "it shows."))

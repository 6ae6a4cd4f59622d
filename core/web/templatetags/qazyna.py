"""Template tags of the pages: fields the GOV.UK way, amounts, KZT values, status tags."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms, template
from django.utils.formats import number_format
from django.utils.html import format_html

from core.bitcoin import SATS_PER_BTC

from .. import registry

register = template.Library()


# --- amounts ---------------------------------------------------------------------------------
@register.filter
def btc(sats: Any) -> str:
    """Integer satoshis as BTC with 8 decimals, in the active language's number format."""
    if sats is None or sats == "":
        return ""
    value = Decimal(int(sats)) / SATS_PER_BTC
    return number_format(value, decimal_pos=8, use_l10n=True, force_grouping=True)


@register.filter
def units(value: Any) -> str:
    """A whole number, grouped the active language's way."""
    if value is None or value == "":
        return ""
    return number_format(int(value), decimal_pos=0, use_l10n=True, force_grouping=True)


@register.filter
def kzt(value: Any) -> str:
    if value is None or value == "":
        return ""
    return number_format(Decimal(value), decimal_pos=2, use_l10n=True, force_grouping=True)


@register.simple_tag
def amount(value: Any, asset: str, label: str = "") -> str:
    """An asset amount with its unit: BTC with 8 decimals, other assets in whole units of
    their smallest denomination."""
    if asset == "BTC":
        return format_html('<span class="amount">{}&nbsp;BTC</span>', btc(value))
    return format_html('<span class="amount">{}&nbsp;{}</span>', units(value), label or asset)


@register.simple_tag(takes_context=True)
def kzt_value(context: Any, value: Any, asset: str) -> registry.KztValue | None:
    """The value in KZT at the latest recorded price this person may see, or None."""
    request = context.get("request")
    if request is None or value in (None, ""):
        return None
    return registry.value_in_kzt(request.user, asset, int(value))


# --- forms -------------------------------------------------------------------------------------
def _described_by(bound: forms.BoundField, has_errors: bool) -> str:
    ids = []
    if bound.help_text:
        ids.append(f"{bound.auto_id}-hint")
    if has_errors:
        ids.append(f"{bound.auto_id}-error")
    return " ".join(ids)


@register.inclusion_tag("web/partials/field.html")
def field(bound: forms.BoundField, width: str = "", hint: str = "") -> dict[str, Any]:
    """Label above, hint under it, the error (with its code) above the input, the input."""
    form = bound.form
    errors = form.field_errors(bound.name) if hasattr(form, "field_errors") else [
        {"message": str(e), "code": "invalid", "detail": ""} for e in bound.errors]
    widget = bound.field.widget
    is_group = isinstance(widget, (forms.RadioSelect, forms.CheckboxSelectMultiple))
    is_checkbox = isinstance(widget, forms.CheckboxInput)
    attrs: dict[str, Any] = {}
    described = _described_by(bound, bool(errors))
    if described and not is_group:
        attrs["aria-describedby"] = described
    if errors and not is_group:
        attrs["aria-invalid"] = "true"
    css = widget.attrs.get("class", "")
    if not css:
        if isinstance(widget, forms.Textarea):
            css = "textarea"
        elif isinstance(widget, forms.Select) and not is_group:
            css = "select"
        elif isinstance(widget, forms.FileInput):
            css = "file-upload"
        elif not is_group and not is_checkbox:
            css = "input"
    if width:
        css = f"{css} input--{width}"
    if errors and not is_group:
        css = f"{css} input--error"
    attrs["class"] = css.strip()
    return {
        "bound": bound, "errors": errors, "is_group": is_group, "is_checkbox": is_checkbox,
        "widget_html": bound.as_widget(attrs=attrs) if not is_group else "",
        "hint": hint or bound.help_text, "described": described,
        "required": bound.field.required,
    }


@register.inclusion_tag("web/partials/error_summary.html")
def error_summary(*forms_: Any) -> dict[str, Any]:
    """The error summary of one or more forms on the page."""
    entries = []
    for form in forms_:
        if form is not None and hasattr(form, "error_summary"):
            entries.extend(form.error_summary())
    return {"entries": entries}

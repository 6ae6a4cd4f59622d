"""The reserve's words in the reader's language: {{ value|label:table }} looks a stored value
(a status, a source, an account) up in a table of translated labels from the presenters."""

from typing import Any

from django import template

register = template.Library()


@register.filter
def label(value: Any, table: Any) -> str:
    if not isinstance(table, dict):
        return str(value)
    return str(table.get(value, value))

"""Query parameters of list endpoints, validated before they reach the ORM.

Each list endpoint names a FilterSerializer; its view calls validate_filters() first and
hands the selector the typed values. A bad value is a 400 with code invalid_filter (the
errors list says which parameter and why), never a 500 from the database. Parameters a
FilterSerializer does not name (format, page) are left to DRF as before.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from core.api.exceptions import flatten_errors
from core.errors import ErrorCode, ValidationFailed


def validate_filters(request, serializer_class):
    """The request's query parameters through serializer_class → its validated_data."""
    serializer = serializer_class(data=request.query_params)
    if serializer.is_valid():
        return serializer.validated_data
    errors = flatten_errors(serializer.errors)
    first = errors[0]
    detail = (f"{first['field']}: " if first["field"] else "") + first["detail"]
    raise ValidationFailed(detail, code=ErrorCode.INVALID_FILTER, errors=errors)


@extend_schema_field(OpenApiTypes.STR)
class ChoiceListField(serializers.Field):
    """status=A,B → ["A", "B"], each one of choices."""

    default_error_messages = {
        "invalid": "Send a comma-separated list of values.",
        "max_length": "Ensure this field has no more than {max_length} characters.",
        "invalid_choice": '"{input}" is not a valid choice.',
    }

    def __init__(self, *, choices, max_length=500, **kwargs):
        self.choices = frozenset(str(choice) for choice in choices)
        self.max_length = max_length
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        values = [value for value in data.split(",") if value]
        if not values:
            self.fail("invalid")
        for value in values:
            if value not in self.choices:
                self.fail("invalid_choice", input=value)
        return values

    def to_representation(self, value):
        return ",".join(value)


@extend_schema_field(OpenApiTypes.BOOL)
class FlagField(serializers.BooleanField):
    """A yes/no filter: 1 or true, 0 or false (absent is false). Other spellings are refused
    rather than guessed."""

    TRUE_VALUES = {"1", "true"}
    FALSE_VALUES = {"0", "false"}
    NULL_VALUES = set()
    default_empty_html = empty  # absent from the query string: the field's default


class PageSizeField(serializers.IntegerField):
    """page_size in plain digits, so that the paginator, which reads the same parameter,
    agrees with what was validated; above its maximum it is cut to the maximum."""

    def to_internal_value(self, data):
        if not (isinstance(data, str) and data.isascii() and data.isdigit()):
            self.fail("invalid")
        return super().to_internal_value(data)


class PageFilterSerializer(serializers.Serializer):
    """The query parameters every paginated list takes; its FilterSerializer extends this."""

    page_size = PageSizeField(required=False, min_value=1,
                              help_text="Results per page (at most 500).")
    cursor = serializers.CharField(
        required=False, max_length=500,
        help_text="Where the page starts: the cursor in a previous answer's next or previous "
                  "link (the same cost at any depth). Without it, ?page=N (page numbers, for "
                  "small lists) or the first page.")

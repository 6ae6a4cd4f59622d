from rest_framework import serializers

from core.errors import ErrorCode


class StrictIntegerField(serializers.IntegerField):
    """An integer that refuses floats and decimal strings (amounts are never floats)."""

    default_error_messages = {"not_integer": "Send a whole number of the smallest unit."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or isinstance(data, float) or (
            isinstance(data, str) and not data.strip().lstrip("-").isdigit()
        ):
            raise serializers.ValidationError(self.error_messages["not_integer"],
                                              code=ErrorCode.INVALID_AMOUNT)
        return super().to_internal_value(data)

from rest_framework import serializers

from core.api.filters import PageFilterSerializer
from core.errors import ErrorCode
from core.models import Agency, AuditEvent


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


class AgencyOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")

    class Meta:
        model = Agency
        fields = ["id", "code", "name", "kind"]


class AuditEventFilterSerializer(PageFilterSerializer):
    action = serializers.CharField(max_length=64, required=False, trim_whitespace=False)
    object_type = serializers.CharField(max_length=64, required=False, trim_whitespace=False)
    object_id = serializers.CharField(max_length=64, required=False, trim_whitespace=False)
    actor_username = serializers.CharField(max_length=150, required=False,
                                           trim_whitespace=False)


class AuditEventOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["seq", "created_at", "actor_username", "action", "object_type", "object_id",
                  "before", "after", "reason", "prev_hash", "hash"]

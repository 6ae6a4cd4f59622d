from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.filters import ChoiceListField, PageFilterSerializer
from core.api.serializers import StepUpInputSerializer, StrictIntegerField

from ..models import (
    Deposit,
    FundSource,
    JournalEntry,
    PriceRecord,
    QuorumPolicy,
    ReserveWallet,
    Transfer,
    TransferStatus,
)
from ..psbt import signature_counts
from ..selectors import counted_approvals_of
from ..transitions import TRANSFER_TABLE


class ReserveWalletInputSerializer(serializers.Serializer):
    network = serializers.CharField()
    label = serializers.CharField(max_length=200)  # type: ignore[assignment]
    threshold = StrictIntegerField(required=False, min_value=1, max_value=15)
    keys = serializers.ListField(child=serializers.CharField(), required=False)
    descriptor = serializers.CharField(required=False)


class QuorumPolicyOutputSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    id = serializers.UUIDField(source="public_id")
    proposed_by = serializers.CharField(source="proposed_by.username")
    approved_by = serializers.CharField(source="approved_by.username", default=None)

    class Meta:
        model = QuorumPolicy
        fields = ["id", "tiers", "status", "proposed_by", "approved_by", "approved_at",
                  "created_at"]


class ReserveWalletOutputSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    id = serializers.UUIDField(source="public_id")
    entered_by = serializers.CharField(source="entered_by.username")
    approved_by = serializers.CharField(source="approved_by.username", default=None)

    class Meta:
        model = ReserveWallet
        fields = ["id", "label", "network", "descriptor", "threshold", "key_count",
                  "next_index", "status", "entered_by", "approved_by", "approved_at",
                  "created_at"]


class TierSerializer(serializers.Serializer):
    min_amount_sats = StrictIntegerField(min_value=0)
    approvals = StrictIntegerField(min_value=1, max_value=50)


class QuorumPolicyInputSerializer(serializers.Serializer):
    tiers = TierSerializer(many=True)


class TransferFilterSerializer(PageFilterSerializer):
    status = ChoiceListField(choices=TransferStatus.values, required=False,
                             help_text="Comma-separated statuses")
    case = serializers.UUIDField(required=False, help_text="The case's id")


class TransferInputSerializer(serializers.Serializer):
    case = serializers.UUIDField()
    reserve_wallet = serializers.UUIDField()
    destination = serializers.CharField(required=False, allow_blank=True)
    fee_rate_sat_vb = StrictIntegerField(required=False, min_value=1)


class TransferApproveInputSerializer(StepUpInputSerializer):
    payload_hash = serializers.RegexField(r"^[0-9a-f]{64}$")


class TransferReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class TransferRebuildInputSerializer(TransferReasonInputSerializer):
    fee_rate_sat_vb = StrictIntegerField(required=False, min_value=1)


class SignedPsbtInputSerializer(StepUpInputSerializer):
    psbt = serializers.CharField(required=False, max_length=700_000)
    file = serializers.FileField(required=False)

    def validate(self, data):
        if not data.get("psbt") and not data.get("file"):
            raise serializers.ValidationError("Send the signed PSBT as psbt (base64) or file.")
        return data


class TransferOutputSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    id = serializers.UUIDField(source="public_id")
    case = serializers.UUIDField(source="case.public_id")
    case_number = serializers.CharField(source="case.case_number")
    reserve_wallet = serializers.UUIDField(source="reserve_wallet.public_id")
    destination = serializers.CharField(source="destination.address")
    proposed_by = serializers.CharField(source="proposed_by.username")
    approvals = serializers.SerializerMethodField()
    signatures_per_input = serializers.SerializerMethodField()
    allowed_transitions = serializers.SerializerMethodField()

    class Meta:
        model = Transfer
        fields = ["id", "case", "case_number", "reserve_wallet", "destination", "network",
                  "status", "proposed_by", "payload", "payload_hash", "approvals_required",
                  "approvals", "input_total_sats", "amount_sats", "fee_sats",
                  "fee_rate_sat_vb", "unsigned_txid", "txid", "signatures_per_input",
                  "block_hash", "block_height", "confirmations", "failure_reason",
                  "status_reason", "created_at", "status_changed_at", "settled_at",
                  "allowed_transitions"]

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_approvals(self, obj):
        return [{"approver": a.approver.username, "at": a.created_at}
                for a in counted_approvals_of(obj)]

    @extend_schema_field({"type": "array", "items": {"type": "integer"}})
    def get_signatures_per_input(self, obj):
        return signature_counts(obj.combined_psbt) if obj.combined_psbt else []

    @extend_schema_field({"type": "array", "items": {"type": "string"}})
    def get_allowed_transitions(self, obj):
        """The states the requesting user's commands lead to (the request in the context)."""
        request = self.context.get("request")
        return TRANSFER_TABLE.targets_for(obj.status, request.user if request else None)


class DepositFilterSerializer(PageFilterSerializer):
    status = serializers.ChoiceField(choices=Deposit.Status.choices, required=False)


class DepositOutputSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    id = serializers.UUIDField(source="public_id")
    address = serializers.CharField(source="reserve_address.address")
    wallet = serializers.UUIDField(source="reserve_address.wallet.public_id")
    attributed_by = serializers.CharField(source="attributed_by.username", default=None)

    class Meta:
        model = Deposit
        fields = ["id", "address", "wallet", "txid", "vout", "amount_sats", "status", "source",
                  "note", "confirmations", "block_height", "attributed_by", "attributed_at",
                  "seen_at"]


class DepositAttributeInputSerializer(StepUpInputSerializer):
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=[FundSource.STATE_MINING, FundSource.OTHER])
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class PriceInputSerializer(StepUpInputSerializer):
    asset = serializers.CharField(default="BTC", max_length=16)
    kzt_per_unit = serializers.DecimalField(max_digits=20, decimal_places=2,
                                            min_value=Decimal("0.01"))
    source = serializers.CharField(max_length=200)  # type: ignore[assignment]
    observed_at = serializers.DateTimeField()


class PriceOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")

    class Meta:
        model = PriceRecord
        fields = ["id", "asset", "kzt_per_unit", "source", "observed_at", "status",
                  "created_at"]


class JournalEntryOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    lines = serializers.SerializerMethodField()
    reverses = serializers.UUIDField(source="reverses.public_id", default=None)

    class Meta:
        model = JournalEntry
        fields = ["id", "kind", "asset", "network", "txid", "block_hash", "block_height",
                  "memo", "reverses", "created_at", "lines"]

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_lines(self, obj):
        return [{"account": ln.account, "amount_sats": ln.amount_sats, "source": ln.source,
                 "reserve_wallet_id": ln.reserve_wallet_id, "case_id": ln.case_id}
                for ln in obj.lines.all()]

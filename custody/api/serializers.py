from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.filters import ChoiceListField, PageFilterSerializer
from core.api.serializers import StepUpInputSerializer, StrictIntegerField

from ..models import (
    ApprovalStatus,
    AssetHandover,
    Deposit,
    FundSource,
    JournalEntry,
    PriceRecord,
    QuorumPolicy,
    ReleaseOrder,
    ReserveWallet,
    Transfer,
    TransferKind,
    TransferStatus,
    Valuation,
    ValuationGap,
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
    kind = serializers.ChoiceField(choices=TransferKind.choices, default=TransferKind.RESERVE)
    case = serializers.UUIDField(required=False, help_text="RESERVE: the case's id")
    reserve_wallet = serializers.UUIDField(required=False, help_text="RESERVE: the wallet")
    release_order = serializers.UUIDField(
        required=False, help_text="RELEASE: the approved release order (its case is released)")
    destination = serializers.CharField(
        required=False, allow_blank=True, max_length=200,
        help_text="RESERVE: an unused address of the wallet (a fresh one if left out). "
                  "RELEASE: the order's address (anything else is refused)")
    fee_rate_sat_vb = StrictIntegerField(required=False, min_value=1)

    def validate(self, attrs):
        needed = (["release_order"] if attrs["kind"] == TransferKind.RELEASE
                  else ["case", "reserve_wallet"])
        missing = {k: "This field is required." for k in needed if not attrs.get(k)}
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


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
    reserve_wallet = serializers.UUIDField(source="reserve_wallet.public_id", default=None)
    release_order = serializers.UUIDField(source="release_order.public_id", default=None)
    destination = serializers.CharField(source="destination_address")
    proposed_by = serializers.CharField(source="proposed_by.username")
    approvals = serializers.SerializerMethodField()
    signatures_per_input = serializers.SerializerMethodField()
    allowed_transitions = serializers.SerializerMethodField()

    class Meta:
        model = Transfer
        fields = ["id", "kind", "case", "case_number", "reserve_wallet", "release_order",
                  "destination", "network",
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
                  "note", "confirmations", "block_height", "conflicting_txid",
                  "attributed_by", "attributed_at", "seen_at"]


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


# --- valuations and the accounting of a period ------------------------------------------
class ValuationFilterSerializer(PageFilterSerializer):
    case = serializers.UUIDField(required=False, help_text="A case's id")
    point = serializers.ChoiceField(choices=Valuation.Point.choices, required=False)


class ValuationOutputSerializer(serializers.ModelSerializer):
    case = serializers.UUIDField(source="case.public_id", default=None)
    case_number = serializers.CharField(source="case.case_number", default=None)
    transfer = serializers.UUIDField(source="transfer.public_id", default=None)
    price = serializers.UUIDField(source="price.public_id")
    kzt_per_unit = serializers.DecimalField(source="price.kzt_per_unit", max_digits=20,
                                            decimal_places=2)
    price_source = serializers.CharField(source="price.source")
    price_observed_at = serializers.DateTimeField(source="price.observed_at")

    class Meta:
        model = Valuation
        fields = ["case", "case_number", "transfer", "point", "at", "amount_sats", "value_kzt",
                  "price", "kzt_per_unit", "price_source", "price_observed_at", "created_at"]


class ValuationGapFilterSerializer(PageFilterSerializer):
    status = serializers.ChoiceField(choices=ValuationGap.Status.choices, required=False)


class ValuationGapOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    case = serializers.UUIDField(source="case.public_id", default=None)
    case_number = serializers.CharField(source="case.case_number", default=None)
    transfer = serializers.UUIDField(source="transfer.public_id", default=None)
    value_kzt = serializers.DecimalField(source="valuation.value_kzt", max_digits=24,
                                         decimal_places=2, default=None)

    class Meta:
        model = ValuationGap
        fields = ["id", "case", "case_number", "transfer", "point", "asset", "at",
                  "amount_sats", "status", "value_kzt", "created_at", "resolved_at"]


class AccountingPeriodFilterSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="The period's first day (YYYY-MM-DD)")
    end = serializers.DateField(help_text="The period's last day, included (YYYY-MM-DD)")

    def validate(self, attrs):
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": "The period ends before it starts."})
        return attrs
# --- court-ordered releases and handovers without a transfer -----------------------------------
class ReleaseOrderFilterSerializer(PageFilterSerializer):
    case = serializers.UUIDField(required=False, help_text="The case's id")
    status = serializers.ChoiceField(choices=ApprovalStatus.choices, required=False)


class ReleaseOrderInputSerializer(serializers.Serializer):
    case = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=ReleaseOrder.Kind.choices)
    court = serializers.CharField(max_length=200)
    order_number = serializers.CharField(max_length=64)
    order_date = serializers.DateField()
    document_sha256 = serializers.RegexField(r"^[0-9a-fA-F]{64}$", error_messages={
        "invalid": "The order document's SHA-256: 64 hexadecimal characters."})
    beneficiary = serializers.CharField(max_length=200)
    destination_address = serializers.CharField(max_length=200)


class ReleaseOrderOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    case = serializers.UUIDField(source="case.public_id")
    document = serializers.UUIDField(source="document.public_id", default=None)
    recorded_by = serializers.CharField(source="recorded_by.username")
    approved_by = serializers.CharField(source="approved_by.username", default=None)

    class Meta:
        model = ReleaseOrder
        fields = ["id", "case", "kind", "court", "order_number", "order_date",
                  "document_sha256", "document", "beneficiary", "destination_address",
                  "network", "status", "recorded_by", "approved_by", "approved_at",
                  "created_at"]


class AssetHandoverFilterSerializer(PageFilterSerializer):
    case = serializers.UUIDField(required=False, help_text="The case's id")
    status = serializers.ChoiceField(choices=AssetHandover.Status.choices, required=False)


class AssetHandoverInputSerializer(StepUpInputSerializer):
    asset = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=AssetHandover.Kind.choices)
    recipient = serializers.CharField(max_length=200)
    txid = serializers.CharField(max_length=200)
    receipt_sha256 = serializers.RegexField(r"^[0-9a-fA-F]{64}$", error_messages={
        "invalid": "The receipt's SHA-256: 64 hexadecimal characters."})
    release_order = serializers.UUIDField(required=False)
    amount = StrictIntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                help_text="Smallest unit; the declared amount if left out")
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class AssetHandoverOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    case = serializers.UUIDField(source="case.public_id")
    asset = serializers.UUIDField(source="asset.public_id")
    asset_kind = serializers.CharField(source="asset.asset")
    chain = serializers.CharField(source="asset.chain")
    release_order = serializers.UUIDField(source="release_order.public_id", default=None)
    receipt = serializers.UUIDField(source="receipt.public_id", default=None)
    proposed_by = serializers.CharField(source="proposed_by.username")
    approved_by = serializers.CharField(source="approved_by.username", default=None)

    class Meta:
        model = AssetHandover
        fields = ["id", "case", "asset", "asset_kind", "chain", "kind", "status", "recipient",
                  "release_order", "txid", "amount", "receipt_sha256", "receipt", "note",
                  "proposed_by", "approved_by", "approved_at", "status_reason", "created_at"]

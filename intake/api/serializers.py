from rest_framework import serializers

from core.api.filters import ChoiceListField, FlagField, PageFilterSerializer
from core.api.serializers import StepUpInputSerializer, StrictIntegerField
from core.bitcoin import NETWORK_NAMES, parse_btc_amount
from core.errors import ErrorCode, ValidationFailed

from ..models import (
    AlertStatus,
    AssetKind,
    CaseAlert,
    CaseStatus,
    ConfiscationOrder,
    Evidence,
    HandoverEntry,
    SeizedAsset,
    SeizureCase,
    SweepTransaction,
)
from ..transitions import ALERT_TABLE, CASE_TABLE


class CaseFilterSerializer(serializers.Serializer):
    """The case list's filters, shared by the CSV export."""

    status = ChoiceListField(choices=CaseStatus.values, required=False,
                             help_text="Comma-separated statuses")
    agency = serializers.SlugField(max_length=32, required=False, trim_whitespace=False,
                                   help_text="Agency code")
    q = serializers.CharField(max_length=200, required=False, trim_whitespace=False,
                              help_text="Case number, owner, warrant or address")


class CaseListFilterSerializer(CaseFilterSerializer, PageFilterSerializer):
    pass


class CaseInputSerializer(serializers.Serializer):
    case_number = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9/\-_.]{0,63}$", max_length=64)
    warrant_number = serializers.CharField(max_length=64)
    warrant_date = serializers.DateField()
    seizure_protocol_number = serializers.CharField(max_length=64, required=False,
                                                    allow_blank=True)
    seizure_date = serializers.DateField(required=False, allow_null=True)
    owner_name = serializers.CharField(max_length=200)
    owner_identifier = serializers.CharField(max_length=64, required=False, allow_blank=True)
    owner_details = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20000)

    def validate(self, attrs):
        warrant, seized = attrs.get("warrant_date"), attrs.get("seizure_date")
        if warrant and seized and seized < warrant:
            raise serializers.ValidationError(
                {"seizure_date": "The seizure cannot predate the warrant."}, code="invalid_date")
        return attrs


class OrderOutputSerializer(serializers.ModelSerializer):
    document = serializers.UUIDField(source="document.public_id", default=None,
                                     help_text="The case's evidence item holding the order")

    class Meta:
        model = ConfiscationOrder
        fields = ["court", "order_number", "order_date", "document_sha256", "document",
                  "finality", "recorded_at"]


class CaseOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    agency: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True)
    filed_by = serializers.CharField(source="filed_by.username")
    reviewer = serializers.CharField(source="reviewer.username", default=None)
    allowed_transitions = serializers.SerializerMethodField()
    confiscation_order = serializers.SerializerMethodField()

    class Meta:
        model = SeizureCase
        fields = ["id", "agency", "case_number", "status", "allowed_transitions",
                  "warrant_number", "warrant_date", "seizure_protocol_number", "seizure_date",
                  "owner_name", "owner_identifier", "owner_details", "description",
                  "custody_address", "custody_index", "filed_by", "reviewer", "status_reason",
                  "confiscation_order", "created_at", "updated_at", "status_changed_at"]

    def get_allowed_transitions(self, case) -> list[str]:
        request = self.context.get("request")
        return CASE_TABLE.targets_for(case.status, request.user if request else None)

    def get_confiscation_order(self, case) -> dict | None:
        order = getattr(case, "confiscation_order", None)
        return OrderOutputSerializer(order).data if order else None


class ReasonInputSerializer(StepUpInputSerializer):
    """A legal decision with its reason, and the decision's fresh code (`otp`)."""

    reason = serializers.CharField(max_length=5000)


class OptionalReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class AcceptedAmountInputSerializer(serializers.Serializer):
    asset = serializers.UUIDField(help_text="The asset's id")
    observed_amount = StrictIntegerField(min_value=0, help_text="The observed amount you "
                                         "saw and accept (smallest unit)")


class ApproveInputSerializer(StepUpInputSerializer):
    court = serializers.CharField(max_length=200)
    order_number = serializers.CharField(max_length=64)
    order_date = serializers.DateField()
    document_sha256 = serializers.RegexField(
        r"^[0-9a-fA-F]{64}$", error_messages={
            "invalid": "The order document's SHA-256: 64 hexadecimal characters."},
        help_text="The SHA-256 of the order's document, uploaded to the case first as "
                  "evidence of kind COURT_ORDER")
    finality = serializers.ChoiceField(choices=ConfiscationOrder.Finality.choices)
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    accept_observed = AcceptedAmountInputSerializer(
        many=True, required=False, help_text="Required when an asset shows a discrepancy: "
        "each such asset with the observed amount you accept (else 409 "
        "discrepancy_not_accepted).")
    acceptance_reason = serializers.CharField(
        max_length=5000, required=False, allow_blank=True,
        help_text="Why the observed amounts are accepted (required with accept_observed).")

    def to_service(self) -> dict:
        data = {k: v for k, v in self.validated_data.items() if k != "otp"}
        data["accepted_amounts"] = {str(item["asset"]): item["observed_amount"]
                                    for item in data.pop("accept_observed", [])}
        return data


class AppealResolveInputSerializer(StepUpInputSerializer):
    outcome = serializers.ChoiceField(choices=["UPHELD", "OVERTURNED"])
    reason = serializers.CharField(max_length=5000)


class AssetInputSerializer(serializers.Serializer):
    asset = serializers.ChoiceField(choices=AssetKind.choices)
    chain = serializers.CharField(max_length=16, required=False, allow_blank=True,
                                  help_text="bitcoin, ethereum or tron (BTC: bitcoin, ETH: "
                                            "ethereum when left out)")
    network = serializers.CharField(max_length=32)
    asset_label = serializers.CharField(max_length=64, required=False, allow_blank=True)
    source_address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    declared_amount = StrictIntegerField(required=False, help_text="Smallest unit (satoshi)")
    declared_amount_btc = serializers.CharField(required=False, max_length=32,
                                                help_text="BTC as a decimal string, ≤ 8 places")

    def validate(self, attrs):
        if attrs["asset"] == AssetKind.BTC and attrs["network"] not in NETWORK_NAMES:
            raise serializers.ValidationError(
                {"network": f"BTC networks: {', '.join(NETWORK_NAMES)}."},
                code=ErrorCode.WRONG_NETWORK)
        given = [k for k in ("declared_amount", "declared_amount_btc") if k in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"declared_amount": "Give declared_amount (smallest unit) or "
                 "declared_amount_btc, exactly one."}, code=ErrorCode.INVALID_AMOUNT)
        if "declared_amount_btc" in attrs:
            if attrs["asset"] != AssetKind.BTC:
                raise serializers.ValidationError(
                    {"declared_amount_btc": "Only for BTC."}, code=ErrorCode.INVALID_AMOUNT)
            try:
                attrs["declared_amount"] = parse_btc_amount(attrs.pop("declared_amount_btc"))
            except ValidationFailed as exc:
                raise serializers.ValidationError({"declared_amount_btc": exc.detail},
                                                  code=exc.code.value) from None
        return attrs


class CaseFileInputSerializer(CaseInputSerializer):
    """A new case, and (optionally) its assets filed with it in the same transaction."""

    assets = serializers.ListField(child=AssetInputSerializer(), required=False, max_length=50,
                                   help_text="Assets filed with the case, all or nothing.")



class SweepOutputSerializer(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.username")

    class Meta:
        model = SweepTransaction
        fields = ["txid", "recorded_by", "created_at"]


class AssetOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    sweeps = SweepOutputSerializer(many=True, read_only=True)

    class Meta:
        model = SeizedAsset
        fields = ["id", "asset", "chain", "network", "asset_label", "declared_amount",
                  "source_address", "custody_address",
                  "verification_status", "observed_amount", "verified_at",
                  "accepted_amount", "acceptance_reason", "accepted_at", "sweeps",
                  "disposition", "disposition_ref", "disposed_at", "created_at"]


class SweepInputSerializer(serializers.Serializer):
    txid = serializers.CharField(max_length=200)


class EvidenceInputSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    kind = serializers.ChoiceField(choices=Evidence.Kind.choices, default=Evidence.Kind.OTHER,
                                   help_text="WARRANT or SEIZURE_PROTOCOL: what the seizure "
                                             "rests on (submission needs one); COURT_ORDER: "
                                             "the order's document (the reviewing legal "
                                             "officer uploads it)")
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class EvidenceOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    uploaded_by = serializers.CharField(source="uploaded_by.username")

    class Meta:
        model = Evidence
        fields = ["id", "kind", "original_name", "content_type", "size", "sha256",
                  "description", "uploaded_by", "uploaded_at"]


class HandoverInputSerializer(serializers.Serializer):
    item_kind = serializers.ChoiceField(choices=HandoverEntry.ItemKind.choices)
    item_description = serializers.CharField(max_length=500)
    holder = serializers.CharField(max_length=200)
    held_from = serializers.DateTimeField()
    held_until = serializers.DateTimeField(required=False, allow_null=True)
    seal_number = serializers.CharField(max_length=64, required=False, allow_blank=True)
    witnesses = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class HandoverOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    recorded_by = serializers.CharField(source="recorded_by.username")

    class Meta:
        model = HandoverEntry
        fields = ["id", "item_kind", "item_description", "holder", "held_from", "held_until",
                  "seal_number", "witnesses", "notes", "recorded_by", "created_at"]


class AlertFilterSerializer(PageFilterSerializer):
    open = FlagField(default=False, help_text="1 or true: only alerts not yet resolved")
    status = ChoiceListField(choices=AlertStatus.values, required=False,
                             help_text="One or more of OPEN, ACKNOWLEDGED, RESOLVED")
    kind = ChoiceListField(choices=CaseAlert.Kind.values, required=False)
    case = serializers.UUIDField(required=False, help_text="A case's id")


class AlertOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    case = serializers.UUIDField(source="case.public_id", default=None)
    acknowledged_by = serializers.CharField(source="acknowledged_by.username", default=None)
    resolved_by = serializers.CharField(source="resolved_by.username", default=None)
    allowed_transitions = serializers.SerializerMethodField()

    class Meta:
        model = CaseAlert
        fields = ["id", "case", "kind", "message", "details", "created_at", "resolved_at",
                  "status", "allowed_transitions", "status_reason", "escalation_level",
                  "escalate_at", "acknowledged_by", "acknowledged_at", "resolved_by"]

    def get_allowed_transitions(self, alert) -> list[str]:
        request = self.context.get("request")
        return ALERT_TABLE.targets_for(alert.status, request.user if request else None)


class AlertResolveInputSerializer(StepUpInputSerializer):
    reason = serializers.CharField(max_length=5000)

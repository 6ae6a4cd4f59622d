"""Thin edges of custody: validate input, call one selector or service, serialize."""

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from core.api.exports import streaming_csv_response
from core.api.filters import PageFilterSerializer, validate_filters
from core.api.pagination import paginate
from core.api.serializers import StepUpInputSerializer
from core.api.views import QazynaApiView, step_up_from
from core.errors import Conflict, ErrorCode, NotFound, ValidationFailed
from intake.selectors import case_get_for_user

from .. import accounting, exporters, selectors, services
from ..models import TransferKind
from ..psbt import MAX_PSBT_BYTES
from ..transitions import refuse_if_on_hold, takes_signatures
from . import serializers as s


def _require_reader(user):
    if not selectors.can_see_custody(user):
        raise NotFound("Not found.")


# --- reserve wallets and their quorum policies ---------------------------------------------
class ReserveWalletListCreateApi(QazynaApiView):
    @extend_schema(responses=s.ReserveWalletOutputSerializer(many=True),
                   parameters=[PageFilterSerializer])
    def get(self, request):
        validate_filters(request, PageFilterSerializer)
        wallets = selectors.reserve_wallet_list_for_user(user=request.user)
        return paginate(request=request, queryset=wallets,
                        serializer_class=s.ReserveWalletOutputSerializer, view=self)

    @extend_schema(request=s.ReserveWalletInputSerializer,
                   responses={201: s.ReserveWalletOutputSerializer})
    def post(self, request):
        data = s.ReserveWalletInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wallet = services.reserve_wallet_register(actor=request.user, **data.validated_data)
        return Response(s.ReserveWalletOutputSerializer(wallet).data,
                        status=status.HTTP_201_CREATED)


class ReserveWalletDetailApi(QazynaApiView):
    @extend_schema(responses=s.ReserveWalletOutputSerializer)
    def get(self, request, wallet_id):
        wallet = selectors.reserve_wallet_get_for_user(user=request.user, public_id=wallet_id)
        return Response(s.ReserveWalletOutputSerializer(wallet).data)


class ReserveWalletApproveApi(QazynaApiView):
    @extend_schema(request=StepUpInputSerializer, responses=s.ReserveWalletOutputSerializer)
    def post(self, request, wallet_id):
        wallet = selectors.reserve_wallet_get_for_user(user=request.user, public_id=wallet_id)
        wallet = services.reserve_wallet_approve(wallet=wallet, actor=request.user,
                                                 step_up=step_up_from(request))
        return Response(s.ReserveWalletOutputSerializer(wallet).data)


class QuorumPolicyListCreateApi(QazynaApiView):
    @extend_schema(responses=s.QuorumPolicyOutputSerializer(many=True))
    def get(self, request, wallet_id):
        wallet = selectors.reserve_wallet_get_for_user(user=request.user, public_id=wallet_id)
        return Response(s.QuorumPolicyOutputSerializer(
            wallet.policies.select_related("proposed_by", "approved_by"), many=True).data)

    @extend_schema(request=s.QuorumPolicyInputSerializer,
                   responses={201: s.QuorumPolicyOutputSerializer})
    def post(self, request, wallet_id):
        wallet = selectors.reserve_wallet_get_for_user(user=request.user, public_id=wallet_id)
        data = s.QuorumPolicyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        policy = services.quorum_policy_propose(
            wallet=wallet, actor=request.user,
            tiers=[dict(t) for t in data.validated_data["tiers"]])
        return Response(s.QuorumPolicyOutputSerializer(policy).data,
                        status=status.HTTP_201_CREATED)


class QuorumPolicyApproveApi(QazynaApiView):
    @extend_schema(request=StepUpInputSerializer, responses=s.QuorumPolicyOutputSerializer)
    def post(self, request, policy_id):
        policy = selectors.policy_get_for_user(user=request.user, public_id=policy_id)
        policy = services.quorum_policy_approve(policy=policy, actor=request.user,
                                                step_up=step_up_from(request))
        return Response(s.QuorumPolicyOutputSerializer(policy).data)


# --- transfers ----------------------------------------------------------------------------
class TransferListCreateApi(QazynaApiView):
    @extend_schema(responses=s.TransferOutputSerializer(many=True),
                   parameters=[s.TransferFilterSerializer])
    def get(self, request):
        filters = validate_filters(request, s.TransferFilterSerializer)
        transfers = selectors.transfer_list_for_user(user=request.user, filters=filters)
        return paginate(request=request, queryset=transfers,
                        serializer_class=s.TransferOutputSerializer, view=self)

    @extend_schema(request=s.TransferInputSerializer, responses={201: s.TransferOutputSerializer})
    def post(self, request):
        """kind RESERVE (default): a case's custody coins to a reserve wallet. kind RELEASE:
        to the address of an approved court release order (its case)."""
        _require_reader(request.user)
        data = s.TransferInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values["kind"] == TransferKind.RELEASE:
            order = selectors.release_order_get_for_user(user=request.user,
                                                         public_id=values["release_order"])
            transfer = services.transfer_propose_release(
                actor=request.user, case=order.case, release_order=order,
                destination_address=values.get("destination") or None,
                fee_rate_sat_vb=values.get("fee_rate_sat_vb"))
        else:
            case = case_get_for_user(user=request.user, public_id=values["case"])
            wallet = selectors.reserve_wallet_get_for_user(user=request.user,
                                                           public_id=values["reserve_wallet"])
            transfer = services.transfer_propose(
                actor=request.user, case=case, reserve_wallet=wallet,
                destination_address=values.get("destination") or None,
                fee_rate_sat_vb=values.get("fee_rate_sat_vb"))
        return Response(s.TransferOutputSerializer(transfer, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class TransferDetailApi(QazynaApiView):
    @extend_schema(responses=s.TransferOutputSerializer)
    def get(self, request, transfer_id):
        transfer = selectors.transfer_get_for_user(user=request.user, public_id=transfer_id)
        return Response(s.TransferOutputSerializer(transfer, context={"request": request}).data)


class TransferApproveApi(QazynaApiView):
    """Approve the exact payload (send its payload_hash)."""

    @extend_schema(request=s.TransferApproveInputSerializer, responses=s.TransferOutputSerializer)
    def post(self, request, transfer_id):
        transfer = selectors.transfer_get_for_user(user=request.user, public_id=transfer_id)
        data = s.TransferApproveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.transfer_approve(transfer=transfer, actor=request.user,
                                  payload_hash=data.validated_data["payload_hash"],
                                  step_up=step_up_from(request))
        transfer.refresh_from_db()
        return Response(s.TransferOutputSerializer(transfer, context={"request": request}).data)


class TransferCancelApi(QazynaApiView):
    @extend_schema(request=s.TransferReasonInputSerializer, responses=s.TransferOutputSerializer)
    def post(self, request, transfer_id):
        transfer = selectors.transfer_get_for_user(user=request.user, public_id=transfer_id)
        data = s.TransferReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.transfer_cancel(transfer=transfer, actor=request.user,
                                 reason=data.validated_data["reason"])
        transfer.refresh_from_db()
        return Response(s.TransferOutputSerializer(transfer, context={"request": request}).data)


class TransferRebuildApi(QazynaApiView):
    """Build the payload again from the node (before broadcast); approvals are invalidated
    if anything changed."""

    @extend_schema(request=s.TransferRebuildInputSerializer, responses=s.TransferOutputSerializer)
    def post(self, request, transfer_id):
        transfer = selectors.transfer_get_for_user(user=request.user, public_id=transfer_id)
        data = s.TransferRebuildInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.transfer_rebuild(transfer=transfer, actor=request.user,
                                  reason=data.validated_data["reason"],
                                  fee_rate_sat_vb=data.validated_data.get("fee_rate_sat_vb"))
        transfer.refresh_from_db()
        return Response(s.TransferOutputSerializer(transfer, context={"request": request}).data)


class TransferPsbtApi(QazynaApiView):
    """The approved unsigned PSBT for the key holders (?download=1 for a .psbt file)."""

    @extend_schema(responses=dict)
    def get(self, request, transfer_id):
        transfer = selectors.transfer_get_for_user(user=request.user, public_id=transfer_id)
        refuse_if_on_hold(transfer.status)
        if not takes_signatures(transfer.status):
            raise Conflict("The PSBT is handed out once the quorum has approved it.",
                           code=ErrorCode.INVALID_TRANSITION, current_status=transfer.status)
        if request.query_params.get("download") in ("1", "true"):
            response = HttpResponse(transfer.unsigned_psbt + "\n",
                                    content_type="application/octet-stream")
            response["Content-Disposition"] = (
                f'attachment; filename="transfer-{transfer.public_id}.psbt"')
            return response
        return Response({"psbt": transfer.unsigned_psbt, "txid": transfer.unsigned_txid,
                         "payload_hash": transfer.payload_hash, "payload": transfer.payload})


class TransferSignatureUploadApi(QazynaApiView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(request=s.SignedPsbtInputSerializer, responses=s.TransferOutputSerializer)
    def post(self, request, transfer_id):
        transfer = selectors.transfer_get_for_user(user=request.user, public_id=transfer_id)
        data = s.SignedPsbtInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        psbt = data.validated_data.get("psbt")
        upload = data.validated_data.get("file")
        if upload is not None:
            if upload.size > MAX_PSBT_BYTES:
                raise ValidationFailed("The PSBT file is too large.",
                                       code=ErrorCode.FILE_TOO_LARGE, field="file")
            psbt = upload.read()
        transfer = services.transfer_upload_signed(transfer=transfer, actor=request.user,
                                                   psbt=psbt, step_up=step_up_from(request))
        transfer.refresh_from_db()
        return Response(s.TransferOutputSerializer(transfer, context={"request": request}).data)


# --- deposits, prices, the ledger and reports ----------------------------------------------
class DepositListApi(QazynaApiView):
    @extend_schema(responses=s.DepositOutputSerializer(many=True),
                   parameters=[s.DepositFilterSerializer])
    def get(self, request):
        filters = validate_filters(request, s.DepositFilterSerializer)
        deposits = selectors.deposit_list_for_user(user=request.user, filters=filters)
        return paginate(request=request, queryset=deposits,
                        serializer_class=s.DepositOutputSerializer, view=self)


class DepositAttributeApi(QazynaApiView):
    @extend_schema(request=s.DepositAttributeInputSerializer, responses=s.DepositOutputSerializer)
    def post(self, request, deposit_id):
        deposit = selectors.deposit_get_for_user(user=request.user, public_id=deposit_id)
        data = s.DepositAttributeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = {k: v for k, v in data.validated_data.items() if k != "otp"}
        deposit = services.deposit_attribute(deposit=deposit, actor=request.user,
                                             step_up=step_up_from(request), **values)
        return Response(s.DepositOutputSerializer(deposit).data)


class DepositAttributionApproveApi(QazynaApiView):
    """The second officer approves the proposed attribution: the deposit enters the ledger."""

    @extend_schema(request=StepUpInputSerializer, responses=s.DepositOutputSerializer)
    def post(self, request, deposit_id):
        deposit = selectors.deposit_get_for_user(user=request.user, public_id=deposit_id)
        deposit = services.deposit_attribution_approve(deposit=deposit, actor=request.user,
                                                       step_up=step_up_from(request))
        return Response(s.DepositOutputSerializer(deposit).data)


class PriceListCreateApi(QazynaApiView):
    @extend_schema(responses=s.PriceOutputSerializer(many=True),
                   parameters=[PageFilterSerializer])
    def get(self, request):
        validate_filters(request, PageFilterSerializer)
        prices = selectors.price_list_for_user(user=request.user)
        return paginate(request=request, queryset=prices,
                        serializer_class=s.PriceOutputSerializer, view=self)

    @extend_schema(request=s.PriceInputSerializer, responses={201: s.PriceOutputSerializer})
    def post(self, request):
        data = s.PriceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = {k: v for k, v in data.validated_data.items() if k != "otp"}
        price = services.price_record(actor=request.user, step_up=step_up_from(request),
                                      **values)
        return Response(s.PriceOutputSerializer(price).data, status=status.HTTP_201_CREATED)


class PriceApproveApi(QazynaApiView):
    """A second person approves a recorded price: from now on valuations use it."""

    @extend_schema(request=StepUpInputSerializer, responses=s.PriceOutputSerializer)
    def post(self, request, price_id):
        price = selectors.price_get_for_user(user=request.user, public_id=price_id)
        price = services.price_approve(price=price, actor=request.user,
                                       step_up=step_up_from(request))
        return Response(s.PriceOutputSerializer(price).data)


class LedgerBalancesApi(QazynaApiView):
    @extend_schema(responses=dict)
    def get(self, request):
        _require_reader(request.user)
        return Response(selectors.balances())


class LedgerEntryListApi(QazynaApiView):
    @extend_schema(responses=s.JournalEntryOutputSerializer(many=True),
                   parameters=[PageFilterSerializer])
    def get(self, request):
        validate_filters(request, PageFilterSerializer)
        entries = selectors.journal_for_user(user=request.user)
        return paginate(request=request, queryset=entries,
                        serializer_class=s.JournalEntryOutputSerializer, view=self)


class ProofOfReservesApi(QazynaApiView):
    @extend_schema(responses=dict)
    def get(self, request):
        _require_reader(request.user)
        if request.query_params.get("as") == "csv":
            return streaming_csv_response(exporters.proof_of_reserves_rows(),
                                          filename="proof-of-reserves.csv")
        return Response(exporters.proof_of_reserves())


class AccountingExportApi(QazynaApiView):
    """Exports are for the bank, auditors and admins (others: 404)."""

    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request):
        _require_reader(request.user)
        response = StreamingHttpResponse(exporters.accounting_csv_chunks(),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="accounting.csv"'
        return response


# --- valuations and the accounting of a period ----------------------------------------------
class ValuationListApi(QazynaApiView):
    """Each milestone of a case (seizure, confiscation, reserve entry, release) valued in KZT
    when it happened, with the price and its source."""

    @extend_schema(responses=s.ValuationOutputSerializer(many=True),
                   parameters=[s.ValuationFilterSerializer])
    def get(self, request):
        filters = validate_filters(request, s.ValuationFilterSerializer)
        valuations = selectors.valuation_list_for_user(user=request.user, filters=filters)
        return paginate(request=request, queryset=valuations,
                        serializer_class=s.ValuationOutputSerializer, view=self)


class ValuationGapListApi(QazynaApiView):
    """Milestones waiting for a price (OPEN) and those valued once it was recorded."""

    @extend_schema(responses=s.ValuationGapOutputSerializer(many=True),
                   parameters=[s.ValuationGapFilterSerializer])
    def get(self, request):
        filters = validate_filters(request, s.ValuationGapFilterSerializer)
        gaps = selectors.valuation_gap_list_for_user(user=request.user, filters=filters)
        return paginate(request=request, queryset=gaps,
                        serializer_class=s.ValuationGapOutputSerializer, view=self)


class AccountingPeriodApi(QazynaApiView):
    """Opening and closing balances of the reserve for a period in BTC and KZT, by source,
    by case and by wallet, and how they tie out to the ledger and the node (as=csv for the
    balances as rows)."""

    throttle_scope = "export"

    @extend_schema(responses=dict, parameters=[s.AccountingPeriodFilterSerializer])
    def get(self, request):
        _require_reader(request.user)
        filters = validate_filters(request, s.AccountingPeriodFilterSerializer)
        start, end = accounting.period_bounds(filters["start"], filters["end"])
        report = accounting.period_accounting(start=start, end=end)
        if request.query_params.get("as") == "csv":
            return streaming_csv_response(
                accounting.period_rows(report),
                filename=f"accounting-{filters['start']}-{filters['end']}.csv")
        return Response(report)
# --- court-ordered releases ------------------------------------------------------------------
class ReleaseOrderListCreateApi(QazynaApiView):
    @extend_schema(responses=s.ReleaseOrderOutputSerializer(many=True),
                   parameters=[s.ReleaseOrderFilterSerializer])
    def get(self, request):
        filters = validate_filters(request, s.ReleaseOrderFilterSerializer)
        orders = selectors.release_order_list_for_user(user=request.user, filters=filters)
        return paginate(request=request, queryset=orders,
                        serializer_class=s.ReleaseOrderOutputSerializer, view=self)

    @extend_schema(request=s.ReleaseOrderInputSerializer,
                   responses={201: s.ReleaseOrderOutputSerializer})
    def post(self, request):
        """A legal officer records a court's release order (pending a second officer)."""
        data = s.ReleaseOrderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        case = case_get_for_user(user=request.user, public_id=values.pop("case"))
        order = services.release_order_record(actor=request.user, case=case, **values)
        return Response(s.ReleaseOrderOutputSerializer(order).data,
                        status=status.HTTP_201_CREATED)


class ReleaseOrderDetailApi(QazynaApiView):
    @extend_schema(responses=s.ReleaseOrderOutputSerializer)
    def get(self, request, order_id):
        order = selectors.release_order_get_for_user(user=request.user, public_id=order_id)
        return Response(s.ReleaseOrderOutputSerializer(order).data)


class ReleaseOrderApproveApi(QazynaApiView):
    """A second legal officer approves the order (fresh code): its address may receive the
    case's coins."""

    @extend_schema(request=StepUpInputSerializer, responses=s.ReleaseOrderOutputSerializer)
    def post(self, request, order_id):
        order = selectors.release_order_get_for_user(user=request.user, public_id=order_id)
        order = services.release_order_approve(order=order, actor=request.user,
                                               step_up=step_up_from(request))
        return Response(s.ReleaseOrderOutputSerializer(order).data)


class ReleaseOrderRejectApi(QazynaApiView):
    @extend_schema(request=s.TransferReasonInputSerializer,
                   responses=s.ReleaseOrderOutputSerializer)
    def post(self, request, order_id):
        order = selectors.release_order_get_for_user(user=request.user, public_id=order_id)
        data = s.TransferReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.release_order_reject(order=order, actor=request.user,
                                              reason=data.validated_data["reason"])
        return Response(s.ReleaseOrderOutputSerializer(order).data)


# --- assets handed over without a transfer -----------------------------------------------------
class AssetHandoverListCreateApi(QazynaApiView):
    @extend_schema(responses=s.AssetHandoverOutputSerializer(many=True),
                   parameters=[s.AssetHandoverFilterSerializer])
    def get(self, request):
        filters = validate_filters(request, s.AssetHandoverFilterSerializer)
        handovers = selectors.handover_list_for_user(user=request.user, filters=filters)
        return paginate(request=request, queryset=handovers,
                        serializer_class=s.AssetHandoverOutputSerializer, view=self)

    @extend_schema(request=s.AssetHandoverInputSerializer,
                   responses={201: s.AssetHandoverOutputSerializer})
    def post(self, request):
        """A bank officer records an asset handed to the fund's custodian (or released by
        an approved order), with the receipt's hash and the txid (fresh code)."""
        data = s.AssetHandoverInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = {k: v for k, v in data.validated_data.items() if k != "otp"}
        asset = selectors.asset_get_for_handover(user=request.user,
                                                 public_id=values.pop("asset"))
        order_id = values.pop("release_order", None)
        order = (selectors.release_order_get_for_user(user=request.user, public_id=order_id)
                 if order_id else None)
        handover = services.handover_propose(actor=request.user, asset=asset,
                                             release_order=order,
                                             step_up=step_up_from(request), **values)
        return Response(s.AssetHandoverOutputSerializer(handover).data,
                        status=status.HTTP_201_CREATED)


class AssetHandoverApproveApi(QazynaApiView):
    """A second bank officer approves (fresh code): the asset's disposition is recorded."""

    @extend_schema(request=StepUpInputSerializer, responses=s.AssetHandoverOutputSerializer)
    def post(self, request, handover_id):
        handover = selectors.handover_get_for_user(user=request.user, public_id=handover_id)
        handover = services.handover_approve(handover=handover, actor=request.user,
                                             step_up=step_up_from(request))
        return Response(s.AssetHandoverOutputSerializer(handover).data)


class AssetHandoverRejectApi(QazynaApiView):
    @extend_schema(request=s.TransferReasonInputSerializer,
                   responses=s.AssetHandoverOutputSerializer)
    def post(self, request, handover_id):
        handover = selectors.handover_get_for_user(user=request.user, public_id=handover_id)
        data = s.TransferReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        handover = services.handover_reject(handover=handover, actor=request.user,
                                            reason=data.validated_data["reason"])
        return Response(s.AssetHandoverOutputSerializer(handover).data)

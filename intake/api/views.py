"""Thin edges: validate input, call one selector or service, serialize the output."""

from django.db.models import Prefetch
from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from core.api.exports import streaming_csv_response
from core.api.filters import validate_filters
from core.api.pagination import paginate
from core.api.views import QazynaApiView, step_up_from
from core.errors import ErrorCode, NotFound, ValidationFailed

from .. import exporters, selectors, services
from ..models import SweepTransaction
from . import serializers as s


class CaseListCreateApi(QazynaApiView):
    @extend_schema(responses=s.CaseOutputSerializer(many=True),
                   parameters=[s.CaseListFilterSerializer])
    def get(self, request):
        filters = validate_filters(request, s.CaseListFilterSerializer)
        cases = selectors.case_list_for_user(user=request.user, filters=filters)
        return paginate(request=request, queryset=cases,
                        serializer_class=s.CaseOutputSerializer, view=self)

    @extend_schema(request=s.CaseFileInputSerializer, responses={201: s.CaseOutputSerializer})
    def post(self, request):
        data = s.CaseFileInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        assets = values.pop("assets", [])
        case = services.case_file(actor=request.user, data=values, assets=assets)
        return Response(s.CaseOutputSerializer(case, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class CaseExportCsvApi(QazynaApiView):
    """Every case this person may see, as CSV (the same selector and filters as the list)."""

    throttle_scope = "export"

    @extend_schema(responses={(200, "text/csv"): str}, parameters=[s.CaseFilterSerializer])
    def get(self, request):
        filters = validate_filters(request, s.CaseFilterSerializer)
        cases = selectors.case_list_for_user(user=request.user, filters=filters)
        return streaming_csv_response(exporters.case_rows(cases),
                                      filename="qazyna-cases.csv", content_type="text/csv")


class CaseDetailApi(QazynaApiView):
    @extend_schema(responses=s.CaseOutputSerializer)
    def get(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        return Response(s.CaseOutputSerializer(case, context={"request": request}).data)

    @extend_schema(request=s.CaseInputSerializer(partial=True), responses=s.CaseOutputSerializer)
    def patch(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        if "status" in request.data:
            raise ValidationFailed("status is changed by command endpoints (…/submit/ etc.), "
                                   "never by PATCH.", code=ErrorCode.INVALID, field="status")
        data = s.CaseInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        case = services.case_update(case=case, actor=request.user, data=data.validated_data)
        return Response(s.CaseOutputSerializer(case, context={"request": request}).data)


# --- commands on a case: POST …/<command>/, one service call, the case back ----------------
class CaseSubmitApi(QazynaApiView):
    """The filing clerk submits the case for legal review: with at least one asset, and the
    warrant or seizure protocol among its evidence (409 warrant_document_missing)."""

    @extend_schema(request=None, responses=s.CaseOutputSerializer, operation_id="case_submit")
    def post(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        case = services.case_submit(case=case, actor=request.user)
        case.refresh_from_db()
        return Response(s.CaseOutputSerializer(case, context={"request": request}).data)


class CaseStartReviewApi(QazynaApiView):
    """A legal officer takes the submitted case for review."""

    @extend_schema(request=None, responses=s.CaseOutputSerializer,
                   operation_id="case_start_review")
    def post(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        case = services.case_start_review(case=case, actor=request.user)
        case.refresh_from_db()
        return Response(s.CaseOutputSerializer(case, context={"request": request}).data)


class CaseReturnApi(QazynaApiView):
    """The reviewer returns the case to the clerk for correction, with a reason."""

    @extend_schema(request=s.ReasonInputSerializer, responses=s.CaseOutputSerializer,
                   operation_id="case_return")
    def post(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        data = s.ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.case_return_for_correction(case=case, actor=request.user,
                                                   reason=data.validated_data["reason"],
                                                   step_up=step_up_from(request))
        case.refresh_from_db()
        return Response(s.CaseOutputSerializer(case, context={"request": request}).data)


class CaseRejectApi(QazynaApiView):
    """The reviewer rejects the case under review, with a reason."""

    @extend_schema(request=s.ReasonInputSerializer, responses=s.CaseOutputSerializer,
                   operation_id="case_reject")
    def post(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        data = s.ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.case_reject(case=case, actor=request.user,
                                    reason=data.validated_data["reason"],
                                    step_up=step_up_from(request))
        case.refresh_from_db()
        return Response(s.CaseOutputSerializer(case, context={"request": request}).data)


class CaseApproveApi(QazynaApiView):
    """The reviewer records the court's confiscation order."""

    @extend_schema(request=s.ApproveInputSerializer, responses=s.CaseOutputSerializer,
                   operation_id="case_approve",
                   description=services.case_approve_confiscation.__doc__)
    def post(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        data = s.ApproveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.case_approve_confiscation(case=case, actor=request.user,
                                                  step_up=step_up_from(request),
                                                  **data.to_service())
        case.refresh_from_db()
        return Response(s.CaseOutputSerializer(case, context={"request": request}).data)


class CaseAppealApi(QazynaApiView):
    """An appeal is lodged against the recorded order: the case goes ON_APPEAL."""

    @extend_schema(request=s.ReasonInputSerializer, responses=s.CaseOutputSerializer,
                   operation_id="case_appeal")
    def post(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        data = s.ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.case_record_appeal(case=case, actor=request.user,
                                           reason=data.validated_data["reason"],
                                           step_up=step_up_from(request))
        case.refresh_from_db()
        return Response(s.CaseOutputSerializer(case, context={"request": request}).data)


class CaseAppealResolveApi(QazynaApiView):
    """The appeal is decided: UPHELD confirms the order, OVERTURNED rejects."""

    @extend_schema(request=s.AppealResolveInputSerializer, responses=s.CaseOutputSerializer,
                   operation_id="case_resolve_appeal")
    def post(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        data = s.AppealResolveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.case_resolve_appeal(case=case, actor=request.user,
                                            outcome=data.validated_data["outcome"],
                                            reason=data.validated_data["reason"],
                                            step_up=step_up_from(request))
        case.refresh_from_db()
        return Response(s.CaseOutputSerializer(case, context={"request": request}).data)


class CaseCloseApi(QazynaApiView):
    """The case is closed, with a reason."""

    @extend_schema(request=s.ReasonInputSerializer, responses=s.CaseOutputSerializer,
                   operation_id="case_close")
    def post(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        data = s.ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.case_close(case=case, actor=request.user,
                                   reason=data.validated_data["reason"],
                                   step_up=step_up_from(request))
        case.refresh_from_db()
        return Response(s.CaseOutputSerializer(case, context={"request": request}).data)


# --- what a case holds ------------------------------------------------------------------
class AssetListCreateApi(QazynaApiView):
    @extend_schema(responses=s.AssetOutputSerializer(many=True))
    def get(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        assets = case.assets.prefetch_related(
            Prefetch("sweeps", queryset=SweepTransaction.objects.select_related("recorded_by")))
        return Response(s.AssetOutputSerializer(assets, many=True).data)

    @extend_schema(request=s.AssetInputSerializer, responses={201: s.AssetOutputSerializer})
    def post(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        data = s.AssetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        asset = services.asset_add(case=case, actor=request.user, **data.validated_data)
        return Response(s.AssetOutputSerializer(asset).data, status=status.HTTP_201_CREATED)


class SweepRecordApi(QazynaApiView):
    @extend_schema(request=s.SweepInputSerializer, responses={201: s.AssetOutputSerializer})
    def post(self, request, case_id, asset_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        asset = selectors.asset_get_for_user(user=request.user, case=case, public_id=asset_id)
        data = s.SweepInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.sweep_record(asset=asset, actor=request.user, txid=data.validated_data["txid"])
        asset.refresh_from_db()
        return Response(s.AssetOutputSerializer(asset).data, status=status.HTTP_201_CREATED)


class EvidenceListCreateApi(QazynaApiView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=s.EvidenceOutputSerializer(many=True))
    def get(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        return Response(s.EvidenceOutputSerializer(
            case.evidence.select_related("uploaded_by"), many=True).data)

    @extend_schema(request=s.EvidenceInputSerializer, responses={201: s.EvidenceOutputSerializer})
    def post(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        data = s.EvidenceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        evidence = services.evidence_upload(
            case=case, actor=request.user, uploaded_file=data.validated_data["file"],
            kind=data.validated_data["kind"],
            description=data.validated_data.get("description", ""))
        return Response(s.EvidenceOutputSerializer(evidence).data,
                        status=status.HTTP_201_CREATED)


class EvidenceDownloadApi(QazynaApiView):
    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, case_id, evidence_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        evidence = case.evidence.filter(public_id=evidence_id).first()
        if evidence is None:
            raise NotFound("No such evidence on this case.")
        response = FileResponse(evidence.file.open("rb"), as_attachment=True,
                                filename=evidence.original_name,
                                content_type=evidence.content_type)
        response["X-Content-SHA256"] = evidence.sha256
        return response


class HandoverListCreateApi(QazynaApiView):
    @extend_schema(responses=s.HandoverOutputSerializer(many=True))
    def get(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        return Response(s.HandoverOutputSerializer(
            case.handovers.select_related("recorded_by"), many=True).data)

    @extend_schema(request=s.HandoverInputSerializer,
                   responses={201: s.HandoverOutputSerializer})
    def post(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        data = s.HandoverInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.handover_add(case=case, actor=request.user,
                                           data=dict(data.validated_data))
        return Response(s.HandoverOutputSerializer(entry).data,
                        status=status.HTTP_201_CREATED)


class AlertListApi(QazynaApiView):
    @extend_schema(responses=s.AlertOutputSerializer(many=True),
                   parameters=[s.AlertFilterSerializer])
    def get(self, request):
        filters = validate_filters(request, s.AlertFilterSerializer)
        alerts = selectors.alert_list_for_user(user=request.user, open_only=filters["open"],
                                               filters=filters)
        return paginate(request=request, queryset=alerts,
                        serializer_class=s.AlertOutputSerializer, view=self)


class AlertDetailApi(QazynaApiView):
    @extend_schema(responses=s.AlertOutputSerializer)
    def get(self, request, alert_id):
        alert = selectors.alert_get_for_user(user=request.user, public_id=alert_id)
        return Response(s.AlertOutputSerializer(alert, context={"request": request}).data)


class AlertAcknowledgeApi(QazynaApiView):
    """Someone responsible has seen the alert and is acting on it (with a reason): it is no
    longer escalated."""

    @extend_schema(request=s.ReasonInputSerializer, responses=s.AlertOutputSerializer,
                   operation_id="alert_acknowledge")
    def post(self, request, alert_id):
        alert = selectors.alert_get_for_user(user=request.user, public_id=alert_id)
        data = s.ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.alert_acknowledge(alert=alert, actor=request.user, **data.validated_data)
        alert = selectors.alert_get_for_user(user=request.user, public_id=alert_id)
        return Response(s.AlertOutputSerializer(alert, context={"request": request}).data)


class AlertResolveApi(QazynaApiView):
    """The alert is resolved, with what was found and done: a decision (legal officers, bank
    officers, admins), with a fresh second-factor code."""

    @extend_schema(request=s.AlertResolveInputSerializer, responses=s.AlertOutputSerializer,
                   operation_id="alert_resolve")
    def post(self, request, alert_id):
        alert = selectors.alert_get_for_user(user=request.user, public_id=alert_id)
        data = s.AlertResolveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.alert_resolve(alert=alert, actor=request.user,
                               reason=data.validated_data["reason"],
                               step_up=step_up_from(request))
        alert = selectors.alert_get_for_user(user=request.user, public_id=alert_id)
        return Response(s.AlertOutputSerializer(alert, context={"request": request}).data)

"""Thin edges: validate input, call one selector or service, serialize the output."""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from core.api.idempotency import idempotent
from core.api.pagination import DefaultPagination
from core.api.views import QazynaApiView

from .. import selectors, services
from ..models import SweepTransaction
from . import serializers as s


def _paginate(view, request, queryset, serializer_class):
    paginator = DefaultPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


class CaseListCreateApi(QazynaApiView):
    @extend_schema(responses=s.CaseOutputSerializer(many=True), parameters=[
        OpenApiParameter("status", str, description="Comma-separated statuses"),
        OpenApiParameter("agency", str, description="Agency code"),
        OpenApiParameter("q", str, description="Case number, owner, warrant or address"),
    ])
    def get(self, request):
        cases = selectors.case_list_for_user(user=request.user, filters=request.query_params)
        return _paginate(self, request, cases, s.CaseOutputSerializer)

    @extend_schema(request=s.CaseInputSerializer, responses={201: s.CaseOutputSerializer})
    @idempotent
    def post(self, request):
        data = s.CaseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.case_create(actor=request.user, data=data.validated_data)
        return Response(s.CaseOutputSerializer(case).data, status=status.HTTP_201_CREATED)


class CaseDetailApi(QazynaApiView):
    @extend_schema(responses=s.CaseOutputSerializer)
    def get(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        return Response(s.CaseOutputSerializer(case).data)

    @extend_schema(request=s.CaseInputSerializer(partial=True), responses=s.CaseOutputSerializer)
    def patch(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        if "status" in request.data:
            from core.errors import ErrorCode, ValidationFailed

            raise ValidationFailed("status is changed by command endpoints (…/submit/ etc.), "
                                   "never by PATCH.", code=ErrorCode.INVALID, field="status")
        data = s.CaseInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        case = services.case_update(case=case, actor=request.user, data=data.validated_data)
        return Response(s.CaseOutputSerializer(case).data)


class CaseCommandApi(QazynaApiView):
    """POST …/<command>/ on a case: one service call, the case back."""

    input_serializer = None
    service = None

    def call(self, case, user, data):
        return type(self).service(case=case, actor=user, **data)

    @idempotent
    def post(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        data = {}
        if self.input_serializer is not None:
            serializer = self.input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        case = self.call(case, request.user, data)
        case.refresh_from_db()
        return Response(s.CaseOutputSerializer(case).data)


def _command(name, service, input_serializer=None):
    def post(self, request, case_id):
        return CaseCommandApi.post(self, request, case_id)

    post = extend_schema(request=input_serializer, responses=s.CaseOutputSerializer,
                         operation_id=f"case_{name}", description=service.__doc__)(post)
    return type(f"Case{name.title().replace('_', '')}Api", (CaseCommandApi,), {
        "service": staticmethod(service), "input_serializer": input_serializer, "post": post,
    })


CaseSubmitApi = _command("submit", services.case_submit)
CaseStartReviewApi = _command("start_review", services.case_start_review)
CaseReturnApi = _command("return", services.case_return_for_correction,
                         s.ReasonInputSerializer)
CaseRejectApi = _command("reject", services.case_reject, s.ReasonInputSerializer)
CaseApproveApi = _command("approve", services.case_approve_confiscation,
                          s.ApproveInputSerializer)
CaseAppealApi = _command("appeal", services.case_record_appeal, s.ReasonInputSerializer)
CaseAppealResolveApi = _command("resolve_appeal", services.case_resolve_appeal,
                                s.AppealResolveInputSerializer)
CaseCloseApi = _command("close", services.case_close, s.ReasonInputSerializer)


class AssetListCreateApi(QazynaApiView):
    @extend_schema(responses=s.AssetOutputSerializer(many=True))
    def get(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        assets = case.assets.prefetch_related(
            Prefetch("sweeps", queryset=SweepTransaction.objects.select_related("recorded_by")))
        return Response(s.AssetOutputSerializer(assets, many=True).data)

    @extend_schema(request=s.AssetInputSerializer, responses={201: s.AssetOutputSerializer})
    @idempotent
    def post(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        data = s.AssetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        asset = services.asset_add(case=case, actor=request.user, **data.validated_data)
        return Response(s.AssetOutputSerializer(asset).data, status=status.HTTP_201_CREATED)


class SweepRecordApi(QazynaApiView):
    @extend_schema(request=s.SweepInputSerializer, responses={201: s.AssetOutputSerializer})
    @idempotent
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
            description=data.validated_data.get("description", ""))
        return Response(s.EvidenceOutputSerializer(evidence).data,
                        status=status.HTTP_201_CREATED)


class CustodyEntryListCreateApi(QazynaApiView):
    @extend_schema(responses=s.CustodyEntryOutputSerializer(many=True))
    def get(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        return Response(s.CustodyEntryOutputSerializer(
            case.custody_entries.select_related("recorded_by"), many=True).data)

    @extend_schema(request=s.CustodyEntryInputSerializer,
                   responses={201: s.CustodyEntryOutputSerializer})
    @idempotent
    def post(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        data = s.CustodyEntryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.custody_entry_add(case=case, actor=request.user,
                                           data=dict(data.validated_data))
        return Response(s.CustodyEntryOutputSerializer(entry).data,
                        status=status.HTTP_201_CREATED)


class AlertListApi(QazynaApiView):
    @extend_schema(responses=s.AlertOutputSerializer(many=True),
                   parameters=[OpenApiParameter("open", bool)])
    def get(self, request):
        alerts = selectors.alert_list_for_user(
            user=request.user, open_only=request.query_params.get("open") in ("1", "true"))
        return _paginate(self, request, alerts, s.AlertOutputSerializer)


class CaseExportCsvApi(QazynaApiView):
    """Every case this person may see, as CSV (the same selector as the list)."""

    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request):
        import csv

        from django.http import StreamingHttpResponse

        class Echo:
            def write(self, value):
                return value

        cases = selectors.case_list_for_user(user=request.user, filters=request.query_params)
        writer = csv.writer(Echo())
        header = ["id", "agency", "case_number", "status", "warrant_number", "warrant_date",
                  "owner_name", "custody_address", "assets", "declared_amounts", "created_at"]

        def rows():
            yield writer.writerow(header)
            for case in cases.prefetch_related("assets").iterator(chunk_size=500):
                assets = list(case.assets.all())
                yield writer.writerow([
                    case.public_id, case.agency.code, case.case_number, case.status,
                    case.warrant_number, case.warrant_date, case.owner_name,
                    case.custody_address, ";".join(f"{a.asset}/{a.network}" for a in assets),
                    ";".join(str(a.declared_amount) for a in assets), case.created_at.isoformat(),
                ])

        response = StreamingHttpResponse(rows(), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="qazyna-cases.csv"'
        return response


class EvidenceDownloadApi(QazynaApiView):
    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, case_id, evidence_id):
        from django.http import FileResponse

        from core.errors import NotFound

        case = selectors.case_get_for_user(user=request.user, public_id=case_id)
        evidence = case.evidence.filter(public_id=evidence_id).first()
        if evidence is None:
            raise NotFound("No such evidence on this case.")
        response = FileResponse(evidence.file.open("rb"), as_attachment=True,
                                filename=evidence.original_name,
                                content_type=evidence.content_type)
        response["X-Content-SHA256"] = evidence.sha256
        return response

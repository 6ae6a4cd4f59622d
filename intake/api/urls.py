from django.urls import path

from . import views as v

urlpatterns = [
    path("cases/", v.CaseListCreateApi.as_view(), name="case-list"),
    path("cases/export.csv", v.CaseExportCsvApi.as_view(), name="case-export"),
    path("cases/<uuid:case_id>/", v.CaseDetailApi.as_view(), name="case-detail"),
    path("cases/<uuid:case_id>/submit/", v.CaseSubmitApi.as_view(), name="case-submit"),
    path("cases/<uuid:case_id>/start-review/", v.CaseStartReviewApi.as_view(),
         name="case-start-review"),
    path("cases/<uuid:case_id>/return/", v.CaseReturnApi.as_view(), name="case-return"),
    path("cases/<uuid:case_id>/reject/", v.CaseRejectApi.as_view(), name="case-reject"),
    path("cases/<uuid:case_id>/approve/", v.CaseApproveApi.as_view(), name="case-approve"),
    path("cases/<uuid:case_id>/appeal/", v.CaseAppealApi.as_view(), name="case-appeal"),
    path("cases/<uuid:case_id>/resolve-appeal/", v.CaseAppealResolveApi.as_view(),
         name="case-resolve-appeal"),
    path("cases/<uuid:case_id>/close/", v.CaseCloseApi.as_view(), name="case-close"),
    path("cases/<uuid:case_id>/assets/", v.AssetListCreateApi.as_view(), name="asset-list"),
    path("cases/<uuid:case_id>/assets/<uuid:asset_id>/sweeps/", v.SweepRecordApi.as_view(),
         name="asset-sweeps"),
    path("cases/<uuid:case_id>/evidence/", v.EvidenceListCreateApi.as_view(),
         name="evidence-list"),
    path("cases/<uuid:case_id>/evidence/<uuid:evidence_id>/download/",
         v.EvidenceDownloadApi.as_view(), name="evidence-download"),
    path("cases/<uuid:case_id>/custody-entries/", v.HandoverListCreateApi.as_view(),
         name="custody-entry-list"),
    path("alerts/", v.AlertListApi.as_view(), name="alert-list"),
    path("alerts/<uuid:alert_id>/", v.AlertDetailApi.as_view(), name="alert-detail"),
    path("alerts/<uuid:alert_id>/acknowledge/", v.AlertAcknowledgeApi.as_view(),
         name="alert-acknowledge"),
    path("alerts/<uuid:alert_id>/resolve/", v.AlertResolveApi.as_view(),
         name="alert-resolve"),
]

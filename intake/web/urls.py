from django.urls import path

from . import alerts, cases, filing, reports, review

app_name = "intake"

urlpatterns = [
    # Cases (everyone who may see cases; the selectors decide which)
    path("cases/", cases.case_list, name="case-list"),
    path("cases/<uuid:case_id>/", cases.case_detail, name="case-detail"),
    path("cases/<uuid:case_id>/evidence/<uuid:evidence_id>/download/",
         cases.evidence_download, name="evidence-download"),
    path("cases.csv", reports.case_list_csv, name="case-list-csv"),
    path("cases/<uuid:case_id>/seizure-receipt.pdf", reports.seizure_receipt,
         name="seizure-receipt"),
    path("cases/<uuid:case_id>/chain-of-custody.pdf", reports.custody_report,
         name="custody-report"),
    path("cases/check/address/", cases.check_address, name="check-address"),
    path("cases/check/txid/", cases.check_txid, name="check-txid"),
    # Alerts (everyone who may see cases; the selectors decide which)
    path("alerts/", alerts.alert_list, name="alert-list"),
    path("alerts/<uuid:alert_id>/", alerts.alert_detail, name="alert-detail"),
    # Filing (clerks)
    path("cases/new/", filing.file_new, name="file-new"),
    path("cases/<uuid:case_id>/file/details/", filing.file_details, name="file-details"),
    path("cases/<uuid:case_id>/file/assets/", filing.file_assets, name="file-assets"),
    path("cases/<uuid:case_id>/file/evidence/", filing.file_evidence, name="file-evidence"),
    path("cases/<uuid:case_id>/file/handovers/", filing.file_handovers,
         name="file-handovers"),
    path("cases/<uuid:case_id>/file/check/", filing.file_check, name="file-check"),
    path("cases/<uuid:case_id>/file/submitted/", filing.file_submitted, name="file-submitted"),
    # Legal review
    path("review/", review.review_queue, name="review-queue"),
    path("cases/<uuid:case_id>/start-review/", review.start_review, name="start-review"),
    path("cases/<uuid:case_id>/order/", review.record_order, name="record-order"),
    path("cases/<uuid:case_id>/return/", review.reason_decision, {"decision": "return"},
         name="return"),
    path("cases/<uuid:case_id>/reject/", review.reason_decision, {"decision": "reject"},
         name="reject"),
    path("cases/<uuid:case_id>/appeal/", review.reason_decision, {"decision": "appeal"},
         name="appeal"),
    path("cases/<uuid:case_id>/appeal/outcome/", review.appeal_outcome, name="appeal-outcome"),
    path("cases/<uuid:case_id>/close/", review.reason_decision, {"decision": "close"},
         name="close"),
]

from django.urls import URLPattern, path

from . import chain, reports, views

urlpatterns: list[URLPattern] = [
    path("audit/", views.dashboard, name="auditor-dashboard"),
    path("audit/accounting/", views.accounting, name="auditor-accounting"),
    path("audit/accounting.csv", views.accounting_csv, name="auditor-accounting-csv"),
    path("audit/accounting.pdf", reports.accounting_pdf, name="auditor-accounting-pdf"),
    path("audit/accounting/pdf/<str:job>/", reports.accounting_pdf_job,
         name="auditor-accounting-pdf-job"),
    path("audit/accounting/pdf/<str:job>/download/", reports.accounting_pdf_download,
         name="auditor-accounting-pdf-download"),
    path("audit/proof-of-reserves/", views.proof_of_reserves, name="auditor-proof"),
    path("audit/proof-of-reserves.csv", views.proof_of_reserves_csv, name="auditor-proof-csv"),
    path("audit/valuations/", views.valuations, name="auditor-valuations"),
    path("audit/valuations.csv", views.valuations_csv, name="auditor-valuations-csv"),
    path("audit/transfers/", views.transfers, name="auditor-transfers"),
    path("audit/transfers.csv", views.transfers_csv, name="auditor-transfers-csv"),
    path("audit/transfers/<uuid:transfer_id>/certificate.pdf", reports.transfer_certificate,
         name="transfer-certificate"),
    path("audit/deposits/", views.deposits, name="auditor-deposits"),
    path("audit/deposits.csv", views.deposits_csv, name="auditor-deposits-csv"),
    path("audit/ledger/", views.ledger, name="auditor-ledger"),
    path("audit/chain/", chain.audit_chain, name="auditor-chain"),
    path("audit/chain/verify/", chain.audit_verify, name="auditor-verify"),
    path("audit/chain/checkpoint.jsonl", chain.audit_checkpoint, name="auditor-checkpoint"),
    path("audit/events/", chain.audit_events, name="auditor-events"),
    path("audit/events.csv", chain.audit_events_csv, name="auditor-events-csv"),
]

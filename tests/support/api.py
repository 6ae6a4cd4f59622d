"""Payloads and URLs of the intake API (cases, orders) shared by the intake tests."""

import hashlib

from django.core.files.uploadedfile import SimpleUploadedFile

from intake.models import Evidence
from tests.support.factories import EvidenceFactory

ORDER_DOCUMENT = b"%PDF-1.4 court order scan"
DOC_SHA = hashlib.sha256(ORDER_DOCUMENT).hexdigest()

CASE_PAYLOAD = {
    "case_number": "AFM-2026-001",
    "warrant_number": "W-77/2026",
    "warrant_date": "2026-03-01",
    "seizure_protocol_number": "SP-12",
    "seizure_date": "2026-03-02",
    "owner_name": "Suspect One",
    "owner_identifier": "900101300123",
    "description": "Hardware wallet seized at the suspect's home.",
}

ORDER_PAYLOAD = {
    "court": "Specialised Inter-District Criminal Court of Astana",
    "order_number": "2-1234/2026",
    "order_date": "2026-06-01",
    "document_sha256": DOC_SHA,
    "finality": "FINAL",
}


def url(case=None, action=None, sub=None):
    if case is None:
        return "/api/v1/cases/"
    base = f"/api/v1/cases/{case}/"
    if sub:
        base += f"{sub}/"
    if action:
        base += f"{action}/"
    return base


def attach_documents(case, *, order=True):
    """The warrant a case's submission needs and (order=True) the court order's document
    that ORDER_PAYLOAD names, attached to case as its evidence."""
    EvidenceFactory(case=case, kind=Evidence.Kind.WARRANT)
    if order:
        EvidenceFactory(case=case, kind=Evidence.Kind.COURT_ORDER, content=ORDER_DOCUMENT)
    return case


def upload_document(client, case_id, *, kind, content=ORDER_DOCUMENT, name="document.pdf"):
    """A document uploaded to the case through the API (multipart, kind as given)."""
    response = client.post(url(case_id, sub="evidence"),
                           {"file": SimpleUploadedFile(name, content), "kind": kind},
                           format="multipart")
    assert response.status_code == 201, response.json()
    return response.json()

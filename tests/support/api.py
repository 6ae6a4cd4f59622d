"""Payloads and URLs of the intake API (cases, orders) shared by the intake tests."""

import hashlib

DOC_SHA = hashlib.sha256(b"court order scan").hexdigest()

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

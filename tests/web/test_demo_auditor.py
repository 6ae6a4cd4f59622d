"""The embedded default's demo auditor walks the auditor's pages on the demo data: the
dashboard, the audit chain (verified by the same task the button queues), the accounting
as CSV and PDF, and a demo case's reports."""

import pytest
from django.core.management import call_command

from intake.models import SeizureCase

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("load_demo_data", verbosity=0)


def test_the_demo_auditor_reads_the_reserve_and_the_record(client, demo, run_tasks_in_process):
    response = client.post("/sign-in/", {"username": "auditor", "password": "qazyna-demo"})
    assert response["Location"] == "/"
    home = client.get("/").content.decode()
    assert "Reserve dashboard" in home and "Audit record" in home
    for url in ("/audit/", "/audit/accounting/", "/audit/proof-of-reserves/",
                "/audit/transfers/", "/audit/deposits/", "/audit/ledger/",
                "/audit/valuations/", "/audit/events/"):
        assert client.get(url).status_code == 200, url
    client.post("/audit/chain/verify/", {"full": "1"})
    assert "The chain is intact through event" in client.get("/audit/chain/").content.decode()
    assert client.get("/audit/accounting.csv").status_code == 200
    pdf = client.get("/audit/accounting.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    case = SeizureCase.objects.order_by("id").first()
    for report in ("seizure-receipt.pdf", "chain-of-custody.pdf"):
        response = client.get(f"/cases/{case.public_id}/{report}")
        assert response.status_code == 200 and response.content.startswith(b"%PDF-")

"""The cases CSV export: streamed row by row from intake.exporters, with the columns and
content it always had."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from intake.models import SeizedAsset
from tests.support.factories import CaseFactory

pytestmark = pytest.mark.django_db

HEADER = ("id,agency,case_number,status,warrant_number,warrant_date,owner_name,"
          "custody_address,assets,declared_amounts,created_at\r\n")


def read(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == 'attachment; filename="qazyna-cases.csv"'
    return b"".join(response.streaming_content).decode()


def test_one_row_per_case_with_its_assets(api, auditor, agency):
    case = CaseFactory(agency=agency, case_number="AFM/2026-1", owner_name='Doe, "J"\nJr',
                       custody_address="bcrt1qexample")
    SeizedAsset.objects.create(case=case, asset="BTC", network="regtest", declared_amount=5)
    SeizedAsset.objects.create(case=case, asset="OTHER", network="n/a", declared_amount=7)
    text = read(api(auditor).get("/api/v1/cases/export.csv"))
    assert text.startswith(HEADER)
    assert list(csv.reader(io.StringIO(text)))[1:] == [[
        str(case.public_id), "afm", "AFM/2026-1", "DRAFT", case.warrant_number, "2026-01-10",
        'Doe, "J"\nJr', "bcrt1qexample", "BTC/regtest;OTHER/n/a", "5;7",
        case.created_at.isoformat()]]


def test_rows_are_read_from_the_database_while_they_are_sent(api, auditor, agency):
    CaseFactory.create_batch(3, agency=agency)
    client = api(auditor)
    read(client.get("/api/v1/cases/export.csv"))  # the auditor's roles are read once
    with CaptureQueriesContext(connection) as answering:
        response = client.get("/api/v1/cases/export.csv")
    assert response.streaming
    assert len(answering) == 0  # nothing was read before the first row is asked for
    with CaptureQueriesContext(connection) as sending:
        assert read(response).count("\r\n") == 4
    assert len(sending) > 0


def test_an_empty_export_is_the_header(api, clerk):
    assert read(api(clerk).get("/api/v1/cases/export.csv")) == HEADER

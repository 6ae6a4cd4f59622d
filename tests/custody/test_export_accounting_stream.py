"""The accounting CSV written by PostgreSQL's COPY is the same text, byte for byte, as the
rows built in Python (accounting_rows through the csv module), whatever the values."""

import datetime as dt

import pytest

from core.api.exports import csv_lines
from custody.exporters import accounting_csv, accounting_rows
from custody.models import JournalEntry, LedgerLine, ReserveWallet
from tests.support.factories import CaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(agency, bank, clerk):
    odd = ReserveWallet.objects.create(label='Reserve, "cold" №2', network="regtest",
                                       descriptor="wsh(x)", threshold=1, key_count=1,
                                       status="ACTIVE", entered_by=bank)
    cases = [CaseFactory(agency=agency, case_number=number, filed_by=clerk)
             for number in ("KZ-1", "KZ,2", "Қ-3")]
    moments = [dt.datetime(2026, 3, 1, 9, 0, 0, tzinfo=dt.UTC),
               dt.datetime(2026, 3, 1, 9, 0, 0, 120, tzinfo=dt.UTC),
               dt.datetime(2026, 3, 2, 23, 59, 59, 999_999, tzinfo=dt.UTC)]
    for i, (case, when) in enumerate(zip(cases, moments, strict=True)):
        entry = JournalEntry.objects.create(kind="TRANSFER_SETTLED", network="regtest",
                                            txid="" if i == 1 else f"{i:064x}")
        JournalEntry.objects.filter(pk=entry.pk).update(created_at=when)
        amount = 1 + 10 ** (i * 4)
        for account, sats, wallet, with_case in (("RESERVE", amount, odd, case),
                                                 ("CUSTODY", -amount - 1200, None, case),
                                                 ("NETWORK_FEES", 1200, None, None)):
            LedgerLine.objects.create(entry=entry, account=account, amount_sats=sats,
                                      reserve_wallet=wallet, case=with_case,
                                      source="SEIZURE" if i else "")


def test_the_copied_csv_is_the_python_csv(ledger, postgresql):
    python = "".join(csv_lines(accounting_rows()))
    assert accounting_csv() == python
    assert '"Reserve, ""cold"" №2"' in python and "2026-03-01T09:00:00.000120+00:00" in python
    assert python.count("\r\n") == len(python.splitlines())


def test_the_api_streams_the_same_text(api, ledger, auditor, postgresql):
    reply = api(auditor).get("/api/v1/reports/accounting.csv")
    assert reply.status_code == 200 and reply.streaming
    assert b"".join(reply.streaming_content).decode() == accounting_csv()

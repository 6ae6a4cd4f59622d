"""Proof of reserves and the accounting export: streamed row by row from custody.exporters,
with the columns and content they always had."""

import csv
import io
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from custody import chainio, services
from custody.reconciliation import reconcile_all
from tests.support.custody import fake_utxos, seen_by_watchers
from tests.support.second_factor import fresh_step_up

pytestmark = pytest.mark.django_db

TIP = SimpleNamespace(height=500, block_hash="ee" * 32, time=0)
MINED = 625_000_000


@pytest.fixture
def reserve(bank, bank2, case, reserve_wallet, no_chain, monkeypatch):
    """A state-mining deposit attributed at a reserve address, reconciled at TIP."""
    destination = services.transfer_propose(actor=bank, case=case, reserve_wallet=reserve_wallet,
                                            utxos=fake_utxos(case, 80_000_000)).destination
    monkeypatch.setattr(chainio, "watch_deposit", lambda **kw: None)
    deposit = services.deposit_observe(reserve_address=destination, txid="cd" * 32, vout=0,
                                       amount_sats=MINED, confirmations=6, block_height=495)
    services.deposit_attribute(deposit=deposit, actor=bank, source="STATE_MINING",
                               step_up=fresh_step_up(bank))
    services.deposit_attribution_approve(deposit=deposit, actor=bank2,
                                         step_up=fresh_step_up(bank2))
    monkeypatch.setattr(chainio, "tip", lambda: TIP)
    monkeypatch.setattr(chainio, "reserve_utxos", lambda addresses: [SimpleNamespace(
        txid="cd" * 32, vout=0, value_sats=MINED, address=destination.address,
        script_pubkey="", height=495, confirmations=6)])
    run, = reconcile_all()
    cursor = seen_by_watchers(tip=TIP, outputs=[("cd" * 32, 0, destination.address, MINED,
                                                 495)])
    return SimpleNamespace(wallet=reserve_wallet, address=destination.address, run=run,
                           deposit=deposit, cursor=cursor)


def read(response, filename):
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_accounting_export(api, auditor, reserve):
    rows = read(api(auditor).get("/api/v1/reports/accounting.csv"), "accounting.csv")
    assert rows[0] == ["section", "entry", "kind", "created_at", "txid", "account",
                       "amount_sats", "amount_btc", "reserve_wallet", "case", "source"]
    lines = [row for row in rows if row[0] == "line"]
    assert [(r[2], r[4], r[5], r[6], r[7], r[8], r[10]) for r in lines] == [
        ("DEPOSIT_ATTRIBUTED", "cd" * 32, "RESERVE", str(MINED), "6.25000000",
         "NBK cold reserve", "STATE_MINING"),
        ("DEPOSIT_ATTRIBUTED", "cd" * 32, "EXTERNAL", str(-MINED), "-6.25000000", "",
         "STATE_MINING")]
    assert rows[len(lines) + 1:] == [
        ["holding_by_source", "", "", "", "", "RESERVE", str(MINED), "6.25000000", "", "",
         "STATE_MINING"],
        ["holding_by_wallet", "", "", "", "", "RESERVE", str(MINED), "6.25000000",
         "NBK cold reserve", "", ""],
        ["total", "", "", "", "", "RESERVE", str(MINED), "6.25000000", "", "", ""]]


def test_proof_of_reserves_as_csv_and_json(api, auditor, reserve):
    client = api(auditor)
    rows = read(client.get("/api/v1/reports/proof-of-reserves/", {"as": "csv"}),
                "proof-of-reserves.csv")
    checked_at = reserve.cursor.polled_at.isoformat()  # the watchers' last poll
    assert rows == [
        ["wallet", "label", "address", "balance_sats", "balance_btc", "tip_height", "tip_hash",
         "checked_at"],
        [str(reserve.wallet.public_id), "NBK cold reserve", reserve.address, str(MINED),
         "6.25000000", "500", "ee" * 32, checked_at]]
    wallet, = client.get("/api/v1/reports/proof-of-reserves/").json()["wallets"]
    assert (wallet["wallet"], wallet["checked_at"], wallet["tip_height"],
            wallet["difference_sats"]) == (str(reserve.wallet.public_id), checked_at, 500, 0)
    assert wallet["last_reconciliation"]["checked_at"] == reserve.run.created_at.isoformat()
    assert wallet["last_reconciliation"]["difference_sats"] == 0


@pytest.mark.parametrize(("path", "filename"), [
    ("/api/v1/reports/accounting.csv", "accounting.csv"),
    ("/api/v1/reports/proof-of-reserves/?as=csv", "proof-of-reserves.csv"),
])
def test_rows_are_read_from_the_database_while_they_are_sent(api, auditor, reserve, path,
                                                             filename):
    client = api(auditor)
    read(client.get(path), filename)  # the auditor's roles are read once
    with CaptureQueriesContext(connection) as answering:
        response = client.get(path)
    assert len(answering) == 0  # nothing was read before the first row is asked for
    with CaptureQueriesContext(connection) as sending:
        assert len(read(response, filename)) > 1
    assert len(sending) > 0


def test_exports_are_not_for_clerks(api, clerk, reserve):
    for path in ("/api/v1/reports/accounting.csv", "/api/v1/reports/proof-of-reserves/"):
        assert api(clerk).get(path).status_code == 404

"""Valuations when they happen, accounting that closes (issue 11 point 11), over HTTP.

A milestone with no price: the seizure and confiscation of a case are valued by the periodic
pass when they happen; with no approved price in force then, each is an open item (and an
alert to the bank), never a silent gap; recording the price (one officer) and approving it
(another, four eyes) values them from that price, with its source, and closes the alerts.

An accounting period that ties out: opening and closing balances in BTC and KZT by source,
by case and by wallet; each breakdown sums to the total, opening plus the period's movements
is the closing, the next period opens where this one closed, and the closing by wallet
meets the node's coins at the watchers' last poll."""

import csv
import datetime as dt
import io
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from core.models import AuditEvent
from custody import services
from custody.audit import CustodyAction
from custody.models import Valuation, ValuationGap
from custody.services.prices import value_due_milestones
from intake.models import AlertStatus, CaseAlert
from tests.support.custody import fake_utxos, seen_by_watchers, sign
from tests.support.second_factor import fresh_step_up, otp

pytestmark = pytest.mark.django_db

DECLARED = 150_000_000  # make_confiscated_case's 1.5 BTC


def test_a_milestone_with_no_price_is_an_open_item_until_the_price_is_recorded(
        api, bank, bank2, case):
    # The periodic pass: the seizure (2026-02-01) and the final order, no price at all.
    assert value_due_milestones() == 2
    assert value_due_milestones() == 0  # once
    assert not Valuation.objects.exists()
    gaps = api(bank).get("/api/v1/valuation-gaps/", {"status": "OPEN"}).json()["results"]
    assert {(g["point"], g["amount_sats"], g["case_number"]) for g in gaps} == {
        ("SEIZURE", DECLARED, case.case_number), ("CONFISCATION", DECLARED, case.case_number)}
    alerts = CaseAlert.objects.filter(kind=CaseAlert.Kind.MISSING_PRICE, case=case)
    assert alerts.count() == 2 and all(a.status == AlertStatus.OPEN for a in alerts)
    assert "2026-02-01" in alerts.get(details__point="SEIZURE").message

    # One officer records the price of the seizure's day, with its source: not used yet.
    recorded = api(bank).post("/api/v1/prices/", {
        "kzt_per_unit": "30000000.00", "source": "NBK official rate, 2026-02-01",
        "observed_at": "2026-02-01T12:00:00+05:00", "otp": otp(bank)}, format="json")
    assert recorded.status_code == 201, recorded.content
    assert ValuationGap.objects.filter(status="OPEN").count() == 2
    # The second officer approves it: both milestones are valued from it.
    approved = api(bank2).post(f"/api/v1/prices/{recorded.json()['id']}/approve/",
                               {"otp": otp(bank2)}, format="json")
    assert approved.status_code == 200, approved.content
    assert not ValuationGap.objects.filter(status="OPEN").exists()

    listed = api(bank).get("/api/v1/valuations/", {"case": str(case.public_id)}).json()
    by_point = {v["point"]: v for v in listed["results"]}
    assert set(by_point) == {"SEIZURE", "CONFISCATION"}
    seizure = by_point["SEIZURE"]
    assert Decimal(seizure["value_kzt"]) == Decimal("45000000.00")  # 1.5 BTC at 30m
    assert seizure["price_source"] == "NBK official rate, 2026-02-01"
    assert seizure["at"].startswith("2026-02-01")
    for alert in CaseAlert.objects.filter(kind=CaseAlert.Kind.MISSING_PRICE, case=case):
        assert alert.status == AlertStatus.RESOLVED and alert.resolved_by == bank2
    assert AuditEvent.objects.filter(action=CustodyAction.VALUATION_GAP_RESOLVED).count() == 2
    resolved = api(bank).get("/api/v1/valuation-gaps/", {"status": "RESOLVED"}).json()
    assert {Decimal(g["value_kzt"]) for g in resolved["results"]} == {Decimal("45000000.00")}


def test_a_price_observed_after_the_milestone_does_not_value_it(api, bank, bank2, case):
    value_due_milestones()
    order_at = case.confiscation_order.recorded_at
    after_order = services.price_record(actor=bank, kzt_per_unit=Decimal("32000000"),
                                        source="fixing after the order", observed_at=min(
                                            timezone.now(), order_at + dt.timedelta(
                                                microseconds=1)),
                                        step_up=fresh_step_up(bank))
    services.price_approve(price=after_order, actor=bank2, step_up=fresh_step_up(bank2))
    assert ValuationGap.objects.filter(status="OPEN").count() == 2  # in force after both
    late = services.price_record(actor=bank, kzt_per_unit=Decimal("31000000"),
                                 source="fixing before the order",
                                 observed_at=order_at - dt.timedelta(minutes=1),
                                 step_up=fresh_step_up(bank))
    services.price_approve(price=late, actor=bank2, step_up=fresh_step_up(bank2))
    # The confiscation is covered by the price in force then; the seizure in February not.
    assert set(ValuationGap.objects.filter(status="OPEN").values_list("point", flat=True)) \
        == {"SEIZURE"}
    confiscation = Valuation.objects.get(point="CONFISCATION")
    assert confiscation.price == late and confiscation.value_kzt == Decimal("46500000.00")


@pytest.fixture
def settled(case, reserve_wallet, bank, bank2, bank3, no_chain):
    transfer = services.transfer_propose(actor=bank, case=case, reserve_wallet=reserve_wallet,
                                         utxos=fake_utxos(case, 80_000_000))
    for officer in (bank2, bank3):
        services.transfer_approve(transfer=transfer, actor=officer,
                                  payload_hash=transfer.payload_hash,
                                  step_up=fresh_step_up(officer))
    transfer.refresh_from_db()
    for signer in ("c1", "c2"):
        services.transfer_upload_signed(transfer=transfer, actor=bank,
                                        psbt=sign(transfer.unsigned_psbt, signer),
                                        step_up=fresh_step_up(bank))
    services.transfer_broadcast(transfer_id=transfer.pk)
    services.transfer_apply_chain_state(transfer_id=transfer.pk, state="CONFIRMED",
                                        confirmations=6, block_hash="aa" * 32, block_height=495)
    transfer.refresh_from_db()
    return transfer


def test_an_accounting_period_ties_out(api, auditor, bank, bank2, settled, reserve_wallet):
    price = services.price_record(actor=bank, kzt_per_unit=Decimal("40000000.00"),
                                  source="NBK official rate",
                                  observed_at=timezone.now() - dt.timedelta(days=3),
                                  step_up=fresh_step_up(bank))
    services.price_approve(price=price, actor=bank2, step_up=fresh_step_up(bank2))
    amount = settled.amount_sats
    seen_by_watchers(tip=SimpleNamespace(height=500, block_hash="ee" * 32, time=0),
                     outputs=[(settled.txid, 0, settled.destination.address, amount, 495)])
    today = timezone.localdate()
    client = api(auditor)

    def period(start, end):
        response = client.get("/api/v1/reports/accounting/", {"start": str(start),
                                                               "end": str(end)})
        assert response.status_code == 200, response.content
        return response.json()

    before = period(today - dt.timedelta(days=2), today - dt.timedelta(days=1))
    now = period(today, today)
    assert before["total"]["closing_sats"] == 0 == now["total"]["opening_sats"]
    total = now["total"]
    assert (total["opening_sats"], total["movement_sats"], total["closing_sats"]) == (
        0, amount, amount)
    assert total["closing_btc"] == f"{amount / 100_000_000:.8f}"
    assert Decimal(total["closing_kzt"]) == (Decimal(amount) * 40_000_000 / 100_000_000
                                             ).quantize(Decimal("0.01"))
    assert now["closing_price"]["source"] == "NBK official rate"
    assert now["by_source"] == {"SEIZURE": total}
    assert now["by_case"] == {settled.case.case_number: total}
    assert now["by_wallet"] == {reserve_wallet.label: total}
    ties = now["ties_out"]
    assert ties["entries_balanced"] and ties["breakdowns_sum_to_total"]
    assert ties["opening_plus_movements_is_closing"] and ties["missing_prices"] == []
    assert ties["node"]["ties"] and ties["node"]["wallets"][0]["difference_sats"] == 0
    assert ties["node"]["tip_height"] == 500
    # The ledger's own balance agrees.
    assert api(auditor).get("/api/v1/ledger/balances/").json()["total_sats"] == amount

    rows = list(csv.reader(io.StringIO(b"".join(client.get(
        "/api/v1/reports/accounting/", {"start": str(today), "end": str(today),
                                        "as": "csv"}).streaming_content).decode())))
    assert rows[0][:3] == ["section", "key", "opening_sats"]
    assert rows[1][:2] == ["total", ""] and rows[1][6] == str(amount)
    assert ["by_case", settled.case.case_number] == rows[3][:2]

    # A node that holds less than the books: the tie says so.
    seen_by_watchers(tip=SimpleNamespace(height=501, block_hash="ff" * 32, time=0),
                     outputs=[(settled.txid, 0, settled.destination.address, amount - 1, 495)])
    assert period(today, today)["ties_out"]["node"]["wallets"][0]["difference_sats"] == -1


def test_a_bad_period_is_a_400(api, auditor):
    client = api(auditor)
    for params in ({}, {"start": "2026-13-01", "end": "2026-12-01"},
                   {"start": "2026-12-02", "end": "2026-12-01"}):
        response = client.get("/api/v1/reports/accounting/", params)
        assert response.status_code == 400 and response.json()["code"] == "invalid_filter"

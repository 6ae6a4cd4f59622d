"""The valuation open items page: milestones waiting for a price (milestone, case, amount,
the moment whose price is missing), a link for bank officers to record the price of that
moment on the price page (filled in), the items valued later with the price used and its
source, and the CSV. Bank officers and auditors read it; clerks and legal officers do not."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from custody import services
from custody.services.prices import value_due_milestones
from tests.support.custody import make_confiscated_case
from tests.support.second_factor import fresh_step_up, login_verified

from .test_offline import external_references

pytestmark = pytest.mark.django_db


def page(user):
    return login_verified(Client(), user)


@pytest.fixture
def case(agency, custody_wallet, legal):
    case = make_confiscated_case(agency=agency, custody_wallet=custody_wallet, legal=legal)
    assert value_due_milestones() == 2  # the seizure and the confiscation, no price
    return case


def test_open_items_are_listed_with_the_moment_whose_price_is_missing(bank, auditor, case,
                                                                      web, clerk, legal):
    html = page(bank).get("/reserve/valuation-items/").content.decode()
    open_table = html[html.index('data-testid="open-items"'):html.index('id="resolved"')]
    assert case.case_number in open_table
    assert "At seizure" in open_table and "At confiscation" in open_table
    assert "1.50000000" in open_table
    assert open_table.count('data-testid="record-price"') == 2
    assert "observed_at=2026-02-01" in open_table  # the seizure day's moment
    assert external_references(html) == []
    assert "Milestones waiting for a price to be valued" in page(bank).get("/").content.decode()
    # Auditors read it, record nothing.
    shown = page(auditor).get("/reserve/valuation-items/").content.decode()
    assert case.case_number in shown and 'data-testid="record-price"' not in shown
    for person in (web(clerk), web(legal)):
        assert person.get("/reserve/valuation-items/").status_code == 403


def test_the_link_fills_in_the_moment_on_the_price_form(bank, case):
    gap = case.valuation_gaps.get(point="SEIZURE")
    moment = timezone.localtime(gap.at).strftime("%Y-%m-%dT%H:%M")
    html = page(bank).get("/reserve/prices/", {"observed_at": gap.at.isoformat()}
                          ).content.decode()
    assert f'value="{moment}"' in html
    assert page(bank).get("/reserve/prices/", {"observed_at": "nonsense"}).status_code == 200


def test_a_resolved_item_shows_the_price_used_and_the_csv_has_both(bank, bank2, case):
    price = services.price_record(actor=bank, kzt_per_unit=Decimal("30000000.00"),
                                  source="NBK official rate, 2026-02-01",
                                  observed_at=timezone.make_aware(dt.datetime(2026, 2, 1, 12)),
                                  step_up=fresh_step_up(bank))
    services.price_approve(price=price, actor=bank2, step_up=fresh_step_up(bank2))
    html = page(bank).get("/reserve/valuation-items/").content.decode()
    assert "None: every milestone so far has been valued." in html
    resolved = html[html.index('data-testid="resolved-items"'):]
    assert "NBK official rate, 2026-02-01" in resolved and "45" in resolved
    response = page(bank).get("/reserve/valuation-items.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {(r["milestone"], r["status"], r["value_kzt"]) for r in rows} == {
        ("SEIZURE", "RESOLVED", "45000000.00"), ("CONFISCATION", "RESOLVED", "45000000.00")}
    assert all(r["price_source"] == "NBK official rate, 2026-02-01" for r in rows)

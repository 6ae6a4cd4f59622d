"""A case filed with its assets in one request: one transaction, all or nothing, with the
same audit events and custody address as filing them one by one."""

import pytest

from core.audit import verify_chain
from core.models import AuditEvent
from intake.audit import IntakeAction
from intake.models import SeizureCase
from tests.support.api import CASE_PAYLOAD, url

pytestmark = pytest.mark.django_db

ASSETS = [{"asset": "BTC", "network": "regtest", "declared_amount": 150_000_000},
          {"asset": "BTC", "network": "regtest", "declared_amount_btc": "0.25"},
          {"asset": "USDT", "network": "tron", "declared_amount": 5_000}]


def test_one_request_files_the_case_and_its_assets(api, clerk, custody_wallet):
    reply = api(clerk).post(url(), {**CASE_PAYLOAD, "assets": ASSETS}, format="json",
                            headers={"Idempotency-Key": "file-1"})
    assert reply.status_code == 201, reply.json()
    case = SeizureCase.objects.get(public_id=reply.json()["id"])
    assets = list(case.assets.order_by("id"))
    assert [(a.asset, a.declared_amount) for a in assets] == [
        ("BTC", 150_000_000), ("BTC", 25_000_000), ("USDT", 5_000)]
    assert case.custody_address and case.custody_index == 0
    assert {a.custody_address for a in assets[:2]} == {case.custody_address}
    assert assets[2].custody_address == ""
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions[-6:] == [IntakeAction.CASE_CREATED, IntakeAction.CUSTODY_ADDRESS_ASSIGNED,
                            "chain.address_watched", IntakeAction.ASSET_ADDED,
                            IntakeAction.ASSET_ADDED, IntakeAction.ASSET_ADDED]
    assert verify_chain().ok

    again = api(clerk).post(url(), {**CASE_PAYLOAD, "assets": ASSETS}, format="json",
                            headers={"Idempotency-Key": "file-1"})
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["id"] == reply.json()["id"] and SeizureCase.objects.count() == 1


@pytest.mark.parametrize("bad", [
    {"asset": "BTC", "network": "regtest", "declared_amount": 0},
    {"asset": "BTC", "network": "regtest", "declared_amount": 21_000_000 * 10**8 + 1},
    {"asset": "ETH", "network": "ethereum", "declared_amount": -5},
    {"asset": "BTC", "network": "regtest", "declared_amount": 1,
     "source_address": "bc1qnotanaddress"},
])
def test_a_refused_asset_files_nothing(api, clerk, custody_wallet, bad):
    events = AuditEvent.objects.count()
    reply = api(clerk).post(url(), {**CASE_PAYLOAD, "assets": [ASSETS[0], bad]},
                            format="json")
    assert 400 <= reply.status_code < 500, reply.content
    assert SeizureCase.objects.count() == 0 and AuditEvent.objects.count() == events
    custody_wallet.refresh_from_db()
    assert custody_wallet.next_index == 0


def test_too_many_assets_are_a_400(api, clerk, custody_wallet):
    reply = api(clerk).post(url(), {**CASE_PAYLOAD, "assets": [ASSETS[2]] * 51}, format="json")
    assert reply.status_code == 400 and SeizureCase.objects.count() == 0


BTC_ASSETS = ASSETS[:2]


@pytest.mark.django_db(transaction=True)
def test_a_filing_is_one_transaction_of_few_statements(api, clerk, custody_wallet,
                                                        django_assert_max_num_queries):
    """The shape issue 10 measured (bench.filing_bench): one commit, no savepoint, and the
    statements of a case with two BTC assets pinned, so a regression fails here. They are:
    BEGIN; the key's claim and stored-reply lookup; the agency (for the audit event); the
    custody index (UPDATE … RETURNING); the watched address; the case; the assets; the
    audit head, events and head update; the stored reply; COMMIT."""
    api(clerk).post(url(), {**CASE_PAYLOAD, "case_number": "WARM-1", "assets": BTC_ASSETS},
                    format="json", headers={"Idempotency-Key": "warm"})
    with django_assert_max_num_queries(12) as captured:
        reply = api(clerk).post(url(), {**CASE_PAYLOAD, "assets": BTC_ASSETS}, format="json",
                                headers={"Idempotency-Key": "file-2"})
    assert reply.status_code == 201, reply.json()
    statements = [q["sql"].split()[0].upper() for q in captured.captured_queries]
    assert statements.count("COMMIT") == 1 and "SAVEPOINT" not in statements
    assert not any("FOR UPDATE" in q["sql"] and "custodywallet" in q["sql"]
                   for q in captured.captured_queries)  # no wallet lock before the UPDATE
    assert reply.json()["custody_index"] == 1 and reply.json()["confiscation_order"] is None


def test_a_refused_filing_leaves_no_gap_and_no_watched_address(api, clerk, custody_wallet):
    """The custody index is taken inside the filing's transaction: a filing refused after
    taking it (here a duplicate case number, found at the case's INSERT) gives it back, and
    its address is not watched; the next filing takes that same index."""
    from chain.models import WatchedAddress

    first = api(clerk).post(url(), {**CASE_PAYLOAD, "assets": BTC_ASSETS}, format="json")
    assert first.status_code == 201 and first.json()["custody_index"] == 0
    watched = WatchedAddress.objects.count()
    events = AuditEvent.objects.count()
    duplicate = api(clerk).post(url(), {**CASE_PAYLOAD, "assets": BTC_ASSETS}, format="json",
                                headers={"Idempotency-Key": "dup"})
    assert (duplicate.status_code, duplicate.json()["code"]) == (400, "duplicate")
    custody_wallet.refresh_from_db()
    assert custody_wallet.next_index == 1
    assert WatchedAddress.objects.count() == watched and AuditEvent.objects.count() == events
    second = api(clerk).post(url(), {**CASE_PAYLOAD, "case_number": "AFM-2", "assets":
                                     BTC_ASSETS}, format="json",
                             headers={"Idempotency-Key": "dup"})  # the refusal freed the key
    assert second.status_code == 201 and second.json()["custody_index"] == 1
    assert second.json()["custody_address"] != first.json()["custody_address"]
    assert verify_chain().ok

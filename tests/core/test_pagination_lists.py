"""Every long list pages by cursor (keyset) with a constant number of queries whatever the
page size or depth, walks forwards and back over exactly the visible rows, and keeps page
numbers for small lists."""

import datetime as dt
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core import pagination
from core.audit import AuditAction, record_event
from custody.models import Deposit, ReserveAddress, Transfer, TransferApproval
from intake.models import CaseAlert, CaseStatus, SeizureCase
from tests.support.custody import make_reserve_wallet
from tests.support.factories import CaseFactory

pytestmark = pytest.mark.django_db

ROWS = 13


class PagingAction(AuditAction):
    PAGED = "test.paged"


@pytest.fixture
def many(clerk, other_clerk, legal, bank, bank2, bank3, admin_user):
    """ROWS of each listed thing, written straight to the tables (the flows that make them
    are tested elsewhere): cases of two agencies in several states, transfers with two
    approvals each, deposits, alerts, audit events."""
    wallet = make_reserve_wallet(admin=admin_user, approver=bank3)
    statuses = [CaseStatus.DRAFT, CaseStatus.SUBMITTED, CaseStatus.IN_RESERVE]
    cases = [CaseFactory(agency=(clerk if i % 2 else other_clerk).agency,
                         status=statuses[i % 3], filed_by=clerk) for i in range(2 * ROWS)]
    same_time = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    # Ties in the order's first column: the cursor must still name one place.
    SeizureCase.objects.filter(pk__in=[c.pk for c in cases[:6]]).update(created_at=same_time)
    for i in range(ROWS):
        address = ReserveAddress.objects.create(wallet=wallet, index=100 + i,
                                                address=f"bcrt1qpage{i:034d}",
                                                script_pubkey="0014" + "ab" * 20)
        payload_hash = hashlib.sha256(b"%d" % i).hexdigest()
        transfer = Transfer.objects.create(
            case=cases[i], reserve_wallet=wallet, destination=address, network="regtest",
            status="SETTLED", proposed_by=bank, payload={}, payload_hash=payload_hash,
            approvals_required=2, input_total_sats=1_000 + i, amount_sats=900 + i,
            fee_sats=100, fee_rate_sat_vb=1, unsigned_psbt="", unsigned_txid="aa" * 32)
        for approver in (bank2, bank3):
            TransferApproval.objects.create(transfer=transfer, approver=approver,
                                            payload_hash=payload_hash)
        Deposit.objects.create(reserve_address=address, txid=f"{i:064x}", vout=0,
                               amount_sats=5_000 + i)
        CaseAlert.objects.create(case=cases[i] if i % 4 else None, kind="OTHER",
                                 dedup_key=f"a{i}", message="look")
    with transaction.atomic():
        for i in range(ROWS):
            record_event(actor=None, action=PagingAction.PAGED, object_type="test",
                         object_id=str(i))
    Deposit.objects.update(seen_at=same_time)  # every deposit ties on seen_at
    return cases


LISTS = [("/api/v1/cases/", "clerk"), ("/api/v1/cases/", "legal"),
         ("/api/v1/cases/", "bank"), ("/api/v1/cases/", "auditor"),
         ("/api/v1/transfers/", "bank"), ("/api/v1/deposits/", "bank"),
         ("/api/v1/alerts/", "clerk"), ("/api/v1/alerts/", "legal"),
         ("/api/v1/alerts/", "bank"), ("/api/v1/audit/events/", "auditor")]


def _ids(reply):
    assert reply.status_code == 200, reply.content
    return [row.get("id") or row.get("seq") for row in reply.json()["results"]]


def _cursor(link):
    return parse_qs(urlsplit(link).query)["cursor"][0]


@pytest.mark.parametrize(("path", "who"), LISTS)
def test_cursor_pages_walk_every_visible_row_forwards_and_back_in_constant_queries(
        api, many, request, monkeypatch, django_assert_num_queries, path, who):
    client = api(request.getfixturevalue(who))
    everything = _ids(client.get(path, {"page_size": 500}))  # page numbers: a small list
    assert len(everything) == len(set(everything)) >= 4
    monkeypatch.setattr(pagination, "COUNT_CAP", 3)  # now the list is "long"
    client.get(path, {"page_size": 1})  # warm: content types, roles
    with CaptureQueriesContext(connection) as first:
        reply = client.get(path, {"page_size": 2})
    queries = len(first)
    assert reply.json()["count"] is None and reply.json()["previous"] is None
    assert "cursor=" in reply.json()["next"]

    seen, pages, link = _ids(reply), [reply.json()], reply.json()["next"]
    while link:
        with django_assert_num_queries(queries):  # any page size, any depth
            reply = client.get(path, {"page_size": 3, "cursor": _cursor(link)})
        seen += _ids(reply)
        pages.append(reply.json())
        link = reply.json()["next"]
    assert seen == everything

    back, link = list(reversed(_ids(client.get(path, {"page_size": 3, "cursor": _cursor(
        pages[-2]["next"])})))), pages[-1]["previous"]
    while link:
        with django_assert_num_queries(queries):
            reply = client.get(path, {"page_size": 3, "cursor": _cursor(link)})
        back += list(reversed(_ids(reply)))
        link = reply.json()["previous"]
    assert list(reversed(back)) == everything


@pytest.mark.parametrize(("path", "who"), LISTS)
def test_page_numbers_stay_for_small_lists_in_constant_queries(
        api, many, request, django_assert_num_queries, path, who):
    client = api(request.getfixturevalue(who))
    client.get(path, {"page_size": 1})
    with CaptureQueriesContext(connection) as first:
        small = client.get(path, {"page_size": 2}).json()
    assert small["count"] >= 4 and "page=2" in small["next"] and "cursor" not in small["next"]
    with django_assert_num_queries(len(first)):
        big = client.get(path, {"page_size": 50, "page": 1}).json()
    assert len(big["results"]) == big["count"] and big["next"] is None


def test_transfers_show_their_counted_approvals_without_a_query_each(api, many, bank, bank2):
    results = api(bank).get("/api/v1/transfers/").json()["results"]
    assert {tuple(a["approver"] for a in t["approvals"]) for t in results} == {
        ("bank2", "bank3")}


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", "WyJuIixbXV0",  # not JSON; []
                                    "WyJ4IixbMSwyXV0",  # an unknown direction
                                    "WyJuIixbIm5vdCBhIGRhdGUiLDFdXQ",  # not a date
                                    "x" * 600])
def test_a_cursor_the_list_did_not_give_is_a_400(api, many, auditor, cursor):
    reply = api(auditor).get("/api/v1/cases/", {"cursor": cursor})
    assert reply.status_code == 400 and reply.json()["code"] == "invalid_filter"


def test_a_cursor_of_another_list_is_a_400(api, many, auditor, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_CAP", 3)
    client = api(auditor)
    audit_cursor = _cursor(client.get("/api/v1/audit/events/", {"page_size": 2}).json()["next"])
    reply = client.get("/api/v1/cases/", {"cursor": audit_cursor})
    assert reply.status_code == 400 and reply.json()["code"] == "invalid_filter"


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99"])
def test_a_page_number_that_is_not_one_is_a_404_as_before(api, many, auditor, page):
    assert api(auditor).get("/api/v1/cases/", {"page": page}).status_code == 404


def test_the_count_reads_at_most_the_cap(many, auditor):
    from intake.selectors import case_list_for_user

    cases = case_list_for_user(user=auditor)
    assert pagination.capped_count(cases, 1000) == 2 * ROWS
    assert pagination.capped_count(cases, 2 * ROWS) == 2 * ROWS
    assert pagination.capped_count(cases, 2 * ROWS - 1) is None
    with CaptureQueriesContext(connection) as captured:
        pagination.capped_count(cases, 5)
    assert "LIMIT 6" in captured[0]["sql"]


def test_the_case_list_page_follows_cursors_and_falls_back_to_page_one(
        client, many, clerk, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_CAP", 3)
    monkeypatch.setattr("intake.web.cases.PAGE_SIZE", 2)
    client.force_login(clerk)  # a clerk signs in without a second factor
    first = client.get("/cases/")
    html = first.content.decode()
    assert first.status_code == 200 and "More than 3 cases" in html
    link = html.split('rel="next" href="?', 1)[1].split('"', 1)[0]
    assert link.startswith("cursor=")
    second = client.get("/cases/?" + link.replace("&amp;", "&")).content.decode()
    assert 'rel="prev"' in second and 'rel="next"' in second
    assert client.get("/cases/", {"cursor": "%%%"}).status_code == 200  # stale: page one


# (list, role, the index that must serve its visibility filter and its order)
PLANS = [("cases", "clerk", "case_agency_newest"), ("cases", "legal", "case_newest_first"),
         ("cases", "bank", "case_newest_first"), ("cases", "auditor", "case_newest_first"),
         ("transfers", "bank", "transfer_newest_first"),
         ("deposits", "bank", "deposit_newest_first"),
         ("alerts", "clerk", "alert_agency_newest"), ("alerts", "legal", "alert_newest_first"),
         ("alerts", "bank", "alert_newest_first"), ("alerts", "auditor", "alert_newest_first"),
         ("audit events", "auditor", "core_auditevent_seq_key")]


@pytest.mark.parametrize(("name", "who", "index"), PLANS)
def test_each_list_page_is_an_index_range_in_the_lists_order(
        many, request, postgresql, name, who, index):
    """The page query, first page and after a cursor, reads an index that gives the rows in
    the list's order already filtered by who may see them: no sort of the visible set. The
    table is small, so the planner is told what a million rows tell it (no sequential scan,
    a sort as the last resort); a list no index serves still sorts and fails here."""
    from bench.list_bench import selector_of

    user = request.getfixturevalue(who)
    qs = selector_of(name, user)
    order = pagination.order_of(qs)
    names = [key.lstrip("-") for key in order]
    first = qs.order_by(*order)[:51]
    boundary = list(first)[len(first) // 2] if len(first) else None
    assert boundary is not None
    after = qs.order_by(*order).filter(pagination._beyond(
        names, [getattr(boundary, n) for n in names], forward=True,
        descending=order[0].startswith("-")))[:51]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    for page in (first, after):
        plan = page.explain()
        assert f"Index Scan using {index} " in plan or \
            f"Index Scan Backward using {index} " in plan, plan
        assert "Sort" not in plan, plan

"""The auditor's pages of the reserve: who sees them (the selectors decide: bank officers,
auditors and admins see the reserve; only auditors and admins the audit record; a clerk or
legal officer gets the 404 or 403 the API gives), what they show (holdings by source,
wallet, agency and over time, in BTC with 8 decimals beside KZT and its price source; the
tip the proof of reserves was computed at), the audit chain read from the stored
verification (never walked by the request), the verification queued for the worker, and
every list as streamed CSV."""

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.audit import run_verification
from core.models import AuditEvent, AuditVerification
from tests.fixtures.reserve import (
    MINED_TXID,
    PRICE_SOURCE,
    SETTLED_SATS,
    TIP,
    btc,
)

pytestmark = pytest.mark.django_db

RESERVE_PAGES = ["/audit/", "/audit/accounting/", "/audit/proof-of-reserves/",
                 "/audit/valuations/", "/audit/transfers/", "/audit/deposits/",
                 "/audit/ledger/"]
RESERVE_CSV = ["/audit/accounting.csv", "/audit/proof-of-reserves.csv",
               "/audit/valuations.csv", "/audit/transfers.csv", "/audit/deposits.csv"]
AUDIT_PAGES = ["/audit/chain/", "/audit/events/"]


def read_csv(response):
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="qazyna-')
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_clerks_and_legal_officers_never_see_the_reserve_or_the_record(web, clerk, legal,
                                                                        filled_reserve):
    for person in (clerk, legal):
        client = web(person)
        certificate = f"/audit/transfers/{filled_reserve.transfer.public_id}/certificate.pdf"
        for url in RESERVE_PAGES + RESERVE_CSV + ["/audit/accounting.pdf", certificate]:
            assert client.get(url).status_code == 404, (person, url)
        for url in AUDIT_PAGES + ["/audit/events.csv", "/audit/chain/checkpoint.jsonl"]:
            assert client.get(url).status_code == 403, (person, url)
        assert client.post("/audit/chain/verify/").status_code == 403
        home = client.get("/").content.decode()
        assert "Reserve dashboard" not in home and "/audit/" not in home


def test_bank_officers_see_the_reserve_but_not_the_audit_record(web, bank, filled_reserve):
    client = web(bank)
    for url in RESERVE_PAGES:
        assert client.get(url).status_code == 200, url
    for url in AUDIT_PAGES:
        assert client.get(url).status_code == 403, url
    assert "Audit chain" not in client.get("/audit/").content.decode()


def test_an_anonymous_visitor_is_sent_to_sign_in(web):
    response = web().get("/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/sign-in/")


def test_the_dashboard_shows_holdings_by_source_wallet_agency_and_over_time(web, auditor,
                                                                             filled_reserve):
    page = web(auditor).get("/audit/").content.decode()
    settled = filled_reserve.transfer.amount_sats
    assert btc(filled_reserve.total) in page  # 0.8 BTC less the fee + 6.25 BTC, 8 decimals
    for chart in ("chart-over-time", "chart-by-source", "chart-by-wallet", "chart-by-agency"):
        assert f'data-testid="{chart}"' in page
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in page
    # Each chart's figures as text: the sources, the wallet, the agency, the line's ends.
    assert "Confiscated in criminal cases" in page and "State mining" in page
    assert f"Confiscated in criminal cases: {btc(settled)} BTC; State mining: 6.25000000 BTC" \
        in page  # the bar chart's own description
    assert "NBK cold reserve" in page
    assert filled_reserve.case.agency.name in page
    assert "No case (state mining, other deposits)" in page
    # KZT beside BTC, at the recorded price (45,000,000 ₸ per BTC), with its source.
    assert f"{filled_reserve.total * 45 // 100:,}.{filled_reserve.total * 45 % 100:02d}" in page
    assert PRICE_SOURCE in page
    # The proof of reserves at a glance, and the audit chain as stored.
    assert "#500" in page
    assert "not been verified yet" in page


def test_the_dashboard_in_kazakh_formats_numbers_the_kazakh_way(web, auditor, filled_reserve):
    client = web(auditor)
    client.cookies["django_language"] = "kk"
    page = client.get("/audit/").content.decode()
    assert "Резерв тақтасы" in page and "Қылмыстық істер бойынша тәркіленген" in page
    assert btc(filled_reserve.total).replace(".", ",") in page  # the decimal comma in the text
    # …but never inside the drawing's coordinates.
    svg = page.split('data-testid="chart-by-source"')[1].split("</svg>")[0]
    assert 'width="55.' in svg or 'width="' in svg
    assert not re.search(r'(?:x|y|width|height|cx|cy)="[0-9]+,[0-9]', svg)


def test_the_accounting_page_and_its_csv_and_the_proof_of_reserves(web, auditor, filled_reserve):
    client = web(auditor)
    page = client.get("/audit/accounting/").content.decode()
    assert 'data-testid="by-case"' in page and filled_reserve.case.case_number in page
    assert "Every journal entry of the ledger sums to zero." in page
    assert PRICE_SOURCE in page
    rows = read_csv(client.get("/audit/accounting.csv"))
    assert rows[0][:3] == ["section", "entry", "kind"]
    total = filled_reserve.total
    assert ["total", "", "", "", "", "RESERVE", str(total), btc(total), "", "", ""] in rows
    proof = client.get("/audit/proof-of-reserves/").content.decode()
    assert TIP.block_hash in proof and "#500" in proof
    assert filled_reserve.transfer.destination.address in proof
    rows = read_csv(client.get("/audit/proof-of-reserves.csv"))
    assert rows[1][2:7] == [filled_reserve.transfer.destination.address, str(filled_reserve.total),
                            btc(filled_reserve.total), "500", TIP.block_hash]


def test_valuations_show_each_milestone_with_its_price_source(web, auditor, filled_reserve):
    client = web(auditor)
    page = client.get("/audit/valuations/").content.decode()
    assert "At reserve entry" in page and "At seizure" in page and PRICE_SOURCE in page
    settled = filled_reserve.transfer.amount_sats
    kzt = f"{settled * 45 // 100:,}.{settled * 45 % 100:02d}"
    assert kzt in page
    rows = read_csv(client.get("/audit/valuations.csv"))
    settlement = [r for r in rows if r[2] == "SETTLEMENT"]
    assert settlement and settlement[0][3] == str(settled)
    assert settlement[0][5] == kzt.replace(",", "") and settlement[0][7] == PRICE_SOURCE


def test_transfers_and_deposits_lists_with_filters_and_csv(web, auditor, filled_reserve):
    client = web(auditor)
    page = client.get("/audit/transfers/").content.decode()
    assert filled_reserve.transfer.txid in page and "Settled" in page
    assert f"/audit/transfers/{filled_reserve.transfer.public_id}/certificate.pdf" in page
    assert "No transfers match these filters." in client.get(
        "/audit/transfers/", {"status": "PROPOSED"}).content.decode()
    bad = client.get("/audit/transfers/", {"status": "NOPE"})
    assert bad.status_code == 200 and "There is a problem" in bad.content.decode()
    rows = read_csv(client.get("/audit/transfers.csv"))
    assert rows[1][0] == str(filled_reserve.transfer.public_id)
    assert rows[1][2] == "SETTLED" and rows[1][5] == str(filled_reserve.transfer.amount_sats)
    assert rows[1][10] == "2" and rows[1][11] == filled_reserve.transfer.txid
    assert read_csv(client.get("/audit/transfers.csv", {"status": "PROPOSED"})) == [rows[0]]

    deposits = client.get("/audit/deposits/").content.decode()
    assert MINED_TXID in deposits and "State mining" in deposits
    rows = read_csv(client.get("/audit/deposits.csv", {"status": "ATTRIBUTED"}))
    assert rows[1][3] == MINED_TXID and rows[1][8] == "STATE_MINING"


def test_the_ledger_page_lists_each_entry_and_its_lines(web, auditor, filled_reserve):
    page = web(auditor).get("/audit/ledger/").content.decode()
    assert "Transfer settled" in page and "Deposit attributed" in page
    assert f"-{btc(SETTLED_SATS)}" in page  # the custody side of the settlement


def test_the_audit_chain_page_reads_the_stored_result_and_never_walks_the_chain(
        web, auditor, filled_reserve):
    client = web(auditor)
    before = client.get("/audit/chain/").content.decode()
    assert "not been verified yet" in before
    result = run_verification()
    assert result.ok
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/audit/chain/").content.decode()
    assert "Intact" in page
    assert f"The chain is intact through event #{result.checked:,}" in page
    assert result.last_hash in page
    # The request read the stored verification; it never selected the events' hashes.
    assert not [q for q in queries.captured_queries
                if "core_auditevent" in q["sql"] and '"canonical"' in q["sql"]]
    checkpoint = client.get("/audit/chain/checkpoint.jsonl")
    assert checkpoint.status_code == 200
    assert f'"seq":{result.checked}' in checkpoint.content.decode()
    assert f'"hash":"{result.last_hash}"' in checkpoint.content.decode()


def test_the_checkpoint_is_refused_without_an_intact_verification(web, auditor):
    response = web(auditor).get("/audit/chain/checkpoint.jsonl")
    assert response.status_code == 409 and "conflict" in response.content.decode()


def test_the_verify_button_queues_the_workers_task(web, auditor, filled_reserve, monkeypatch):
    from custody.web.auditor import chain

    queued = []
    monkeypatch.setattr(chain, "enqueue", lambda name, *args: queued.append((name, args))
                        or True)
    client = web(auditor)
    response = client.post("/audit/chain/verify/", {"full": "1"})
    assert response.status_code == 302 and response["Location"] == "/audit/chain/"
    assert queued == [("core.verify_audit_chain", (True,))]
    assert not AuditVerification.objects.exists()  # the request itself verified nothing
    assert "Verification queued" in client.get("/audit/chain/").content.decode()
    assert client.get("/audit/chain/verify/").status_code == 405
    # A second click (anyone's) within the minute queues nothing more.
    again = client.post("/audit/chain/verify/", {"full": "1"}, follow=True)
    assert "queued less than a minute ago" in again.content.decode()
    assert len(queued) == 1
    client.post("/audit/chain/verify/", {"full": "0"})  # an incremental run is its own
    assert queued[1] == ("core.verify_audit_chain", (False,))


def test_a_queue_that_cannot_be_reached_is_said_and_leaves_the_button_usable(
        web, auditor, filled_reserve, monkeypatch):
    from custody.web.auditor import chain

    answers = [False, True]
    monkeypatch.setattr(chain, "enqueue", lambda name, *args: answers.pop(0))
    client = web(auditor)
    refused = client.post("/audit/chain/verify/", {"full": "0"}, follow=True)
    assert "could not be queued" in refused.content.decode()
    retried = client.post("/audit/chain/verify/", {"full": "0"}, follow=True)
    assert "Verification queued" in retried.content.decode() and answers == []


def test_kzt_values_use_approved_prices_only(web, auditor, admin_user, filled_reserve):
    from django.utils import timezone

    from custody import services
    from tests.support.second_factor import fresh_step_up

    # A newer price recorded by one person and not yet approved values nothing.
    services.price_record(actor=admin_user, kzt_per_unit=99_000_000, source="Unapproved feed",
                          observed_at=timezone.now(), step_up=fresh_step_up(admin_user))
    page = web(auditor).get("/audit/accounting/").content.decode()
    assert "Unapproved feed" not in page and PRICE_SOURCE in page


def test_the_verify_button_runs_the_verification_through_the_task(web, auditor, filled_reserve,
                                                                   run_tasks_in_process):
    client = web(auditor)
    client.post("/audit/chain/verify/", {"full": "0"})
    run = AuditVerification.objects.get()
    assert run.ok and run.checked == AuditEvent.objects.count()
    assert "Intact" in client.get("/audit/chain/").content.decode()


def test_audit_events_filter_and_export(web, auditor, filled_reserve):
    client = web(auditor)
    page = client.get("/audit/events/", {"action": "transfer.settled"}).content.decode()
    assert "1 event" in page and "transfer.settled" in page
    assert "price.recorded" not in page.split("<table")[-1]
    rows = read_csv(client.get("/audit/events.csv", {"action": "transfer.settled"}))
    event = AuditEvent.objects.get(action="transfer.settled")
    assert rows[0][:4] == ["seq", "created_at", "actor_username", "action"]
    assert len(rows) == 2 and rows[1][0] == str(event.seq) and rows[1][-1] == event.hash
    everything = read_csv(client.get("/audit/events.csv"))
    assert len(everything) == AuditEvent.objects.count() + 1
    bad = client.get("/audit/events/", {"action": "no.such.action"})
    assert bad.status_code == 200 and "There is a problem" in bad.content.decode()


def test_the_auditors_home_page_and_navigation(web, auditor, filled_reserve):
    client = web(auditor)
    page = client.get("/").content.decode()
    for link in ("Reserve dashboard", "Accounting", "Audit record"):
        assert link in page
    assert "Audit events not yet verified" in page
    run_verification()
    assert "Audit events not yet verified" not in client.get("/").content.decode()


def test_a_broken_chain_is_urgent_on_the_home_page(web, auditor, filled_reserve):
    from django.utils import timezone

    now = timezone.now()
    AuditVerification.objects.create(started_at=now, finished_at=now, full=True,
                                      mode="stored", start_seq=0, events_read=10, ok=False,
                                      checked=9, last_hash="0" * 64, broken_seq=10,
                                      problem="event #10 was rewritten")
    page = web(auditor).get("/").content.decode()
    assert "The audit chain is broken at event #10" in page
    assert "work-list__item--urgent" in page
    chain = web(auditor).get("/audit/chain/").content.decode()
    assert "The chain is broken at event #10" in chain and 'role="alert"' in chain


def test_the_case_list_exports_as_csv_with_its_filters(web, auditor, clerk, filled_reserve,
                                                       submitted_case):
    client = web(auditor)
    page = client.get("/cases/").content.decode()
    assert 'data-testid="cases-csv"' in page
    rows = read_csv(client.get("/cases.csv"))
    numbers = {r[2] for r in rows[1:]}
    assert {filled_reserve.case.case_number, submitted_case.case_number} <= numbers
    rows = read_csv(client.get("/cases.csv", {"q": submitted_case.case_number}))
    assert [r[2] for r in rows[1:]] == [submitted_case.case_number]
    # A clerk's export holds only what the clerk's list holds.
    clerk_rows = read_csv(web(clerk).get("/cases.csv"))
    assert all(r[1] == clerk.agency.code for r in clerk_rows[1:])



def test_no_auditor_page_references_an_external_url(web, auditor, filled_reserve):
    from .test_offline import external_references

    client = web(auditor)
    for url in RESERVE_PAGES + AUDIT_PAGES:
        html = client.get(url).content.decode()
        assert external_references(html) == [], url
        assert "http://" not in html and "https://" not in html, url


def test_the_ledger_and_events_pages_read_a_page_in_a_fixed_number_of_queries(
        web, auditor, filled_reserve):
    from custody.models import FundSource, JournalEntry, LedgerAccount, LedgerLine

    client = web(auditor)

    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    before = {url: queries(url) for url in ("/audit/ledger/", "/audit/events/")}
    entries = JournalEntry.objects.bulk_create([
        JournalEntry(kind=JournalEntry.Kind.DEPOSIT_ATTRIBUTED, network="regtest",
                     txid=f"{n:064x}") for n in range(30)])
    LedgerLine.objects.bulk_create([line for entry in entries for line in (
        LedgerLine(entry=entry, account=LedgerAccount.RESERVE, amount_sats=1_000,
                   reserve_wallet=filled_reserve.wallet, case=filled_reserve.case,
                   source=FundSource.OTHER),
        LedgerLine(entry=entry, account=LedgerAccount.EXTERNAL, amount_sats=-1_000,
                   source=FundSource.OTHER))])
    assert {url: queries(url) for url in before} == before

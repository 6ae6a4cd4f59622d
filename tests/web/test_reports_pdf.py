"""The PDF reports, read back as text (pypdf): the seizure receipt and the chain-of-custody
report of a case, the transfer certificate and the full accounting carry the case number,
the amounts, the hashes, and Kazakh and Russian letters as real text (DejaVu embedded).
Who may have a report is who may see its subject: the same selectors as the pages."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from pypdf import PdfReader

from core.audit import run_verification
from core.models import AuditEvent
from intake import services as intake_services
from tests.fixtures.reserve import (
    MINED_TXID,
    PRICE_SOURCE,
    TIP,
    TXID_BLOCK,
    btc,
)
from tests.support.api import attach_documents

from .conftest import CASE_DATA

pytestmark = pytest.mark.django_db

KAZAKH_LETTERS = "әғқңөұүһі"
OWNER = "Әлібек Қасымұлы Ғабиденов"
HOLDER = "Өскемен қаласының айғақтар қоймасы, Ұлан Үсенов, Һ-1, Іңкәр"


def pdf_text(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    assert response.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.content))
    fonts = set()
    for page in reader.pages:
        for font in (page.get("/Resources", {}).get("/Font", {}) or {}).values():
            fonts.add(str(font.get_object().get("/BaseFont")))
    return "\n".join(page.extract_text() for page in reader.pages), fonts


def flat(text):
    """The text with line breaks and the spaces pypdf puts between words removed, for
    values a table cell may wrap (hashes, addresses)."""
    return "".join(text.split())


@pytest.fixture
def kazakh_case(clerk, custody_wallet):
    case = intake_services.case_create(actor=clerk, data={
        **CASE_DATA, "case_number": "AFM-2026-0777", "owner_name": OWNER,
        "description": "Ledger құрылғысы, мөрленген конверт; Шаһар көшесіндегі тінту "
                       "(Russian: изъято при обыске)"})
    intake_services.asset_add(case=case, actor=clerk, asset="BTC", network="regtest",
                              declared_amount=123_456_789)
    evidence = intake_services.evidence_upload(
        case=case, actor=clerk, description="Тінту хаттамасы",
        uploaded_file=SimpleUploadedFile("protocol.txt", "Хаттама № 777".encode()))
    intake_services.handover_add(case=case, actor=clerk, data={
        "item_kind": "DEVICE", "item_description": "Ledger Nano S, сериясы 0777",
        "holder": HOLDER, "held_from": timezone.now() - dt.timedelta(days=3),
        "seal_number": "S-777"})
    case.refresh_from_db()
    case.evidence_sha = evidence.sha256
    return case


def test_the_seizure_receipt_in_kazakh(web, clerk, kazakh_case):
    client = web(clerk)
    client.cookies["django_language"] = "kk"
    text, fonts = pdf_text(client.get(f"/cases/{kazakh_case.public_id}/seizure-receipt.pdf"))
    assert any("DejaVu" in f for f in fonts), fonts
    assert "AFM-2026-0777" in text
    assert "1,23456789" in text  # 8 decimals, the Kazakh decimal comma
    assert kazakh_case.evidence_sha in flat(text)
    assert kazakh_case.custody_address in flat(text)
    assert OWNER in text
    for letter in KAZAKH_LETTERS:
        assert letter in text.lower(), letter
    assert "изъято при обыске" in text
    assert "Алып қою туралы түбіртек" in text  # the heading, translated


def test_the_chain_of_custody_report_carries_handovers_and_the_events_hashes(
        web, legal, kazakh_case, clerk):
    attach_documents(kazakh_case, order=False)  # the warrant its submission rests on
    intake_services.case_submit(case=kazakh_case, actor=clerk)
    client = web(legal)
    client.cookies["django_language"] = "ru"
    text, _fonts = pdf_text(client.get(f"/cases/{kazakh_case.public_id}/chain-of-custody.pdf"))
    assert "AFM-2026-0777" in text and "S-777" in text
    assert "".join(HOLDER.split()) in flat(text)
    assert kazakh_case.evidence_sha in flat(text)
    events = AuditEvent.objects.filter(object_id=str(kazakh_case.public_id))
    assert events.count() >= 2
    for event in events:
        assert event.hash in flat(text), event
    assert "Отчёт о цепочке хранения" in text and "Дело в журнале аудита" in text


def test_a_case_report_is_a_404_for_who_may_not_see_the_case(web, other_clerk, legal,
                                                             kazakh_case):
    for person in (other_clerk, legal):  # another agency's clerk; a legal officer (a draft)
        for report in ("seizure-receipt.pdf", "chain-of-custody.pdf"):
            response = web(person).get(f"/cases/{kazakh_case.public_id}/{report}")
            assert response.status_code == 404, (person, report)


def test_the_case_page_links_its_reports(web, clerk, kazakh_case):
    page = web(clerk).get(f"/cases/{kazakh_case.public_id}/").content.decode()
    assert f"/cases/{kazakh_case.public_id}/seizure-receipt.pdf" in page
    assert f"/cases/{kazakh_case.public_id}/chain-of-custody.pdf" in page


def test_the_transfer_certificate(web, auditor, bank2, bank3, filled_reserve):
    transfer = filled_reserve.transfer
    text, _fonts = pdf_text(web(auditor).get(
        f"/audit/transfers/{transfer.public_id}/certificate.pdf"))
    body = flat(text)
    assert filled_reserve.case.case_number in text
    assert btc(transfer.amount_sats) in text and btc(transfer.fee_sats) in text
    assert transfer.txid in body and TXID_BLOCK in body and "#495" in text
    assert transfer.payload_hash in body
    assert transfer.destination.address in body
    assert "bank2" in text and "bank3" in text  # the approvers
    fingerprints = {fp for upload in transfer.uploads.all() for fp in upload.signer_fingerprints}
    assert len(fingerprints) == 2
    for fp in fingerprints:
        assert fp in body
    for upload in transfer.uploads.all():
        assert upload.sha256 in body
    assert filled_reserve.case.confiscation_order.document_sha256 in body
    assert PRICE_SOURCE in text  # the valuations' price source


def test_the_transfer_certificate_in_russian_and_kazakh(web, auditor, filled_reserve):
    client = web(auditor)
    url = f"/audit/transfers/{filled_reserve.transfer.public_id}/certificate.pdf"
    client.cookies["django_language"] = "ru"
    russian, _ = pdf_text(client.get(url))
    assert "Свидетельство о переводе" in russian
    client.cookies["django_language"] = "kk"
    kazakh, _ = pdf_text(client.get(url))
    assert "Аударым куәлігі" in kazakh
    assert btc(filled_reserve.transfer.amount_sats).replace(".", ",") in kazakh


def test_the_full_accounting(web, auditor, filled_reserve):
    run_verification()
    text, _fonts = pdf_text(web(auditor).get("/audit/accounting.pdf"))
    body = flat(text)
    assert btc(filled_reserve.total) in text
    assert filled_reserve.case.case_number in text
    assert TIP.block_hash in body and "#500" in text
    assert MINED_TXID in body and filled_reserve.transfer.txid in body
    assert PRICE_SOURCE in text
    assert "Intact through event" in text


def test_the_full_accounting_is_for_the_reserve_readers_only(web, clerk, legal, bank,
                                                             filled_reserve):
    assert web(clerk).get("/audit/accounting.pdf").status_code == 404
    assert web(legal).get("/audit/accounting.pdf").status_code == 404
    assert web(bank).get("/audit/accounting.pdf").status_code == 200


def test_a_report_fetches_nothing_from_anywhere():
    from core.reports import ReportFetchRefused, _no_fetching

    for url in ("https://example.com/x.css", "file:///etc/passwd", "http://127.0.0.1/"):
        with pytest.raises(ReportFetchRefused):
            _no_fetching(url)


def _journal(count, *, day=None):
    """count balanced journal entries (an external deposit into the reserve wallet each),
    with txids that say their order: f"{n:064x}"."""
    from custody.models import FundSource, JournalEntry, LedgerAccount, LedgerLine, ReserveWallet

    wallet = ReserveWallet.objects.first()
    entries = JournalEntry.objects.bulk_create([
        JournalEntry(kind=JournalEntry.Kind.DEPOSIT_ATTRIBUTED, network="regtest",
                     txid=f"{n:064x}") for n in range(1, count + 1)])
    LedgerLine.objects.bulk_create([
        line for n, entry in enumerate(entries, start=1) for line in (
            LedgerLine(entry=entry, account=LedgerAccount.RESERVE, amount_sats=n,
                       reserve_wallet=wallet, source=FundSource.STATE_MINING),
            LedgerLine(entry=entry, account=LedgerAccount.EXTERNAL, amount_sats=-n,
                       source=FundSource.STATE_MINING))])
    if day is not None:
        JournalEntry.objects.filter(pk__in=[e.pk for e in entries]).update(
            created_at=timezone.make_aware(dt.datetime.combine(day, dt.time(12))))
    return entries


def test_the_accounting_pdf_carries_the_whole_journal(web, auditor, filled_reserve):
    """Every entry, oldest first: the fixture's two, then 150 more (the PDF once stopped
    at the latest 100)."""
    _journal(150)
    text, _fonts = pdf_text(web(auditor).get("/audit/accounting.pdf"))
    body = flat(text)
    assert "152 journal entries, oldest first" in text
    first, last = f"{1:064x}", f"{150:064x}"
    assert filled_reserve.transfer.txid in body and MINED_TXID in body
    assert first in body and last in body and f"{77:064x}" in body
    # Oldest first: the settled transfer, the mining deposit, then 1 … 150.
    assert body.index(filled_reserve.transfer.txid) < body.index(first) < body.index(last)
    assert body.count("Externalsource") == 150 + 1  # one line per entry's external leg


def test_the_accounting_pdf_of_a_period_holds_that_periods_entries_only(web, auditor,
                                                                          filled_reserve):
    _journal(3, day=dt.date(2026, 1, 15))
    text, _fonts = pdf_text(web(auditor).get("/audit/accounting.pdf?start=2026-01-01"
                                             "&end=2026-01-31"))
    body = flat(text)
    assert "3 journal entries" in text and f"{3:064x}" in body
    assert filled_reserve.transfer.txid not in body and MINED_TXID not in body
    for bad in ("start=2026-02-30", "start=2026-02-01&end=2026-01-01"):
        response = web(auditor).get(f"/audit/accounting.pdf?{bad}")
        assert response.status_code == 400 and b"invalid_filter" in response.content


def test_a_long_journal_is_made_by_the_worker_and_downloaded_when_ready(
        web, auditor, bank, filled_reserve, monkeypatch):
    from custody import tasks
    from custody.web.auditor import accounting_pdf

    monkeypatch.setattr(accounting_pdf, "PDF_SYNC_ENTRIES", 10)
    queued = []
    monkeypatch.setattr("custody.web.auditor.reports.enqueue",
                        lambda name, *args: queued.append((name, args)) or True)
    _journal(20)
    client = web(auditor)
    response = client.get("/audit/accounting.pdf")
    assert response.status_code == 302
    job_page = response["Location"]
    [(name, (job,))] = queued
    assert name == "custody.accounting_pdf" and job in job_page
    waiting = client.get(job_page).content.decode()
    assert 'data-status="queued"' in waiting and "hx-trigger" in waiting
    assert client.get(f"{job_page}download/").status_code == 409
    # Only the person who asked sees it.
    assert web(bank).get(job_page).status_code == 404

    assert tasks.accounting_pdf_task(job) is True
    assert tasks.accounting_pdf_task(job) is False  # safe to run twice
    ready = client.get(job_page, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-status="ready"' in ready and "hx-trigger" not in ready
    download = client.get(f"{job_page}download/")
    reader = PdfReader(io.BytesIO(b"".join(download.streaming_content)))
    body = flat("\n".join(page.extract_text() for page in reader.pages))
    assert f"{1:064x}" in body and f"{20:064x}" in body and MINED_TXID in body


def test_a_job_the_queue_refused_says_so(web, auditor, filled_reserve, monkeypatch):
    from custody.web.auditor import accounting_pdf

    monkeypatch.setattr(accounting_pdf, "PDF_SYNC_ENTRIES", 1)
    monkeypatch.setattr("custody.web.auditor.reports.enqueue", lambda name, *args: False)
    client = web(auditor)
    page = client.get(client.get("/audit/accounting.pdf")["Location"]).content.decode()
    assert 'data-status="failed"' in page and "could not be made" in page


def test_a_server_without_pango_says_so_instead_of_failing(web, clerk, kazakh_case,
                                                           monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails, as without Pango
    response = web(clerk).get(f"/cases/{kazakh_case.public_id}/seizure-receipt.pdf")
    assert response.status_code == 503
    page = response.content.decode()
    assert "reports_unavailable" in page and "PDF reports are not available" in page

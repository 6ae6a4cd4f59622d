"""The auditor's journey in a real headless Chromium against a live server on PostgreSQL,
with a real Celery worker: the auditor signs in, opens the reserve dashboard (its charts
and their tables), queues a verification of the audit chain which the worker runs, sees
the result, and downloads the full accounting as CSV and as PDF, then reads the dashboard
in Kazakh. Screenshots go to test-artifacts/screenshots/auditor-*.png (not committed)."""

import csv
import io
import re
import time

import pytest
from pypdf import PdfReader

from core.models import AuditVerification
from tests.fixtures.reserve import PRICE_SOURCE, TIP, btc

from . import test_browser_journeys as journeys
from .a11y import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

chromium = journeys.chromium  # the fixture: a headless Chromium for this live server


def wait_for_result(page, text, attempts=120):
    """Reload until the stored verification says text (the worker finishes in its own
    time)."""
    for _ in range(attempts):
        if text in page.get_by_test_id("verification-result").inner_text():
            return
        time.sleep(0.5)
        page.reload()
    raise AssertionError(f"{text!r} never appeared")


def test_an_auditor_opens_the_dashboard_verifies_the_chain_and_exports_the_accounting(
        chromium, live_server, auditor, filled_reserve, celery_worker_process, tmp_path):
    base = live_server.url
    total = btc(filled_reserve.total)
    case_number = filled_reserve.case.case_number
    with chromium() as browser:
        page = journeys.new_page(browser)
        journeys.sign_in(page, base, "auditor")
        assert page.get_by_role("heading", name="Hello, auditor").is_visible()
        assert page.get_by_text("Audit events not yet verified").is_visible()
        journeys.shot(page, "auditor-01-home")

        # The dashboard: the total, its value in KZT and the price's source, four charts
        # each with its figures as a table.
        page.get_by_role("link", name="Reserve dashboard", exact=True).click()
        page.get_by_role("heading", name="Reserve dashboard").wait_for()
        assert page.get_by_test_id("reserve-total").inner_text().startswith(total)
        assert page.get_by_text(PRICE_SOURCE, exact=False).first.is_visible()
        for chart in ("chart-over-time", "chart-by-source", "chart-by-wallet",
                      "chart-by-agency"):
            assert page.get_by_test_id(chart).is_visible()
        assert page.get_by_role("img", name=re.compile("Holdings by source")).count() == 1
        assert page.get_by_role("row", name=re.compile("State mining")).first.is_visible()
        journeys.shot(page, "auditor-02-dashboard")
        assert_accessible(page, "dashboard with its charts")

        # The audit chain: not verified yet; the button queues the worker's verification.
        page.get_by_role("link", name="Verify the audit chain").click()
        assert "The audit chain has not been verified yet." in page.get_by_test_id(
            "verification-result").inner_text()
        page.get_by_role("button", name="Verify the whole chain from the first event").click()
        page.get_by_text("Verification queued.").wait_for()
        journeys.shot(page, "auditor-03-verification-queued")
        wait_for_result(page, "The chain is intact through event #")
        journeys.shot(page, "auditor-04-chain-verified")
        first_run = page.get_by_test_id("checkpoints").locator("tbody tr").first
        assert "intact" in first_run.inner_text().lower()
        with page.expect_download() as checkpoint:
            page.get_by_role("link", name="Download the latest checkpoint").click()
        checkpoint_line = open(checkpoint.value.path(), encoding="utf-8").read()

        # The full accounting: the page, then the CSV and the PDF downloads.
        page.get_by_role("link", name="Accounting", exact=True).first.click()
        page.get_by_role("heading", name="Full accounting of the reserve").wait_for()
        assert page.get_by_test_id("by-case").get_by_text(case_number).is_visible()
        journeys.shot(page, "auditor-05-accounting")
        with page.expect_download() as csv_download:
            page.get_by_test_id("accounting-csv").click()
        csv_text = open(csv_download.value.path(), encoding="utf-8").read()
        with page.expect_download() as pdf_download:
            page.get_by_test_id("accounting-pdf").click()
        pdf_bytes = open(pdf_download.value.path(), "rb").read()
        assert csv_download.value.suggested_filename.endswith(".csv")
        assert pdf_download.value.suggested_filename.endswith(".pdf")

        # The dashboard in Kazakh, at tablet width.
        page.get_by_role("link", name="Reserve dashboard", exact=True).click()
        page.get_by_label("Language").select_option("kk")
        page.get_by_role("button", name="Change").click()
        page.get_by_role("heading", name="Резерв тақтасы").wait_for()
        page.set_viewport_size({"width": 820, "height": 1180})
        journeys.shot(page, "auditor-06-dashboard-kk-tablet")
        assert_accessible(page, "dashboard in Kazakh on a tablet")

    run = AuditVerification.objects.order_by("-id").first()
    assert run is not None and run.ok and run.full
    assert f'"seq":{run.checked}' in checkpoint_line
    rows = list(csv.reader(io.StringIO(csv_text)))
    assert rows[0][0] == "section"
    assert rows[-1][:8] == ["total", "", "", "", "", "RESERVE", str(filled_reserve.total),
                            total]
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf_bytes)).pages)
    assert total in text and case_number in text
    assert TIP.block_hash in "".join(text.split())
    assert (journeys.SHOTS / "auditor-04-chain-verified.png").exists()

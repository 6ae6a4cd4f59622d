"""Two journeys in a real headless Chromium against a live server on PostgreSQL: a clerk
files a case (a BTC asset on regtest, its sweep, an evidence upload) and submits it; a legal
officer signs in with the second factor (enrolling through the page), reviews the case,
records the court's order and approves confiscation. Screenshots go to
test-artifacts/screenshots/ (not committed)."""

import base64
import contextlib
import hashlib
import os
import re
import shutil
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django_otp.oath import TOTP

from intake.models import CaseStatus, SeizureCase

from .ci import missing
from .conftest import ORDER_DOCUMENT, ORDER_SHA, file_case

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
REGTEST_ADDRESS = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
MAINNET_ADDRESS = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
SWEEP_TXID = "5c" * 32


def chromium_path():
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture
def chromium(live_server, monkeypatch):
    """chromium() → a context manager giving a headless Chromium. The test's own database
    work happens outside it: while Playwright's sync API runs, its event loop gives the
    test a separate database context (and connection) of its own."""
    if connection.vendor != "postgresql":
        missing("PostgreSQL", "the browser journeys run against a live server on PostgreSQL: "
                "set DATABASE_URL=postgres://…")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright", "pip install -r requirements.txt")
    executable = chromium_path()
    if executable is None:
        missing("Chromium", "apt-get install chromium fonts-dejavu-core "
                "(scripts/system_packages.sh does it)")
    # Django refuses database calls from a thread with a running event loop; none is made
    # inside the browser session, but Playwright's loop stays registered on this thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SHOTS.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def launch():
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable,
                                                 args=["--no-sandbox", "--disable-gpu"])
            try:
                yield browser
            finally:
                browser.close()

    return launch


def new_page(browser, viewport=(1280, 900)):
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                  locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page, base, username):
    page.goto(f"{base}/")
    assert "/sign-in/" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()


def test_a_clerk_files_a_case_with_a_btc_asset_and_evidence(chromium, live_server, clerk,
                                                            custody_wallet, tmp_path):
    base = live_server.url
    evidence = tmp_path / "seizure-protocol.txt"
    evidence.write_bytes(b"Seizure protocol SP-500: one Ledger Nano S, sealed S-77.\n")
    digest = hashlib.sha256(evidence.read_bytes()).hexdigest()
    with chromium() as browser:
        page = new_page(browser)
        sign_in(page, base, "clerk")
        assert page.get_by_role("heading", name="Hello, clerk").is_visible()
        shot(page, "clerk-01-home")

        # 1. Details, with a mistake first: the error summary takes focus and links the field.
        page.get_by_role("link", name="File a new case").first.click()
        page.get_by_label("Case number").fill("AFM-2026-0500")
        page.get_by_label("Warrant number").fill("W-500/2026")
        page.get_by_label("Date of the warrant").fill("2026-03-01")
        page.get_by_label("Date of the seizure").fill("2026-03-02")
        page.get_by_role("button", name="Create the draft and continue").click()
        summary = page.locator("[data-error-summary]")
        assert summary.is_visible()
        assert "Enter the name of the person or company" in summary.inner_text()
        assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
        assert page.get_by_label("Case number").input_value() == "AFM-2026-0500"
        shot(page, "clerk-02-details-error")
        summary.get_by_role("link").first.click()
        assert page.evaluate("document.activeElement.id") == "id_owner_name"
        page.get_by_label("Full name of the owner").fill("Suspect Five")
        page.get_by_role("button", name="Create the draft and continue").click()

        # 2. The asset, its source address checked as it is typed, then its sweep.
        page.wait_for_url(re.compile(r"/file/assets/$"))
        page.get_by_label("Declared amount").fill("0.25")
        page.get_by_label("Address the coins were seized from").fill(MAINNET_ADDRESS)
        check = page.locator("#source-address-check")
        check.get_by_text("wrong_network").wait_for()
        page.get_by_label("Address the coins were seized from").fill(REGTEST_ADDRESS)
        check.get_by_text("regtest · p2wpkh").wait_for()
        page.get_by_role("button", name="Add the asset").click()
        custody_address = page.get_by_test_id("custody-address").inner_text()
        assert custody_address.startswith("bcrt1q")
        page.get_by_text("Record a sweep into the custody address").click()
        txid_field = page.get_by_label("Transaction id of the sweep")
        txid_field.fill("not-a-txid")
        page.get_by_text("invalid_txid").wait_for()
        txid_field.fill(SWEEP_TXID)
        page.locator(".live-check--ok").last.wait_for()
        page.get_by_role("button", name="Record the sweep").click()
        page.get_by_text("Sweep recorded.").wait_for()
        assert page.get_by_text("0 of 1").is_visible()
        shot(page, "clerk-03-assets")

        # 3. Evidence: the browser's SHA-256 and the server's agree.
        page.get_by_role("link", name="Continue to evidence").click()
        page.get_by_label("Seizure protocol").check()
        page.get_by_label("Evidence file").set_input_files(str(evidence))
        page.locator("#file-sha256").get_by_text(digest).wait_for()
        page.get_by_label("What the file shows").fill("Seizure protocol")
        page.get_by_role("button", name="Upload the file").click()
        assert page.get_by_test_id("evidence-sha256").inner_text() == digest
        shot(page, "clerk-04-evidence")

        # 4. Chain of custody.
        page.get_by_role("link", name="Continue to the chain of custody").click()
        page.get_by_label("Hardware wallet or device").check()
        page.get_by_label("Description of the item").fill("Ledger Nano S, serial 0001, "
                                                          "envelope S-77")
        page.get_by_label("Who holds it").fill("Evidence room, officer Sadykov")
        page.get_by_label("Held from").fill("2026-03-02T10:00")
        page.get_by_role("button", name="Add the entry").click()
        page.get_by_text("Chain-of-custody entry recorded.").wait_for()

        # 5. Check your answers, submit, the confirmation with the reference number.
        page.get_by_role("link", name="Continue to check your answers").click()
        assert page.get_by_role("heading",
                                name="Check your answers before submitting the case").is_visible()
        shot(page, "clerk-05-check")
        page.get_by_role("button", name="Submit case AFM-2026-0500 for legal review").click()
        assert page.get_by_test_id("reference").inner_text() == "AFM-2026-0500"
        assert page.get_by_role("heading", name="What happens next").is_visible()
        shot(page, "clerk-06-submitted")

        # The case page in Kazakh, at tablet width.
        page.get_by_role("link", name="Go to the case page").click()
        page.get_by_label("Language").select_option("kk")
        page.get_by_role("button", name="Change").click()
        page.get_by_role("heading", name="Хронология").wait_for()
        page.set_viewport_size({"width": 820, "height": 1180})
        shot(page, "clerk-07-case-kk-tablet")

    case = SeizureCase.objects.get(case_number="AFM-2026-0500")
    assert case.status == CaseStatus.SUBMITTED
    asset = case.assets.get()
    assert asset.declared_amount == 25_000_000 and asset.custody_address == custody_address
    assert asset.sweeps.get().txid == SWEEP_TXID
    assert case.evidence.get().sha256 == digest


def totp_from_page(uri, steps_ahead=0):
    """What an authenticator app would show for the page's otpauth:// URI."""
    secret = parse_qs(urlparse(uri).query)["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key, step=30, t0=0, digits=6)
    totp.time = time.time() + steps_ahead * 30
    return f"{totp.token():06d}"


def test_a_legal_officer_enrols_reviews_and_approves_confiscation(
        chromium, live_server, legal, clerk, custody_wallet, tmp_path):
    case = file_case(clerk, number="AFM-2026-0600", submit=True)
    order_scan = tmp_path / "order-2-600.pdf"
    order_scan.write_bytes(ORDER_DOCUMENT)
    base = live_server.url
    with chromium() as browser:
        page = new_page(browser)
        sign_in(page, base, "legal")

        # Enrolment through the page: the QR code's URI gives the app its key.
        page.wait_for_url(re.compile(r"/second-factor/set-up/"))
        assert page.locator(".qr-code svg").is_visible()
        shot(page, "legal-01-set-up")
        page.get_by_text("I cannot scan the QR code").click()
        uri = page.get_by_test_id("provisioning-uri").inner_text()
        assert uri.startswith("otpauth://totp/")
        page.get_by_label("Code from your authenticator app").fill(totp_from_page(uri))
        page.get_by_role("button", name="Confirm and continue").click()
        codes = page.get_by_test_id("backup-codes").locator("code").all_inner_texts()
        assert len(codes) == 10
        shot(page, "legal-02-backup-codes")
        page.get_by_role("link", name="I have saved the codes – continue").click()
        assert page.get_by_text("Cases waiting for a reviewer").is_visible()

        # The queue, the case, the review.
        page.get_by_role("link", name="Review queue").click()
        page.get_by_test_id("queue-waiting").get_by_role("link", name="AFM-2026-0600").click()
        assert not page.get_by_role("link", name="Record the court's confiscation order").count()
        page.get_by_role("button", name="Start the review").click()
        page.get_by_text("You are now the reviewer of case AFM-2026-0600.").wait_for()
        shot(page, "legal-03-under-review")

        # The order, with a fresh code (the enrolment used this 30-s step's).
        page.get_by_role("link", name="Record the court's confiscation order").click()
        page.get_by_label("Court", exact=True).fill("Specialised Inter-District Criminal Court")
        page.get_by_label("Order number").fill("2-600/2026")
        page.get_by_label("Date of the order").fill("2026-06-01")
        # The signed order's scan, uploaded here: the order names it by its hash.
        page.get_by_label("Or upload the order's document").set_input_files(str(order_scan))
        page.locator("#file-sha256").get_by_text(ORDER_SHA).wait_for()
        page.get_by_label("Code from your authenticator app").fill(totp_from_page(uri, 1))
        shot(page, "legal-04-order")
        page.get_by_role("button", name=re.compile(
            "Record the final order and approve confiscation of case AFM-2026-0600")).click()
        page.get_by_text("confiscation of case AFM-2026-0600 is approved").wait_for()
        assert page.locator(".tag.status--CONFISCATION_APPROVED").is_visible()
        shot(page, "legal-05-approved")

        # The review queue in Kazakh.
        page.get_by_label("Language").select_option("kk")
        page.get_by_role("button", name="Change").click()
        page.get_by_role("link", name="Тексеру кезегі").click()
        page.get_by_role("heading", name="Тексеру кезегі").wait_for()
        shot(page, "legal-06-queue-kk")

    case.refresh_from_db()
    assert case.status == CaseStatus.CONFISCATION_APPROVED
    assert case.reviewer == legal
    assert case.confiscation_order.document_sha256 == ORDER_SHA
    assert case.confiscation_order.document.kind == "COURT_ORDER"
    assert os.path.exists(SHOTS / "legal-05-approved.png")

"""The court-ordered release journey in a real headless Chromium against a live server on
PostgreSQL: a legal officer records the court's release order on a rejected case from the
case page (a wrong-network address first: the error summary, the code beside the field,
nothing typed lost), a second legal officer finds it on the home page and in the queue and
approves it with a fresh code, and a bank officer proposes the release transfer, which
opens on the transfer pages. Screenshots: test-artifacts/screenshots/release-*.png."""

import pytest
from django.conf import settings

from custody import chainio
from custody.models import ReleaseOrder, Transfer, TransferKind
from intake.models import CaseStatus
from tests.support.custody import fake_utxos, make_confiscated_case, make_reserve_wallet

from .test_browser_journeys import chromium, new_page, shot  # noqa: F401 - the fixture
from .test_pages_release import OWNER, regtest_address

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def signed_in(browser, live_server, session):
    page = new_page(browser)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session,
                               "url": live_server.url}])
    return page


def test_a_release_order_is_recorded_approved_and_its_transfer_proposed(
        chromium, live_server, web, step_up_code, agency, custody_wallet, legal,  # noqa: F811
        legal2, bank, bank3, admin_user, monkeypatch):
    base = live_server.url
    case = make_confiscated_case(agency=agency, custody_wallet=custody_wallet, legal=legal,
                                 status=CaseStatus.REJECTED)
    make_reserve_wallet(admin=admin_user, approver=bank3)  # the quorum policy a release uses
    utxos = fake_utxos(case, 60_000_000, 40_000_000)
    monkeypatch.setattr(chainio, "custody_utxos", lambda address: utxos)
    monkeypatch.setattr(chainio, "fee_rate_sat_vb", lambda: 10)
    sessions = {p.username: web(p).cookies[settings.SESSION_COOKIE_NAME].value
                for p in (legal, legal2, bank)}
    code = step_up_code(legal2)
    with chromium() as browser:
        # 1. The first legal officer, from the case page.
        page = signed_in(browser, live_server, sessions["legal"])
        page.goto(f"{base}/cases/{case.public_id}/")
        page.get_by_role("link", name="Record a court's release order on this case").click()
        page.get_by_label("Return to the owner").check()
        page.get_by_label("Court", exact=True).fill("Astana City Court")
        page.get_by_label("Order number").fill("2-77/2026")
        page.get_by_label("Date of the order").fill("2026-07-01")
        page.get_by_label("Who receives the assets").fill("Әлібек Қасымұлы")
        page.get_by_label("Address the order names").fill(regtest_address(b"owner", "main"))
        page.get_by_label("Or the SHA-256 of the order's document").fill("ab" * 32)
        page.get_by_role("button", name="Record the release order").click()
        summary = page.locator("[data-error-summary]")
        assert "wrong_network" in summary.inner_text()
        assert page.get_by_label("Who receives the assets").input_value() == "Әлібек Қасымұлы"
        shot(page, "release-01-order-error")
        page.get_by_label("Address the order names").fill(OWNER)
        page.get_by_role("button", name="Record the release order").click()
        page.get_by_test_id("order-status").wait_for()
        assert page.get_by_test_id("order-status").inner_text().lower() == \
            "waiting for a second legal officer"
        assert page.get_by_test_id("approve-form").count() == 0  # never one's own
        shot(page, "release-02-recorded")
        page.context.close()

        # 2. The second legal officer: home page, queue, the order, the code.
        page = signed_in(browser, live_server, sessions["legal2"])
        page.goto(f"{base}/")
        page.get_by_role("link", name="Release orders waiting for your approval").click()
        page.get_by_test_id("queue-waiting").get_by_role("link").first.click()
        assert OWNER in page.get_by_test_id("order-destination").inner_text()
        page.get_by_test_id("approve-form").get_by_label("Code from your authenticator app"
                                                       ).fill(code)
        page.get_by_role("button", name="Approve release order 2-77/2026").click()
        page.get_by_text("Release order 2-77/2026 approved").wait_for()
        assert page.get_by_test_id("order-status").inner_text().strip().lower() == "approved"
        shot(page, "release-03-approved")
        page.context.close()

        # 3. The bank officer proposes the release transfer.
        page = signed_in(browser, live_server, sessions["bank"])
        page.goto(f"{base}/releases/")
        page.get_by_test_id("queue-approved").get_by_role("link").first.click()
        page.get_by_role("button", name=f"Propose the release of case {case.case_number}"
                         ).click()
        page.get_by_test_id("release-order").wait_for()
        assert OWNER in page.get_by_test_id("destination").first.inner_text()
        assert "Release of" in page.get_by_role("heading", level=1).inner_text()
        shot(page, "release-04-transfer-proposed")
        page.context.close()

    order = ReleaseOrder.objects.get(case=case)
    assert (order.status, order.approved_by_id) == ("ACTIVE", legal2.pk)
    transfer = Transfer.objects.get(case=case)
    assert (transfer.kind, transfer.release_order_id, transfer.destination_address) == (
        TransferKind.RELEASE, order.pk, OWNER)

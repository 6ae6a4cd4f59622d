"""Accessible basics on the pages people work in (issue 9): axe-core's WCAG 2.1 A and AA rules
find no serious or critical violation, and each page fits a 1280 px screen and a tablet
(768 px) without scrolling sideways. A real Chromium against the live server; each person
arrives with a session that has been through the second factor."""

import pytest
from django.conf import settings
from django.urls import reverse

from .a11y import assert_accessible
from .conftest import file_case
from .test_browser_journeys import chromium, new_page, shot  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 768)


def pages_for(role, case):
    """(name, path) of the pages this role works in."""
    detail = reverse("intake:case-detail", args=[case.public_id])
    pages = {
        "clerk": [("case-list", reverse("intake:case-list")), ("case-detail", detail),
                  ("file-new", reverse("intake:file-new")),
                  ("file-evidence", reverse("intake:file-evidence", args=[case.public_id]))],
        "legal": [("review-queue", reverse("intake:review-queue")), ("case-detail", detail),
                  ("release-queue", reverse("custody:release-queue")),
                  ("release-order-new",
                   reverse("custody:release-order-new", args=[case.public_id]))],
        "bank": [(name, reverse(f"custody:{name}")) for name in (
            "ready-cases", "transfer-list", "deposit-list", "price-list", "chain-status",
            "release-queue", "handover-list", "valuation-items")],
        "auditor": [(name, reverse(f"custody:auditor-{name}")) for name in (
            "dashboard", "accounting", "proof", "valuations", "transfers", "deposits", "ledger",
            "chain", "events")] + [("valuation-items", reverse("custody:valuation-items"))],
    }[role]
    return [("home", reverse("web:home")), *pages]


def check_page(page, url, name):
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{name}: {response}"
    assert "/sign-in/" not in page.url, f"{name}: sent to sign in"
    assert_accessible(page, name)


@pytest.mark.parametrize("role", ["clerk", "legal", "bank", "auditor"])
def test_the_pages_pass_axe_and_fit_a_laptop_and_a_tablet(chromium, live_server, web, role,  # noqa: F811
                                                         clerk, legal, bank, auditor,
                                                         custody_wallet, filled_reserve):
    case = file_case(clerk, number="AFM-2026-0701", submit=role == "legal")
    person = {"clerk": clerk, "legal": legal, "bank": bank, "auditor": auditor}[role]
    session = web(person).cookies[settings.SESSION_COOKIE_NAME].value
    with chromium() as browser:
        for width in WIDTHS:
            page = new_page(browser, viewport=(width, 900))
            page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session,
                                       "url": live_server.url}])
            for name, path in pages_for(role, case):
                check_page(page, live_server.url + path, f"{role} {name} at {width} px")
                if width == 768:
                    shot(page, f"a11y-{role}-{name}-tablet")
            page.context.close()


def test_the_check_finds_what_it_looks_for(chromium, live_server):  # noqa: F811
    """On one of our pages (its CSP and scripts in place), a form field without a label and
    an over-wide element are caught: the check above cannot pass by not running."""
    with chromium() as browser:
        page = new_page(browser)
        page.goto(live_server.url + reverse("web:sign-in"))
        page.evaluate("""() => {
            const input = document.createElement('input');
            input.dataset.probe = 'unlabelled';
            document.querySelector('main').appendChild(input);
        }""")
        with pytest.raises(AssertionError, match="label"):
            assert_accessible(page, "unlabelled field")
        page.evaluate("""() => {
            document.querySelector('[data-probe=unlabelled]').remove();
            const wide = document.createElement('div');
            wide.style.width = '3000px'; wide.textContent = 'x';
            document.querySelector('main').appendChild(wide);
        }""")
        with pytest.raises(AssertionError, match="wider than the window"):
            assert_accessible(page, "wide element")



def test_the_release_handover_and_valuation_pages_pass_axe(chromium, live_server, web,  # noqa: F811
                                                          agency, custody_wallet, legal,
                                                          legal2, bank, bank2, auditor,
                                                          monkeypatch):
    """The pages of a recorded release order, a recorded handover (its form with errors
    too), the valuation open items with an open item, and a long accounting's job page,
    as the person deciding on them sees them."""
    import hashlib

    from custody import services
    from custody.services.prices import value_due_milestones
    from custody.web.auditor import accounting_pdf
    from intake.models import CaseStatus, SeizedAsset
    from tests.support.custody import make_confiscated_case
    from tests.support.second_factor import fresh_step_up

    from .test_pages_release import OWNER

    rejected = make_confiscated_case(agency=agency, custody_wallet=custody_wallet, legal=legal,
                                     status=CaseStatus.REJECTED)
    order = services.release_order_record(
        actor=legal, case=rejected, kind="RETURN_TO_OWNER", court="Астана қалалық соты",
        order_number="2-77/2026", order_date=rejected.seizure_date,
        document_sha256=hashlib.sha256(b"order").hexdigest(), beneficiary="Әлібек Қасымұлы",
        destination_address=OWNER)
    confiscated = make_confiscated_case(agency=agency, custody_wallet=custody_wallet,
                                        legal=legal)
    usdt = SeizedAsset.objects.create(case=confiscated, asset="USDT", chain="tron",
                                      network="mainnet", declared_amount=1_500_000_000)
    handover = services.handover_propose(
        actor=bank, asset=usdt, kind="TO_CUSTODIAN", recipient="NBK USDT custodian",
        txid="ab" * 32, receipt_sha256=hashlib.sha256(b"receipt").hexdigest(),
        step_up=fresh_step_up(bank))
    value_due_milestones()
    job = accounting_pdf.job_start(user=auditor, start=None, end=None, entries=12_000)
    pages = {
        legal2: [("release-order", reverse("custody:release-order-detail",
                                           args=[order.public_id]))],
        bank2: [("handover", reverse("custody:handover-detail", args=[handover.public_id])),
                ("handover-new", reverse("custody:handover-new", args=[usdt.public_id])),
                ("valuation-items", reverse("custody:valuation-items"))],
        auditor: [("accounting-pdf-job", reverse("custody:auditor-accounting-pdf-job",
                                                 args=[job]))],
    }
    with chromium() as browser:
        for person, paths in pages.items():
            session = web(person).cookies[settings.SESSION_COOKIE_NAME].value
            for width in WIDTHS:
                page = new_page(browser, viewport=(width, 900))
                page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                                           "value": session, "url": live_server.url}])
                for name, path in paths:
                    check_page(page, live_server.url + path, f"{name} at {width} px")
                    if name == "handover-new":  # the form with its errors shown
                        page.get_by_test_id("handover-form").locator(
                            "button[type=submit]").click()
                        page.wait_for_load_state()
                        assert_accessible(page, f"{name} with errors at {width} px")
                    if width == 768:
                        shot(page, f"a11y-{name}-tablet")
                page.context.close()

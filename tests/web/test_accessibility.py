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
        "legal": [("review-queue", reverse("intake:review-queue")), ("case-detail", detail)],
        "bank": [(name, reverse(f"custody:{name}")) for name in (
            "ready-cases", "transfer-list", "deposit-list", "price-list", "chain-status")],
        "auditor": [(name, reverse(f"custody:auditor-{name}")) for name in (
            "dashboard", "accounting", "proof", "valuations", "transfers", "deposits", "ledger",
            "chain", "events")],
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


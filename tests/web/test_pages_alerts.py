"""The alerts pages (issue 11 point 10): the open alerts this person may see, filters, and
one alert with who was told and the forms the alert table offers this person: acknowledge
(a reason) and resolve (a reason and a fresh code)."""

import time

import pytest
from django.db import transaction

from core.models import AuditEvent
from intake.audit import IntakeAction
from intake.models import AlertStatus, CaseAlert
from intake.services import alert_raise

pytestmark = pytest.mark.django_db


def raise_on(case, key, kind=CaseAlert.Kind.UNAPPROVED_SPEND, message="Coins left custody."):
    with transaction.atomic():
        return alert_raise(case=case, kind=kind, dedup_key=key, message=message)[0]


def test_the_list_shows_open_alerts_this_person_may_see_with_filters(
        web, clerk, submitted_case, other_agency_case):
    mine = raise_on(submitted_case, "a")
    raise_on(submitted_case, "b", kind=CaseAlert.Kind.INTAKE_DISCREPANCY,
             message="Declared amount differs.")
    raise_on(other_agency_case, "c", message="Someone else's alarm.")
    page = web(clerk).get("/alerts/").content.decode()
    assert "Coins left custody." in page and "Declared amount differs." in page
    assert "Someone else" not in page
    assert f"/alerts/{mine.public_id}/" in page
    only = web(clerk).get("/alerts/", {"kind": "INTAKE_DISCREPANCY"}).content.decode()
    assert "Declared amount differs." in only and "Coins left custody." not in only
    bad = web(clerk).get("/alerts/", {"kind": "NOPE"})
    assert bad.status_code == 200  # a bad filter is shown as an error, never a 500
    assert web(clerk).get(f"/alerts/{raise_on(other_agency_case, 'd').public_id}/"
                          ).status_code == 404


def test_a_clerk_acknowledges_on_the_page(web, clerk, submitted_case):
    alert = raise_on(submitted_case, "a")
    client = web(clerk)
    page = client.get(f"/alerts/{alert.public_id}/").content.decode()
    assert "Acknowledge the alert" in page and "Resolve the alert" not in page
    missing = client.post(f"/alerts/{alert.public_id}/", {"action": "acknowledge",
                                                           "reason": ""})
    assert "Enter what you are doing about it" in missing.content.decode()
    done = client.post(f"/alerts/{alert.public_id}/", {"action": "acknowledge",
                                                        "reason": "On it."})
    assert done.status_code == 302
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == clerk
    after = client.get(f"/alerts/{alert.public_id}/").content.decode()
    assert "Alert acknowledged" in after and "Acknowledge the alert" not in after
    stale = client.post(f"/alerts/{alert.public_id}/", {"action": "acknowledge",
                                                         "reason": "again"})
    assert stale.status_code == 409


def test_a_legal_officer_resolves_with_a_fresh_code(web, legal, submitted_case, step_up_code):
    alert = raise_on(submitted_case, "a")
    client = web(legal)
    page = client.get(f"/alerts/{alert.public_id}/").content.decode()
    assert "Resolve the alert" in page and 'autocomplete="one-time-code"' in page
    wrong = client.post(f"/alerts/{alert.public_id}/", {"action": "resolve",
                                                         "reason": "False alarm.",
                                                         "otp": "000000"})
    assert wrong.status_code == 200 and "second_factor_invalid" in wrong.content.decode()
    assert CaseAlert.objects.get(pk=alert.pk).status == AlertStatus.OPEN
    time.sleep(1.1)  # django-otp throttles after the wrong code: 1 s, then doubling
    done = client.post(f"/alerts/{alert.public_id}/", {
        "action": "resolve", "reason": "The spend was the court-ordered release.",
        "otp": step_up_code(legal)})
    assert done.status_code == 302
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_by == legal
    assert AuditEvent.objects.filter(action=IntakeAction.ALERT_RESOLVED,
                                     object_id=str(alert.public_id)).exists()
    listed = client.get("/alerts/").content.decode()
    assert "Coins left custody." not in listed  # resolved: not among the open ones
    assert "Coins left custody." in client.get("/alerts/", {"status": "ALL"}).content.decode()


def test_an_auditor_reads_and_is_offered_nothing(web, auditor, submitted_case):
    alert = raise_on(submitted_case, "a")
    page = web(auditor).get(f"/alerts/{alert.public_id}/").content.decode()
    assert "Coins left custody." in page
    assert "Acknowledge the alert" not in page and "Resolve the alert" not in page
    assert web(auditor).post(f"/alerts/{alert.public_id}/", {
        "action": "acknowledge", "reason": "x"}).status_code == 409

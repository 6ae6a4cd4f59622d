"""Alerts over HTTP (issue 11 point 10): who is told at each level, escalation only after the
configured delay and never once acknowledged, acknowledge and resolve with a reason (resolve
with a fresh code), each audited, through the alert table (a repeat is a 409), with
Idempotency-Key, and never by someone who may not see the alert or who only reads."""

import datetime as dt

import pytest
from django.db import transaction
from django.db.utils import IntegrityError
from django.test import override_settings

from core.models import AuditEvent
from intake.audit import IntakeAction
from intake.models import AlertDelivery, AlertStatus, CaseAlert, CaseStatus
from intake.services import alert_escalate, alert_raise
from tests.support.factories import CaseFactory, UserFactory
from tests.support.second_factor import otp

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(agency, other_agency):
    return {
        "clerk": UserFactory(username="c1", agency=agency, roles=["clerk"],
                             email="c1@afm.example"),
        "quiet_clerk": UserFactory(username="c2", agency=agency, roles=["clerk"]),
        "foreign_clerk": UserFactory(username="c3", agency=other_agency, roles=["clerk"],
                                     email="c3@police.example"),
        "legal": UserFactory(username="l1", roles=["legal_officer"], email="l1@gp.example"),
        "bank": UserFactory(username="b1", roles=["bank_officer"], email="b1@nb.example"),
        "auditor": UserFactory(username="a1", roles=["auditor"], email="a1@ac.example"),
    }


def raise_on(case, key="k1", kind=CaseAlert.Kind.INTAKE_DISCREPANCY):
    with transaction.atomic():
        alert, _ = alert_raise(case=case, kind=kind, dedup_key=key, message="Seen 0.1 BTC, "
                               "declared 0.2 BTC.", details={"observed_sats": 10_000_000})
    return alert


def recipients(alert, level):
    delivery = AlertDelivery.objects.get(alert=alert, channel="EMAIL", level=level)
    return [r["username"] for r in delivery.recipients]


@override_settings(ALERT_WEBHOOK_URL="http://127.0.0.1:9/hook", ALERT_WEBHOOK_SECRET="s",
                   ALERT_ESCALATE_AFTER_SECONDS=600)
def test_who_is_told_and_escalation_after_the_configured_delay(people, agency):
    case = CaseFactory(agency=agency, status=CaseStatus.SUBMITTED)
    alert = raise_on(case)
    # Level 0 of a case with its agency: the agency's clerks who have an address.
    assert recipients(alert, 0) == ["c1"]
    assert AlertDelivery.objects.filter(alert=alert, channel="WEBHOOK", level=0).exists()
    assert alert.escalate_at == alert.created_at + dt.timedelta(seconds=600) or (
        abs((alert.escalate_at - alert.created_at).total_seconds() - 600) < 1)
    # Raised again while open: the same alert, nobody told twice.
    assert raise_on(case) == alert
    assert AlertDelivery.objects.filter(alert=alert).count() == 2

    # Before the delay: nothing. After it: level 1 (legal officers), audited, sent again.
    assert not alert_escalate(alert_id=alert.pk,
                              now=alert.escalate_at - dt.timedelta(seconds=1))
    assert alert_escalate(alert_id=alert.pk, now=alert.escalate_at + dt.timedelta(seconds=1))
    alert.refresh_from_db()
    assert alert.escalation_level == 1
    assert recipients(alert, 1) == ["l1"]
    event = AuditEvent.objects.get(action=IntakeAction.ALERT_ESCALATED,
                                   object_id=str(alert.public_id))
    assert event.actor_username == "" and event.after["level"] == 1
    # Twice at the same moment: once.
    assert not alert_escalate(alert_id=alert.pk, now=alert.escalate_at - dt.timedelta(seconds=1))


def test_reserve_side_alerts_go_to_the_bank(people):
    alert = raise_on(None, key="recon", kind=CaseAlert.Kind.RECONCILIATION)
    assert recipients(alert, 0) == ["b1"]
    approved = CaseFactory(status=CaseStatus.CONFISCATION_APPROVED)
    assert recipients(raise_on(approved, key="k2"), 0) == ["b1"]


def test_acknowledge_and_resolve_over_http_audited(api, people, agency):
    case = CaseFactory(agency=agency, status=CaseStatus.SUBMITTED)
    alert = raise_on(case)
    url = f"/api/v1/alerts/{alert.public_id}/"
    clerk, legal = people["clerk"], people["legal"]

    listed = api(clerk).get("/api/v1/alerts/", {"status": "OPEN"}).json()["results"]
    assert [a["id"] for a in listed] == [str(alert.public_id)]
    assert listed[0]["allowed_transitions"] == ["ACKNOWLEDGED"]  # a clerk never resolves

    # Acknowledge: a reason is required; then once, with an Idempotency-Key replay.
    assert api(clerk).post(f"{url}acknowledge/", {}, format="json").status_code == 400
    client = api(clerk)
    first = client.post(f"{url}acknowledge/", {"reason": "Checking the sweep with the bank."},
                        format="json", HTTP_IDEMPOTENCY_KEY="ack-1")
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "ACKNOWLEDGED" and first.json()["acknowledged_by"] == "c1"
    replay = client.post(f"{url}acknowledge/", {"reason": "Checking the sweep with the bank."},
                         format="json", HTTP_IDEMPOTENCY_KEY="ack-1")
    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true"
    again = client.post(f"{url}acknowledge/", {"reason": "again"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    alert.refresh_from_db()
    assert alert.escalate_at is None
    assert AuditEvent.objects.filter(action=IntakeAction.ALERT_ACKNOWLEDGED,
                                     object_id=str(alert.public_id)).count() == 1

    # Resolve: not by a clerk, not by an auditor, not without a fresh code.
    body = {"reason": "The clerk recorded the wrong amount; corrected on the case."}
    assert api(clerk).post(f"{url}resolve/", body, format="json").status_code == 403
    assert api(people["auditor"]).post(f"{url}resolve/", body,
                                       format="json").status_code == 403
    no_code = api(legal).post(f"{url}resolve/", body, format="json")
    assert no_code.status_code == 403 and no_code.json()["code"] == "second_factor_required"
    assert api(legal).get(url).json()["status"] == "ACKNOWLEDGED"
    done = api(legal).post(f"{url}resolve/", {**body, "otp": otp(legal)}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "RESOLVED" and done.json()["resolved_by"] == "l1"
    assert done.json()["status_reason"] == body["reason"]
    event = AuditEvent.objects.get(action=IntakeAction.ALERT_RESOLVED,
                                   object_id=str(alert.public_id))
    assert event.actor_username == "l1" and event.reason == body["reason"]
    assert event.before["status"] == "ACKNOWLEDGED" and event.after["status"] == "RESOLVED"
    assert event.after["second_factor"] == "totp"
    repeat = api(legal).post(f"{url}resolve/", {**body, "otp": otp(legal)}, format="json")
    assert repeat.status_code == 409
    # Resolved: the same key may raise a new alert.
    assert raise_on(case) != alert


def test_alerts_of_another_agency_do_not_exist_for_a_clerk(api, people, other_agency):
    theirs = raise_on(CaseFactory(agency=other_agency, status=CaseStatus.SUBMITTED))
    client = api(people["clerk"])
    assert client.get(f"/api/v1/alerts/{theirs.public_id}/").status_code == 404
    response = client.post(f"/api/v1/alerts/{theirs.public_id}/acknowledge/",
                           {"reason": "x"}, format="json")
    assert response.status_code == 404
    assert CaseAlert.objects.get(pk=theirs.pk).status == AlertStatus.OPEN


@pytest.mark.django_db
def test_an_alert_keeps_its_cases_agency_for_the_clerks_list(api, clerk, other_clerk, agency,
                                                              postgresql):
    """The agency copied onto the alert is the case's, so the clerk's list (which reads the
    copy, not the case) shows the alert to its agency only; a case's alert without it is
    refused by the database."""
    case = CaseFactory(agency=clerk.agency, status=CaseStatus.SUBMITTED)
    alert = raise_on(case)
    with transaction.atomic():
        caseless, _created = alert_raise(case=None, kind=CaseAlert.Kind.RECONCILIATION,
                                         dedup_key="r1", message="mismatch")
    alert.refresh_from_db()
    caseless.refresh_from_db()
    assert alert.agency_id == case.agency_id == clerk.agency_id and caseless.agency_id is None
    ids = [row["id"] for row in api(clerk).get("/api/v1/alerts/").json()["results"]]
    assert ids == [str(alert.public_id)]
    assert api(other_clerk).get("/api/v1/alerts/").json()["results"] == []
    with pytest.raises(IntegrityError, match="alert_agency_with_case"), transaction.atomic():
        CaseAlert.objects.filter(pk=alert.pk).update(agency=None)
    with pytest.raises(IntegrityError, match="alert_agency_with_case"), transaction.atomic():
        CaseAlert.objects.filter(pk=caseless.pk).update(agency=agency)

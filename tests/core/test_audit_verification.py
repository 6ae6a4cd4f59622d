"""Stored verification results: incremental runs, the periodic task, and an API that never
walks the chain (DESIGN §6)."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

import core.audit
from core.audit import AuditAction, record_event, run_verification
from core.models import AuditVerification
from core.tasks import verify_audit_chain_task

URL = "/api/v1/audit/verify/"
OLD_KEYS = {"ok", "checked", "broken_seq", "problem"}


class VerificationTestAction(AuditAction):
    EVENT = "test.verification_event"


def write_events(n):
    with transaction.atomic():
        for i in range(n):
            record_event(actor=None, action=VerificationTestAction.EVENT, object_type="test",
                         object_id=str(i), after={"i": i})


def break_event(seq):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")
        cursor.execute("UPDATE core_auditevent SET hash = %s WHERE seq = %s", ["e" * 64, seq])
        cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER USER")


@pytest.fixture
def no_walking(monkeypatch):
    """Any attempt to walk the chain fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("the chain was walked")

    monkeypatch.setattr(core.audit, "verify_chain", refuse)
    monkeypatch.setattr(core.audit, "_scan_stored", refuse)
    monkeypatch.setattr(core.audit, "_walk", refuse)


@pytest.mark.django_db
def test_the_api_shows_the_latest_stored_run_and_its_age(api, auditor, no_walking):
    write_events(3)
    body = api(auditor).get(URL).json()
    assert OLD_KEYS <= set(body)
    assert body["ok"] is None and body["verified_at"] is None
    assert body["unverified_events"] == body["head_seq"] >= 3


@pytest.mark.django_db
def test_the_api_answers_from_the_stored_result(api, auditor, monkeypatch):
    write_events(3)
    result = run_verification()
    write_events(2)

    def refuse(*args, **kwargs):
        raise AssertionError("the chain was walked")

    monkeypatch.setattr(core.audit, "verify_chain", refuse)
    body = api(auditor).get(URL).json()
    assert body["ok"] is True and body["checked"] == result.checked
    assert body["broken_seq"] is None and body["problem"] == ""
    assert body["full"] is True and body["mode"] == "stored"
    assert body["age_seconds"] >= 0 and body["last_full_at"] == body["verified_at"]
    assert body["head_seq"] == result.checked + 2 and body["unverified_events"] == 2


@pytest.mark.django_db
def test_runs_are_stored_and_each_starts_where_the_last_good_one_ended():
    write_events(4)
    first = run_verification()
    write_events(3)
    second = run_verification()
    runs = list(AuditVerification.objects.order_by("id"))
    assert [r.full for r in runs] == [True, False]
    assert runs[1].start_seq == first.checked and runs[1].events_read == 3
    assert runs[1].ok and runs[1].checked == second.checked == first.checked + 3
    assert runs[1].last_hash == second.last_hash


@pytest.mark.django_db
def test_once_a_run_finds_a_break_every_run_reads_everything_until_it_is_fixed(api, auditor):
    write_events(5)
    run_verification()
    break_event(2)
    assert run_verification().ok  # incremental: the old edit is before its starting point
    found = run_verification(full=True)
    assert not found.ok and found.broken_seq == 2
    write_events(1)
    again = run_verification()
    assert not again.ok and again.broken_seq == 2
    assert AuditVerification.objects.order_by("-id").first().full
    body = api(auditor).get(URL).json()
    assert body["ok"] is False and body["broken_seq"] == 2 and "edited" in body["problem"]


@pytest.mark.django_db
def test_the_periodic_task_verifies_and_stores():
    write_events(2)
    verify_audit_chain_task()
    verify_audit_chain_task(full=True)
    assert [(r.ok, r.full) for r in AuditVerification.objects.order_by("id")] == [
        (True, True), (True, True)]


@pytest.mark.django_db
def test_stored_results_are_append_only(postgresql):
    write_events(1)
    run_verification()
    for sql in ("UPDATE core_auditverification SET ok = false",
                "DELETE FROM core_auditverification"):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)

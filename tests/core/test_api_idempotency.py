"""Idempotency-Key is atomic (issue: no single person… point 3). The attacks first: three
simultaneous requests with one key, a fault between the command's commit and the reply's,
uploads without a key; then the contract."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError

from core.api import idempotency
from core.models import AuditEvent, IdempotencyRecord
from intake.models import Evidence, SeizureCase
from tests.support.api import CASE_PAYLOAD, url
from tests.support.concurrency import run_at_once


def post_case(client, key, **overrides):
    return client.post(url(), {**CASE_PAYLOAD, **overrides}, format="json",
                       HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_attack_three_simultaneous_requests_with_one_key_run_once(api, clerk, postgresql,
                                                                  attempt):
    events_before = AuditEvent.objects.count()
    results = run_at_once(*[lambda: post_case(api(clerk), "same-key")] * 3)
    replies = [value for outcome, value in results if outcome == "ok"]
    assert len(replies) == 3, results
    statuses = sorted(r.status_code for r in replies)
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    assert all(r.json()["code"] == "idempotency_in_flight" for r in replies
               if r.status_code == 409)
    created = {r.json()["id"] for r in replies if r.status_code == 201}
    assert len(created) == 1
    assert SeizureCase.objects.count() == 1
    assert AuditEvent.objects.filter(action="case.created").count() == 1
    assert AuditEvent.objects.count() == events_before + 1
    again = post_case(api(clerk), "same-key")  # afterwards: the stored reply
    assert again.status_code == 201 and again.json()["id"] in created
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_attack_a_fault_after_the_command_never_makes_the_retry_differ(api, clerk,
                                                                       monkeypatch):
    """The connection dies when the reply is being stored: the command rolls back with it,
    so the retry runs it once and answers 201 (not 409)."""

    def dying_store(record, response):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(idempotency, "_store", dying_store)
    with pytest.raises(OperationalError):
        post_case(api(clerk), "k-fault")
    assert SeizureCase.objects.count() == 0
    assert not IdempotencyRecord.objects.exists()
    monkeypatch.undo()
    retry = post_case(api(clerk), "k-fault")
    assert retry.status_code == 201, retry.json()
    assert SeizureCase.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_422_and_a_refusal_frees_the_key(api, clerk):
    first = post_case(api(clerk), "k-1")
    assert first.status_code == 201
    other = post_case(api(clerk), "k-1", case_number="OTHER-1")
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    refused = post_case(api(clerk), "k-2", case_number=first.json()["case_number"])
    assert refused.status_code == 400  # duplicate number: nothing stored under k-2
    assert not IdempotencyRecord.objects.filter(key="k-2").exists()
    assert post_case(api(clerk), "k-2", case_number="NEW-9").status_code == 201


@pytest.mark.django_db
def test_in_flight_is_409_and_an_abandoned_reservation_is_taken_over(api, clerk,
                                                                     monkeypatch):
    import datetime as dt

    from django.utils import timezone

    monkeypatch.setattr(idempotency, "_request_hash", lambda request: "h" * 64)
    record = IdempotencyRecord.objects.create(user=clerk, key="k-1", method="POST",
                                              path=url(), request_hash="h" * 64,
                                              status_code=0)
    busy = post_case(api(clerk), "k-1")
    assert (busy.status_code, busy.json()["code"]) == (409, "idempotency_in_flight")
    assert SeizureCase.objects.count() == 0
    # Its request died with its process long ago: the next one takes the key over.
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=1))
    taken = post_case(api(clerk), "k-1")
    assert taken.status_code == 201, taken.json()
    assert SeizureCase.objects.count() == 1
    assert IdempotencyRecord.objects.get(pk=record.pk).completed_at is not None


@pytest.mark.django_db
def test_evidence_uploads_take_a_key(api, clerk, settings, tmp_path):
    from tests.support.factories import CaseFactory

    settings.MEDIA_ROOT = tmp_path
    case = CaseFactory(agency=clerk.agency)
    content = b"%PDF-1.7\nwarrant scan"

    def upload(data):
        return api(clerk).post(url(case.public_id, sub="evidence"),
                               {"file": SimpleUploadedFile("warrant.pdf", data),
                                "description": "warrant"}, format="multipart",
                               HTTP_IDEMPOTENCY_KEY="up-1")

    first, second = upload(content), upload(content)
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert first.json()["sha256"] == hashlib.sha256(content).hexdigest()
    assert Evidence.objects.count() == 1
    other = upload(content + b" changed")  # another file under the same key
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert Evidence.objects.count() == 1


def test_every_post_endpoint_is_idempotent():
    from django.urls import get_resolver

    from core.api.views import QazynaApiView

    def views(patterns):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                yield from views(p.url_patterns)
            elif hasattr(p.callback, "view_class"):
                yield p.callback.view_class

    posting = [v for v in views(get_resolver().url_patterns)
               if issubclass(v, QazynaApiView) and hasattr(v, "post")]
    assert len(posting) >= 20
    assert all(getattr(v.post, "is_idempotent", False) for v in posting), [
        v.__name__ for v in posting if not getattr(v.post, "is_idempotent", False)]
    assert idempotency.HEADER == "HTTP_IDEMPOTENCY_KEY"

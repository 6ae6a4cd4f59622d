"""Signing in to the API (issue: one password must not approve a reserve transfer). Each
attack from the security review first, then the rules that hold instead."""

import base64
import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from core.api.authentication import issue_token
from core.api.throttles import WriteThrottle
from core.models import ApiToken, AuditEvent
from tests.support.factories import UserFactory
from tests.support.second_factor import code_for, enrol, login_verified

pytestmark = pytest.mark.django_db
TOKEN_URL = "/api/auth/token/"


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def sign_in(username, password, otp=None, ip="10.0.0.1"):
    body = {"username": username, "password": password}
    if otp is not None:
        body["otp"] = otp
    return APIClient(REMOTE_ADDR=ip).post(TOKEN_URL, body, format="json")


@pytest.fixture
def officer(db):
    user = UserFactory(username="officer", roles=["bank_officer"])
    user.set_password("correct horse")
    user.save()
    return user


def test_attack_forty_wrong_passwords_then_the_right_one_is_refused(officer, settings):
    device = enrol(officer)
    for attempt in range(40):
        reply = sign_in("officer", f"guess-{attempt}", ip=f"10.0.{attempt}.9")
        assert reply.status_code == 403
    reply = sign_in("officer", "correct horse", otp=code_for(device), ip="10.9.9.9")
    assert (reply.status_code, reply.json()["code"]) == (403, "locked_out")
    assert not ApiToken.objects.exists()
    assert AccessAttempt.objects.filter(username="officer").exists()
    assert AuditEvent.objects.filter(action="auth.locked_out",
                                     object_id="officer").exists()


def test_one_address_guessing_many_accounts_is_locked_out_too(db, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(f"nobody{n}", "guess", ip="10.7.7.7")
    person = UserFactory(username="person", roles=["clerk"])
    person.set_password("right")
    person.save()
    locked = sign_in("person", "right", ip="10.7.7.7")
    assert (locked.status_code, locked.json()["code"]) == (403, "locked_out")
    assert sign_in("person", "right", ip="10.7.7.8").status_code == 201


def test_failed_logins_do_not_touch_the_audit_chain(officer):
    events = AuditEvent.objects.count()
    sign_in("officer", "wrong")
    sign_in("nobody", "wrong")
    assert AuditEvent.objects.count() == events


def test_http_basic_is_not_accepted(officer):
    client = APIClient()
    header = base64.b64encode(b"officer:correct horse").decode()
    reply = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Basic {header}")
    assert reply.status_code in (401, 403)


def test_an_officer_token_needs_a_code_and_carries_the_second_factor(officer):
    device = enrol(officer)
    missing = sign_in("officer", "correct horse")
    assert (missing.status_code, missing.json()["code"]) == (403, "second_factor_required")
    wrong = sign_in("officer", "correct horse", otp="000000" if code_for(device) != "000000"
                    else "111111")
    assert (wrong.status_code, wrong.json()["code"]) == (403, "second_factor_invalid")
    device.refresh_from_db()
    device.throttle_reset()  # django-otp makes the next try after a failure wait a second
    reply = sign_in("officer", "correct horse", otp=code_for(device))
    assert reply.status_code == 201, reply.json()
    token = reply.json()["token"]
    assert token.startswith("qz_") and reply.json()["second_factor"] is True
    assert not ApiToken.objects.filter(key_hash=token).exists()  # stored hashed
    issued = AuditEvent.objects.get(action="auth.token_issued")
    assert issued.actor_username == "officer" and issued.after["second_factor"] is True
    assert token not in str(issued.after)
    me = APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert me.json()["second_factor"] == {"required": True, "given": True}
    assert APIClient().get("/api/v1/transfers/",
                           HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_a_clerk_token_needs_no_code(db):
    clerk = UserFactory(username="c1", roles=["clerk"])
    clerk.set_password("pw")
    clerk.save()
    reply = sign_in("c1", "pw")
    assert reply.status_code == 201 and reply.json()["second_factor"] is False


def test_expired_and_revoked_tokens_are_refused(officer):
    key, token = issue_token(user=officer, second_factor=True)
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/transfers/").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now()
                                                - dt.timedelta(seconds=1))
    assert client.get("/api/v1/transfers/").status_code == 401
    key2, token2 = issue_token(user=officer, second_factor=True)
    ApiToken.objects.filter(pk=token2.pk).update(revoked_at=timezone.now())
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {key2}").get(
        "/api/v1/transfers/").status_code == 401
    assert APIClient(HTTP_AUTHORIZATION="Bearer qz_made-up").get(
        "/api/v1/transfers/").status_code == 401


def test_an_officer_session_without_the_second_factor_is_refused(client, officer):
    client.force_login(officer)
    reply = client.get("/api/v1/transfers/")
    assert (reply.status_code, reply.json()["code"]) == (403, "second_factor_required")
    assert client.get("/api/v1/me/").json()["second_factor"]["given"] is False
    login_verified(client, officer)
    assert client.get("/api/v1/transfers/").status_code == 200


def test_an_officer_session_ends_when_idle(client, officer, settings):
    settings.OFFICER_IDLE_SECONDS = 60
    login_verified(client, officer)
    assert client.get("/api/v1/transfers/").status_code == 200
    session = client.session
    session["qazyna_last_seen"] -= 61
    session.save()
    assert client.get("/api/v1/transfers/").status_code == 401  # signed out
    assert client.get("/api/v1/me/").status_code == 401


def test_sign_in_is_throttled(db, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "3/min"})
    codes = [sign_in("nobody", "x", ip="10.1.1.1").status_code for _ in range(4)]
    assert codes[:3] == [403, 403, 403] and codes[3] == 429
    reply = sign_in("nobody", "x", ip="10.1.1.1")
    assert reply.json()["code"] == "throttled"


def test_writes_are_throttled_per_person(api, clerk, monkeypatch):
    monkeypatch.setattr(WriteThrottle, "THROTTLE_RATES", {"writes": "2/min"})
    client = api(clerk)
    body = {"case_number": "T-1", "warrant_number": "W", "warrant_date": "2026-01-01",
            "owner_name": "X"}
    statuses = [client.post("/api/v1/cases/", {**body, "case_number": f"T-{n}"},
                            format="json").status_code for n in range(3)]
    assert statuses == [201, 201, 429]
    assert client.get("/api/v1/cases/").status_code == 200  # reads are not writes


def test_exports_and_verification_are_throttled(api, auditor, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"export": "1/min",
                                                               "verify": "1/min"})
    client = api(auditor)
    assert [client.get("/api/v1/cases/export.csv").status_code for _ in range(2)] == [200, 429]
    assert [client.get("/api/v1/audit/verify/").status_code for _ in range(2)] == [200, 429]

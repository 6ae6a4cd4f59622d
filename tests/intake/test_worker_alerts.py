"""Alarms reach people (issue 11 point 10), through a REAL Celery worker: an alert raised on a
case is emailed to its agency's clerks and POSTed, signed, to the bank's monitoring (a real
HTTP server here, which refuses the first attempt so the retry with backoff is seen); nobody
acknowledges it, so after the configured delay the beat task escalates it to the legal
officers, audited, and it is sent again; an acknowledgement over HTTP stops the escalation."""

import datetime as dt
import email
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from core.models import AuditEvent
from intake import notify
from intake.audit import IntakeAction
from intake.models import AlertDelivery, AlertStatus, CaseAlert, CaseStatus
from intake.services import alert_escalate, alert_raise
from intake.tasks import alerts_due
from tests.fixtures.worker import _start_worker
from tests.support.chain import wait_for
from tests.support.factories import CaseFactory, UserFactory
from tests.support.services import require_redis
from tests.support.worker import sending_to

SECRET = "webhook-secret-for-tests"
ALERTS_REDIS_DB = 13
ESCALATE_AFTER = 2  # seconds


class Receiver(BaseHTTPRequestHandler):
    """The bank's monitoring: keeps what it gets; answers 503 to the first attempt of each
    delivery, 200 after."""

    received: list = []
    seen: set = set()

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        delivery = self.headers.get(notify.DELIVERY_HEADER)
        first = delivery not in self.seen
        self.seen.add(delivery)
        self.received.append((dict(self.headers), body, 503 if first else 200))
        self.send_response(503 if first else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def mail_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("alert-mail")


def _url(server):
    return f"http://127.0.0.1:{server.server_address[1]}/hook"


@pytest.fixture(scope="module")
def _alerts_worker(django_db_setup, django_db_blocker, devchain_server, node_proxy, receiver,
                   mail_dir):
    worker = _start_worker(django_db_blocker, node_proxy,
                           settings_module="tests.support.worker_settings",
                           redis_db=ALERTS_REDIS_DB, ALERT_WEBHOOK_URL=_url(receiver),
                           ALERT_WEBHOOK_SECRET=SECRET, ALERT_RETRY_SECONDS="1",
                           ALERT_ESCALATE_AFTER_SECONDS=str(ESCALATE_AFTER),
                           QAZYNA_TEST_MAIL_DIR=str(mail_dir))
    yield worker
    worker.stop()


@pytest.fixture
def alerts_worker(_alerts_worker, transactional_db, settings, receiver):
    from config.celery import app

    broker = _alerts_worker.env["CELERY_BROKER_URL"]
    client = require_redis(broker, why="a worker test needs Redis (the broker)")
    client.flushdb()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.ALERT_WEBHOOK_URL, settings.ALERT_WEBHOOK_SECRET = _url(receiver), SECRET
    settings.ALERT_ESCALATE_AFTER_SECONDS = ESCALATE_AFTER
    Receiver.received.clear()
    Receiver.seen.clear()
    with sending_to(app, broker):
        if not _alerts_worker.alive:
            _alerts_worker.start()
        yield _alerts_worker
        client.flushdb()
        _alerts_worker.stop()
        client.flushdb()


def _mails(mail_dir: Path):
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(mail_dir.glob("*.log"))]


def _sent(alert, level):
    return list(AlertDelivery.objects.filter(alert=alert, level=level,
                                             status=AlertDelivery.Status.SENT))


def test_an_alert_is_emailed_and_webhooked_then_escalated_by_the_worker(
        alerts_worker, receiver, mail_dir, api, agency, other_agency):
    clerk = UserFactory(username="duty_clerk", agency=agency, roles=["clerk"],
                        email="duty.clerk@afm.example")
    UserFactory(username="foreign_clerk", agency=other_agency, roles=["clerk"],
                email="clerk@police.example")
    legal = UserFactory(username="duty_legal", roles=["legal_officer"],
                        email="legal@prosecutor.example")
    case = CaseFactory(agency=agency, filed_by=clerk, case_number="AFM-ALARM-1",
                       status=CaseStatus.SUBMITTED)
    with transaction.atomic():
        alert, created = alert_raise(case=case, kind=CaseAlert.Kind.UNAPPROVED_SPEND,
                                     dedup_key="spend:alarm-1",
                                     message="Coins left the custody address.",
                                     details={"txid": "ab" * 32})
    assert created

    # Level 0: the case's agency's clerks by email, and the signed webhook (after a retry).
    wait_for(lambda: len(_sent(alert, 0)) == 2, timeout=60, message="level 0 sent",
             drive=lambda: alerts_worker.alive or pytest.fail(alerts_worker.log_tail()))
    webhook = AlertDelivery.objects.get(alert=alert, channel="WEBHOOK", level=0)
    assert webhook.attempts == 2 and "HTTP 503" in webhook.last_error
    attempts = [(h, b, code) for h, b, code in Receiver.received
                if h[notify.DELIVERY_HEADER] == str(webhook.public_id)]
    assert [code for *_, code in attempts] == [503, 200]
    headers, body, _ = attempts[-1]
    data = notify.verify_signature(body, headers, SECRET)
    assert data["event"] == "alert.raised"
    assert data["alert"]["id"] == str(alert.public_id)
    assert data["alert"]["case_number"] == "AFM-ALARM-1"
    assert data["alert"]["details"] == {"txid": "ab" * 32}
    with pytest.raises(ValueError, match="bad signature"):
        notify.verify_signature(body.replace(b"AFM-ALARM-1", b"AFM-ALARM-2"), headers, SECRET)
    with pytest.raises(ValueError, match="bad signature"):
        notify.verify_signature(body, headers, "another secret")

    mails = _mails(mail_dir)
    to_clerk = [m for m in mails if "duty.clerk@afm.example" in m["To"]]
    assert len(to_clerk) == 1
    assert "AFM-ALARM-1" in to_clerk[0]["Subject"]
    assert "Coins left the custody address." in to_clerk[0].get_payload()
    assert str(alert.public_id) in to_clerk[0].get_payload()  # the link to the page
    assert not [m for m in mails if "police.example" in m["To"] or "prosecutor" in m["To"]]
    assert AuditEvent.objects.filter(action=IntakeAction.ALERT_SENT,
                                     object_id=str(alert.public_id)).count() == 2

    # Nobody acknowledges: once the configured delay has passed, the beat task escalates it
    # to the legal officers, audited, and it is sent again.
    alert.refresh_from_db()
    while timezone.now() <= alert.escalate_at:
        time.sleep(0.2)
    alerts_due.delay()
    wait_for(lambda: len(_sent(alert, 1)) == 2, timeout=60, message="level 1 sent")
    alert.refresh_from_db()
    assert alert.escalation_level == 1 and alert.status == AlertStatus.OPEN
    escalated = AuditEvent.objects.get(action=IntakeAction.ALERT_ESCALATED,
                                       object_id=str(alert.public_id))
    assert escalated.before["level"] == 0 and escalated.after["level"] == 1
    assert escalated.after["roles"] == "legal_officer"
    to_legal = [m for m in _mails(mail_dir) if "legal@prosecutor.example" in m["To"]]
    assert len(to_legal) == 1 and "ESCALATED" in to_legal[0]["Subject"]
    levels = [json.loads(b)["alert"]["level"] for h, b, code in Receiver.received
              if code == 200]
    assert levels == [0, 1]

    # Acknowledged over HTTP: it stops escalating.
    response = api(legal).post(f"/api/v1/alerts/{alert.public_id}/acknowledge/",
                               {"reason": "Calling the agency's duty officer now."},
                               format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ACKNOWLEDGED"
    assert response.json()["escalate_at"] is None
    assert not alert_escalate(alert_id=alert.pk, now=timezone.now() + dt.timedelta(days=1))
    assert not AlertDelivery.objects.filter(alert=alert, level=2).exists()

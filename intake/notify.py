"""Telling people: one AlertDelivery sent on its channel, outside any row lock.

- EMAIL: through Django's mail settings (EMAIL_URL), to the recipients recorded on the
  delivery when it was planned (intake.services.alerts.alert_recipients).
- WEBHOOK: a JSON POST to ALERT_WEBHOOK_URL for the bank's monitoring. The body carries the
  timestamp it was signed at; `X-Qazyna-Signature: sha256=<hex>` is HMAC-SHA256 of the exact
  body bytes with ALERT_WEBHOOK_SECRET, `X-Qazyna-Timestamp` repeats the timestamp (a
  receiver refuses old ones), and `X-Qazyna-Delivery` (also `Idempotency-Key`) is the same
  for every retry of one delivery, so a receiver that saw it once can drop the repeats.

verify_signature() is what a receiver runs (the tests do)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from .models import AlertDelivery, CaseAlert

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Qazyna-Signature"
TIMESTAMP_HEADER = "X-Qazyna-Timestamp"
DELIVERY_HEADER = "X-Qazyna-Delivery"


class DeliveryError(Exception):
    """This attempt failed; the task retries with backoff."""


def alert_url(alert: CaseAlert) -> str:
    return settings.QAZYNA_BASE_URL.rstrip("/") + reverse("intake:alert-detail",
                                                          args=[alert.public_id])


def payload(delivery: AlertDelivery, *, timestamp: int) -> dict[str, Any]:
    alert = delivery.alert
    return {
        "event": delivery.event,
        "delivery": str(delivery.public_id),
        "timestamp": timestamp,
        "alert": {
            "id": str(alert.public_id), "kind": alert.kind, "status": alert.status,
            "case": str(alert.case.public_id) if alert.case else None,
            "case_number": alert.case.case_number if alert.case else None,
            "message": alert.message, "details": alert.details,
            "level": delivery.level, "created_at": alert.created_at.isoformat(),
            "url": alert_url(alert),
        },
    }


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, headers: Any, secret: str, *,
                     max_age_seconds: int = 300, now: float | None = None) -> dict[str, Any]:
    """A receiver's check: the signature over the body, the body's timestamp equal to the
    header's and not older than max_age_seconds. Returns the parsed body; ValueError
    otherwise."""
    given = headers.get(SIGNATURE_HEADER, "")
    if not hmac.compare_digest(given, sign(body, secret)):
        raise ValueError("bad signature")
    data = json.loads(body)
    stamp = int(headers.get(TIMESTAMP_HEADER, "0"))
    if data.get("timestamp") != stamp:
        raise ValueError("timestamp header differs from the signed body")
    if abs((now if now is not None else time.time()) - stamp) > max_age_seconds:
        raise ValueError("too old")
    return data


def _subject(delivery: AlertDelivery) -> str:
    alert = delivery.alert
    where = f" · {alert.case.case_number}" if alert.case else ""
    prefix = "[Qazyna] " + ("ESCALATED " if delivery.level else "")
    return f"{prefix}{alert.get_kind_display()}{where}"


def _email_body(delivery: AlertDelivery) -> str:
    alert = delivery.alert
    lines = [alert.message, ""]
    if alert.case:
        lines.append(f"Case: {alert.case.case_number}")
    lines += [f"Kind: {alert.get_kind_display()}", f"Raised: {alert.created_at.isoformat()}"]
    if delivery.level:
        lines.append(f"Escalated to level {delivery.level}: nobody acknowledged it within "
                     f"{settings.ALERT_ESCALATE_AFTER_SECONDS // 60} minutes.")
    lines += ["", f"Acknowledge or resolve it: {alert_url(alert)}"]
    return "\n".join(lines)


def send(delivery: AlertDelivery) -> None:
    """One attempt; DeliveryError when it did not go out."""
    if delivery.channel == AlertDelivery.Channel.EMAIL:
        to = [r["email"] for r in delivery.recipients if r.get("email")]
        if not to:
            return
        try:
            send_mail(_subject(delivery), _email_body(delivery), settings.DEFAULT_FROM_EMAIL,
                      to, fail_silently=False)
        except Exception as exc:  # noqa: BLE001 - any mail failure is retried
            raise DeliveryError(f"email: {exc.__class__.__name__}: {exc}") from exc
        return
    url, secret = settings.ALERT_WEBHOOK_URL, settings.ALERT_WEBHOOK_SECRET
    if not url or not secret:
        raise DeliveryError("ALERT_WEBHOOK_URL and ALERT_WEBHOOK_SECRET must both be set")
    timestamp = int(time.time())
    body = json.dumps(payload(delivery, timestamp=timestamp), separators=(",", ":"),
                      sort_keys=True).encode()
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret),
               TIMESTAMP_HEADER: str(timestamp), DELIVERY_HEADER: str(delivery.public_id),
               "Idempotency-Key": str(delivery.public_id)}
    try:
        response = requests.post(url, data=body, headers=headers,
                                 timeout=settings.ALERT_WEBHOOK_TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        raise DeliveryError(f"webhook: {exc.__class__.__name__}") from exc
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"webhook: HTTP {response.status_code}")

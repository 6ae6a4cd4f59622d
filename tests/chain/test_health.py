"""/health/: 200 when the database, the broker, the node (as the watchers last saw it) and the
circuit breaker are fine, 503 otherwise; no login, and never a secret in it."""

import json
from datetime import timedelta

import pytest
from celery import current_app
from django.utils import timezone

from chain import services, watcher
from chain.adapter import get_adapter
from chain.errors import NodeMisconfigured
from chain.models import ChainCursor

pytestmark = pytest.mark.django_db


def _health(client):
    response = client.get("/health/")
    body = json.loads(response.content)
    return response.status_code, body, response.content.decode()


@pytest.fixture
def broker(settings):
    """The broker the health view will try: the test Redis, as a deployment would."""
    saved = {k: current_app.conf[k] for k in ("broker_url", "task_always_eager")}
    yield current_app.conf
    current_app.conf.update(**saved)


def test_healthy_after_a_poll(chain_node, client, settings, broker):
    watcher.poll(get_adapter())
    status, body, text = _health(client)
    assert status == 200, body
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "vendor": "postgresql"}
    assert body["broker"]["ok"] is True
    node = body["node"]
    assert (node["ok"], node["tip_height"], node["last_error"]) == (True, 110, "")
    assert node["network"] == "regtest" and node["polled_age_seconds"] < 5
    assert body["breaker"] == {"ok": True, "tripped": False}
    assert settings.BITCOIN_RPC_URL not in text and chain_node.rpcpassword + "@" not in text


def test_wrong_password_is_unhealthy_and_says_why_without_the_password(chain_node, client,
                                                                        settings):
    watcher.poll(get_adapter())
    settings.BITCOIN_RPC_URL = chain_node.url_with(password="s3cret-wrong")
    with pytest.raises(NodeMisconfigured):
        watcher.poll(get_adapter())
    status, body, text = _health(client)
    assert status == 503 and body["status"] == "unhealthy"
    assert body["node"]["ok"] is False and body["node"]["problem"] == "the last poll failed"
    assert body["node"]["last_error"].startswith("NodeMisconfigured:")
    assert "HTTP 401" in body["node"]["last_error"]
    assert "s3cret-wrong" not in text
    assert body["database"]["ok"] and body["breaker"]["ok"]  # only the node is at fault


def test_never_polled_is_unhealthy(client):
    status, body, _ = _health(client)
    assert status == 503
    assert body["node"] == {"ok": False, "tip_height": None, "tip_age_seconds": None,
                            "polled_age_seconds": None, "last_error": "",
                            "problem": "the watchers have not polled the node yet"}


def _cursor(**fields):
    now = timezone.now()
    values = {"height": 500, "block_hash": "ab" * 32, "tip_time": int(now.timestamp()) - 60,
              "polled_at": now, "last_error": ""}
    values.update(fields)
    ChainCursor.objects.update_or_create(id=1, defaults=values)


def test_a_stale_tip_or_silent_watchers_are_unhealthy(client, settings):
    _cursor()
    assert _health(client)[0] == 200
    _cursor(tip_time=int(timezone.now().timestamp()) - settings.CHAIN_STALE_TIP_SECONDS - 10)
    status, body, _ = _health(client)
    assert status == 503 and "the tip is" in body["node"]["problem"]
    _cursor(polled_at=timezone.now() - timedelta(minutes=10))
    status, body, _ = _health(client)
    assert status == 503 and "no successful poll for" in body["node"]["problem"]


def test_a_tripped_breaker_is_unhealthy(client):
    _cursor()
    services.breaker_trip(cause="deep_reorg", reason="Reorganisation of depth 5.")
    status, body, _ = _health(client)
    assert status == 503
    assert body["breaker"]["tripped"] is True and body["breaker"]["cause"] == "deep_reorg"
    assert body["breaker"]["reason"] == "Reorganisation of depth 5."
    assert body["node"]["ok"] is True


def test_broker_in_process_or_unreachable(client, broker):
    _cursor()
    broker.update(task_always_eager=True)
    status, body, _ = _health(client)
    assert status == 200 and body["broker"] == {"ok": True, "mode": "in-process"}
    broker.update(task_always_eager=False, broker_url="redis://:hunter2@127.0.0.1:9/0")
    status, body, text = _health(client)
    assert status == 503
    assert body["broker"]["ok"] is False and body["broker"]["mode"] == "redis"
    assert "hunter2" not in text and "127.0.0.1:9" not in text

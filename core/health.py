"""GET /health/: can this deployment do its work right now? 200 when every section is ok,
503 otherwise, for load balancers, compose health checks and operators. No login needed, so
it says what is wrong and never a secret: no URLs, no exception texts from the database or
the broker (those can carry hosts and user names), only our own messages.

core checks what it owns (the database, the broker); the apps above register their sections
by dotted path in their AppConfig.ready() (chain adds "node" and "breaker"), the way they
register chain handlers, so core never imports them:

    health.register("node", "chain.health.node_section")

A section is a callable returning a dict with at least {"ok": bool}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from celery import current_app
from django.db import connection
from django.http import JsonResponse
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache

BROKER_TIMEOUT_SECONDS = 2
_sections: dict[str, str] = {}


def register(name: str, path: str) -> None:
    _sections[name] = path


def database_section() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure is "not ok"; the text may name hosts
        return {"ok": False, "error": f"{type(exc).__name__}: the database is unreachable"}
    return {"ok": True, "vendor": connection.vendor}


def broker_section() -> dict[str, Any]:
    conf = current_app.conf
    if conf.task_always_eager:
        return {"ok": True, "mode": "in-process"}
    scheme = urlsplit(conf.broker_url or "").scheme or "unknown"
    try:
        with current_app.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                                   timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "mode": scheme,
                "error": f"{type(exc).__name__}: the broker is unreachable"}
    return {"ok": True, "mode": scheme}


def _run(path: str) -> dict[str, Any]:
    section: Callable[[], dict[str, Any]] = import_string(path)
    try:
        return section()
    except Exception as exc:  # noqa: BLE001 - a broken check is an unhealthy section
        return {"ok": False, "error": f"{type(exc).__name__} in {path}"}


@never_cache
def health_view(request):
    sections = {"database": database_section(), "broker": broker_section()}
    database_ok = sections["database"]["ok"]
    for name, path in _sections.items():
        # The apps' sections read the database: without it they can only fail noisily.
        sections[name] = _run(path) if database_ok else {"ok": False,
                                                         "error": "database unreachable"}
    healthy = all(section["ok"] for section in sections.values())
    return JsonResponse({"status": "ok" if healthy else "unhealthy", **sections},
                        status=200 if healthy else 503)

"""p95 of the list endpoints, page 1 and a deep page, for each role, beside a plain indexed
query with the same visibility filter and order, measured in the same run; then the EXPLAIN
of each page query.

    .venv/bin/python -m bench.datagen --cases 1000000 --events 1000000   # once
    .venv/bin/python -m bench.list_bench [--runs 40] [--page-size 50]

A request is the whole API request (Django's test client, token-style authentication
forced, so no password hashing): the capped count, the page query and serialization. The
deep page is a cursor at the middle of the visible list (for the case list at 1M cases,
about 500,000 rows down). The anchor is ``SELECT id … WHERE <visibility> [AND key <
cursor] ORDER BY key LIMIT page size`` from the same selector: no count, no columns, no
serialization. The web case list (session, server-rendered) is measured the same way.

Default database: postgres://postgres@127.0.0.1:5432/qazyna_bench_1m (bench.datagen's).
"""

import argparse
import os
import statistics
import sys
import time

from bench.audit_bench import ensure_database, setup_django
from bench.datagen import DEFAULT_URL

# (list, API path, roles that read it)
LISTS = [
    ("cases", "/api/v1/cases/", ["bench_clerk", "bench_legal", "bench_bank", "bench_auditor"]),
    ("transfers", "/api/v1/transfers/", ["bench_bank", "bench_auditor"]),
    ("deposits", "/api/v1/deposits/", ["bench_bank", "bench_auditor"]),
    ("alerts", "/api/v1/alerts/", ["bench_clerk", "bench_legal", "bench_bank",
                                   "bench_auditor"]),
    ("audit events", "/api/v1/audit/events/", ["bench_auditor"]),
]


class SecondFactorGiven:
    second_factor_verified = True


def selector_of(name, user):
    from core.selectors import audit_events_for_user
    from custody.selectors import deposit_list_for_user, transfer_list_for_user
    from intake.selectors import alert_list_for_user, case_list_for_user

    return {"cases": lambda: case_list_for_user(user=user),
            "transfers": lambda: transfer_list_for_user(user=user),
            "deposits": lambda: deposit_list_for_user(user=user),
            "alerts": lambda: alert_list_for_user(user=user),
            "audit events": lambda: audit_events_for_user(user=user)}[name]()


def p95(samples):
    return statistics.quantiles(samples, n=20, method="inclusive")[18] * 1000


def timed(fn, runs):
    fn()  # warm
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return p95(samples)


class SqlClock:
    """The time a request's queries take in the database driver (execute and fetch), in ms:
    the rest of the request is Python."""

    def __init__(self):
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def sql_ms(request):
    from django.db import connection

    clock = SqlClock()
    with connection.execute_wrapper(clock):
        request()
    return clock.seconds * 1000


def deep_cursor(qs):
    """The cursor of the row in the middle of the visible list (found once, untimed)."""
    from core.pagination import _encode, order_of

    order = order_of(qs)
    qs = qs.order_by(*order)
    total = qs.order_by().count()
    middle = qs[total // 2:total // 2 + 1].get()
    return _encode("n", [getattr(middle, key.lstrip("-")) for key in order]), total


def anchor_query(qs, cursor, size):
    from core.pagination import _beyond, _decode, order_of

    order = order_of(qs)
    names = [key.lstrip("-") for key in order]
    qs = qs.order_by(*order)
    if cursor:
        _direction, values = _decode(cursor, qs.model, names)
        qs = qs.filter(_beyond(names, values, forward=True, descending=order[0][0] == "-"))
    return qs.values_list("pk", flat=True)[:size]


def index_path(qs):
    """The plan's index scans (the page query), one line."""
    plan = qs.explain()
    nodes = [line.strip().lstrip("-> ").split("  (")[0] for line in plan.splitlines()
             if "Index" in line or "Seq Scan" in line or "Bitmap" in line]
    return "; ".join(nodes) or plan.splitlines()[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="requests per figure")
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                  DEFAULT_URL))
    args = parser.parse_args(argv)
    ensure_database(args.database_url)
    os.environ.setdefault("DJANGO_DEBUG", "0")
    setup_django(args.database_url)
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from core.models import User
    from core.pagination import _beyond, _decode, order_of

    settings.ALLOWED_HOSTS = ["*"]
    size = args.page_size
    rows, plans = [], []
    for name, path, roles in LISTS:
        for username in roles:
            user = User.objects.get(username=username)
            client = APIClient()
            client.force_authenticate(user, token=SecondFactorGiven())
            qs = selector_of(name, user)
            cursor, total = deep_cursor(qs)
            for depth, params in (("page 1", {}), ("deep", {"cursor": cursor})):
                params = {**params, "page_size": size}

                def request(params=params, client=client, path=path):
                    reply = client.get(path, params)
                    assert reply.status_code == 200, reply.content[:300]
                    return reply

                with CaptureQueriesContext(connection) as queries:
                    reply = request()
                got = len(reply.json()["results"])
                anchor = anchor_query(qs, params.get("cursor"), size)
                rows.append((name, username.removeprefix("bench_"), depth, total, got,
                             len(queries), timed(request, args.runs),
                             timed(lambda a=anchor: list(a.all()), args.runs),
                             sql_ms(request)))
                page = qs.order_by(*order_of(qs))
                if params.get("cursor"):
                    names = [k.lstrip("-") for k in order_of(qs)]
                    _d, values = _decode(cursor, qs.model, names)
                    page = page.filter(_beyond(names, values, forward=True,
                                               descending=order_of(qs)[0][0] == "-"))
                plans.append((name, username, depth, index_path(page[:size])))
            print(f"  measured {name} as {username}", file=sys.stderr, flush=True)

    # The web case list, signed in with a session, page 1 and a deep page.
    from intake.selectors import case_list_for_user

    for username in ("bench_clerk", "bench_auditor"):
        user = User.objects.get(username=username)
        browser = Client()
        browser.force_login(user)
        cursor, total = deep_cursor(case_list_for_user(user=user))
        for depth, params in (("page 1", {}), ("deep", {"cursor": cursor})):
            def page_request(params=params, browser=browser):
                reply = browser.get("/cases/", params)
                assert reply.status_code == 200 and b"case-table" in reply.content
                return reply

            with CaptureQueriesContext(connection) as queries:
                page_request()
            anchor = anchor_query(case_list_for_user(user=user), params.get("cursor"), 25)
            rows.append(("web /cases/", username.removeprefix("bench_"), depth, total, 25,
                         len(queries), timed(page_request, args.runs),
                         timed(lambda a=anchor: list(a.all()), args.runs),
                         sql_ms(page_request)))

    print(f"\np95 of {args.runs} requests, page size {size} (web: 25), {os.cpu_count()} CPUs")
    print("(sql ms: the request's own queries in the database driver, one request after the"
          " runs; the rest of a request is Python)")
    print(f"{'list':14} {'role':8} {'page':7} {'visible':>9} {'rows':>5} {'queries':>7} "
          f"{'p95 ms':>8} {'sql ms':>7} {'anchor ms':>9} {'ratio':>6}")
    for name, role, depth, total, got, queries, ms, anchor_ms, sql in rows:
        print(f"{name:14} {role:8} {depth:7} {total:>9,} {got:>5} {queries:>7} {ms:8.1f} "
              f"{sql:7.2f} {anchor_ms:9.2f} {ms / anchor_ms:5.0f}x")
    worst = max(row[6] for row in rows)
    print(f"\nworst p95: {worst:.1f} ms (goal: 50 ms)")
    print("\nEXPLAIN of each page query (index scans used):")
    for name, username, depth, path in plans:
        print(f"  {name:13} {username.removeprefix('bench_'):8} {depth:7} {path}")


if __name__ == "__main__":
    main()

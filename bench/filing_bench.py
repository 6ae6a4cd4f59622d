"""Filing throughput: 8 clients filing cases with two BTC assets through the real API
(gunicorn, PostgreSQL, Redis) with session and with bearer-token authentication, beside a
pgbench anchor: one SQL transaction with the same rows (the case at its own custody index,
two assets) and one chained audit row, 8 clients, measured before and after each phase of
the same run (each phase's ratio is to the mean of the two). Also printed: the web workers'
CPU per filing (user + system, from /proc).

    .venv/bin/python -m bench.filing_bench [--clients 8] [--seconds 15]

A filing is what a clerk's client does: POST /api/v1/cases/ and POST …/assets/ twice (or,
with --one-request, one POST /api/v1/cases/ carrying its assets), each with an
Idempotency-Key. Latencies are per filing (all its requests). The server is gunicorn
(--workers × --threads) with DEBUG off and the write throttle raised out of the way.

The database must be one the benchmark may fill: its name must contain "bench" (created if
missing). Default: postgres://postgres@127.0.0.1:5432/qazyna_bench_filing.
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench.audit_bench import ensure_database, setup_django

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/qazyna_bench_filing"
PASSWORD = "bench-filing-password"
AGENCY = "fbench"


def prepare(clients):
    """An agency with a custody wallet, and one clerk per client (ORM, untimed)."""
    from django.contrib.auth.models import Group

    from core.models import Agency, User
    from core.roles import Role
    from intake.models import CustodyWallet
    from intake.services import custody_wallet_register
    from tools.demo_signer import key_expression

    agency, _ = Agency.objects.get_or_create(code=AGENCY, defaults={"name": "Filing bench"})
    admin, created = User.objects.get_or_create(username="fbench_admin")
    admin.groups.add(Group.objects.get(name=Role.ADMIN))
    wallet = CustodyWallet.objects.filter(agency=agency, network="regtest",
                                          is_active=True).first()
    if wallet is None:
        admin = User.objects.get(pk=admin.pk)
        wallet = custody_wallet_register(actor=admin, agency=agency, network="regtest",
                                         label="bench custody", threshold=2,
                                         keys=[key_expression(s) for s in ("c1", "c2", "c3")])
    clerks = []
    for i in range(clients):
        clerk, created = User.objects.get_or_create(username=f"fbench_clerk{i}",
                                                    defaults={"agency": agency})
        if created:
            clerk.set_password(PASSWORD)
            clerk.save()
        clerk.groups.add(Group.objects.get(name=Role.CLERK))
        clerks.append(clerk)
    return agency, wallet, clerks


# --- the server ---------------------------------------------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url, port, workers, threads, redis_url):
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.base",
           "DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
           "THROTTLE_WRITES": "1000000/min", "THROTTLE_LOGIN": "1000/min",
           "LOG_LEVEL": "WARNING",
           # Production's shape (config.settings.production): persistent connections.
           "DATABASE_CONN_MAX_AGE": "60",
           # Production's shape: follow-up work is queued to a broker (nobody consumes it
           # here), not run inside the request.
           "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url}
    gunicorn = shutil.which("gunicorn", path=str(ROOT / ".venv" / "bin")) or "gunicorn"
    log = open(Path(tempfile.gettempdir()) / f"qazyna-filing-bench-{port}.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [gunicorn, "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers),
         "--threads", str(threads), "-k", "gthread", "--timeout", "120",
         "--log-level", "warning"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    import requests

    for _ in range(300):
        try:
            requests.get(f"http://127.0.0.1:{port}/api/v1/me/", timeout=10)
            return server
        except requests.RequestException:
            time.sleep(0.1)
    server.kill()
    sys.exit("gunicorn did not start")


# --- the clients --------------------------------------------------------------------------------
def session_client(base, username):
    import requests

    http = requests.Session()
    page = http.get(f"{base}/api/auth/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    reply = http.post(f"{base}/api/auth/login/", data={
        "username": username, "password": PASSWORD, "csrfmiddlewaretoken": token,
        "next": "/api/v1/me/"}, headers={"Referer": f"{base}/api/auth/login/"})
    assert reply.ok and reply.json()["username"] == username, reply.text[:300]
    http.headers["X-CSRFToken"] = http.cookies["csrftoken"]
    http.headers["Referer"] = base + "/"
    return http


def token_client(base, username):
    import requests

    http = requests.Session()
    reply = http.post(f"{base}/api/auth/token/",
                      json={"username": username, "password": PASSWORD, "name": "bench"})
    assert reply.status_code == 201, reply.text[:300]
    http.headers["Authorization"] = f"Bearer {reply.json()['token']}"
    return http


ASSETS = [{"asset": "BTC", "network": "regtest", "declared_amount": 150_000_000},
          {"asset": "BTC", "network": "regtest", "declared_amount_btc": "0.25"}]


def file_one(http, base, number, one_request):
    case = {"case_number": number, "warrant_number": f"W-{number}",
            "warrant_date": "2026-01-10", "owner_name": "Bench Owner",
            "description": "Seized during a search."}
    if one_request:
        reply = http.post(f"{base}/api/v1/cases/", json={**case, "assets": ASSETS},
                          headers={"Idempotency-Key": uuid.uuid4().hex})
        assert reply.status_code == 201, reply.text[:300]
        return
    reply = http.post(f"{base}/api/v1/cases/", json=case,
                      headers={"Idempotency-Key": uuid.uuid4().hex})
    assert reply.status_code == 201, reply.text[:300]
    case_id = reply.json()["id"]
    for asset in ASSETS:
        reply = http.post(f"{base}/api/v1/cases/{case_id}/assets/", json=asset,
                          headers={"Idempotency-Key": uuid.uuid4().hex})
        assert reply.status_code == 201, reply.text[:300]


def server_cpu_seconds(server):
    """User + system CPU of gunicorn's workers (the master's children), from /proc."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == server.pid:  # ppid
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def run_clients(base, clerks, auth, seconds, one_request, server, warmup=2.0):
    """Latencies of the filings within the measured window, and the web workers' CPU per
    filing over the whole run (sign-ins excluded)."""
    make = session_client if auth == "session" else token_client
    sessions = [make(base, clerk.username) for clerk in clerks]
    run = uuid.uuid4().hex[:6]
    latencies, errors, filed = [], [], [0]
    start_at = time.perf_counter() + 0.5
    measure_from, stop_at = start_at + warmup, start_at + warmup + seconds
    lock = threading.Lock()

    def worker(k, http):
        i = 0
        while time.perf_counter() < start_at:
            time.sleep(0.01)
        while True:
            began = time.perf_counter()
            if began >= stop_at:
                return
            try:
                file_one(http, base, f"FB-{run}-{k}-{i}", one_request)
            except Exception as exc:  # noqa: BLE001 - counted and shown
                errors.append(repr(exc)[:200])
                return
            ended = time.perf_counter()
            with lock:
                filed[0] += 1
                if began >= measure_from and ended <= stop_at:
                    latencies.append(ended - began)
            i += 1

    threads = [threading.Thread(target=worker, args=(k, http)) for k, http in
               enumerate(sessions)]
    cpu_before = server_cpu_seconds(server)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu = server_cpu_seconds(server) - cpu_before
    if errors:
        print(f"  {len(errors)} client errors, first: {errors[0]}", file=sys.stderr)
    return latencies, cpu / max(filed[0], 1)


def summary(latencies, seconds):
    if len(latencies) < 2:
        return 0.0, float("nan"), float("nan")
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return len(latencies) / seconds, q[49] * 1000, q[98] * 1000


# --- the anchor ---------------------------------------------------------------------------------
PGBENCH_SCRIPT = """\
BEGIN;
UPDATE custody_custodywallet SET next_index = next_index + 1 WHERE id = :wallet
  RETURNING next_index - 1 AS idx \\gset
INSERT INTO intake_seizurecase (public_id, case_number, status, warrant_number, warrant_date,
  seizure_protocol_number, owner_name, owner_identifier, owner_details, description,
  custody_index, custody_address, status_reason, created_at, updated_at, agency_id,
  custody_wallet_id, filed_by_id)
  VALUES (gen_random_uuid(), 'PG-' || :idx::text, 'DRAFT', 'W-' || :idx::text, '2026-01-10',
  '', 'Bench Owner', '', '', 'Seized during a search.', :idx,
  'bcrt1qpgbench' || :idx::text, '', now(), now(), :agency, :wallet, :clerk)
  RETURNING id AS case_id \\gset
INSERT INTO intake_seizedasset (public_id, asset, network, asset_label, declared_amount,
  source_address, custody_address, verification_status, created_at, case_id, chain,
  acceptance_reason, disposition, disposition_ref)
  VALUES (gen_random_uuid(), 'BTC', 'regtest', '', 150000000, '', 'bcrt1qpgbench' || :idx::text,
  'PENDING', now(), :case_id, 'bitcoin', '', '', ''),
  (gen_random_uuid(), 'BTC', 'regtest', '', 25000000, '', 'bcrt1qpgbench' || :idx::text,
  'PENDING', now(), :case_id, 'bitcoin', '', '', '');
WITH head AS (SELECT seq + 1 AS seq, hash AS prev FROM core_auditchainhead WHERE id = 1
    FOR UPDATE),
  e AS (SELECT seq, prev, now() AS t,
    jsonb_build_object('case', :case_id::bigint, 'assets', 2) AS after FROM head),
  c AS (SELECT e.*, jsonb_build_object('action', 'bench.filed', 'actor_id', :clerk::bigint,
    'actor_username', 'bench', 'after', after, 'before', NULL::jsonb,
    'created_at', translate(to_char(t AT TIME ZONE 'UTC',
                                    'YYYY-MM-DD"T"HH24_MI_SS.US"+00_00"'), '_', chr(58)),
    'object_id', :case_id::text, 'object_type', 'intake.seizurecase', 'reason', '',
    'seq', seq)::text AS canonical FROM e)
INSERT INTO core_auditevent (seq, created_at, actor_id, actor_username, action, object_type,
  object_id, before, after, reason, prev_hash, hash, canonical)
  SELECT seq, t, :clerk::bigint, 'bench', 'bench.filed', 'intake.seizurecase',
  :case_id::text, NULL, after, '', prev,
  encode(sha256(convert_to(prev || canonical, 'UTF8')), 'hex'), canonical FROM c
  RETURNING seq AS new_seq, hash AS new_hash \\gset
UPDATE core_auditchainhead SET seq = :new_seq, hash = :new_hash WHERE id = 1;
COMMIT;
"""


def pgbench(url, clients, seconds, wallet, agency, clerk):
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(PGBENCH_SCRIPT)
    try:
        run = subprocess.run(
            ["pgbench", "-n", "-M", "extended", "-c", str(clients), "-j", "2",
             "-T", str(seconds), "-f", script.name, "-r",
             "-D", f"wallet={wallet}", "-D", f"agency={agency}", "-D", f"clerk={clerk}",
             "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
             "-U", parts.username or "postgres", parts.path.lstrip("/")],
            capture_output=True, text=True)
    finally:
        os.unlink(script.name)
    if run.returncode:
        sys.exit(f"pgbench failed:\n{run.stderr[-2000:]}")
    out = run.stdout
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))
    return tps, latency


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn process")
    parser.add_argument("--auth", choices=["session", "token", "both"], default="both")
    parser.add_argument("--one-request", action="store_true",
                        help="file each case with its assets in one POST")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"),
                        help="the server's cache and broker (default: $REDIS_URL); its "
                             "queue fills with the filings' follow-up tasks")
    parser.add_argument("--database-url", default=os.environ.get("FILING_BENCH_DATABASE_URL",
                                                                  DEFAULT_URL))
    args = parser.parse_args(argv)
    if not args.redis_url:
        parser.error("give --redis-url (or set REDIS_URL): the server queues tasks there")
    ensure_database(args.database_url)
    setup_django(args.database_url)
    from django.db import connection

    from core.audit import verify_chain
    from intake.models import SeizureCase

    agency, wallet, clerks = prepare(args.clients)
    connection.close()
    results, anchors = [], []

    def anchor():
        # Before each phase and after the last: the load of a shared machine drifts, so each
        # phase is compared with the mean of the anchors measured just before and after it.
        print(f"pgbench anchor, {args.clients} clients, {args.seconds:.0f} s ...",
              file=sys.stderr)
        anchors.append(pgbench(args.database_url, args.clients, int(args.seconds),
                               wallet.pk, agency.pk, clerks[0].pk))

    port = free_port()
    server = start_server(args.database_url, port, args.workers, args.threads, args.redis_url)
    try:
        base = f"http://127.0.0.1:{port}"
        for auth in (["session", "token"] if args.auth == "both" else [args.auth]):
            anchor()
            print(f"Qazyna, {auth} auth ...", file=sys.stderr)
            latencies, cpu = run_clients(base, clerks, auth, args.seconds, args.one_request,
                                         server)
            results.append((auth, *summary(latencies, args.seconds), cpu))
        anchor()
    finally:
        server.terminate()
        server.wait(timeout=30)
    # The invariants held under load: one address per case, the chain intact.
    cases = SeizureCase.objects.filter(agency=agency).exclude(custody_address="")
    assert cases.count() == cases.values("custody_address").distinct().count()
    chain = verify_chain()
    assert chain.ok, chain

    shape = "one request" if args.one_request else "3 requests"
    print(f"\nfiling a case with 2 assets ({shape}), {args.clients} clients, "
          f"{args.seconds:.0f} s each, gunicorn {args.workers}x{args.threads}, "
          f"{os.cpu_count()} CPUs")
    print(f"{'':44} {'filings/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'of anchor':>10} "
          f"{'web CPU ms/filing':>18}")
    for k, (auth, rate, p50, p99, cpu) in enumerate(results):
        tps = (anchors[k][0] + anchors[k + 1][0]) / 2
        print(f"{'anchor: pgbench, one SQL transaction':44} {tps:10.1f} "
              f"{(anchors[k][1] + anchors[k + 1][1]) / 2:8.1f} {'(avg)':>8}   "
              f"(before {anchors[k][0]:.1f}, after {anchors[k + 1][0]:.1f})")
        print(f"{'Qazyna API, ' + auth + ' auth':44} {rate:10.1f} {p50:8.1f} {p99:8.1f} "
              f"{rate / tps:9.1%}  (1/{tps / max(rate, 1e-9):.0f}) {cpu * 1000:10.1f}")
    print(f"\naudit chain verified after the run: {chain.checked:,} events, ok")


if __name__ == "__main__":
    main()

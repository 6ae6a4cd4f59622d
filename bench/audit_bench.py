"""Load N audit events into PostgreSQL and time verify_audit_chain against one SHA-256 pass
over the same bytes, in the same run.

    .venv/bin/python -m bench.audit_bench --events 1000000
    .venv/bin/python -m bench.audit_bench --events 200000 --with-recompute

The events (a mix shaped like Qazyna's: status changes, approvals with payload hashes,
ledger postings, logins) get valid chained hashes computed in Python and go in with COPY.
Then, each the best of --repeat runs after one warm-up:

- anchor: SHA-256 of every event's bytes (prev_hash ‖ canonical text) already in memory,
  one hash per event (a chain has one digest per event), as tight as Python hashes them;
- full: verify_chain() over the whole chain, in one process and split between processes;
- incremental: verify_chain() from the last verified point after --append new events
  written through record_event, beside the anchor for those events' bytes;
- with --with-recompute, once: the reference check that rebuilds every event in Python.

The database must be one the benchmark may empty: its name must contain "bench" (it is
created if missing). Default: postgres://postgres@127.0.0.1:5432/qazyna_audit_bench.
"""

import argparse
import datetime as dt
import hashlib
import os
import random
import resource
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/qazyna_audit_bench"
CHUNK = 50_000


def ensure_database(url):
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to empty the audit tables of {name!r}: use a database named *bench*")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url):
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# --- the events ---------------------------------------------------------------------------------
ACTIONS = [
    ("case.submitted", "intake.seizurecase", "status"),
    ("case.confiscation_approved", "intake.seizurecase", "order"),
    ("asset.sweep_recorded", "intake.seizedasset", "sweep"),
    ("transfer.approval_given", "custody.transfer", "approval"),
    ("transfer.signature_uploaded", "custody.transfer", "signature"),
    ("chain.tx_confirming", "chain.watchedtransaction", "confirming"),
    ("ledger.posted", "custody.journalentry", "ledger"),
    ("auth.login", "core.user", "login"),
]
PEOPLE = [(i, f"officer{i}") for i in range(1, 40)] + [(None, "")]


def payload(kind, rng, i):
    if kind == "status":
        return {"status": "DRAFT"}, {"status": "SUBMITTED", "case_number": f"AFM-2026-{i:06d}"}
    if kind == "order":
        return {"status": "UNDER_REVIEW"}, {
            "status": "CONFISCATION_APPROVED", "court": "Almaty City Court",
            "order_number": f"2-{i}/2026", "finality": "FINAL",
            "document_sha256": hashlib.sha256(b"order%d" % i).hexdigest()}
    if kind == "sweep":
        return None, {"txid": hashlib.sha256(b"sweep%d" % i).hexdigest(),
                      "declared_amount": rng.randrange(10**5, 10**9)}
    if kind == "approval":
        return None, {"payload_hash": hashlib.sha256(b"payload%d" % i).hexdigest(),
                      "approvals": rng.randrange(1, 3), "required": 2}
    if kind == "signature":
        return None, {"signers": ["73c5da0a", "d34db33f"], "signatures_per_input": [2, 2],
                      "fully_signed": True}
    if kind == "confirming":
        return {"state": "MEMPOOL"}, {"state": "CONFIRMING", "confirmations": rng.randrange(1, 6),
                                      "block_height": 840_000 + i // 600}
    if kind == "ledger":
        amount = rng.randrange(10**5, 10**9)
        return None, {"kind": "TRANSFER_SETTLED", "transfer": f"{rng.getrandbits(128):032x}",
                      "lines": [["RESERVE", amount], ["CUSTODY", -amount - 1200],
                                ["NETWORK_FEES", 1200]]}
    return None, {"ip": f"10.0.{i % 250}.{i % 200}"}


def generate(n, *, start_seq=1, prev=None):
    """Yield chunks of (rows for COPY, bytes hashed per event), chained from prev."""
    from core.audit import GENESIS_HASH, canonical_event, canonical_json

    rng = random.Random(20260301)
    prev = prev or GENESIS_HASH
    when = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    rows, messages = [], []
    for seq in range(start_seq, start_seq + n):
        action, object_type, kind = ACTIONS[seq % len(ACTIONS)]
        actor_id, username = PEOPLE[seq % len(PEOPLE)]
        before, after = payload(kind, rng, seq)
        when += dt.timedelta(microseconds=rng.randrange(1, 2_000_000))
        fields = dict(seq=seq, created_at=when, actor_id=actor_id, actor_username=username,
                      action=action, object_type=object_type,
                      object_id=f"{rng.getrandbits(128):032x}", before=before, after=after,
                      reason="" if seq % 11 else "Court order attached, see the case file.")
        canonical = canonical_event(**fields)
        message = (prev + canonical).encode()
        digest = hashlib.sha256(message).hexdigest()
        rows.append((seq, when, actor_id, username, action, object_type, fields["object_id"],
                     None if before is None else canonical_json(before),
                     canonical_json(after), fields["reason"], prev, digest, canonical))
        messages.append(message)
        prev = digest
        if len(rows) == CHUNK:
            yield rows, messages
            rows, messages = [], []
    if rows:
        yield rows, messages


COLUMNS = ("seq", "created_at", "actor_id", "actor_username", "action", "object_type",
           "object_id", "before", "after", "reason", "prev_hash", "hash", "canonical")


def best_of(repeat, fn):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def load(n, repeat):
    """Empty the record, COPY n chained events in; return the anchor timings."""
    from django.db import connection

    anchor = 0.0
    last = None
    with connection.cursor() as cursor:
        for table in ("core_auditevent", "core_auditchainhead", "core_auditverification"):
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            cursor.execute(f"TRUNCATE {table}")
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    raw = connection.connection
    for rows, messages in generate(n):
        with raw.cursor() as cursor, cursor.copy(
                f"COPY core_auditevent ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
        anchor += best_of(repeat, lambda m=messages: sha256_pass(m))
        last = (rows[-1][0], rows[-1][11])
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO core_auditchainhead (id, seq, hash) VALUES (1, %s, %s)",
                       list(last))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE core_auditevent")
    return anchor


def anchor_of_loaded(n, repeat):
    """The anchor for a record loaded earlier (--reuse: bench.datagen's, the same events):
    its bytes read back CHUNK events at a time (untimed), each chunk hashed best of repeat."""
    from django.db import connection

    anchor = 0.0
    with connection.cursor() as cursor:
        for start in range(0, n, CHUNK):
            cursor.execute("SELECT prev_hash || canonical FROM core_auditevent WHERE seq > %s "
                           "AND seq <= %s ORDER BY seq", [start, start + CHUNK])
            messages = [text.encode() for (text,) in cursor.fetchall()]
            anchor += best_of(repeat, lambda m=messages: sha256_pass(m))
    return anchor


def sha256_pass(messages):
    return [hashlib.sha256(message).hexdigest() for message in messages]


def anchor_of_stored(after_seq, repeat):
    """The anchor for events already in the table: their bytes, read once (untimed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT prev_hash || canonical FROM core_auditevent WHERE seq > %s "
                       "ORDER BY seq", [after_seq])
        messages = [text.encode() for (text,) in cursor.fetchall()]
    return best_of(repeat, lambda: sha256_pass(messages)), len(messages)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--append", type=int, default=None,
                        help="new events for the incremental run (default: 1%% of --events)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes for the split run (default: core.audit's default)")
    parser.add_argument("--with-recompute", action="store_true",
                        help="also time the reference check that rebuilds every event")
    parser.add_argument("--reuse", action="store_true",
                        help="keep a record of at least --events events already loaded (e.g. by "
                             "bench.datagen, or a run before) instead of loading it again")
    parser.add_argument("--database-url", default=os.environ.get("AUDIT_BENCH_DATABASE_URL",
                                                                  DEFAULT_URL))
    args = parser.parse_args(argv)
    ensure_database(args.database_url)
    setup_django(args.database_url)
    from django.db import transaction

    from core.audit import AuditAction, default_workers, record_event, verify_chain

    class BenchAction(AuditAction):
        APPENDED = "bench.appended"

    workers = args.workers or default_workers()
    n, append = args.events, args.append or max(1, args.events // 100)
    from core.models import AuditEvent

    started = time.perf_counter()
    loaded = AuditEvent.objects.count() if args.reuse else 0
    if loaded >= n:
        n = loaded  # a run before appended some through record_event
        print(f"reusing the {n:,} events loaded before ...", flush=True)
        anchor = anchor_of_loaded(n, args.repeat)
    else:
        print(f"loading {n:,} events (COPY, hashes chained in Python) ...", flush=True)
        anchor = load(n, args.repeat)
    print(f"  ready in {time.perf_counter() - started:.1f} s", flush=True)

    figures = []
    warm = verify_chain(workers=1)
    assert warm.ok and warm.checked == n, warm
    one = best_of(args.repeat, lambda: verify_chain(workers=1))
    figures.append(("verify_chain full, 1 process", one, anchor, n))
    if workers > 1:
        split = best_of(args.repeat, lambda: verify_chain(workers=workers))
        figures.append((f"verify_chain full, {workers} processes", split, anchor, n))
    if args.with_recompute:
        started = time.perf_counter()
        result = verify_chain(recompute=True)
        assert result.ok, result
        figures.append(("reference: rebuild every event in Python", time.perf_counter() - started,
                        anchor, n))

    point = (warm.checked, warm.last_hash)
    with transaction.atomic():
        for i in range(append):
            record_event(actor=None, action=BenchAction.APPENDED, object_type="bench",
                         object_id=str(i), after={"i": i, "amount_sats": 10_000 + i})
    inc_anchor, new = anchor_of_stored(point[0], args.repeat)
    incremental = verify_chain(start=point)
    assert incremental.ok and incremental.events_read == new == append, incremental
    inc = best_of(args.repeat, lambda: verify_chain(start=point))
    figures.append((f"verify_chain incremental ({new:,} new)", inc, inc_anchor, new))

    print(f"\nN = {n:,} events, {os.cpu_count()} CPUs, best of {args.repeat}")
    print(f"{'':44} {'seconds':>9} {'anchor s':>9} {'ratio':>7}")
    print(f"{'anchor: SHA-256 of the same bytes':44} {anchor:9.3f}")
    for label, seconds, base, _ in figures:
        print(f"{label:44} {seconds:9.3f} {base:9.3f} {seconds / base:6.2f}x")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory of this process: {rss:.0f} MB (generation holds {CHUNK:,} events, "
          "verification one batch per process)")


if __name__ == "__main__":
    main()

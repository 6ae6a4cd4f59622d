"""The hash-chained audit record.

record_event() must be called inside the transaction that makes the change it records:
the event commits with the change or not at all. Appends are ordered by locking the
single AuditChainHead row, so the chain has no forks even with many writers.

The canonical form, which tools/verify_audit_bundle.py implements again on its own (the
tests hold the two to the same hashes): an event is the JSON object of its fields seq,
created_at (UTC, ISO 8601 with microseconds and "+00:00"), actor_id, actor_username, action,
object_type, object_id, before, after and reason; keys sorted, no whitespace, non-ASCII
characters as themselves. hash = hex SHA-256 of the UTF-8 bytes of prev_hash followed by the
canonical text; the first event's prev_hash is 64 zeros.

Verifying a million events. Each event keeps the canonical text it was hashed with
(AuditEvent.canonical), and on PostgreSQL a CHECK constraint refuses any row whose canonical
text differs from its fields (migration 0007). Verification is then a hash of what is
stored: PostgreSQL hands over a range of seq at a time as three strings (the hashes, the
prev_hashes, the hashed bytes one event a line), the next range read while Python hashes this
one, so Python makes one SHA-256 and no other object per event; links, hashes and the count
(no gaps) are compared as whole strings, and only a batch that fails is walked event by
event to name the first broken link. Rebuilding the JSON at verify time
cannot be made cheap enough: encoding one event costs several times its SHA-256 in Python,
and PostgreSQL's row_to_json costs more than handing the stored text over. So the
constraint is what lets verification skip it, and it is looked for first: if it is missing,
not validated, or not exactly the one migration 0007 made, or the database is not
PostgreSQL, verification trusts no constraint: in Python, it hashes each stored text and
compares the event's fields with it (`recompute=True`, also `verify_audit_chain
--recompute`).

Incremental verification starts from the last verified point (seq, hash) after checking
that the event there still has that hash; it does not reread older events, so a full run
(`verify_audit_chain --full`, daily on the beat schedule) is what finds an edit deep in the
past. Auditors hold checkpoints outside the database (core.audit_export), which catch what
no check inside the database can: a chain wiped or re-hashed by someone who owns it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import multiprocessing
import os
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, replace
from enum import StrEnum

from django.db import connection, transaction
from django.utils import timezone

from .models import AuditChainHead, AuditEvent, AuditVerification

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
CANONICAL_CONSTRAINT = "core_auditevent_canonical_matches"


class AuditAction(StrEnum):
    """What an audit event records. Each app declares its actions as a subclass (an enum of
    its own), so every action can be listed (`all_actions()`, `manage.py audit_actions`) and
    grepped by name; record_event refuses a bare string."""

    @classmethod
    def all_actions(cls) -> list[AuditAction]:
        found: list[AuditAction] = []
        for sub in cls.__subclasses__():
            found.extend(sub)
            found.extend(sub.all_actions())
        return sorted(set(found), key=str)


class CoreAction(AuditAction):
    LOGIN = "auth.login"
    LOCKED_OUT = "auth.locked_out"
    TOKEN_ISSUED = "auth.token_issued"
    ADMIN_ADD = "admin.add"
    ADMIN_CHANGE = "admin.change"
    ADMIN_DELETE = "admin.delete"
    ADMIN_OTHER = "admin.other"
    ROLES_CHANGED = "user.roles_changed"
    SECOND_FACTOR_ENROLLED = "auth.second_factor_enrolled"
    ROLE_GRANT_REQUESTED = "role.grant_requested"
    ROLE_GRANT_APPROVED = "role.grant_approved"
    ROLE_GRANT_REJECTED = "role.grant_rejected"


def _json_default(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default,
                      ensure_ascii=False)


def canonical_event(*, seq, created_at, actor_id, actor_username, action, object_type,
                    object_id, before, after, reason):
    return canonical_json({
        "seq": seq,
        "created_at": created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "actor_username": actor_username,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "before": before,
        "after": after,
        "reason": reason,
    })


def chain_hash(prev_hash, canonical):
    return hashlib.sha256(prev_hash.encode() + canonical.encode()).hexdigest()


def _normalise(data):
    """JSON round-trip so the stored value and the hashed value are the same thing."""
    if data is None:
        return None
    return json.loads(json.dumps(data, default=_json_default))


def record_event(*, actor, action, obj=None, object_type="", object_id="", before=None,
                 after=None, reason=""):
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event() must run inside the transaction of the change")
    if not isinstance(action, AuditAction):
        raise TypeError(f"audit actions are AuditAction members, not {action!r}")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(getattr(obj, "public_id", None) or obj.pk)
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    actor_username = actor.get_username() if actor_id else ""
    fields = dict(
        actor_id=actor_id,
        actor_username=actor_username,
        action=str(action),
        object_type=object_type,
        object_id=str(object_id),
        before=_normalise(before),
        after=_normalise(after),
        reason=reason or "",
    )
    pending = _PENDING.get()
    if pending is not None:
        pending.append(fields)
        return None
    return _append([fields])[0]


def _append(pending):
    """Chain the pending events after the head: the head's row lock is taken here, once."""
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
    now = timezone.now()
    events = []
    for fields in pending:
        complete = dict(seq=head.seq + 1, created_at=now, **fields)
        canonical = canonical_event(**complete)
        digest = chain_hash(head.hash, canonical)
        events.append(AuditEvent(prev_hash=head.hash, hash=digest, canonical=canonical,
                                 **complete))
        head.seq, head.hash = complete["seq"], digest
    AuditEvent.objects.bulk_create(events)
    head.save(update_fields=["seq", "hash"])
    return events


_PENDING: ContextVar[list[dict] | None] = ContextVar("audit_pending", default=None)


@contextmanager
def audit_batch():
    """Events recorded inside the block are chained together when it ends, in the order
    recorded: the chain's head (one row lock every writer waits on) is taken once, as late
    as possible in the transaction, instead of at each event. Inside the transaction of the
    change, for commands that are all or nothing: an exception must leave the block (then
    nothing is written); an event recorded in a savepoint that is rolled back and the error
    swallowed inside the block would still be written. Nested blocks join the outer one."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_batch() must run inside the transaction of the change")
    if _PENDING.get() is not None:
        yield
        return
    pending: list[dict] = []
    token = _PENDING.set(pending)
    try:
        yield
    finally:
        _PENDING.reset(token)
    if pending:
        _append(pending)


# --- verification ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ChainVerification:
    """ok, checked, broken_seq and problem as always; checked is the number of events known
    intact from the first one, and last_hash the hash of event #checked (where the next
    incremental run starts). events_read counts what this run read; mode says whether it
    hashed the stored canonical text ("stored") or rebuilt it from the fields ("recompute")."""

    ok: bool
    checked: int
    broken_seq: int | None = None
    problem: str = ""
    last_hash: str = GENESIS_HASH
    start_seq: int = 0
    events_read: int = 0
    mode: str = "stored"


@dataclass(frozen=True)
class _Scan:
    """What a scan of events lo+1..hi found: count read, the last good (seq, hash), and
    where the first failing batch starts (None when every batch passed)."""

    count: int
    last_seq: int
    last_hash: str
    first_prev: str
    failed_from: int | None = None


# One row per batch: the batch's events in seq order (the subquery's index scan on seq) as
# three strings built by PostgreSQL, so Python makes no object per column per row: the
# stored hashes and the prev_hashes, each joined by ",", and the bytes hashed (prev_hash ‖
# canonical) joined by a newline, which canonical JSON never contains (json.dumps escapes
# every control character). A batch whose text splits into another number of events, or
# whose order, links or hashes disagree in any way, is walked event by event (_walk), so a
# fast check can only ever be slow to explain a break, never pass one.
_BATCH_SQL = ("SELECT count(*), string_agg(hash, ','), string_agg(prev_hash, ','), "
              "convert_to(string_agg(prev_hash || canonical, E'\\n'), 'UTF8') "
              "FROM (SELECT prev_hash, hash, canonical FROM core_auditevent "
              "WHERE seq > %s AND seq <= %s ORDER BY seq) AS batch")
_sha256 = hashlib.sha256


def _scan_stored(conn, lo, hi, prev_hash, batch_size):
    """Check events lo+1..hi against their stored canonical text, a batch at a time, on a
    psycopg connection: one SHA-256 per event, and the links, the hashes and the count (seq
    is unique, so end - start events in (start, end] means no gaps) compared as whole
    strings. The next batch's query is sent before this one is hashed (pipeline mode), so
    PostgreSQL reads it while Python hashes."""
    import psycopg

    ranges = [(start, min(start + batch_size, hi)) for start in range(lo, hi, batch_size)]
    count, last_seq, last_hash = 0, lo, prev_hash
    if not ranges:
        return _Scan(count, last_seq, last_hash, prev_hash)

    def send(bounds):
        cursor = psycopg.Cursor(conn)
        cursor.execute(_BATCH_SQL, list(bounds), binary=True)
        return cursor

    # Without pipeline support (libpq < 14) each query simply runs when it is sent.
    with conn.pipeline() if psycopg.Pipeline.is_supported() else nullcontext():
        pending = send(ranges[0])
        for i, (start, end) in enumerate(ranges):
            cursor, pending = pending, (send(ranges[i + 1]) if i + 1 < len(ranges) else None)
            n, stored, prevs, messages = cursor.fetchone()
            cursor.close()
            if n != end - start:
                return _Scan(count, last_seq, last_hash, prev_hash, failed_from=start)
            computed = ",".join([_sha256(message).hexdigest()
                                 for message in messages.split(b"\n")])
            if (len(computed) != 65 * n - 1 or computed != stored
                    or prevs != f"{last_hash},{computed}"[:65 * n - 1]):
                return _Scan(count, last_seq, last_hash, prev_hash, failed_from=start)
            count, last_seq, last_hash = count + n, end, computed[-64:]
    return _Scan(count, last_seq, last_hash, prev_hash)


_FIELDS = ("seq", "created_at", "actor_id", "actor_username", "action", "object_type",
           "object_id", "before", "after", "reason", "prev_hash", "hash", "canonical")


def _walk(lo, hi, prev_hash):
    """Events lo+1..hi one by one, in Python, trusting no constraint: each stored canonical
    text must hash to the event's hash, and the event's fields must be the JSON values of
    that text (the reference check, and how a failed batch is explained). Returns
    (checked_until, last_hash, read, broken_seq, problem)."""
    expected, last_hash, read = lo + 1, prev_hash, 0
    rows = (AuditEvent.objects.filter(seq__gt=lo, seq__lte=hi).order_by("seq")
            .values_list(*_FIELDS).iterator(chunk_size=2000))
    for (seq, created_at, actor_id, actor_username, action, object_type, object_id, before,
         after, reason, stored_prev, stored_hash, stored_canonical) in rows:
        read += 1
        if seq != expected:
            return (expected - 1, last_hash, read, expected,
                    f"event #{expected} is missing (next is #{seq})")
        if stored_prev != last_hash:
            return expected - 1, last_hash, read, seq, \
                "prev_hash does not match the previous event's hash"
        if chain_hash(stored_prev, stored_canonical) != stored_hash:
            return expected - 1, last_hash, read, seq, "content does not match its hash (edited)"
        fields = json.loads(canonical_event(
            seq=seq, created_at=created_at, actor_id=actor_id, actor_username=actor_username,
            action=action, object_type=object_type, object_id=object_id, before=before,
            after=after, reason=reason))
        if not _same_json(fields, json.loads(stored_canonical)):
            return expected - 1, last_hash, read, seq, \
                "its fields are not what was hashed: content does not match its hash (edited)"
        expected, last_hash = expected + 1, stored_hash
    if expected - 1 < hi:
        return (expected - 1, last_hash, read, expected,
                f"event #{expected} is missing (the record ends at #{expected - 1})")
    return hi, last_hash, read, None, ""


def _same_json(a, b) -> bool:
    """Equal as JSON values, the way PostgreSQL's jsonb (and the CHECK constraint) compares
    them: numbers by value, since jsonb gives back 1e+16 as 10000000000000000 and -0.0 as
    0.0; true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same_json, a, b))
    return type(a) is type(b) and a == b


def _constraint_in_force(cursor) -> bool:
    """The CHECK constraint of migration 0007 exists, is validated, and is that one, as
    PostgreSQL prints it back. A constraint of that name that compares anything less (or
    "... OR true") does not vouch for the stored text, and verification rebuilds it instead;
    so does a server that prints the same constraint differently (slower, never wrong)."""
    cursor.execute(
        "SELECT convalidated, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'core_auditevent'::regclass AND conname = %s",
        [CANONICAL_CONSTRAINT])
    row = cursor.fetchone()
    return row is not None and row[0] and " ".join(row[1].split()) == _CONSTRAINT_DEFINITION


_CONSTRAINT_DEFINITION = (
    "CHECK (((canonical)::jsonb = jsonb_build_object('action', action, 'actor_id', actor_id, "
    "'actor_username', actor_username, 'after', after, 'before', before, 'created_at', "
    "to_char((created_at AT TIME ZONE 'UTC'::text), "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'::text), 'object_id', object_id, "
    "'object_type', object_type, 'reason', reason, 'seq', seq)))"
)


def _ends():
    """The last seq to verify: the head's, or the last event's if that is further."""
    head = AuditChainHead.objects.filter(id=1).values_list("seq", "hash").first()
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    return head, max(last, head[0] if head else 0)


def verify_chain(batch_size=5_000, *, start=None, recompute=False, workers=1):
    """Verify the chain from the genesis, or from `start` = (seq, hash), a point verified
    earlier: the event there must still have that hash. Names the first broken link.

    workers > 1 splits a long run between processes, each with its own connection (only
    outside a transaction, and only where the process may have children)."""
    start_seq, start_hash = start or (0, GENESIS_HASH)
    result = ChainVerification(ok=False, checked=0, start_seq=start_seq)
    if start_seq:
        found = AuditEvent.objects.filter(seq=start_seq).values_list("hash", flat=True).first()
        if found != start_hash:
            what = "is gone" if found is None else "now has a different hash"
            return replace(result, broken_seq=start_seq,
                           problem=f"event #{start_seq}, verified before, {what}: the record "
                                   "was truncated or rewritten (run a full verification)")
    head, end = _ends()
    use_stored = not recompute and connection.vendor == "postgresql"
    if use_stored:
        with connection.cursor() as cursor:
            use_stored = _constraint_in_force(cursor)
        if not use_stored:
            log.warning("the audit record's consistency constraint is missing or altered: "
                        "rebuilding every event's canonical text")
    mode = "stored" if use_stored else "recompute"
    if use_stored:
        scan = _scan_parallel(start_seq, end, start_hash, batch_size, workers)
        checked, last_hash, read = scan.last_seq, scan.last_hash, scan.count
        broken_seq, problem = None, ""
        if scan.failed_from is not None:
            checked, last_hash, more, broken_seq, problem = _walk(
                scan.failed_from, end, last_hash)
            read += more
    else:
        checked, last_hash, read, broken_seq, problem = _walk(start_seq, end, start_hash)
    result = replace(result, checked=checked, last_hash=last_hash, events_read=read, mode=mode)
    if broken_seq is not None:
        return replace(result, broken_seq=broken_seq, problem=problem)
    if head is not None and head != (checked, last_hash):
        return replace(result, broken_seq=checked + 1,
                       problem=f"the chain head says #{head[0]} but the record ends at "
                               f"#{checked} (events deleted at the end)")
    return replace(result, ok=True)


def _scan_parallel(lo, hi, prev_hash, batch_size, workers):
    workers = min(workers, max(1, (hi - lo) // (4 * batch_size)))
    if (workers <= 1 or connection.in_atomic_block
            or multiprocessing.current_process().daemon):
        connection.ensure_connection()
        return _scan_stored(connection.connection, lo, hi, prev_hash, batch_size)
    params = {k: v for k, v in connection.get_connection_params().items()
              if k not in ("cursor_factory", "context", "prepare_threshold")}
    cuts = [lo + (hi - lo) * i // workers for i in range(workers + 1)]
    connection.close()  # the children open their own; never share a socket across fork
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        parts = pool.map(_scan_part, [(params, cuts[i], cuts[i + 1], batch_size)
                                      for i in range(workers)])
    count, last_seq, last_hash = 0, lo, prev_hash
    for part in parts:
        if part.first_prev != last_hash:  # each part checked its own links; here the seams
            return _Scan(count, last_seq, last_hash, prev_hash, failed_from=last_seq)
        count += part.count
        if part.failed_from is not None:
            return _Scan(count, part.last_seq, part.last_hash, prev_hash,
                         failed_from=part.failed_from)
        last_seq, last_hash = part.last_seq, part.last_hash
    return _Scan(count, last_seq, last_hash, prev_hash)


def _scan_part(args):
    """A worker process: scan events lo+1..hi on a connection of its own. The first event's
    prev_hash is read, not assumed; the parent checks it against the part before."""
    import psycopg

    params, lo, hi, batch_size = args
    with psycopg.connect(**params) as conn:
        row = conn.execute("SELECT prev_hash FROM core_auditevent WHERE seq = %s",
                           [lo + 1]).fetchone()
        if row is None:
            return _Scan(0, lo, "", "", failed_from=lo)
        scan = _scan_stored(conn, lo, hi, row[0], batch_size)
    return _Scan(scan.count, scan.last_seq, scan.last_hash, row[0], scan.failed_from)


def default_workers():
    return max(1, min(2, os.cpu_count() or 1))


def check_checkpoints(result, checkpoints):
    """The verified chain must extend every checkpoint (seq, hash) an auditor kept: reach
    that far, and have that hash there. `result` is a full, successful verification."""
    for seq, digest in sorted(checkpoints):
        if seq > result.checked:
            return replace(result, ok=False, broken_seq=result.checked + 1,
                           problem=f"the record ends at #{result.checked}, before checkpoint "
                                   f"#{seq}: events were deleted or the record was wiped")
        stored = AuditEvent.objects.filter(seq=seq).values_list("hash", flat=True).first()
        if stored != digest:
            return replace(result, ok=False, broken_seq=seq,
                           problem=f"event #{seq} does not have the hash of checkpoint #{seq}: "
                                   "the record was rewritten and re-hashed")
    return result


def run_verification(*, full=False, recompute=False, workers=1, checkpoints=()):
    """Verify and keep the result. Incremental from the latest run when that one was good;
    from the first event when asked, when there is no run yet, when the latest run found a
    break (it must keep being reported until someone looks), or against checkpoints."""
    started_at = timezone.now()
    latest = AuditVerification.objects.order_by("-id").first()
    start = None
    if latest is not None and latest.ok and not full and not checkpoints:
        start = (latest.checked, latest.last_hash)
    full = start is None
    result = verify_chain(start=start, recompute=recompute, workers=workers)
    if result.ok and checkpoints:
        result = check_checkpoints(result, checkpoints)
    AuditVerification.objects.create(
        started_at=started_at, finished_at=timezone.now(), full=full, mode=result.mode,
        start_seq=result.start_seq, events_read=result.events_read, ok=result.ok,
        checked=result.checked, last_hash=result.last_hash, broken_seq=result.broken_seq,
        problem=result.problem)
    if not result.ok:
        log.error("the audit chain is broken at #%s: %s", result.broken_seq, result.problem)
    return result


def verification_report(*, now=None):
    """What GET /api/v1/audit/verify/ answers: the latest stored run, its age, and how far
    the record has grown since. Never walks the chain."""
    now = now or timezone.now()
    head_seq = AuditChainHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0
    latest = AuditVerification.objects.order_by("-id").first()
    last_full = (AuditVerification.objects.filter(full=True).order_by("-id")
                 .values_list("finished_at", flat=True).first())
    if latest is None:
        return {"ok": None, "checked": 0, "broken_seq": None,
                "problem": "The audit chain has not been verified yet.", "verified_at": None,
                "age_seconds": None, "full": None, "mode": None, "last_hash": None,
                "events_read": 0, "last_full_at": None, "head_seq": head_seq,
                "unverified_events": head_seq}
    return {"ok": latest.ok, "checked": latest.checked, "broken_seq": latest.broken_seq,
            "problem": latest.problem, "verified_at": latest.finished_at.isoformat(),
            "age_seconds": round((now - latest.finished_at).total_seconds(), 3),
            "full": latest.full, "mode": latest.mode, "last_hash": latest.last_hash,
            "events_read": latest.events_read,
            "last_full_at": last_full.isoformat() if last_full else None,
            "head_seq": head_seq, "unverified_events": max(0, head_seq - latest.checked)}

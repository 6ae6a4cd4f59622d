#!/usr/bin/env python3
"""Verify a Qazyna audit bundle on your own machine.

Python 3.11+ and its standard library only: no Django, no database, no Qazyna server. Give
it the bundle (`manage.py export_audit_bundle --out FILE`) and the checkpoints you kept
(`manage.py audit_checkpoint`, one JSON line each, or `SEQ:HASH`):

    python3 verify_audit_bundle.py qazyna-bundle.jsonl --checkpoint-file my-checkpoints.jsonl
    python3 verify_audit_bundle.py qazyna-bundle.jsonl --checkpoint 1200:9f2c… \\
        --public-key 3b6a27bc… --require-signature

It proves that
- the hash chain in the bundle is intact: every event hashes, from its canonical form, to
  the hash the next event links to, from the genesis to the last event, with no gaps;
- the chain extends every checkpoint you give: it reaches that far and has that hash there.
  A chain that was wiped (truncated), lost its tail, or was edited and re-hashed from some
  point on cannot do that, however consistent it is in itself;
- checkpoint signatures, when you pin the public key, were made with that key (Ed25519);
- every reserve ledger entry has its legal basis and is recorded in the chain: a settled
  transfer has a case with a final court order and the order document's SHA-256, enough
  approvals of its exact payload by officers other than its proposer, a txid and a block;
  an attributed deposit has who attributed it, a source other than seizure, and a txid; a
  reversal names an entry in the bundle.

The canonical form of an event (the same as the server's, core/audit.py): the JSON object
of its fields, keys sorted, separators "," and ":", non-ASCII characters as themselves,
UTF-8; hash = hex SHA-256(prev_hash || canonical); the first prev_hash is 64 zeros.

Exit status: 0 all proven, 1 problems found (listed), 2 the bundle or arguments unreadable.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field

BUNDLE_FORMAT = "qazyna-audit-bundle/1"
CHECKPOINT_FORMAT = "qazyna-audit-checkpoint/1"
GENESIS_HASH = "0" * 64
HEX64 = re.compile(r"^[0-9a-f]{64}$")

# The chain events that put a ledger entry on record (custody's audit actions).
LEDGER_EVENTS = {"ledger.posted", "ledger.reversed"}
DEPOSIT_ATTRIBUTED_EVENT = "deposit.attributed"


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(prev_hash: str, event: dict) -> str:
    return hashlib.sha256((prev_hash + canonical(event)).encode("utf-8")).hexdigest()


# --- Ed25519 verification (RFC 8032, section 6: the reference implementation) ---------------
_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _point_add(a, b):
    x = (a[1] - a[0]) * (b[1] - b[0]) % _P
    y = (a[1] + a[0]) * (b[1] + b[0]) % _P
    c = 2 * a[3] * b[3] * _D % _P
    d = 2 * a[2] * b[2] % _P
    e, f, g, h = y - x, d - c, d + c, y + x
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _point_mul(scalar, point):
    result = (0, 1, 1, 0)
    while scalar > 0:
        if scalar & 1:
            result = _point_add(result, point)
        point = _point_add(point, point)
        scalar >>= 1
    return result


def _point_equal(a, b):
    return ((a[0] * b[2] - b[0] * a[2]) % _P == 0
            and (a[1] * b[2] - b[1] * a[2]) % _P == 0)


def _recover_x(y, sign):
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0)
_G = (_GX, _GY, 1, _GX * _GY % _P)


def _decompress(data):
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a = _decompress(public_key)
    r = _decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(),
                       "little") % _L
    return _point_equal(_point_mul(s, _G), _point_add(r, _point_mul(h, a)))


# --- checkpoints ------------------------------------------------------------------------------
@dataclass
class Checkpoint:
    seq: int
    hash: str
    source: str
    record: dict | None = None  # the checkpoint line, when it came as one


def parse_checkpoint(text: str, source: str) -> Checkpoint:
    text = text.strip()
    if text.startswith("{"):
        record = json.loads(text)
        if record.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{source}: not a {CHECKPOINT_FORMAT} line")
        seq, digest = record.get("seq"), record.get("hash")
    else:
        record = None
        seq_text, _, digest = text.partition(":")
        seq = int(seq_text) if seq_text.isdigit() else None
    if not isinstance(seq, int) or seq < 0 or not isinstance(digest, str) \
            or not HEX64.match(digest):
        raise ValueError(f"{source}: a checkpoint is SEQ:HASH (64 hex digits)")
    return Checkpoint(seq, digest, source, record)


def checkpoint_signature_problem(record: dict, public_key: str | None,
                                 require: bool) -> str | None:
    """None when acceptable; else what is wrong with the checkpoint's signature."""
    signature = record.get("signature")
    if signature is None:
        return "it is not signed" if require else None
    if public_key is None:
        return "it is signed but no --public-key was given to check it" if require else None
    unsigned = {k: v for k, v in record.items() if k != "signature"}
    try:
        valid = (signature.get("alg") == "ed25519" and signature.get("key") == public_key
                 and ed25519_verify(bytes.fromhex(public_key), canonical(unsigned).encode(),
                                    bytes.fromhex(signature.get("value", ""))))
    except (ValueError, AttributeError):
        valid = False
    return None if valid else "its signature is not valid for the pinned public key"


# --- the legal basis of a reserve ledger entry -------------------------------------------------
def ledger_problems(entry: dict, entry_ids: set[str]) -> list[str]:
    kind, problems = entry.get("kind"), []

    def need(condition, text):
        if not condition:
            problems.append(text)

    need(HEX64.match(entry.get("txid") or ""), "no valid txid")
    if kind == "TRANSFER_SETTLED":
        transfer, case, order = entry.get("transfer"), entry.get("case"), entry.get("court_order")
        need(transfer, "no transfer")
        need(case, "no case")
        need(order, "no court order")
        if order:
            need(order.get("finality") == "FINAL",
                 f"the court order is not final ({order.get('finality')})")
            need(HEX64.match(order.get("document_sha256") or ""),
                 "no SHA-256 of the court order document")
        if transfer:
            approvers = {a.get("approver") for a in transfer.get("approvals", [])
                         if a.get("payload_hash") == transfer.get("payload_hash")
                         and a.get("approver") != transfer.get("proposed_by")}
            required = max(1, int(transfer.get("approvals_required") or 0))
            need(len(approvers) >= required,
                 f"{len(approvers)} approval(s) of the transferred payload by officers other "
                 f"than its proposer, {required} required")
            need(transfer.get("txid") == entry.get("txid"),
                 "the transfer's txid is not the entry's")
        need(entry.get("block_hash") and entry.get("block_height") is not None,
             "no block: a settled transfer is in one")
    elif kind == "DEPOSIT_ATTRIBUTED":
        deposit = entry.get("deposit")
        need(deposit, "no deposit")
        if deposit:
            need(deposit.get("attributed_by"), "nobody attributed the deposit")
            need(deposit.get("source") not in (None, "", "SEIZURE"),
                 f"a deposit's source is not {deposit.get('source')!r}: seized coins arrive "
                 "by transfer, with their case")
    elif kind in ("TRANSFER_REVERSED", "DEPOSIT_REVERSED"):
        need(entry.get("reverses") in entry_ids, "it reverses no entry in the bundle")
    else:
        problems.append(f"an unknown kind of entry ({kind!r})")
    return problems


# --- the bundle -------------------------------------------------------------------------------
@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    events: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    chain_intact_through: int = 0
    checkpoints_checked: list[int] = field(default_factory=list)
    ledger_entries: int = 0
    exported_at: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


class BundleUnreadable(Exception):
    pass


def verify_bundle(path, checkpoints=(), *, public_key=None, require_signature=False) -> Report:
    report = Report()
    wanted = {c.seq: c for c in checkpoints if c.seq > 0}
    seen_at = {}  # seq -> hash, only for the checkpoints' seqs
    on_record = set()  # ledger entry ids the chain mentions
    prev, expected, broken = GENESIS_HASH, 1, False
    header = trailer = None
    entries = []
    for number, line in _lines(path):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise BundleUnreadable(f"line {number} is not JSON")
        if canonical(record) != line:
            report.problems.append(f"line {number} is not in canonical form (edited by hand?)")
        kind = record.get("type") if isinstance(record, dict) else None
        if number == 1:
            if kind != "header" or record.get("format") != BUNDLE_FORMAT:
                raise BundleUnreadable(f"not a {BUNDLE_FORMAT} file")
            header = record
            report.exported_at = record.get("exported_at")
            continue
        if trailer is not None:
            report.problems.append(f"line {number} comes after the end of the bundle")
        if kind == "event":
            report.events += 1
            seq, event, digest = record.get("seq"), record.get("event"), record.get("hash")
            if not broken:
                problem = _event_problem(record, expected, prev)
                if problem:
                    broken = True
                    report.problems.append(f"the chain breaks at event #{expected}: {problem}")
                else:
                    prev, expected = digest, expected + 1
                    report.chain_intact_through = seq
                    if seq in wanted:
                        seen_at[seq] = digest
                    _note_ledger_event(event, on_record)
            report.last_seq, report.last_hash = seq, digest
        elif kind == "ledger_entry":
            entries.append(record)
        elif kind == "end":
            trailer = record
        else:
            report.problems.append(f"line {number}: unknown record type {kind!r}")
    if trailer is None:
        report.problems.append("the bundle has no end record: it was cut short")
    else:
        for name, value in (("events", report.events), ("ledger_entries", len(entries)),
                            ("last_seq", report.last_seq), ("last_hash", report.last_hash)):
            if trailer.get(name) != value:
                report.problems.append(f"the end record says {name} {trailer.get(name)!r}, "
                                       f"the bundle has {value!r}")
    _check_head(header, report, public_key, require_signature)
    _check_checkpoints(checkpoints, seen_at, report, public_key, require_signature)
    ids = {e.get("id") for e in entries}
    for entry in entries:
        report.ledger_entries += 1
        problems = ledger_problems(entry, ids)
        if entry.get("id") not in on_record:
            problems.append("no event in the intact chain records it")
        if problems:
            report.problems.append(f"ledger entry {entry.get('id')} ({entry.get('kind')}): "
                                   + "; ".join(problems))
    return report


def _lines(path):
    try:
        with open(path, encoding="utf-8", newline="\n") as handle:
            for number, line in enumerate(handle, 1):
                if line.endswith("\n"):
                    line = line[:-1]
                if line:
                    yield number, line
    except (OSError, UnicodeDecodeError) as error:
        raise BundleUnreadable(str(error))


def _event_problem(record, expected, prev):
    seq, event, digest = record.get("seq"), record.get("event"), record.get("hash")
    if not isinstance(event, dict) or not isinstance(digest, str) or not HEX64.match(digest):
        return "the record is malformed"
    if seq != expected:
        return (f"event #{expected} is missing (next is #{seq})" if isinstance(seq, int)
                and seq > expected else f"event #{seq} is out of order")
    if event.get("seq") != seq:
        return f"the event inside says #{event.get('seq')}"
    if record.get("prev_hash") != prev:
        return "prev_hash is not the previous event's hash"
    if event_hash(prev, event) != digest:
        return "its content does not hash to its hash (edited)"
    return None


def _note_ledger_event(event, on_record):
    action = event.get("action")
    if action in LEDGER_EVENTS:
        on_record.add(event.get("object_id"))
    elif action == DEPOSIT_ATTRIBUTED_EVENT and isinstance(event.get("after"), dict):
        on_record.add(event["after"].get("journal"))


def _check_head(header, report, public_key, require_signature):
    head = header.get("checkpoint") or {}
    if header.get("genesis_hash") != GENESIS_HASH:
        report.problems.append("the header's genesis hash is not 64 zeros")
    if (head.get("seq"), head.get("hash")) != (report.last_seq, report.last_hash):
        report.problems.append(f"the header's checkpoint (#{head.get('seq')}) is not the "
                               f"bundle's last event (#{report.last_seq})")
    problem = checkpoint_signature_problem(head, public_key, require_signature)
    if problem:
        report.problems.append(f"the bundle's own checkpoint: {problem}")


def _check_checkpoints(checkpoints, seen_at, report, public_key, require_signature):
    for checkpoint in sorted(checkpoints, key=lambda c: c.seq):
        where = f"checkpoint #{checkpoint.seq} ({checkpoint.source})"
        if checkpoint.record is not None:
            problem = checkpoint_signature_problem(checkpoint.record, public_key,
                                                   require_signature)
            if problem:
                report.problems.append(f"{where}: {problem}")
        elif require_signature:
            report.problems.append(f"{where}: it is not signed (given as SEQ:HASH)")
        if checkpoint.seq == 0:
            ok = checkpoint.hash == GENESIS_HASH
        elif checkpoint.seq > report.chain_intact_through:
            ok = False
            if checkpoint.seq > report.last_seq:
                report.problems.append(
                    f"{where}: the chain ends at #{report.last_seq}, before the checkpoint: "
                    "events were deleted or the record was wiped")
            else:
                report.problems.append(f"{where}: the chain is broken before it")
            continue
        else:
            ok = seen_at.get(checkpoint.seq) == checkpoint.hash
        if ok:
            report.checkpoints_checked.append(checkpoint.seq)
        else:
            report.problems.append(f"{where}: event #{checkpoint.seq} has another hash: the "
                                   "record was rewritten and re-hashed since")


# --- command line -----------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="SEQ:HASH")
    parser.add_argument("--checkpoint-file", action="append", default=[], metavar="FILE")
    parser.add_argument("--public-key", metavar="HEX",
                        help="the Ed25519 public key that signs checkpoints (pin it)")
    parser.add_argument("--require-signature", action="store_true",
                        help="refuse unsigned checkpoints")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        checkpoints = [parse_checkpoint(text, "--checkpoint") for text in args.checkpoint]
        for path in args.checkpoint_file:
            with open(path, encoding="utf-8") as handle:
                checkpoints += [parse_checkpoint(line, f"{path}:{number}")
                                for number, line in enumerate(handle, 1) if line.strip()]
        public_key = args.public_key.lower() if args.public_key else None
        if public_key is not None and not HEX64.match(public_key):
            raise ValueError("--public-key is 64 hex digits (32 bytes)")
        report = verify_bundle(args.bundle, checkpoints, public_key=public_key,
                               require_signature=args.require_signature)
    except (OSError, ValueError, BundleUnreadable) as error:
        print(f"cannot verify: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"ok": report.ok, "problems": report.problems,
                          "events": report.events, "last_seq": report.last_seq,
                          "last_hash": report.last_hash,
                          "chain_intact_through": report.chain_intact_through,
                          "checkpoints_extended": report.checkpoints_checked,
                          "ledger_entries": report.ledger_entries}, indent=2))
    else:
        print(f"bundle: {args.bundle}, exported {report.exported_at}")
        print(f"chain: {report.events} events, intact through #{report.chain_intact_through}, "
              f"last #{report.last_seq} {report.last_hash}")
        print(f"checkpoints extended: {len(report.checkpoints_checked)} of {len(checkpoints)}")
        print(f"reserve ledger entries: {report.ledger_entries}")
        for problem in report.problems:
            print(f"PROBLEM: {problem}")
        print("RESULT: OK" if report.ok else f"RESULT: {len(report.problems)} PROBLEM(S)")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

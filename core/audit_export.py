"""The audit record outside the database: checkpoints and bundles (DESIGN §6).

A **checkpoint** is one JSON object on one line, in the canonical form of the record itself
(keys sorted, no whitespace, UTF-8):

    {"event_created_at":"2026-03-01T09:15:02.118345+00:00","format":"qazyna-audit-checkpoint/1",
     "hash":"9f2c…","issued_at":"2026-03-01T09:20:00.000000+00:00","seq":1234,
     "signature":{"alg":"ed25519","key":"<public key, hex>","value":"<signature, hex>"}}

Why this shape. (seq, hash) is all an auditor needs: a chain that still has that hash at
that seq extends the checkpoint, and it cannot be produced again after a wipe or a re-hash
without breaking SHA-256. The two times say when the event happened and when the checkpoint
was taken; they are not trusted for anything. One line per checkpoint, so an auditor keeps a
plain file and appends to it (`manage.py audit_checkpoint >> checkpoints.jsonl`), diffs it,
prints it, or reads it aloud over the phone. The signature is optional: the anchor is the
auditor's own copy, which needs no key; an Ed25519 signature (settings.AUDIT_CHECKPOINT_KEY)
adds that a checkpoint the auditor shows later was really issued by the system and not
written by the auditor, which an HMAC cannot (the auditor would hold its key). It signs the
canonical text of every other field. The offline verifier checks it in pure Python against a
public key the auditor pinned.

A **bundle** (`manage.py export_audit_bundle`) is a JSON Lines file, self-contained: a
header (format, the canonical form's rules, a checkpoint of the last event), every event in
order ({"event":{…the canonical object…},"hash":…,"prev_hash":…,"seq":…,"type":"event"}, so
each line's "event" re-serialised canonically is exactly what was hashed), then every reserve
ledger entry with what makes it lawful (its transfer, case, court order and document hash,
approvals, signatures, txid and block), then a trailer with the counts, so a cut-off file is
evident. tools/verify_audit_bundle.py checks it with nothing but Python's standard library.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import IO

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .audit import GENESIS_HASH, canonical_json
from .models import AuditEvent

CHECKPOINT_FORMAT = "qazyna-audit-checkpoint/1"
BUNDLE_FORMAT = "qazyna-audit-bundle/1"
CANONICAL_RULES = (
    "event: JSON object of seq, created_at (UTC, ISO 8601, microseconds, +00:00), actor_id, "
    "actor_username, action, object_type, object_id, before, after, reason; keys sorted, "
    "separators ',' and ':', non-ASCII unescaped, UTF-8. hash = hex(SHA-256(prev_hash || "
    "canonical event)); the first prev_hash is 64 zeros."
)


# --- checkpoints ----------------------------------------------------------------------------
class CheckpointError(ValueError):
    pass


def _signing_key():
    """The Ed25519 private key of settings.AUDIT_CHECKPOINT_KEY, or None when unset."""
    text = (settings.AUDIT_CHECKPOINT_KEY or "").strip()
    if not text:
        return None
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointError("AUDIT_CHECKPOINT_KEY is not an Ed25519 private key.")
        return key
    try:
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(text))
    except ValueError:
        raise CheckpointError("AUDIT_CHECKPOINT_KEY is neither a PEM Ed25519 key nor a "
                              "32-byte seed in hex.")


def public_key_hex(key=None) -> str | None:
    from cryptography.hazmat.primitives import serialization

    key = key or _signing_key()
    if key is None:
        return None
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw).hex()


def new_signing_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()


def make_checkpoint(*, seq: int, digest: str, event_created_at: str | None,
                    issued_at=None) -> dict:
    issued_at = issued_at or timezone.now()
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "seq": seq,
        "hash": digest,
        "event_created_at": event_created_at,
        "issued_at": issued_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
    }
    key = _signing_key()
    if key is not None:
        checkpoint["signature"] = {
            "alg": "ed25519",
            "key": public_key_hex(key),
            "value": key.sign(canonical_json(checkpoint).encode()).hex(),
        }
    return checkpoint


def checkpoint_of(seq: int) -> dict:
    """A checkpoint of event #seq as it is stored now (verify the chain first)."""
    row = (AuditEvent.objects.filter(seq=seq).values_list("hash", "created_at").first()
           if seq else None)
    if seq and row is None:
        raise CheckpointError(f"There is no event #{seq}.")
    digest, created_at = row if row else (GENESIS_HASH, None)
    return make_checkpoint(
        seq=seq, digest=digest,
        event_created_at=created_at.astimezone(dt.UTC).isoformat(
            timespec="microseconds") if created_at else None)


def checkpoint_line(checkpoint: dict) -> str:
    return canonical_json(checkpoint)


def parse_checkpoint(text: str) -> tuple[int, str]:
    """(seq, hash) from "seq:hash" or from a checkpoint line. Signatures are the offline
    verifier's business; inside the system the checkpoint is only a (seq, hash) to extend."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
            seq, digest = int(data["seq"]), str(data["hash"])
        except (ValueError, KeyError, TypeError):
            raise CheckpointError(f"Not a checkpoint: {text[:80]!r}")
    else:
        seq_text, _, digest = text.partition(":")
        try:
            seq = int(seq_text)
        except ValueError:
            raise CheckpointError(f"A checkpoint is seq:hash, not {text[:80]!r}")
    if seq < 0 or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise CheckpointError(f"A checkpoint hash is 64 lowercase hex digits: {text[:80]!r}")
    return seq, digest


def read_checkpoints(path) -> list[tuple[int, str]]:
    with open(path, encoding="utf-8") as handle:
        return [parse_checkpoint(line) for line in handle if line.strip()]


# --- the audit events as CSV -----------------------------------------------------------------
AUDIT_EVENT_COLUMNS = ["seq", "created_at", "actor_username", "action", "object_type",
                       "object_id", "reason", "before", "after", "prev_hash", "hash"]


def audit_event_rows(events) -> Iterator[list]:
    """The header, then one row per event of the queryset (audit_events_for_user, so the
    export shows exactly what the list shows); before and after as canonical JSON."""
    yield AUDIT_EVENT_COLUMNS
    for e in events.iterator(chunk_size=2000):
        yield [e.seq, _iso(e.created_at), e.actor_username, e.action, e.object_type,
               e.object_id, e.reason,
               canonical_json(e.before) if e.before is not None else "",
               canonical_json(e.after) if e.after is not None else "", e.prev_hash, e.hash]


# --- the reserve ledger, with its legal basis -------------------------------------------------
def reserve_ledger_entries() -> Iterator[dict]:
    """Every reserve ledger entry with what makes it lawful: its transfer (approvals, signed
    copies and their signers' fingerprints, txid, block), the case, the court's confiscation
    order and its document hash; or the deposit and who attributed it.

    The one place where core reads the tables of intake and custody, by app label so that
    core imports neither: it belongs to custody (which can reach all of it) and should move
    there, registered with core the way chain's handlers are, when custody's refactor
    allows. Nothing in the data model is missing for the bundle today; what is not recorded
    at all is listed in BUNDLE_NOT_RECORDED."""
    JournalEntry = apps.get_model("custody", "JournalEntry")
    entries = (JournalEntry.objects.order_by("id")
               .select_related("transfer__case__agency",
                               "transfer__case__confiscation_order__recorded_by",
                               "transfer__proposed_by",
                               "transfer__destination", "transfer__reserve_wallet",
                               "deposit__attributed_by", "deposit__reserve_address", "reverses")
               .prefetch_related("lines__case", "lines__reserve_wallet",
                                 "lines__reserve_address", "transfer__approvals__approver",
                                 "transfer__uploads__uploaded_by"))
    for entry in entries.iterator(chunk_size=500):
        transfer, deposit = entry.transfer, entry.deposit
        case = transfer.case if transfer else None
        order = getattr(case, "confiscation_order", None) if case else None
        yield {
            "type": "ledger_entry",
            "id": str(entry.public_id),
            "kind": entry.kind,
            "created_at": _iso(entry.created_at),
            "asset": entry.asset,
            "network": entry.network,
            "txid": entry.txid,
            "block_hash": entry.block_hash or None,
            "block_height": entry.block_height,
            "memo": entry.memo,
            "reverses": str(entry.reverses.public_id) if entry.reverses else None,
            "lines": [{
                "account": line.account, "amount_sats": line.amount_sats,
                "source": line.source,
                "reserve_wallet": line.reserve_wallet.label if line.reserve_wallet else None,
                "reserve_address": line.reserve_address.address if line.reserve_address
                else None,
                "case": line.case.case_number if line.case else None,
            } for line in entry.lines.all()],
            "transfer": _transfer(transfer) if transfer else None,
            "case": {
                "id": str(case.public_id), "case_number": case.case_number,
                "agency": case.agency.code, "status": case.status,
                "warrant_number": case.warrant_number, "warrant_date": _iso(case.warrant_date),
            } if case else None,
            "court_order": {
                "court": order.court, "order_number": order.order_number,
                "order_date": _iso(order.order_date),
                "document_sha256": order.document_sha256, "finality": order.finality,
                "recorded_by": order.recorded_by.get_username(),
                "recorded_at": _iso(order.recorded_at),
            } if order else None,
            "deposit": {
                "id": str(deposit.public_id), "txid": deposit.txid, "vout": deposit.vout,
                "amount_sats": deposit.amount_sats, "status": deposit.status,
                "source": deposit.source, "note": deposit.note,
                "address": deposit.reserve_address.address,
                "attributed_by": deposit.attributed_by.get_username()
                if deposit.attributed_by else None,
                "attributed_at": _iso(deposit.attributed_at),
            } if deposit else None,
        }


def _transfer(transfer) -> dict:
    return {
        "id": str(transfer.public_id),
        "status": transfer.status,
        "amount_sats": transfer.amount_sats,
        "fee_sats": transfer.fee_sats,
        "payload_hash": transfer.payload_hash,
        "approvals_required": transfer.approvals_required,
        "proposed_by": transfer.proposed_by.get_username(),
        "kind": transfer.kind,
        "reserve_wallet": transfer.reserve_wallet.label if transfer.reserve_wallet else None,
        "destination": transfer.destination_address,
        "txid": transfer.txid or None,
        "block_hash": transfer.block_hash or None,
        "block_height": transfer.block_height,
        "settled_at": _iso(transfer.settled_at),
        "approvals": [{
            "approver": approval.approver.get_username(),
            "payload_hash": approval.payload_hash,
            "at": _iso(approval.created_at),
        } for approval in transfer.approvals.all()],
        "signatures": [{
            "uploaded_by": upload.uploaded_by.get_username(),
            "signer_fingerprints": upload.signer_fingerprints,
            "payload_hash": upload.payload_hash,
            "psbt_sha256": upload.sha256,
            "at": _iso(upload.created_at),
        } for upload in transfer.uploads.all()],
    }


BUNDLE_NOT_RECORDED = [
    "the court order document itself: only its SHA-256 is recorded",
    "the date an order became final: only its finality is recorded",
]


def _iso(value):
    if value is None:
        return None
    if hasattr(value, "tzinfo") and hasattr(value, "hour"):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return value.isoformat()


# --- the bundle -------------------------------------------------------------------------------
_EVENTS_SQL = ("SELECT seq, prev_hash, hash, canonical FROM core_auditevent "
               "WHERE seq > %s AND seq <= %s ORDER BY seq")


def write_bundle(out: IO[str], *, batch_size=5000) -> dict:
    """Write the whole record and the reserve ledger to `out`, from one snapshot of the
    database. Returns the trailer (counts and the checkpoint of the last event)."""
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        checkpoint = checkpoint_of(last)
        out.write(canonical_json({
            "type": "header", "format": BUNDLE_FORMAT, "canonical": CANONICAL_RULES,
            "genesis_hash": GENESIS_HASH, "exported_at": checkpoint["issued_at"],
            "last_seq": last, "checkpoint": checkpoint, "not_recorded": BUNDLE_NOT_RECORDED,
        }) + "\n")
        events = 0
        with connection.cursor() as cursor:
            for start in range(0, last, batch_size):
                cursor.execute(_EVENTS_SQL, [start, min(start + batch_size, last)])
                for seq, prev_hash, digest, canonical in cursor.fetchall():
                    # The stored canonical text is canonical JSON already: the line is built
                    # around it, keys in order, rather than parsed and printed again.
                    out.write(f'{{"event":{canonical},"hash":{json.dumps(digest)},'
                              f'"prev_hash":{json.dumps(prev_hash)},"seq":{seq},'
                              '"type":"event"}\n')
                    events += 1
        entries = 0
        for entry in reserve_ledger_entries():
            out.write(canonical_json(entry) + "\n")
            entries += 1
        trailer = {"type": "end", "events": events, "ledger_entries": entries,
                   "last_seq": last, "last_hash": checkpoint["hash"]}
        out.write(canonical_json(trailer) + "\n")
    return trailer | {"checkpoint": checkpoint}

"""The hash-chained audit record.

record_event() must be called inside the transaction that makes the change it records:
the event commits with the change or not at all. Appends are ordered by locking the
single AuditChainHead row, so the chain has no forks even with many writers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum

from django.db import transaction
from django.utils import timezone

from .models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64


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


def canonical_event(*, seq, created_at, actor_id, actor_username, action, object_type,
                    object_id, before, after, reason):
    payload = {
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
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=_json_default,
                      ensure_ascii=False)


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
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    actor_username = actor.get_username() if actor_id else ""
    fields = dict(
        seq=head.seq + 1,
        created_at=timezone.now(),
        actor_id=actor_id,
        actor_username=actor_username,
        action=str(action),
        object_type=object_type,
        object_id=str(object_id),
        before=_normalise(before),
        after=_normalise(after),
        reason=reason or "",
    )
    digest = chain_hash(head.hash, canonical_event(**fields))
    event = AuditEvent.objects.create(prev_hash=head.hash, hash=digest, **fields)
    head.seq, head.hash = event.seq, digest
    head.save(update_fields=["seq", "hash"])
    return event


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    checked: int
    broken_seq: int | None = None
    problem: str = ""


def verify_chain(batch_size=2000):
    """Walk the whole chain; name the first broken link."""
    prev_hash, expected_seq, checked = GENESIS_HASH, 1, 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=batch_size):
        if event.seq != expected_seq:
            return ChainVerification(False, checked, expected_seq,
                                     f"event #{expected_seq} is missing (next is #{event.seq})")
        if event.prev_hash != prev_hash:
            return ChainVerification(False, checked, event.seq,
                                     "prev_hash does not match the previous event's hash")
        recomputed = chain_hash(prev_hash, canonical_event(
            seq=event.seq, created_at=event.created_at, actor_id=event.actor_id,
            actor_username=event.actor_username, action=event.action,
            object_type=event.object_type, object_id=event.object_id,
            before=event.before, after=event.after, reason=event.reason,
        ))
        if recomputed != event.hash:
            return ChainVerification(False, checked, event.seq,
                                     "content does not match its hash (edited)")
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and (head.seq, head.hash) != (expected_seq - 1, prev_hash):
        return ChainVerification(False, checked, expected_seq,
                                 f"the chain head says #{head.seq} but the record ends at "
                                 f"#{expected_seq - 1} (events deleted at the end)")
    return ChainVerification(True, checked)

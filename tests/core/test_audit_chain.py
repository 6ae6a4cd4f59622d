"""The hash-chained audit record: it verifies, and tampering is found at the right link.

Tampering is done the way only the tables' owner or a superuser could: with the
append-only triggers disabled, and either keeping each row consistent with its canonical
text (the CHECK constraint stays) or dropping that constraint first."""

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError, IntegrityError

from core.audit import (
    CANONICAL_CONSTRAINT,
    GENESIS_HASH,
    AuditAction,
    canonical_event,
    chain_hash,
    record_event,
    verify_chain,
)
from core.models import AuditEvent

EVENT_FIELDS = ("seq", "created_at", "actor_id", "actor_username", "action", "object_type",
                "object_id", "before", "after", "reason")


class ChainTestAction(AuditAction):
    EVENT = "test.event"


def write_events(n, actor=None):
    with transaction.atomic():
        for i in range(n):
            record_event(actor=actor, action=ChainTestAction.EVENT, object_type="test",
                         object_id=str(i), after={"i": i, "amount_sats": 10**i})


def _without_triggers(sql, params):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER USER")


def tamper(sql, params):
    """An owner who drops the consistency constraint, then edits rows as they like."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE core_auditevent DROP CONSTRAINT {CANONICAL_CONSTRAINT}")
    _without_triggers(sql, params)


def rewrite(seq, *, rehash=False, **changes):
    """An owner who edits an event and keeps it consistent with its canonical text (the
    constraint stays in force); with rehash, its hash is recomputed too."""
    event = AuditEvent.objects.get(seq=seq)
    fields = {name: getattr(event, name) for name in EVENT_FIELDS} | changes
    canonical = canonical_event(**fields)
    digest = chain_hash(event.prev_hash, canonical) if rehash else event.hash
    sets = ", ".join(f"{name} = %s" for name in changes)
    values = [AuditEvent._meta.get_field(name).get_db_prep_save(value, connection)
              for name, value in changes.items()]
    _without_triggers(f"UPDATE core_auditevent SET {sets}, canonical = %s, hash = %s "
                      "WHERE seq = %s", [*values, canonical, digest, seq])


@pytest.mark.django_db
def test_chain_verifies_and_links(clerk):
    write_events(5, actor=clerk)
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    mine = [e for e in events if e.action == "test.event"]
    assert len(mine) == 5 and {e.actor_username for e in mine} == {"clerk"}
    assert verify_chain().ok


@pytest.mark.django_db
def test_edited_event_is_found_at_its_link():
    write_events(6)
    rewrite(4, after={"i": 3, "amount_sats": 1})
    result = verify_chain()
    assert not result.ok and result.mode == "stored"
    assert result.broken_seq == 4
    assert "edited" in result.problem
    assert result.checked == 3


@pytest.mark.django_db
def test_edit_behind_a_dropped_constraint_is_found_by_rebuilding(postgresql):
    write_events(6)
    tamper("UPDATE core_auditevent SET after = %s WHERE seq = 4", ['{"i": 3, "amount_sats": 1}'])
    result = verify_chain()
    assert not result.ok and result.mode == "recompute"
    assert (result.broken_seq, result.checked) == (4, 3)
    assert "edited" in result.problem


@pytest.mark.django_db
def test_a_weakened_constraint_is_not_trusted(postgresql):
    """Same name, validated, but vouching for nothing: verification rebuilds every event."""
    write_events(3)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE core_auditevent DROP CONSTRAINT {CANONICAL_CONSTRAINT}")
        cursor.execute(f"ALTER TABLE core_auditevent ADD CONSTRAINT {CANONICAL_CONSTRAINT} "
                       "CHECK (canonical::jsonb = canonical::jsonb OR true)")
    _without_triggers("UPDATE core_auditevent SET reason = 'x' WHERE seq = 2", [])
    result = verify_chain()
    assert result.mode == "recompute" and not result.ok and result.broken_seq == 2


@pytest.mark.django_db
def test_canonical_text_is_stored_and_the_database_refuses_a_row_that_lies(postgresql):
    write_events(2)
    event = AuditEvent.objects.get(seq=2)
    assert event.canonical == canonical_event(**{f: getattr(event, f) for f in EVENT_FIELDS})
    assert event.hash == chain_hash(event.prev_hash, event.canonical)
    with pytest.raises(IntegrityError, match=CANONICAL_CONSTRAINT):
        with transaction.atomic():
            AuditEvent.objects.create(
                seq=3, created_at=event.created_at, action="test.event",
                after={"amount_sats": 1}, prev_hash=event.hash, hash="f" * 64,
                canonical=event.canonical.replace('"seq":2', '"seq":3'))
    assert verify_chain().ok


@pytest.mark.django_db
@pytest.mark.parametrize("batch_size", [1, 3, 7, 5000])
def test_a_good_chain_passes_the_batch_check_without_a_walk(postgresql, monkeypatch,
                                                             batch_size):
    """The fast check accepts every good batch (first, middle, the short last one) by itself:
    a false alarm there would only show as a slow walk, so walking fails this test."""
    import core.audit

    write_events(10)
    monkeypatch.setattr(core.audit, "_walk", lambda *a: pytest.fail("walked a good chain"))
    result = verify_chain(batch_size=batch_size)
    total = AuditEvent.objects.count()
    assert result.ok and result.checked == result.events_read == total
    assert result.last_hash == AuditEvent.objects.get(seq=total).hash


@pytest.mark.django_db
def test_a_canonical_text_with_a_line_break_is_walked_not_misread(postgresql):
    """JSON may carry a line break as whitespace, and the constraint accepts it (same jsonb):
    a batch that then splits into too many events is walked event by event, which finds the
    chain good, and still names a real break after it."""
    write_events(8)
    total = AuditEvent.objects.count()
    prev = AuditEvent.objects.get(seq=2).hash
    for seq in range(3, total + 1):  # event 3 gets a line break; the rest re-chained on it
        event = AuditEvent.objects.get(seq=seq)
        canonical = event.canonical.replace(",", ",\n", 1) if seq == 3 else event.canonical
        digest = chain_hash(prev, canonical)
        _without_triggers("UPDATE core_auditevent SET canonical = %s, prev_hash = %s, "
                          "hash = %s WHERE seq = %s", [canonical, prev, digest, seq])
        prev = digest
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_auditchainhead DISABLE TRIGGER USER")
        cursor.execute("UPDATE core_auditchainhead SET hash = %s WHERE id = 1", [prev])
        cursor.execute("ALTER TABLE core_auditchainhead ENABLE TRIGGER USER")
    assert "\n" in AuditEvent.objects.get(seq=3).canonical
    result = verify_chain(batch_size=4)
    assert result.ok and result.checked == total and result.last_hash == prev
    rewrite(total - 1, reason="edited")
    result = verify_chain(batch_size=4)
    assert (result.ok, result.broken_seq, result.checked) == (False, total - 1, total - 2)


@pytest.mark.django_db
def test_deleted_event_is_found_at_its_link():
    write_events(6)
    _without_triggers("DELETE FROM core_auditevent WHERE seq = 3", [])
    result = verify_chain()
    assert not result.ok
    assert result.broken_seq == 3
    assert "missing" in result.problem


@pytest.mark.django_db
def test_deleted_last_event_is_found_by_the_head():
    write_events(4)
    _without_triggers("DELETE FROM core_auditevent WHERE seq = 4", [])
    result = verify_chain()
    assert not result.ok and result.broken_seq == 4


@pytest.mark.django_db
def test_rehashed_edit_breaks_the_next_link():
    """An attacker who edits an event and recomputes its hash still breaks the next link."""
    write_events(5)
    rewrite(2, rehash=True, after={"i": 1, "amount_sats": 0})
    result = verify_chain()
    assert not result.ok and result.broken_seq == 3
    assert "prev_hash" in result.problem


@pytest.mark.django_db
def test_incremental_verification_reads_only_what_is_new():
    write_events(5)
    first = verify_chain()
    assert first.ok and first.checked == AuditEvent.objects.count() and first.start_seq == 0
    write_events(3)
    again = verify_chain(start=(first.checked, first.last_hash))
    assert again.ok and again.events_read == 3 and again.checked == first.checked + 3
    assert again.last_hash == AuditEvent.objects.get(seq=again.checked).hash


@pytest.mark.django_db
def test_incremental_verification_refuses_a_start_that_was_rewritten_or_wiped():
    write_events(4)
    point = verify_chain()
    rewrite(point.checked, rehash=True, reason="rewritten")
    result = verify_chain(start=(point.checked, point.last_hash))
    assert not result.ok and result.broken_seq == point.checked and result.checked == 0
    assert "rewritten" in result.problem
    _without_triggers("DELETE FROM core_auditevent WHERE seq >= 2", [])
    result = verify_chain(start=(point.checked, point.last_hash))
    assert not result.ok and "is gone" in result.problem


@pytest.mark.django_db
def test_an_old_edit_escapes_incremental_runs_and_is_found_by_a_full_one():
    write_events(5)
    point = verify_chain()
    rewrite(2, reason="edited long ago")
    write_events(1)
    assert verify_chain(start=(point.checked, point.last_hash)).ok
    full = verify_chain()
    assert not full.ok and full.broken_seq == 2


@pytest.mark.django_db(transaction=True)
def test_verification_split_between_processes_finds_the_same_links(postgresql):
    write_events(40)
    total = AuditEvent.objects.count()
    result = verify_chain(batch_size=3, workers=2)
    assert result.ok and result.checked == result.events_read == total
    rewrite(30, reason="x")
    result = verify_chain(batch_size=3, workers=2)
    assert (result.ok, result.broken_seq, result.checked) == (False, 30, 29)
    rewrite(30, reason="")  # undone; now break the seam between the two processes instead
    assert verify_chain(batch_size=3, workers=2).ok
    seam = total // 2 + 1
    event = AuditEvent.objects.get(seq=seam)
    _without_triggers("UPDATE core_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s",
                      ["a" * 64, chain_hash("a" * 64, event.canonical), seam])
    result = verify_chain(batch_size=3, workers=2)
    assert (result.ok, result.broken_seq) == (False, seam)
    assert "prev_hash" in result.problem


@pytest.mark.django_db
def test_an_empty_record_verifies():
    result = verify_chain()
    assert result.ok and result.checked == 0 and result.last_hash == GENESIS_HASH


@pytest.mark.django_db
def test_verify_command_names_the_broken_link(capsys):
    write_events(3)
    call_command("verify_audit_chain")
    assert "OK" in capsys.readouterr().out
    rewrite(2, reason="x")
    call_command("verify_audit_chain")  # incremental: nothing new after #3, an old edit unseen
    assert "nothing new" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_audit_chain", full=True)
    assert exit_info.value.code == 1
    assert "#2" in capsys.readouterr().err


@pytest.mark.django_db
@pytest.mark.parametrize("statement", [
    "UPDATE core_auditevent SET reason = 'edited' WHERE seq = 1",
    "DELETE FROM core_auditevent WHERE seq = 1",
    "DELETE FROM core_auditevent",
])
def test_postgresql_refuses_update_and_delete(postgresql, statement):
    write_events(2)
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEvent.objects.count() == 2
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_record_event_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        record_event(actor=None, action=ChainTestAction.EVENT)


@pytest.mark.django_db
def test_an_action_is_an_enum_member_never_a_bare_string():
    with pytest.raises(TypeError), transaction.atomic():
        record_event(actor=None, action="case.submitted")
    assert not AuditEvent.objects.exists()
    names = {str(a) for a in AuditAction.all_actions()}
    assert {"case.submitted", "transfer.approved", "chain.tx_confirmed",
            "auth.login"} <= names
    assert len(names) == len(AuditAction.all_actions())  # one value, one meaning


@pytest.mark.django_db
def test_logins_and_admin_changes_are_audited(client, admin_user):
    from axes.models import AccessFailureLog
    from django.http import HttpRequest

    from tests.support.second_factor import login_verified

    admin_user.is_staff = True
    admin_user.is_superuser = True
    admin_user.save()
    assert client.login(request=HttpRequest(), username="admin", password="pw")
    assert AuditEvent.objects.filter(action="auth.login", actor_username="admin").exists()
    events = AuditEvent.objects.count()
    assert not client.login(request=HttpRequest(), username="admin", password="wrong")
    # A failed password is kept by django-axes, not in the chain (no audit-head lock).
    assert AccessFailureLog.objects.filter(username="admin").count() == 1
    assert AuditEvent.objects.count() == events
    login_verified(client, admin_user)
    response = client.post("/admin/core/agency/add/", {"code": "kgd", "name": "State Revenue",
                                                       "kind": "law_enforcement"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="admin.add", object_type="core.agency").exists()
    assert verify_chain().ok


def test_a_batch_chains_its_events_at_the_end_taking_the_head_once(postgresql):
    from django.db import transaction

    from core.audit import audit_batch
    from core.models import AuditChainHead

    class BatchAction(AuditAction):
        ONE = "test.batch_one"
        TWO = "test.batch_two"

    with transaction.atomic():
        record_event(actor=None, action=BatchAction.ONE, object_type="t", object_id="0")
    before = AuditChainHead.objects.get().seq
    with transaction.atomic(), audit_batch():
        record_event(actor=None, action=BatchAction.ONE, object_type="t", object_id="1")
        with audit_batch():  # nested: joins the outer batch
            record_event(actor=None, action=BatchAction.TWO, object_type="t", object_id="2")
        assert AuditChainHead.objects.get().seq == before  # nothing chained yet
    events = list(AuditEvent.objects.filter(seq__gt=before).order_by("seq"))
    assert [(e.seq, e.object_id) for e in events] == [(before + 1, "1"), (before + 2, "2")]
    assert events[1].prev_hash == events[0].hash and verify_chain().ok

    with pytest.raises(ValueError), transaction.atomic(), audit_batch():
        record_event(actor=None, action=BatchAction.ONE, object_type="t", object_id="3")
        raise ValueError("the command failed")
    assert AuditChainHead.objects.get().seq == before + 2

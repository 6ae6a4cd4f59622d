"""The hash-chained audit record: it verifies, and tampering is found at the right link."""

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from core.audit import AuditAction, record_event, verify_chain
from core.models import AuditEvent


class ChainTestAction(AuditAction):
    EVENT = "test.event"


def write_events(n, actor=None):
    with transaction.atomic():
        for i in range(n):
            record_event(actor=actor, action=ChainTestAction.EVENT, object_type="test",
                         object_id=str(i), after={"i": i, "amount_sats": 10**i})


def tamper(sql, params):
    """Bypass the append-only trigger the way only a database superuser could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER USER")


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
    tamper("UPDATE core_auditevent SET after = %s WHERE seq = 4", ['{"i": 3, "amount_sats": 1}'])
    result = verify_chain()
    assert not result.ok
    assert result.broken_seq == 4
    assert "edited" in result.problem
    assert result.checked == 3


@pytest.mark.django_db
def test_deleted_event_is_found_at_its_link():
    write_events(6)
    tamper("DELETE FROM core_auditevent WHERE seq = 3", [])
    result = verify_chain()
    assert not result.ok
    assert result.broken_seq == 3
    assert "missing" in result.problem


@pytest.mark.django_db
def test_deleted_last_event_is_found_by_the_head():
    write_events(4)
    tamper("DELETE FROM core_auditevent WHERE seq = 4", [])
    result = verify_chain()
    assert not result.ok and result.broken_seq == 4


@pytest.mark.django_db
def test_rehashed_edit_breaks_the_next_link():
    """An attacker who edits an event and recomputes its hash still breaks the next link."""
    from core.audit import canonical_event, chain_hash

    write_events(5)
    event = AuditEvent.objects.get(seq=2)
    forged = chain_hash(event.prev_hash, canonical_event(
        seq=2, created_at=event.created_at, actor_id=None, actor_username="",
        action="test.event", object_type="test", object_id="1", before=None,
        after={"i": 1, "amount_sats": 0}, reason=""))
    tamper("UPDATE core_auditevent SET after = %s, hash = %s WHERE seq = 2",
           ['{"i": 1, "amount_sats": 0}', forged])
    result = verify_chain()
    assert not result.ok and result.broken_seq == 3


@pytest.mark.django_db
def test_verify_command_names_the_broken_link(capsys):
    write_events(3)
    call_command("verify_audit_chain")
    assert "OK" in capsys.readouterr().out
    tamper("UPDATE core_auditevent SET reason = 'x' WHERE seq = 2", [])
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_audit_chain")
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

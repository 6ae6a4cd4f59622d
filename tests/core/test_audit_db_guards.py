"""The database itself guards the audit record (DESIGN §6): the application's role owns
nothing and cannot TRUNCATE, ALTER, UPDATE or DELETE it; the owner cannot TRUNCATE it; the
chain head only moves forward. PostgreSQL only: these are properties of the server."""

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from core.audit import CoreAction, record_event, verify_chain
from core.models import AuditChainHead, AuditEvent


def write_events(n):
    with transaction.atomic():
        for i in range(n):
            record_event(actor=None, action=CoreAction.ADMIN_OTHER, object_type="test",
                         object_id=str(i), after={"i": i})


def refused(sql, match):
    """Run sql in a savepoint and expect the server to refuse it."""
    with pytest.raises(DatabaseError, match=match):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)


def role_names():
    """Roles are cluster-wide and other checkouts test against the same server: name them
    after this run's database."""
    base = connection.settings_dict["NAME"][:40]
    return f"{base}_owner", f"{base}_app"


@pytest.mark.django_db
def test_the_owner_cannot_truncate_the_record(postgresql):
    write_events(2)
    owner = role_names()[0] + "_t"
    with connection.cursor() as cursor:  # all of it rolled back with the test's transaction
        cursor.execute(f'CREATE ROLE "{owner}"')
        cursor.execute(f'ALTER TABLE core_auditevent OWNER TO "{owner}"')
        cursor.execute(f'ALTER TABLE core_auditchainhead OWNER TO "{owner}"')
        cursor.execute(f'SET LOCAL ROLE "{owner}"')
    for table in ("core_auditevent", "core_auditchainhead"):
        refused(f"TRUNCATE {table} CASCADE", "append-only: TRUNCATE refused")
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    assert AuditEvent.objects.count() == 2 and verify_chain().ok


@pytest.mark.django_db
def test_a_superuser_may_truncate_so_checkpoints_must_catch_it(postgresql):
    """The trigger lets a superuser through (one can drop it anyway, and the test runner
    flushes with TRUNCATE): what a superuser wipes, an auditor's checkpoint catches
    (test_audit_bundle.py)."""
    write_events(2)
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone()[0], "the test database user is a superuser here"
        cursor.execute("TRUNCATE core_auditevent")
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("sql", [
    "UPDATE core_auditchainhead SET seq = seq - 1",
    "UPDATE core_auditchainhead SET seq = 0, hash = repeat('0', 64)",
    "UPDATE core_auditchainhead SET seq = seq + 1",
    "UPDATE core_auditchainhead SET hash = repeat('a', 64)",
    "DELETE FROM core_auditchainhead",
])
def test_the_head_only_moves_forward_to_an_existing_event(postgresql, sql):
    write_events(3)
    head = AuditChainHead.objects.get()
    refused(sql, "head")
    assert AuditChainHead.objects.get().seq == head.seq
    write_events(1)  # record_event still moves it
    assert AuditChainHead.objects.get().seq == head.seq + 1 and verify_chain().ok


@pytest.fixture
def db_roles(transactional_db, postgresql, tmp_path):
    """The owner and app roles created by the command from the URLs migrate and the
    application would connect with; the tables handed to the owner. Dropped afterwards."""
    owner, app = role_names()
    (tmp_path / "owner_url").write_text(f"postgres://{owner}:owner%20pw@db:5432/qazyna\n")
    (tmp_path / "app_url").write_text(f"postgres://{app}:app-pw@db:5432/qazyna\n")
    call_command("create_db_roles", owner_url_file=str(tmp_path / "owner_url"),
                 app_url_file=str(tmp_path / "app_url"), adopt=True, verbosity=0)
    yield owner, app
    with connection.cursor() as cursor:
        cursor.execute(f'REASSIGN OWNED BY "{owner}" TO current_user')
        cursor.execute(f'DROP OWNED BY "{owner}"')  # one role at a time: PostgreSQL trips
        cursor.execute(f'DROP OWNED BY "{app}"')    # over a default ACL dropped twice
        cursor.execute(f'DROP ROLE "{owner}", "{app}"')


class connected_as:
    """The default connection, reconnected as another role for the duration."""

    def __init__(self, role):
        self.role = role

    def __enter__(self):
        self.user = connection.settings_dict["USER"]
        connection.close()
        connection.settings_dict["USER"] = self.role

    def __exit__(self, *exc):
        connection.close()
        connection.settings_dict["USER"] = self.user


def test_the_app_role_appends_but_cannot_truncate_alter_update_or_delete(db_roles):
    owner, app = db_roles
    write_events(2)
    with connected_as(app):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == app
            cursor.execute("SELECT count(*) FROM pg_class WHERE relowner = %s::regrole", [app])
            assert cursor.fetchone()[0] == 0, "the app role owns nothing"
        for sql in ("TRUNCATE core_auditevent", "TRUNCATE core_auditchainhead",
                    "ALTER TABLE core_auditevent DISABLE TRIGGER USER",
                    "ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_append_only",
                    "ALTER TABLE core_auditchainhead DISABLE TRIGGER USER",
                    "UPDATE core_auditevent SET reason = 'edited' WHERE seq = 1",
                    "DELETE FROM core_auditevent WHERE seq = 2",
                    "DELETE FROM core_auditchainhead",
                    "UPDATE core_auditverification SET ok = true",
                    "DELETE FROM core_auditverification",
                    "CREATE TABLE core_sneaky (id int)"):
            refused(sql, "permission denied|must be owner|append-only")
        write_events(3)  # INSERT through record_event works, and so does the head's UPDATE
        assert AuditEvent.objects.count() == 5
        assert verify_chain().ok
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'core_auditevent'")
        assert cursor.fetchone()[0] == owner


def test_print_sql_shows_the_grants_without_running_them(capsys):
    call_command("create_db_roles", owner="o_role", app="a_role", print_sql=True)
    out = capsys.readouterr().out
    assert ('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "public" '
            'TO "a_role"') in out
    assert 'ALTER DEFAULT PRIVILEGES FOR ROLE "o_role"' in out
    assert "REVOKE UPDATE, DELETE, TRUNCATE ON \"public\".core_auditevent FROM \"a_role\"" in out
    assert "PASSWORD" not in out

"""The audit record refuses TRUNCATE, and its head only moves forward (DESIGN §6).

- A statement-level BEFORE TRUNCATE trigger on core_auditevent and core_auditchainhead. It
  lets a superuser through: a superuser can drop the trigger anyway, and the test runner
  flushes every table with TRUNCATE as one. Everyone else is refused, the tables' owner
  included. (The application's role has no TRUNCATE privilege in the first place; see
  `manage.py create_db_roles`.)
- core_auditchainhead may only move forward, to an event that exists with that hash, and
  may not be deleted. "Reset the head row" no longer hides a wiped tail from verification.
- Nobody but the owner keeps UPDATE, DELETE or TRUNCATE on the audit tables (privileges
  are checked before triggers: "permission denied" before "append-only"). The head keeps
  UPDATE for the roles that append (it is how appends are ordered), not DELETE.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION qazyna_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql SET search_path = pg_catalog;

CREATE OR REPLACE FUNCTION qazyna_audit_no_truncate() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND rolsuper) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql SET search_path = pg_catalog;

CREATE OR REPLACE FUNCTION qazyna_audit_head_forward() RETURNS trigger AS $$
DECLARE
    event_exists boolean;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the audit chain head is never deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.core_auditevent WHERE seq = $1 AND hash = $2)',
                   TG_TABLE_SCHEMA)
        INTO event_exists USING NEW.seq, NEW.hash;
    IF NEW.id <> OLD.id OR NEW.seq <= OLD.seq OR NOT event_exists THEN
        RAISE EXCEPTION 'the audit chain head only moves forward to an existing event '
                        '(#% to #% refused)', OLD.seq, NEW.seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql SET search_path = pg_catalog;

DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent;
CREATE TRIGGER core_auditevent_no_truncate
    BEFORE TRUNCATE ON core_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION qazyna_audit_no_truncate();
DROP TRIGGER IF EXISTS core_auditchainhead_no_truncate ON core_auditchainhead;
CREATE TRIGGER core_auditchainhead_no_truncate
    BEFORE TRUNCATE ON core_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION qazyna_audit_no_truncate();
DROP TRIGGER IF EXISTS core_auditchainhead_forward_only ON core_auditchainhead;
CREATE TRIGGER core_auditchainhead_forward_only
    BEFORE UPDATE OR DELETE ON core_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION qazyna_audit_head_forward();
"""

# Revoke from every grantee but the owner (and from PUBLIC): whatever role the application
# runs as, and whatever default privileges gave it, it cannot edit or empty the record.
REVOKE = """
DO $$
DECLARE
    tbl text;
    privs text;
    grantee_name text;
BEGIN
    FOR tbl, privs IN VALUES ('core_auditevent', 'UPDATE, DELETE, TRUNCATE'),
                             ('core_auditchainhead', 'DELETE, TRUNCATE')
    LOOP
        EXECUTE format('REVOKE %s ON %I FROM PUBLIC', privs, tbl);
        FOR grantee_name IN
            SELECT DISTINCT a.grantee::regrole::text
            FROM pg_class c, aclexplode(c.relacl) a
            WHERE c.oid = tbl::regclass AND a.grantee <> 0 AND a.grantee <> c.relowner
        LOOP
            EXECUTE format('REVOKE %s ON %I FROM %s', privs, tbl, grantee_name);
        END LOOP;
    END LOOP;
END;
$$;
"""

DROP = """
DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent;
DROP TRIGGER IF EXISTS core_auditchainhead_no_truncate ON core_auditchainhead;
DROP TRIGGER IF EXISTS core_auditchainhead_forward_only ON core_auditchainhead;
DROP FUNCTION IF EXISTS qazyna_audit_no_truncate();
DROP FUNCTION IF EXISTS qazyna_audit_head_forward();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(CREATE)
            cursor.execute(REVOKE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("core", "0005_idempotency_in_flight")]

    operations = [migrations.RunPython(forwards, backwards)]

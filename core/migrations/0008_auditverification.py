"""The verifier's results (AuditVerification), append-only like the record they vouch for:
on PostgreSQL UPDATE, DELETE and TRUNCATE are refused by triggers (the functions of 0006)
and no role but the owner keeps those privileges."""

from django.db import migrations, models

GUARD = """
CREATE TRIGGER core_auditverification_append_only
    BEFORE UPDATE OR DELETE ON core_auditverification
    FOR EACH ROW EXECUTE FUNCTION qazyna_audit_append_only();
CREATE TRIGGER core_auditverification_no_truncate
    BEFORE TRUNCATE ON core_auditverification
    FOR EACH STATEMENT EXECUTE FUNCTION qazyna_audit_no_truncate();
DO $$
DECLARE grantee_name text;
BEGIN
    REVOKE UPDATE, DELETE, TRUNCATE ON core_auditverification FROM PUBLIC;
    FOR grantee_name IN
        SELECT DISTINCT a.grantee::regrole::text
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.oid = 'core_auditverification'::regclass
          AND a.grantee <> 0 AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON core_auditverification FROM %s',
                       grantee_name);
    END LOOP;
END;
$$;
"""
UNGUARD = """
DROP TRIGGER IF EXISTS core_auditverification_append_only ON core_auditverification;
DROP TRIGGER IF EXISTS core_auditverification_no_truncate ON core_auditverification;
"""


def guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(GUARD)


def unguard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(UNGUARD)


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0007_auditevent_canonical'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditVerification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField()),
                ('finished_at', models.DateTimeField()),
                ('full', models.BooleanField(help_text='From the first event, not from the previous run')),
                ('mode', models.CharField(help_text="stored: hashed the stored canonical text; recompute: rebuilt it from each event's fields", max_length=16)),
                ('start_seq', models.BigIntegerField(help_text='Verified the events after this one')),
                ('events_read', models.BigIntegerField()),
                ('ok', models.BooleanField()),
                ('checked', models.BigIntegerField(help_text='Events known intact, from the first')),
                ('last_hash', models.CharField(help_text='The hash of event #checked', max_length=64)),
                ('broken_seq', models.BigIntegerField(blank=True, null=True)),
                ('problem', models.TextField(blank=True)),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
        migrations.RunPython(guard, unguard),
    ]

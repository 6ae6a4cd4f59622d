"""Store each audit event's canonical text, and on PostgreSQL tie it to the fields.

`canonical` is what was hashed after prev_hash. Existing events get it computed from their
fields exactly as verify_chain computed it until now (so their hashes verify as before, and
an event whose fields were already edited still fails to). Then a CHECK constraint makes
PostgreSQL refuse any row whose canonical text, read as JSON, differs from its fields: the
application can only insert consistent rows, and an owner who wants to edit one must drop
or invalidate the constraint, which verification looks for (core.audit).

The backfill runs with the append-only triggers disabled, inside this migration's
transaction (the owner runs migrations).
"""

import datetime as dt
import json

from django.db import migrations, models

CONSTRAINT = "core_auditevent_canonical_matches"

# The canonical form as of this migration (core.audit.canonical_event), frozen here so that
# the backfill does not change if that module ever does.


def _json_default(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def _canonical(event):
    payload = {
        "seq": event.seq,
        "created_at": event.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=_json_default,
                      ensure_ascii=False)


def backfill(apps, schema_editor):
    AuditEvent = apps.get_model("core", "AuditEvent")
    postgresql = schema_editor.connection.vendor == "postgresql"
    pending = AuditEvent.objects.filter(canonical__isnull=True).order_by("seq")
    if not pending.exists():
        return
    with schema_editor.connection.cursor() as cursor:
        if postgresql:
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")
        batch = []
        for event in pending.iterator(chunk_size=2000):
            batch.append((event.pk, _canonical(event)))
            if len(batch) == 2000:
                _write(cursor, batch, postgresql)
                batch = []
        _write(cursor, batch, postgresql)
        if postgresql:
            cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER USER")


def _write(cursor, batch, postgresql):
    if not batch:
        return
    if postgresql:
        cursor.execute(
            "UPDATE core_auditevent AS e SET canonical = v.canonical "
            "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::text[]) AS canonical) AS v "
            "WHERE e.id = v.id",
            [[pk for pk, _ in batch], [text for _, text in batch]])
    else:
        cursor.executemany("UPDATE core_auditevent SET canonical = %s WHERE id = %s",
                           [(text, pk) for pk, text in batch])


ADD_CONSTRAINT = f"""
ALTER TABLE core_auditevent ADD CONSTRAINT {CONSTRAINT} CHECK (
    canonical::jsonb = jsonb_build_object(
        'action', action,
        'actor_id', actor_id,
        'actor_username', actor_username,
        'after', after,
        'before', before,
        'created_at', to_char(created_at AT TIME ZONE 'UTC',
                              'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
        'object_id', object_id,
        'object_type', object_type,
        'reason', reason,
        'seq', seq
    )
)
"""


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(ADD_CONSTRAINT)


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE core_auditevent DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [("core", "0006_audit_truncate_and_head_guards")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="canonical",
            field=models.TextField(editable=False, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent",
            name="canonical",
            field=models.TextField(editable=False),
        ),
        migrations.RunPython(add_constraint, drop_constraint),
    ]

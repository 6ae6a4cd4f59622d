"""The embedded default on SQLite: the web server and run_watchers write at the same time
(both append to the hash-chained audit record). Two processes writing at once must never see
"database is locked", and the audit chain they build together must verify."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WRITES = 150

WRITER = f"""
import os
import sys
from django.db import OperationalError, transaction
from core.audit import CoreAction, record_event

errors = []
for i in range({WRITES}):
    try:
        with transaction.atomic():
            record_event(actor=None, action=CoreAction.ADMIN_OTHER, object_type="test.writer",
                         object_id=os.environ["WRITER"] + "-" + str(i), after={{"i": i}})
    except OperationalError as exc:
        errors.append(str(exc))
print("errors", len(errors), sorted(set(errors)))
sys.exit(1 if errors else 0)
"""

COUNT = """
from django.db import connection
from core.models import AuditEvent
print(AuditEvent.objects.filter(object_type="test.writer").count())
with connection.cursor() as cursor:
    print(cursor.execute("PRAGMA journal_mode").fetchone()[0])
"""


def _env(data_dir):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL")}
    env.update(QAZYNA_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    return env


def _manage(*args, env, **kwargs):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, **kwargs)


@pytest.mark.slow
def test_two_processes_write_at_once_without_database_is_locked(tmp_path):
    env = _env(tmp_path)
    migrated = _manage("migrate", "--noinput", "-v0", env=env)
    assert migrated.returncode == 0, migrated.stderr
    command = [sys.executable, "manage.py", "shell", "--no-imports", "-c", WRITER]
    writers = [subprocess.Popen(command, cwd=ROOT, env={**env, "WRITER": name},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for name in ("web", "watchers")]
    started = time.monotonic()
    outputs = [w.communicate(timeout=300)[0] for w in writers]
    elapsed = time.monotonic() - started
    for writer, output in zip(writers, outputs, strict=True):
        assert "database is locked" not in output, output
        assert writer.returncode == 0, output
    verified = _manage("verify_audit_chain", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    count = _manage("shell", "--no-imports", "-c", COUNT, env=env)
    assert count.stdout.split() == [str(2 * WRITES), "wal"], count.stderr
    print(f"\n2 × {WRITES} audited writes on SQLite at once: {elapsed:.1f}s")

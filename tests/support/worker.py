"""A REAL Celery worker for tests: a `celery -A config worker` subprocess on Redis, against
the PostgreSQL test database pytest-django created (the fixtures are in
tests/fixtures/worker.py)."""

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]


def redis_url(db):
    """REDIS_URL's server (or the local default), database `db`."""
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))


def database_url(settings_dict):
    user = quote(settings_dict.get("USER") or "")
    password = quote(settings_dict.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


class WorkerProcess:
    """Start, SIGKILL and restart a worker; its log is kept for failure messages."""

    def __init__(self, env):
        self.env = env
        self.proc = None
        self.log_path = Path(tempfile.mkstemp(prefix="qazyna-worker-", suffix=".log")[1])
        self.starts = 0

    def start(self, timeout=40):
        self.starts += 1
        self._log = self.log_path.open("ab")
        self._log.write(f"\n===== start #{self.starts} =====\n".encode())
        self._log.flush()
        offset = self.log_path.stat().st_size
        cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo",
               "-Q", "qazyna", "-n", f"chaintest-{uuid.uuid4().hex[:8]}@%h",
               "--without-gossip", "--without-mingle", "--without-heartbeat",
               "-l", "INFO"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited at start:\n{self.log_tail()}")
            with self.log_path.open("rb") as fh:
                fh.seek(offset)
                if b"ready." in fh.read():
                    return self
            time.sleep(0.2)
        raise RuntimeError(f"celery worker not ready after {timeout}s:\n{self.log_tail()}")

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.alive:
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=20)

    def stop(self):
        if self.alive:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc is not None:
            self._log.close()

    def restart(self):
        self.kill()
        return self.start()

    def log_tail(self, n=60):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


@contextmanager
def sending_to(app, broker_url):
    """This process's Celery app sends its tasks to `broker_url`, never eagerly, until exit."""
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager",
                                      "broker_transport_options")}
    app.conf.update(broker_url=broker_url, task_always_eager=False,
                    broker_transport_options={"visibility_timeout": 8})
    reset_producer_pool(app)
    try:
        yield
    finally:
        app.conf.update(**saved)
        reset_producer_pool(app)


def reset_producer_pool(app):
    # Drop references only: kombu's pools are shared per broker URL and closing them would
    # break the next fixture that uses the same URL.
    app._pool = None
    app.amqp._producer_pool = None

"""The README's run command really brings Qazyna up on a fresh SQLite database with demo data."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_command_serves_demo_data_on_fresh_sqlite(tmp_path):
    readme = (ROOT / "README.md").read_text()
    assert "scripts/run.sh" in readme and "scripts/test.sh" in readme
    port, chain_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL",
                        "DJANGO_SETTINGS_MODULE")}
    env.update(PORT=str(port), DEVCHAIN_PORT=str(chain_port), QAZYNA_DATA_DIR=str(tmp_path))
    log = (tmp_path / "run.log").open("w")
    process = subprocess.Popen(["bash", "scripts/run.sh"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert process.poll() is None, (tmp_path / "run.log").read_text()
            try:
                if requests.get(f"{base}/health/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()
            time.sleep(0.5)

        assert (tmp_path / "qazyna.sqlite3").exists()

        def bearer(username):
            """Sign in as a demo person; a code the demo data already used is skipped for the
            next one (each TOTP code is good once; the device takes the steps around now)."""
            from tools.demo_otp import demo_code

            for offset in (1, 0, -1):
                reply = requests.post(f"{base}/api/auth/token/", timeout=10, json={
                    "username": username, "password": "qazyna-demo",
                    "otp": demo_code(username, step_offset=offset)})
                if reply.status_code == 201:
                    return {"Authorization": f"Bearer {reply.json()['token']}"}
                assert "second_factor_invalid" in reply.text, reply.text
                time.sleep(1.1)  # django-otp makes the try after a failure wait
            raise AssertionError(f"no unused demo code for {username}")

        # No HTTP Basic: a password per request is refused; sessions and tokens only.
        basic = requests.get(f"{base}/api/v1/cases/", auth=("clerk", "qazyna-demo"),
                             timeout=10)
        assert basic.status_code in (401, 403)
        cases = requests.get(f"{base}/api/v1/cases/", headers=bearer("clerk"), timeout=10)
        assert cases.status_code == 200
        statuses = {c["status"] for c in cases.json()["results"]}
        assert {"DRAFT", "SUBMITTED", "UNDER_REVIEW", "CONFISCATION_APPROVED",
                "ON_APPEAL"} <= statuses
        # (bank1-3 sign in inside the demo transfer, which the run walks at the same time:
        # one TOTP code is good once.)
        for username in ("legal", "auditor", "admin"):
            me = requests.get(f"{base}/api/v1/me/", headers=bearer(username), timeout=10)
            assert me.status_code == 200, username
            assert me.json()["second_factor"]["given"] is True
        assert requests.get(f"{base}/api/docs/", timeout=10).status_code == 200
        output = (tmp_path / "run.log").read_text()
        assert "DEVELOPMENT CHAIN" in output
        assert "Demo logins" in output
        assert "Funded AFM-2026-0004" in output
        # The run command walks one transfer with the demo signer, proposal to settlement.
        deadline = time.monotonic() + 120
        while "One transfer, proposal to settlement" not in output:
            assert "did not complete" not in output, output
            assert time.monotonic() < deadline, output
            time.sleep(0.5)
            output = (tmp_path / "run.log").read_text()
        auditor = bearer("auditor")
        reserve = requests.get(f"{base}/api/v1/cases/", params={"status": "IN_RESERVE"},
                               headers=auditor, timeout=10).json()
        assert [c["case_number"] for c in reserve["results"]] == ["AFM-2026-0006"]
        proof = requests.get(f"{base}/api/v1/reports/proof-of-reserves/", headers=auditor,
                             timeout=10)
        assert proof.status_code == 200, proof.text
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail("scripts/run.sh did not stop on SIGTERM")

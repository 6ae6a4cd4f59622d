"""What can be checked of the deployment here (no Docker engine on this machine)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-for-tests-only",
    "DJANGO_ALLOWED_HOSTS": "qazyna.example.kz",
    "DATABASE_URL": "postgres://qazyna:dummy@127.0.0.1:5432/qazyna",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/9",
    "BITCOIN_NETWORK": "mainnet",
    "BITCOIN_RPC_URL": "http://node:dummy@127.0.0.1:8332",
}


def manage(*args, env):
    clean = {k: v for k, v in os.environ.items()
             if k not in PRODUCTION_ENV and not k.endswith("_FILE")}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_production_settings_pass_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DATABASE_URL", "BITCOIN_RPC_URL",
                                     "CELERY_BROKER_URL", "DJANGO_ALLOWED_HOSTS"])
def test_production_requires_its_secrets(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_secrets_can_come_from_files(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(PRODUCTION_ENV["DJANGO_SECRET_KEY"] + "\n")
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}
    result = manage("check", "--deploy", "--fail-level", "WARNING",
                    env={**env, "DJANGO_SECRET_KEY_FILE": str(secret)})
    assert result.returncode == 0, result.stderr


def test_production_refuses_sqlite():
    result = manage("check", env={**PRODUCTION_ENV, "DATABASE_URL": "sqlite:///x.db"})
    assert result.returncode != 0 and "PostgreSQL" in result.stderr


def test_compose_file_is_coherent():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "bitcoind", "web", "worker", "beat"} <= set(services)
    for name in ("postgres", "redis", "bitcoind", "web", "worker", "beat"):
        assert "healthcheck" in services[name], name
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)
        for secret in service.get("secrets", []):
            assert secret in compose["secrets"], (name, secret)
    assert "-txindex=1" in services["bitcoind"]["command"]
    assert services["worker"]["command"][:3] == ["celery", "-A", "config"]
    assert (ROOT / services["web"]["build"] / "Dockerfile").exists()


def test_compose_keeps_evidence_on_a_volume_and_shares_rate_limits():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("web", "worker"):
        service = compose["services"][name]
        media = service["environment"]["QAZYNA_MEDIA_ROOT"]
        mounts = dict(v.split(":", 1) for v in service["volumes"])
        assert mounts.get("evidence") == media, name  # a named volume, at the media root
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert "evidence" in compose["volumes"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "collectstatic" in dockerfile and "/app/media" in dockerfile


def test_compose_migrates_as_the_owner_and_runs_the_app_as_a_non_owner():
    """Issue 11 point 9: only the one-shot migrate service holds the owner's URL; the web,
    the worker and beat connect with the application role's URL (which create_db_roles makes
    a non-owner that cannot alter the schema: tests/core/test_audit_db_guards.py), and start
    only after migrate succeeded."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    migrate = services["migrate"]
    assert migrate["environment"]["DATABASE_URL_FILE"] == "/run/secrets/database_owner_url"
    assert migrate["command"][-2:] == ["migrate", "--noinput"]
    for name in ("web", "worker", "beat"):
        service = services[name]
        assert service["environment"]["DATABASE_URL_FILE"] == "/run/secrets/database_url", name
        assert "database_owner_url" not in service.get("secrets", []), name
        assert "database_admin_url" not in service.get("secrets", []), name
        assert service["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"}, name
    roles = services["db-roles"]["command"]
    assert roles[2] == "create_db_roles" and "/run/secrets/database_url" in roles

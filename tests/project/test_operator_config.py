"""Operators' commands read the configuration the server runs with (issue 11, point 9): on
the embedded default, scripts/run.sh writes the chain it started to <data dir>/embedded.env
and `manage.py` in another terminal talks to that chain, whatever its port; the command
names the node for what it is and tells a wrong password from a node that is down."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def node_status(data_dir, **extra_env):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BITCOIN_", "DATABASE_", "DJANGO_", "CELERY_", "REDIS_"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.base", QAZYNA_DATA_DIR=str(data_dir),
               **extra_env)
    done = subprocess.run([sys.executable, "manage.py", "node_status"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def write_embedded_env(data_dir, url):
    (data_dir / "embedded.env").write_text(f"BITCOIN_NETWORK=regtest\nBITCOIN_RPC_URL={url}\n")


def test_an_operator_command_talks_to_the_chain_the_server_was_started_with(chain_node,
                                                                              tmp_path):
    write_embedded_env(tmp_path, chain_node.url)
    code, report = node_status(tmp_path)
    assert code == 0, report
    assert report["tip_height"] == chain_node.rpc("getblockcount")
    assert report["chain"] == "regtest"
    assert "qazyna:" not in report["url"]  # the password is never printed
    if chain_node.kind == "bitcoind":
        assert report["devchain"] is False
        assert report["node"].startswith("Bitcoin node /Satoshi:30.")
    else:
        assert report["devchain"] is True
        assert "development chain" in report["node"]


def test_the_environment_wins_over_the_embedded_file(chain_node, tmp_path):
    write_embedded_env(tmp_path, "http://qazyna:qazyna@127.0.0.1:9")  # nothing listens there
    code, report = node_status(tmp_path, BITCOIN_RPC_URL=chain_node.url)
    assert code == 0, report


def test_a_wrong_password_is_a_configuration_error_and_a_closed_port_is_down(chain_node,
                                                                            tmp_path):
    write_embedded_env(tmp_path, chain_node.url_with(password="not-the-password"))
    code, report = node_status(tmp_path)
    assert (code, report["problem"]) == (2, "misconfigured"), report
    assert "not-the-password" not in json.dumps(report)

    write_embedded_env(tmp_path, "http://qazyna:qazyna@127.0.0.1:9")
    code, report = node_status(tmp_path)
    assert (code, report["problem"]) == (3, "unavailable"), report


import pytest

from tests.support.custody import make_confiscated_case, make_reserve_wallet


@pytest.fixture
def reserve_wallet(admin_user, bank3):
    return make_reserve_wallet(admin=admin_user, approver=bank3)


@pytest.fixture
def case(agency, custody_wallet, legal):
    return make_confiscated_case(agency=agency, custody_wallet=custody_wallet, legal=legal)


@pytest.fixture
def no_chain(monkeypatch):
    """Chain calls replaced: fee estimate 10 sat/vB, broadcasts recorded, watches recorded."""
    from custody import chainio

    calls = {"broadcast": [], "watch": []}

    class Result:
        def __init__(self, txid):
            self.txid, self.accepted, self.already_known = txid, True, False

    def broadcast(raw_hex):
        from embit.transaction import Transaction

        calls["broadcast"].append(raw_hex)
        return Result(Transaction.from_string(raw_hex).txid().hex())

    monkeypatch.setattr(chainio, "fee_rate_sat_vb", lambda: 10)
    monkeypatch.setattr(chainio, "broadcast", broadcast)
    monkeypatch.setattr(chainio, "settlement_paused", lambda: (False, ""))
    monkeypatch.setattr(chainio, "watch_transfer",
                        lambda **kw: calls["watch"].append(kw))
    monkeypatch.setattr(chainio, "custody_utxos", lambda address: pytest.fail(
        "give utxos= explicitly in unit tests"))
    return calls


CUSTODY_REDIS_DB = 12  # not the chain tests' worker's: the two never take each other's tasks


@pytest.fixture(scope="session")
def _custody_worker(django_db_setup, django_db_blocker, devchain_server, node_proxy):
    """A real `celery -A config worker` subprocess with custody's handlers on (the chain
    tests' worker turns them off), on its own Redis database."""
    import os
    from urllib.parse import urlsplit, urlunsplit

    from django.db import connection

    from tests.fixtures.worker import ROOT, WorkerProcess, _database_url, _redis_or_skip

    if connection.vendor != "postgresql":
        pytest.skip("The worker test needs PostgreSQL: run with "
                    "DATABASE_URL=postgres://postgres@127.0.0.1:5432/qazyna")
    with django_db_blocker.unblock():
        database_url = _database_url(connection.settings_dict)
    parts = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    broker = urlunsplit((parts.scheme, parts.netloc, f"/{CUSTODY_REDIS_DB}", "", ""))
    _redis_or_skip(broker).flushdb()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.support.worker_settings",
           "DATABASE_URL": database_url, "CELERY_BROKER_URL": broker, "REDIS_URL": broker,
           "CELERY_TASK_ALWAYS_EAGER": "0", "BITCOIN_RPC_URL": node_proxy.url(),
           "BITCOIN_NETWORK": "regtest", "PYTHONPATH": str(ROOT)}
    worker = WorkerProcess(env).start()
    yield worker
    worker.stop()


@pytest.fixture
def custody_worker(_custody_worker, transactional_db, devchain, settings):
    from config.celery import app
    from tests.fixtures.worker import _redis_or_skip, _reset_producer_pool

    client = _redis_or_skip(_custody_worker.env["CELERY_BROKER_URL"])
    client.flushdb()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager",
                                      "broker_transport_options")}
    app.conf.update(broker_url=_custody_worker.env["CELERY_BROKER_URL"],
                    task_always_eager=False, broker_transport_options={"visibility_timeout": 8})
    _reset_producer_pool(app)
    if not _custody_worker.alive:
        _custody_worker.start()
    yield _custody_worker
    client.flushdb()
    app.conf.update(**saved)
    _reset_producer_pool(app)


@pytest.fixture
def eager_celery(settings):
    """Tasks run in the test process. The Celery app read its configuration once, so the
    setting alone would not do it when a broker is configured."""
    from config.celery import app

    saved = app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved

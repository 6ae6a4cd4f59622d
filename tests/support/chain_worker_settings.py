"""Settings for the Celery worker the chain tests start (celery_worker_process): the worker
settings with no chain handlers, because the worker tests watch made-up transfers."""

from tests.support.worker_settings import *  # noqa: F403

CHAIN_TX_HANDLERS = {}

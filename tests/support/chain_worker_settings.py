"""Settings for the Celery worker the chain tests start: the base settings with short
leases and timeouts, so a killed worker's task comes back within seconds."""

from config.settings.base import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 8}
CHAIN_CLAIM_LEASE_SECONDS = 4
CHAIN_RECHECK_SECONDS = 1
BITCOIN_RPC_TIMEOUT = 2
CHAIN_TX_HANDLERS = {}  # the worker tests watch made-up transfers

"""Settings for the Celery worker the custody end-to-end test starts: the base settings (so
custody's chain handlers are on) with short leases and timeouts."""

from config.settings.base import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 8}
CHAIN_CLAIM_LEASE_SECONDS = 4
CHAIN_RECHECK_SECONDS = 1
BITCOIN_RPC_TIMEOUT = 2

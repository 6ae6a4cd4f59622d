"""Settings for the Celery worker the custody end-to-end test starts (custody_worker): the
test settings (so custody's chain handlers are on) with the broker the fixture gives it and
short leases and timeouts, so a killed worker's task comes back within seconds."""

from config.settings.test import *  # noqa: F403
from config.settings.test import env

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")  # required: the fixture's Redis database
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 8}
CHAIN_CLAIM_LEASE_SECONDS = 4
CHAIN_RECHECK_SECONDS = 1
BITCOIN_RPC_TIMEOUT = 2

# A worker that sends mail writes it to files the test reads (tests/intake/test_worker_alerts).
if env.str("QAZYNA_TEST_MAIL_DIR", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env.str("QAZYNA_TEST_MAIL_DIR")

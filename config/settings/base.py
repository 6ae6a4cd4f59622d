"""Qazyna settings: one base, read from the environment (django-environ).

The embedded default needs nothing installed: SQLite, the development chain on
127.0.0.1:18443, and Celery tasks run in-process. Setting DATABASE_URL,
CELERY_BROKER_URL / REDIS_URL and BITCOIN_RPC_URL switches to the real parts.
Production (config.settings.production) only hardens this file.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None
# The embedded default (scripts/run.sh) writes the chain it started (its port may be set) to
# <data dir>/embedded.env, so that an operator's command in another terminal reads the same
# configuration as the server. Only under these base settings: tests and production never.
EMBEDDED_ENV_FILE = Path(env.str("QAZYNA_DATA_DIR", default=str(BASE_DIR / "var"))) / "embedded.env"
if env.str("DJANGO_SETTINGS_MODULE", default="") == "config.settings.base" and \
        EMBEDDED_ENV_FILE.exists():
    environ.Env.read_env(EMBEDDED_ENV_FILE, overwrite=False)


def env_secret(name, default=environ.Env.NOTSET):
    """A secret from NAME, or from the file named by NAME_FILE (container secrets)."""
    file_var = f"{name}_FILE"
    if file_var in env.ENVIRON:
        return Path(env.ENVIRON[file_var]).read_text().strip()
    return env.str(name, default=default)


DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env_secret("DJANGO_SECRET_KEY",
                        default="dev-only-insecure-key-do-not-use-in-production")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS",
                         default=["localhost", "127.0.0.1", "[::1]", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "core",
    "chain",
    "intake",
    "custody",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "core.middleware.OfficerIdleTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout into its response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out account or address first
    "django.contrib.auth.backends.ModelBackend",
]
# Lockout after repeated failures, per account and per address (django-axes); failures are
# kept in axes' own tables, not the audit chain (no audit-head lock per failed password).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_CALLABLE = "core.api.exceptions.lockout_response"
# Sessions: a hard maximum for everyone, and an idle timeout for the people who decide.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
OFFICER_IDLE_SECONDS = env.int("OFFICER_IDLE_SECONDS", default=15 * 60)
API_TOKEN_HOURS = env.int("API_TOKEN_HOURS", default=12)
# Wrong second-factor codes before decisions lock, and for how long (counted in the cache).
SECOND_FACTOR_FAILURE_LIMIT = env.int("SECOND_FACTOR_FAILURE_LIMIT", default=5)
SECOND_FACTOR_LOCK_SECONDS = env.int("SECOND_FACTOR_LOCK_SECONDS", default=15 * 60)
# A backup code given with a refused decision stays spent (core.second_factor.step_up).
SECOND_FACTOR_USED_BACKUP_CODE_SECONDS = env.int("SECOND_FACTOR_USED_BACKUP_CODE_SECONDS",
                                                 default=90 * 24 * 3600)

OTP_TOTP_ISSUER = "Qazyna"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.web.context.layout",
            ],
            "libraries": {"qazyna": "core.web.templatetags.qazyna"},
        },
    },
]

DATA_DIR = Path(env.str("QAZYNA_DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'qazyna.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections (production sets 60 by default): a new PostgreSQL connection
# per request costs a backend process and its authentication.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default: the web server and run_watchers write at the same time.
    # - IMMEDIATE: a transaction takes the write lock when it begins. SQLite's default
    #   (DEFERRED) starts as a reader and fails at once with "database is locked" when it
    #   must become a writer while another process writes: the busy timeout cannot help.
    # - WAL: readers never block the writer, nor the writer the readers.
    # - timeout: how long a writer waits for the other one (sqlite3's busy timeout).
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL",
        "timeout": 20,
    })

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский"), ("kk", "Қазақша")]
TIME_ZONE = "Asia/Almaty"
USE_I18N = True
USE_TZ = True
# One catalogue per language for the whole project (compiled .mo files are committed).
LOCALE_PATHS = [BASE_DIR / "locale"]
# Django has no Kazakh formats module: dates and numbers for kk come from core.web.formats.
FORMAT_MODULE_PATH = ["core.web.formats"]

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("QAZYNA_MEDIA_ROOT", default=str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGIN_URL = "web:sign-in"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:sign-in"

# --- REST API ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # The token first: a refused token answers 401 with WWW-Authenticate: Bearer.
        "core.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "core.api.throttles.WriteThrottle",
        "rest_framework.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "writes": env.str("THROTTLE_WRITES", default="120/min"),
        "login": env.str("THROTTLE_LOGIN", default="10/min"),
        "export": env.str("THROTTLE_EXPORT", default="12/min"),
        "verify": env.str("THROTTLE_VERIFY", default="12/min"),
    },
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.DefaultPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.QazynaAutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Qazyna API",
    "DESCRIPTION": "System of record of the State Digital Asset Fund: seizure intake, "
    "legal review, custody transfers and the reserve ledger.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc served by Qazyna itself (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No call to validator.swagger.io from the docs page.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "intake.models.CaseStatus",
        "VerificationStatusEnum": "intake.models.VerificationStatus",
        "TransferKindEnum": "custody.models.TransferKind",
        "ReleaseOrderKindEnum": "custody.models.ReleaseOrder.Kind",
        "AssetHandoverKindEnum": "custody.models.AssetHandover.Kind",
        "DispositionEnum": "intake.models.Disposition",
        "EvidenceKindEnum": "intake.models.Evidence.Kind",
        "AlertKindEnum": "intake.models.CaseAlert.Kind",
    },
}

# --- Celery ------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# The cache holds rate-limit counters: shared across web processes through Redis when there
# is one, per process otherwise (the embedded default).
CACHES = {"default": (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"})}
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
# Without a broker (the embedded default) tasks run in-process; with one they go to workers.
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL.startswith("memory://")
)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
# Redis redelivers an unacked task after the visibility timeout: keep it above the longest task.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT * 4}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="qazyna")
CHAIN_POLL_SECONDS = env.int("CHAIN_POLL_SECONDS", default=5)
CHAIN_SWEEP_SECONDS = env.int("CHAIN_SWEEP_SECONDS", default=15)
CELERY_BEAT_SCHEDULE = {
    # One pass over new blocks and the mempool for everything watched.
    "chain-poll": {"task": "chain.poll_chain", "schedule": float(CHAIN_POLL_SECONDS),
                   "options": {"expires": CHAIN_POLL_SECONDS * 2.0}},
    # Re-drive whatever is due (lost tasks, rechecks); claims make duplicates harmless.
    "chain-sweep-due": {"task": "chain.sweep_due", "schedule": float(CHAIN_SWEEP_SECONDS),
                        "options": {"expires": CHAIN_SWEEP_SECONDS * 2.0}},
    "intake-sweep-due-assets": {"task": "intake.sweep_due_assets",
                                "schedule": float(CHAIN_SWEEP_SECONDS),
                                "options": {"expires": CHAIN_SWEEP_SECONDS * 2.0}},
    "custody-redrive-transfers": {"task": "custody.tasks.redrive_transfers_task",
                                  "schedule": 20.0, "options": {"expires": 40.0}},
    "custody-reconcile-reserves": {"task": "custody.tasks.reconcile_reserves_task",
                                   "schedule": float(env.int("RECONCILE_SECONDS", default=3600)),
                                   "options": {"expires": 1800.0}},
    # The audit chain, from the last verified point; and all of it once a day. The API only
    # ever shows the latest stored result (core.audit.verification_report).
    "audit-verify-incremental": {"task": "core.verify_audit_chain",
                                 "schedule": float(env.int("AUDIT_VERIFY_SECONDS", default=300)),
                                 "options": {"expires": 240.0}},
    # Milestones (seizure, confiscation) valued from the price in force when they happened.
    "custody-value-milestones": {"task": "custody.tasks.value_milestones_task",
                                 "schedule": float(env.int("VALUATION_SECONDS", default=60)),
                                 "options": {"expires": 120.0}},
    # Alerts: escalate those nobody acknowledged in time; re-drive deliveries not yet sent.
    "intake-alerts-due": {"task": "intake.alerts_due",
                          "schedule": float(env.int("ALERT_DUE_SECONDS", default=30)),
                          "options": {"expires": 60.0}},
    "audit-verify-full": {"task": "core.verify_audit_chain", "kwargs": {"full": True},
                          "schedule": float(env.int("AUDIT_FULL_VERIFY_SECONDS",
                                                    default=24 * 3600)),
                          "options": {"expires": 3600.0}},
}

# --- Bitcoin ------------------------------------------------------------------
BITCOIN_NETWORK = env.str("BITCOIN_NETWORK", default="regtest")
BITCOIN_RPC_URL = env_secret("BITCOIN_RPC_URL", default="http://qazyna:qazyna@127.0.0.1:18443")
BITCOIN_RPC_TIMEOUT = env.int("BITCOIN_RPC_TIMEOUT", default=10)
# The calls that walk the chain or the UTXO set (scantxoutset for reconciliation, a watch
# wallet import's rescan) wait this long instead; the node keeps going if we stop waiting.
BITCOIN_RPC_SCAN_TIMEOUT = env.int("BITCOIN_RPC_SCAN_TIMEOUT", default=300)
# The node's watch-only descriptor wallet that knows every address Qazyna watches (created
# on first use), and the earliest unix time coins could have reached one of them: an address
# imported late (not registered when it was derived) is rescanned from there.
BITCOIN_WATCH_WALLET = env.str("BITCOIN_WATCH_WALLET", default="qazyna-watch")
BITCOIN_WATCH_RESCAN_FROM = env.int("BITCOIN_WATCH_RESCAN_FROM", default=0)
# Confirmations before a transfer is settled / a sweep is verified, per network.
SETTLEMENT_CONFIRMATIONS = {
    "mainnet": env.int("SETTLEMENT_CONFIRMATIONS_MAINNET", default=6),
    "testnet": env.int("SETTLEMENT_CONFIRMATIONS_TESTNET", default=6),
    "signet": env.int("SETTLEMENT_CONFIRMATIONS_SIGNET", default=6),
    "regtest": env.int("SETTLEMENT_CONFIRMATIONS_REGTEST", default=6),
}
INTAKE_CONFIRMATIONS = env.int("INTAKE_CONFIRMATIONS", default=1)
# A sweep the clerk recorded that the node has never heard of (not in a block, not in the
# mempool) counts as "not broadcast yet" for this long after it was recorded; after that it
# is a discrepancy on the asset ("unknown sweep"). A sweep that was seen and then replaced,
# double-spent or left only in a stale block is a discrepancy at once, whatever this says.
INTAKE_UNKNOWN_SWEEP_GRACE_SECONDS = env.int("INTAKE_UNKNOWN_SWEEP_GRACE_SECONDS",
                                             default=3600)
# Fee policy in sat/vB: the node's estimate, or this fallback, never above the ceiling.
FALLBACK_FEE_RATE_SAT_VB = env.int("FALLBACK_FEE_RATE_SAT_VB", default=10)
MAX_FEE_RATE_SAT_VB = env.int("MAX_FEE_RATE_SAT_VB", default=500)
# Circuit breaker: tip older than this, or a reorg deeper than this, pauses settlement.
CHAIN_STALE_TIP_SECONDS = env.int("CHAIN_STALE_TIP_SECONDS", default=3 * 3600)
CHAIN_MAX_REORG_DEPTH = env.int("CHAIN_MAX_REORG_DEPTH", default=3)
DEVCHAIN_ALLOWED = env.bool("DEVCHAIN_ALLOWED", default=True)
# The chain adapters, per chain (chain.chains): assets on a chain with none are recorded and
# handed to the fund's custodian with a receipt; Bitcoin's is the bitcoinlib adapter.
CHAIN_ADAPTERS = {
    "bitcoin": {"adapter": "chain.adapter.get_adapter", "network_setting": "BITCOIN_NETWORK"},
}

# --- Alerts reach people (intake.services.alerts, intake.notify) -------------------------
# Email through Django's mail settings: EMAIL_URL (smtp://user:pass@host:587, smtps://…;
# consolemail:// by default prints them), and the sender.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
if "EMAIL_HOST_PASSWORD_FILE" in env.ENVIRON:
    EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="qazyna@localhost")
# Links in messages point here (the pages people work in).
QAZYNA_BASE_URL = env.str("QAZYNA_BASE_URL", default="http://127.0.0.1:8000")
# The bank's monitoring: each alert and escalation POSTed as JSON, signed with
# HMAC-SHA256 over the body (X-Qazyna-Signature: sha256=<hex>) with this secret.
ALERT_WEBHOOK_URL = env.str("ALERT_WEBHOOK_URL", default="")
ALERT_WEBHOOK_SECRET = env_secret("ALERT_WEBHOOK_SECRET", default="")
ALERT_WEBHOOK_TIMEOUT = env.int("ALERT_WEBHOOK_TIMEOUT", default=10)
# Who is told, level by level, when nobody acknowledges within ALERT_ESCALATE_AFTER_SECONDS:
# on a case still with its agency (intake states), then on the reserve side (approved cases
# onward, and alerts without a case). A clerk is told only of their own agency's cases.
ALERT_ESCALATE_AFTER_SECONDS = env.int("ALERT_ESCALATE_AFTER_SECONDS", default=30 * 60)
ALERT_ESCALATION_ROLES = {
    "agency": env.list("ALERT_ESCALATION_AGENCY", default=["clerk", "legal_officer", "admin"]),
    "reserve": env.list("ALERT_ESCALATION_RESERVE", default=["bank_officer", "admin"]),
}
# Delivery retries: backoff doubles from ALERT_RETRY_SECONDS up to ALERT_RETRY_MAX_SECONDS.
ALERT_DELIVERY_MAX_ATTEMPTS = env.int("ALERT_DELIVERY_MAX_ATTEMPTS", default=8)
ALERT_RETRY_SECONDS = env.int("ALERT_RETRY_SECONDS", default=30)
ALERT_RETRY_MAX_SECONDS = env.int("ALERT_RETRY_MAX_SECONDS", default=3600)

# --- Evidence -----------------------------------------------------------------
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=25 * 1024 * 1024)
EVIDENCE_ALLOWED_TYPES = env.list(
    "EVIDENCE_ALLOWED_TYPES",
    default=["application/pdf", "image/jpeg", "image/png", "text/plain", "application/json"],
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Audit record ---------------------------------------------------------------------------
# Checkpoints (manage.py audit_checkpoint) and bundles are signed with this Ed25519 private
# key (PEM, or its 32-byte seed in hex) when it is set; auditors pin the public key
# (manage.py audit_checkpoint --public-key). Never a Bitcoin key.
AUDIT_CHECKPOINT_KEY = env_secret("AUDIT_CHECKPOINT_KEY", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "bitcoinlib": {"level": "WARNING"},
        # In-process (eager) tasks would log every success at INFO.
        "celery.app.trace": {"level": env.str("CELERY_TRACE_LOG_LEVEL", default="WARNING")},
    },
}

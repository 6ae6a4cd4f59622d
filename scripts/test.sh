#!/usr/bin/env bash
# The whole test suite, on the machine's PostgreSQL and Redis with a real Celery worker and
# the development chain over HTTP. Extra arguments go to pytest (e.g. scripts/test.sh -k audit).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/services.sh
scripts/system_packages.sh
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/qazyna}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
# Celery reads CELERY_BROKER_URL from the environment before any setting: leave it to the
# worker fixtures, which give the test worker its own Redis database.
unset CELERY_BROKER_URL
exec .venv/bin/pytest "$@"

# Qazyna web, worker and beat image (production shape; see docker-compose.yml).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production
# Pango and DejaVu fonts for the PDF reports (WeasyPrint; Kazakh and Russian letters).
RUN apt-get update && apt-get install -y --no-install-recommends build-essential libgmp-dev curl \
    libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# The pages' static files (our stylesheet, htmx, the API docs' Swagger UI and Redoc) are
# collected at build time for WhiteNoise. The values only let the production settings load:
# collectstatic connects to nothing.
RUN DJANGO_SECRET_KEY=collectstatic-at-build-not-a-secret DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build@localhost:5432/build CELERY_BROKER_URL=redis://localhost:6379/0 \
    BITCOIN_NETWORK=mainnet BITCOIN_RPC_URL=http://build@localhost:8332 \
    python manage.py collectstatic --noinput -v0
RUN useradd --system --uid 10001 qazyna && mkdir -p /app/var /app/media \
    && chown qazyna /app/var /app/media
USER qazyna
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-"]

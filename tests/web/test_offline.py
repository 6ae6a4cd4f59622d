"""Qazyna works with no internet: no page points a browser outside the server (no CDN, no
web font, no validator badge), the API docs are served from our own static files, and the
static files are collectable the way production serves them."""

import re

import pytest
from django.core.management import call_command
from django.test import override_settings

from intake import services

pytestmark = pytest.mark.django_db

ATTRIBUTE = re.compile(
    r"""\b(?:src|href|action|srcset|poster|data|formaction)\s*=\s*["']([^"']*)["']""",
    re.IGNORECASE)
CSS_URL = re.compile(r"""(?:url\(\s*["']?|@import\s+["'])([^"')]+)""", re.IGNORECASE)


def external_references(html, host="testserver"):
    found = []
    for value in ATTRIBUTE.findall(html) + CSS_URL.findall(html):
        value = value.strip()
        if value.startswith("//"):
            value = "http:" + value
        if re.match(r"https?://", value, re.IGNORECASE) and not re.match(
                rf"https?://{re.escape(host)}(?::\d+)?(/|$)", value, re.IGNORECASE):
            found.append(value)
    return found


def test_the_scanner_finds_what_it_is_meant_to_find():
    html = ('<link href="https://cdn.example/x.css"><script src="//cdn.example/x.js"></script>'
            '<a href="http://testserver/ok">x</a><style>@import "https://fonts.example/a";'
            '</style><img src="/static/ok.png">')
    assert external_references(html) == ["https://cdn.example/x.css", "http://cdn.example/x.js",
                                         "https://fonts.example/a"]


@pytest.fixture
def every_page(web, clerk, legal, submitted_case, draft_case, step_up_code):
    """(client, url) for each kind of page the first part of the application has."""
    services.case_start_review(case=submitted_case, actor=legal)
    clerk_client, legal_client = web(clerk), web(legal)
    anonymous = web()
    unverified = web(legal, verified=False)
    s, d = submitted_case.public_id, draft_case.public_id
    return [
        (anonymous, "/sign-in/"),
        (unverified, "/second-factor/"),
        (clerk_client, "/"),
        (clerk_client, "/cases/"),
        (clerk_client, "/cases/new/"),
        (clerk_client, f"/cases/{d}/file/details/"),
        (clerk_client, f"/cases/{d}/file/assets/"),
        (clerk_client, f"/cases/{d}/file/evidence/"),
        (clerk_client, f"/cases/{d}/file/handovers/"),
        (clerk_client, f"/cases/{d}/file/check/"),
        (clerk_client, f"/cases/{s}/"),
        (clerk_client, "/no-such-page/"),
        (legal_client, "/"),
        (legal_client, "/review/"),
        (legal_client, f"/cases/{s}/"),
        (legal_client, f"/cases/{s}/order/"),
        (legal_client, f"/cases/{s}/return/"),
        (legal_client, f"/cases/{s}/reject/"),
        (anonymous, "/api/docs/"),
        (anonymous, "/api/redoc/"),
    ]


def test_no_rendered_page_references_an_external_url(every_page):
    for client, url in every_page:
        response = client.get(url)
        assert response.status_code in (200, 404), (url, response.status_code)
        html = response.content.decode()
        assert external_references(html) == [], url
        assert "cdn." not in html and "googleapis" not in html, url


def test_the_set_up_page_draws_its_qr_code_itself(web, legal):
    html = web(legal, verified=False).get("/second-factor/set-up/").content.decode()
    assert "<svg" in html
    assert external_references(html) == []


def test_api_docs_come_from_our_own_static_files(client):
    swagger = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in swagger
    script = client.get("/api/docs/?script=").content.decode()
    assert "validator.swagger.io" not in script and '"validatorUrl": null' in script
    redoc = client.get("/api/redoc/").content.decode()
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in redoc
    assert "fonts.googleapis.com" not in redoc


def test_static_files_collect_with_the_production_storage(tmp_path):
    storages = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                "staticfiles": {
                    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
    collected = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")}
    for name in ("web/qazyna.css", "web/qazyna.js", "vendor/htmx/htmx.min.js",
                 "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
                 "staticfiles.json"):
        assert name in collected, name
    assert any(re.match(r"web/qazyna\.[0-9a-f]{12}\.css$", n) for n in collected)

"""PDF reports for people (DESIGN §5: "PDF for people, CSV for machines"): a Django template
rendered to HTML, then to PDF by WeasyPrint, in the reader's language.

The text is set in DejaVu (Debian's fonts-dejavu-core, found through fontconfig): it has
every Kazakh and Russian letter (ә ғ қ ң ө ұ ү һ і), so the PDF embeds real glyphs and its
text can be searched and copied. A report fetches nothing: the URL fetcher refuses every
URL but inline data (no network on a bank's machine, and no server-side request forgery
through anything a report quotes); the charts are SVG drawn inline by the server.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)

PDF_CONTENT_TYPE = "application/pdf"


class ReportFetchRefused(ValueError):
    pass


class ReportsUnavailable(RuntimeError):
    """WeasyPrint cannot load here (Pango missing): the machine needs its Debian packages."""


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    if url.startswith("data:"):
        from weasyprint.urls import default_url_fetcher

        return default_url_fetcher(url, *args, **kwargs)
    raise ReportFetchRefused(f"A report fetches nothing: {url[:80]!r}")


def render_html(template_name: str, context: dict[str, Any],
                request: HttpRequest | None = None) -> str:
    context = {"generated_at": timezone.now(), "LANGUAGE_CODE": get_language(), **context}
    return render_to_string(template_name, context, request=request)


def pdf_bytes(template_name: str, context: dict[str, Any],
              request: HttpRequest | None = None) -> bytes:
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: libpango not found by cffi
        raise ReportsUnavailable(str(exc)) from exc

    html = render_html(template_name, context, request)
    return HTML(string=html, url_fetcher=_no_fetching).write_pdf()


def render_pdf(template_name: str, context: dict[str, Any], request: HttpRequest | None = None,
               *, filename: str) -> HttpResponse:
    """The report as a PDF download named filename; a page saying what to install (503)
    when this machine cannot make PDFs."""
    try:
        content = pdf_bytes(template_name, context, request)
    except ReportsUnavailable as exc:
        log.error("PDF reports are unavailable: %s", exc)
        return render(request, "web/error.html", {
            "title": _("PDF reports are not available on this server"),
            "message": _("The server lacks the libraries that make PDF files (Pango and the "
                         "DejaVu fonts). Ask IT to install them; the CSV exports work."),
            "code": "reports_unavailable"}, status=503)
    response = HttpResponse(content, content_type=PDF_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response

"""PDF reports for people (DESIGN §5: "PDF for people, CSV for machines"): a Django template
rendered to HTML, then to PDF by WeasyPrint, in the reader's language.

The text is set in DejaVu (Debian's fonts-dejavu-core, found through fontconfig): it has
every Kazakh and Russian letter (ә ғ қ ң ө ұ ү һ і), so the PDF embeds real glyphs and its
text can be searched and copied. A report fetches nothing: the URL fetcher refuses every
URL but inline data (no network on a bank's machine, and no server-side request forgery
through anything a report quotes); the charts are SVG drawn inline by the server.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language

PDF_CONTENT_TYPE = "application/pdf"


class ReportFetchRefused(ValueError):
    pass


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
    from weasyprint import HTML

    html = render_html(template_name, context, request)
    return HTML(string=html, url_fetcher=_no_fetching).write_pdf()


def render_pdf(template_name: str, context: dict[str, Any], request: HttpRequest | None = None,
               *, filename: str) -> HttpResponse:
    """The report as a PDF download named filename."""
    response = HttpResponse(pdf_bytes(template_name, context, request),
                            content_type=PDF_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response

"""What every auditor page needs: who may read, the page of a list, the CSV file name, the
latest verification of the audit chain as stored (never walked here)."""

from __future__ import annotations

from typing import Any, cast

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core import selectors as core_selectors
from core.audit import verification_report
from core.errors import NotFound
from core.models import User

from ... import selectors

PAGE_SIZE = 25


def person(request: HttpRequest) -> User:
    """The signed-in person (every page passed core.web.auth.person_required)."""
    return cast(User, request.user)


def require_reader(user: Any) -> None:
    """The reserve's records exist only for those custody.selectors lets see them (404,
    as the API answers)."""
    if not selectors.can_see_custody(user):
        raise NotFound("Not found.")


def paged(request: HttpRequest, rows: Any, size: int = PAGE_SIZE) -> dict[str, Any]:
    page = Paginator(rows, size).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {"page_obj": page, "rows": page.object_list,
            "query_without_page": f"{query.urlencode()}&" if query else "",
            "query": query.urlencode()}


def csv_name(what: str) -> str:
    return f"qazyna-{what}-{timezone.now():%Y%m%d-%H%M}.csv"


def page_context(request: HttpRequest) -> dict[str, Any]:
    """The sub-navigation shows the audit record's pages to those who may read it, and the
    latest verification goes with them."""
    if not core_selectors.can_read_audit(request.user):
        return {"audit_reader": False, "report": None}
    report = verification_report()
    return {"audit_reader": True, "report": report,
            "verified_at": parse_datetime(report["verified_at"])
            if report["verified_at"] else None}

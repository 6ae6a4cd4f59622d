"""Pages of a list that cost the same at any depth and at any size of the list.

One function, ``take_page``, for the API (core.api.pagination) and the pages
(web/partials/pagination.html):

- A **cursor** (keyset) page: ``?cursor=`` carries the order key of the row the page starts
  after (or, going back, before); the query is ``WHERE key < boundary ORDER BY key LIMIT n``,
  which an index on the list's order serves at page 1 and at page 40,000 alike.
- **Page numbers** are kept for the lists that are small: when the list has at most
  COUNT_CAP rows, the first page links to ``?page=2`` as before, and ``?page=N`` keeps
  working on any list (it is an OFFSET: fine for small lists, and what old clients send).
- The **count** never scans more than COUNT_CAP + 1 index entries: it is exact up to
  COUNT_CAP, and None ("more than COUNT_CAP") beyond.

The order is the queryset's own (``order_by`` or the model's Meta.ordering), all ascending or
all descending, on the model's own columns; the primary key is appended when it is not the
last key, so the order is total and a cursor names one place.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Q, QuerySet

from core.errors import ErrorCode, NotFound, ValidationFailed

COUNT_CAP = 1000


@dataclass
class Page:
    rows: list[Any]
    count: int | None  # exact when the list has at most COUNT_CAP rows, else None
    next: dict[str, str] | None  # the query parameters of the next page
    previous: dict[str, str] | None
    number: int | None = None  # in page-number mode
    size: int = 0
    count_cap: int = COUNT_CAP
    kind: str = field(default="page")  # "page" or "cursor"

    @property
    def num_pages(self) -> int | None:
        if self.count is None or not self.size:
            return None
        return max(1, -(-self.count // self.size))

    @property
    def next_query(self) -> str:
        return urlencode(self.next) if self.next else ""

    @property
    def previous_query(self) -> str:
        return urlencode(self.previous) if self.previous else ""

    # Django's Page names, so a template written for it still reads this one.
    @property
    def object_list(self) -> list[Any]:
        return self.rows

    def has_next(self) -> bool:
        return self.next is not None

    def has_previous(self) -> bool:
        return self.previous is not None


def order_of(queryset: QuerySet[Any]) -> list[str]:
    """The queryset's order as a total order on the model's columns ("-created_at", "-id")."""
    order = list(queryset.query.order_by or queryset.model._meta.ordering)
    if not order:
        order = ["-pk"]
    descending = {key.startswith("-") for key in order}
    if len(descending) != 1:
        raise ValueError(f"a keyset order goes one way: {order}")
    sign = "-" if descending.pop() else ""
    pk = queryset.model._meta.pk.name
    names = [pk if key.lstrip("-") == "pk" else key.lstrip("-") for key in order]
    for name in names:
        if "__" in name:
            raise ValueError(f"a keyset order is on the model's own columns: {name}")
    unique = {pk} | {f.name for f in queryset.model._meta.fields if f.unique}
    if names[-1] not in unique:
        names.append(pk)
    return [sign + name for name in names]


def _encode(direction: str, values: list[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, dt.datetime | dt.date) else v for v in values]
    raw = json.dumps([direction, plain], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed("cursor: not a cursor this list gave out.",
                            code=ErrorCode.INVALID_FILTER, field="cursor")


def _decode(cursor: str, model: Any, names: list[str]) -> tuple[str, list[Any]]:
    try:
        if len(cursor) > 500:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        direction, values = json.loads(raw)
        if direction not in ("n", "p") or not isinstance(values, list) \
                or len(values) != len(names):
            raise ValueError
        typed = []
        for name, value in zip(names, values, strict=True):
            if not isinstance(value, str | int) or isinstance(value, bool):
                raise ValueError
            typed.append(model._meta.get_field(name).to_python(value))
            if typed[-1] is None:
                raise ValueError
        return direction, typed
    except (ValueError, TypeError, binascii.Error, ValidationError, FieldDoesNotExist,
            UnicodeDecodeError, OverflowError):
        raise _bad_cursor() from None


def _beyond(names: list[str], values: list[Any], *, forward: bool, descending: bool) -> Q:
    """Rows strictly after (forward) or before the boundary in the list's order: the row
    comparison (a, b) < (x, y) spelled so that its first column bounds an index scan."""
    smaller = descending == forward
    op, op_eq = ("lt", "lte") if smaller else ("gt", "gte")
    condition = Q()
    equal: dict[str, Any] = {}
    for name, value in zip(names, values, strict=True):
        condition |= Q(**equal, **{f"{name}__{op}": value})
        equal[name] = value
    return Q(**{f"{names[0]}__{op_eq}": values[0]}) & condition


def capped_count(queryset: QuerySet[Any], cap: int | None = None) -> int | None:
    """The number of rows, when it is at most cap (COUNT_CAP); None when there are more.
    Reads at most cap + 1 rows' keys, never the whole list."""
    cap = COUNT_CAP if cap is None else cap
    n = queryset.order_by().values("pk")[:cap + 1].count()
    return n if n <= cap else None


def _key(row: Any, names: list[str]) -> list[Any]:
    return [getattr(row, name) for name in names]


def take_page(queryset: QuerySet[Any], *, params: Mapping[str, Any], size: int,
              cap: int | None = None) -> Page:
    """One page of queryset by the request's ``cursor`` or ``page`` parameter (neither: the
    first page). A bad cursor is a 400 (invalid_filter); a page number that is not one, or
    past the end, a 404. Two queries whatever the page size: the capped count and the page."""
    cap = COUNT_CAP if cap is None else cap
    order = order_of(queryset)
    descending = order[0].startswith("-")
    names = [key.lstrip("-") for key in order]
    queryset = queryset.order_by(*order)
    count = capped_count(queryset, cap)
    cursor = params.get("cursor")
    page = params.get("page")
    if cursor:
        direction, values = _decode(str(cursor), queryset.model, names)
        forward = direction == "n"
        scope = queryset.filter(_beyond(names, values, forward=forward, descending=descending))
        if not forward:
            scope = scope.reverse()
        rows = list(scope[:size + 1])
        more = len(rows) > size
        rows = rows[:size]
        if not forward:
            rows.reverse()
        has_next, has_previous = (more, True) if forward else (True, more)
        return _cursor_page(rows, count, size, cap, names, has_next, has_previous)
    if page not in (None, ""):
        text = str(page)
        number = int(text) if text.isascii() and text.isdigit() and len(text) < 10 else 0
        if number < 1:
            raise NotFound("Invalid page.")
    else:
        number = 1
    offset = (number - 1) * size
    rows = list(queryset[offset:offset + size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if number > 1 and not rows:
        raise NotFound("Invalid page.")
    if page in (None, "") and count is None:
        # A first page of a long list: continue by cursor, the way that stays fast.
        return _cursor_page(rows, count, size, cap, names, more, False)
    return Page(rows=rows, count=count, size=size, number=number, kind="page", count_cap=cap,
                next={"page": str(number + 1)} if more else None,
                previous={"page": str(number - 1)} if number > 1 else None)


def _cursor_page(rows: list[Any], count: int | None, size: int, cap: int, names: list[str],
                 has_next: bool, has_previous: bool) -> Page:
    return Page(rows=rows, count=count, size=size, kind="cursor", count_cap=cap,
                next={"cursor": _encode("n", _key(rows[-1], names))}
                if rows and has_next else None,
                previous={"cursor": _encode("p", _key(rows[0], names))}
                if rows and has_previous else None)

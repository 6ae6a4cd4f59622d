"""One way to answer with a page: {"count", "next", "previous", "results"}.

The page comes from core.pagination.take_page: ``?cursor=`` (keyset, the same cost at any
depth) or ``?page=`` (page numbers, kept for small lists and old clients). ``count`` is exact
up to core.pagination.COUNT_CAP rows and null beyond; ``next`` and ``previous`` are links to
follow, by page number on a small list and by cursor on a long one.
"""

from typing import Any, cast

from django.conf import settings
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from core.pagination import take_page


class DefaultPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def page_size_of(request: Any) -> int:
    """?page_size= (validated by the endpoint's PageFilterSerializer), cut to the maximum."""
    text = str(request.query_params.get(DefaultPagination.page_size_query_param, ""))
    default = cast(int, settings.REST_FRAMEWORK["PAGE_SIZE"])
    size = int(text) if text.isascii() and text.isdigit() and int(text) > 0 else default
    return min(size, DefaultPagination.max_page_size)


def _link(request: Any, params: dict[str, str] | None) -> str | None:
    if params is None:
        return None
    url = request.build_absolute_uri()
    for name in ("cursor", "page"):
        url = remove_query_param(url, name)
    for name, value in params.items():
        if not (name == "page" and value == "1"):
            url = replace_query_param(url, name, value)
    return url


def paginate(*, request, queryset, serializer_class, view=None):
    """One page of queryset (?cursor=, or ?page=, and ?page_size=) serialized with
    serializer_class, as the Response every paginated list endpoint returns. page_size was
    validated by the endpoint's FilterSerializer (a PageFilterSerializer); a bad cursor is a
    400, a page past the end a 404."""
    page = take_page(queryset, params=request.query_params, size=page_size_of(request))
    data = serializer_class(page.rows, many=True, context={"request": request}).data
    return Response({"count": page.count, "next": _link(request, page.next),
                     "previous": _link(request, page.previous), "results": data})

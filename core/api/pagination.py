"""One way to answer with a page: {"count", "next", "previous", "results"}."""

from typing import Any

from rest_framework.pagination import PageNumberPagination


class DefaultPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def paginate(*, request, queryset, serializer_class, view):
    """One page of queryset (?page=, ?page_size=) serialized with serializer_class, as the
    Response every paginated list endpoint returns. page_size was validated by the
    endpoint's FilterSerializer (a PageFilterSerializer); a page past the end is a 404."""
    paginator = DefaultPagination()
    page: Any = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(
        serializer_class(page, many=True, context={"request": request}).data)

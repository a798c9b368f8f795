"""Pagination for every list: ``?page=N&page_size=M`` → ``{items, count, count_capped, page, pages}``.

Counting every match of a filter over millions of rows costs far more than fetching the page itself (each match is
a row to visit), and nobody pages through a thousand appeals: past twenty pages they narrow the filter (a date
range, an area, a state); the exact totals are the dashboard's job. So counts stop at ``COUNT_CAP``: the database
counts at most ``COUNT_CAP + 1`` matching rows (``SELECT count(*) FROM (… LIMIT n)``), a capped count says so
(``count_capped``; the pages show "more than 1000"), and pages go as far as the cap.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable
from functools import cached_property
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import PaginationBase
from ninja.pagination import paginate as ninja_paginate

COUNT_CAP = 1_000


def capped_count(queryset: QuerySet[Any] | list[Any], cap: int | None = None) -> tuple[int, bool]:
    """(count, capped): the number of rows, or ``cap`` and True when there are more."""
    cap = COUNT_CAP if cap is None else cap
    if not isinstance(queryset, QuerySet):
        return (cap, True) if len(queryset) > cap else (len(queryset), False)
    n = queryset.order_by().values("pk")[: cap + 1].count()
    return (cap, True) if n > cap else (n, False)


class CappedPaginator(Paginator):
    """Django's paginator for the HTML lists with the capped count (``capped`` tells the template)."""

    capped = False

    @cached_property
    def count(self) -> int:
        rows: Any = self.object_list
        n, self.capped = capped_count(rows if isinstance(rows, QuerySet) else list(rows))
        return n


class Page(PaginationBase):
    class Input(Schema):
        page: int = Field(1, ge=1, le=100_000)
        page_size: int = Field(20, ge=1, le=200)

    class Output(Schema):
        items: list[Any]
        count: int = Field(description=f"匹配条数；超过 {COUNT_CAP} 条时为 {COUNT_CAP}，并且 count_capped 为 true")
        count_capped: bool = False
        page: int
        pages: int

    def paginate_queryset(
        self, queryset: QuerySet[Any] | list[Any], pagination: Input, request: HttpRequest, **params: Any
    ) -> Any:
        start = (pagination.page - 1) * pagination.page_size
        count, capped = capped_count(queryset)
        items = list(queryset[start : start + pagination.page_size]) if start < count else []
        return {
            "items": items,
            "count": count,
            "count_capped": capped,
            "page": pagination.page,
            "pages": max(1, math.ceil(count / pagination.page_size)),
        }


def paginate(page_class: type[PaginationBase] = Page) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """ninja's ``paginate``, safe for modules using ``from __future__ import annotations``: ninja re-reads the
    wrapped view's string annotations in its own module, where the view's filter schemas are unknown (the query
    parameters then fail to build, and so does /api/openapi.json), so resolve them in the view's module first."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__annotations__ = typing.get_type_hints(func, include_extras=True)
        return ninja_paginate(page_class)(func)

    return decorator

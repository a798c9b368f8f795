"""Page-number pagination for every list endpoint: ``?page=N&page_size=M`` → ``{items, count, page, pages}``."""

from __future__ import annotations

import math
import typing
from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import PaginationBase
from ninja.pagination import paginate as ninja_paginate


class Page(PaginationBase):
    class Input(Schema):
        page: int = Field(1, ge=1, le=100_000)
        page_size: int = Field(20, ge=1, le=200)

    class Output(Schema):
        items: list[Any]
        count: int
        page: int
        pages: int

    def paginate_queryset(
        self, queryset: QuerySet[Any] | list[Any], pagination: Input, request: HttpRequest, **params: Any
    ) -> Any:
        start = (pagination.page - 1) * pagination.page_size
        count = queryset.count() if isinstance(queryset, QuerySet) else len(queryset)
        items = queryset[start : start + pagination.page_size]
        return {
            "items": list(items),
            "count": count,
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

"""Helpers shared by page views: domain errors become the same answers the API gives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.http import Http404

from .errors import NotFound

T = TypeVar("T")


def scoped_or_404(selector: Callable[..., T], **kwargs: Any) -> T:
    """Call a ``*_get`` selector; its NotFound (missing or outside scope) becomes the page's 404."""
    try:
        return selector(**kwargs)
    except NotFound as exc:
        raise Http404 from exc

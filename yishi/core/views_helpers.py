"""Helpers shared by page views: domain errors become the same answers the API gives; HTMX fragments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from .errors import NotFound

T = TypeVar("T")


def scoped_or_404(selector: Callable[..., T], **kwargs: Any) -> T:
    """Call a ``*_get`` selector; its NotFound (missing or outside scope) becomes the page's 404."""
    try:
        return selector(**kwargs)
    except NotFound as exc:
        raise Http404 from exc


def wants_fragment(request: HttpRequest) -> bool:
    """An HTMX request for part of a page. A history restore (back button after a cache miss) needs the whole page."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


def render_page_or_fragment(
    request: HttpRequest, page_template: str, fragment_template: str, context: dict[str, Any]
) -> HttpResponse:
    """Render the fragment for HTMX, the page otherwise; caches keep the two apart by the HX-Request header."""
    template = fragment_template if wants_fragment(request) else page_template
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response

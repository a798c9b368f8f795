"""The workflow actions of a REST router: one endpoint per transition, ``POST <base>/actions/<verb>``.

Each endpoint keeps its own typed input, response schema, documented errors, summary and ``operation_id``
(``<prefix>_<verb>``) in the OpenAPI document; the same path with a trailing slash (Wagtail style) answers too and
stays out of the document. Writes need the ``write`` scope (or the browser session).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ninja import Router

from .api_auth import auth

Endpoint = Callable[..., Any]


def action_route(
    router: Router, base: str, *, response: dict[int, Any], operation_prefix: str
) -> Callable[[str, str], Callable[[Endpoint], Endpoint]]:
    """The decorator ``@action(verb, summary)`` that registers a view as ``POST {base}/actions/{verb}``."""

    def action(verb: str, summary: str) -> Callable[[Endpoint], Endpoint]:
        path = f"{base}/actions/{verb}"

        def register(func: Endpoint) -> Endpoint:
            router.post(path + "/", response=response, auth=auth("write"), include_in_schema=False)(func)
            return router.post(
                path, response=response, auth=auth("write"), summary=summary, operation_id=f"{operation_prefix}_{verb}"
            )(func)

        return register

    return action

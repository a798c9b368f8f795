"""API authentication: scoped tokens for machines, the session (with CSRF) for the browser."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyHeader, HttpBearer, SessionAuth

from .errors import PermissionDenied


class TokenAuth(HttpBearer):
    """``Authorization: Bearer ysk_…``. The token must carry ``scope`` (admin implies write implies read)."""

    openapi_scheme = "bearer"

    def __init__(self, scope: str = "read") -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from yishi.accounts.services import token_lookup

        # Public endpoints identify the caller first (OptionalAuth) and check the write scope later
        # (_public_write): one lookup per request, not one per check.
        cached = getattr(request, "_yishi_token_lookup", None)
        if cached is not None and cached[0] == token:
            found = cached[1]
        else:
            found = token_lookup(token)
            request._yishi_token_lookup = (token, found)  # type: ignore[attr-defined]
        if found is None:
            return None
        granted = set(found.scopes)
        implied = {"admin": {"admin", "write", "read"}, "write": {"write", "read"}, "read": {"read"}}
        effective = set().union(*(implied.get(s, {s}) for s in granted))
        if self.scope not in effective:
            raise PermissionDenied("令牌权限范围不足", "The token lacks the required scope", code="insufficient_scope")
        request.user = found.user
        request.api_token = found  # type: ignore[attr-defined]
        return found.user


class BrowserSession(SessionAuth):
    """The logged-in browser session; CSRF is checked on unsafe methods."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None


class OptionalAuth(APIKeyHeader):
    """Accepts anonymous callers but still identifies a token or session user when present."""

    param_name = "Authorization"

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            user = TokenAuth("read").authenticate(request, header[7:].strip())
            if user is not None:
                return user
        return request.user if request.user.is_authenticated else True

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:  # pragma: no cover - __call__ overrides
        return True


def auth(scope: str = "read") -> list[Any]:
    """The auth list for an operation that needs a signed-in caller with ``scope``."""
    return [TokenAuth(scope), BrowserSession()]


PUBLIC = [OptionalAuth()]

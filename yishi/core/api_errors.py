"""One error format for the whole API: ``{"code", "message", "field"?}`` (zh-Hans or English by Accept-Language)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled, ValidationError

from .errors import YishiError

logger = logging.getLogger("yishi.api")


def _field_of(loc: list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form", "file", "header", "cookie", "payload")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def _is_en(request: HttpRequest) -> bool:
    return (getattr(request, "LANGUAGE_CODE", "") or "").startswith("en")


def install(api: NinjaAPI) -> None:
    @api.exception_handler(YishiError)
    def yishi_error(request: HttpRequest, exc: YishiError) -> HttpResponse:
        return api.create_response(request, exc.as_dict(), status=exc.status)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = [
            {"field": _field_of(list(e.get("loc", []))), "message": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors
        ]
        first = errors[0] if errors else {"field": "", "message": ""}
        message = f"{first['field']}: {first['message']}" if _is_en(request) else f"字段 {first['field']} 无效：{first['message']}"
        body = {"code": "invalid", "message": message, "field": first["field"], "errors": errors}
        return api.create_response(request, body, status=422)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return api.create_response(request, {"code": "not_found", "message": "Not found" if _is_en(request) else "对象不存在"}, status=404)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        msg = "Authentication required" if _is_en(request) else "请先登录或提供有效令牌"
        return api.create_response(request, {"code": "not_authenticated", "message": msg}, status=401)

    @api.exception_handler(AuthorizationError)
    def forbidden(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
        msg = "Forbidden" if _is_en(request) else "您无权执行此操作"
        return api.create_response(request, {"code": "permission_denied", "message": msg}, status=403)

    @api.exception_handler(Throttled)
    def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
        msg = "Too many requests" if _is_en(request) else "请求过于频繁，请稍后再试"
        return api.create_response(request, {"code": "rate_limited", "message": msg}, status=429)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # ninja wraps whatever the body parser raised in "400 Cannot parse request body".
        if isinstance(exc.__cause__, ValidationError):
            return validation_error(request, exc.__cause__)
        if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
            msg = "The request body is not valid JSON" if _is_en(request) else "请求内容不是有效的 JSON"
            return api.create_response(request, {"code": "invalid_body", "message": msg, "field": "body"}, status=400)
        return api.create_response(request, {"code": "http_error", "message": str(exc)}, status=exc.status_code)

    @api.exception_handler(DataError)
    def data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
        # The database refused a value (out of range, too long, bad characters): bad input, never a server error.
        logger.warning("database refused input on %s: %s", request.path, exc)
        msg = "The input contains a value that cannot be stored" if _is_en(request) else "输入中有无法保存的值"
        return api.create_response(request, {"code": "invalid", "message": msg}, status=400)

"""Typed domain errors.

Every error a service raises carries a stable ``code``, a zh-Hans and an English message and, for bad input, the
``field`` it is about. One handler (``yishi.api``) maps them to HTTP; pages show the message of the active language.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language


class YishiError(Exception):
    """Base of every domain error. Subclasses fix the HTTP status; instances fix the code and messages."""

    status = 400
    default_code = "error"
    default_zh = "请求无法处理"
    default_en = "The request cannot be processed"

    def __init__(
        self,
        message_zh: str | None = None,
        message_en: str | None = None,
        *,
        code: str | None = None,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.message_zh = message_zh or self.default_zh
        self.message_en = message_en or self.default_en
        self.field = field
        self.extra = extra or {}
        super().__init__(f"{self.code}: {self.message_en}")

    @property
    def message(self) -> str:
        lang = (get_language() or "zh-hans").lower()
        return self.message_en if lang.startswith("en") else self.message_zh

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.extra:
            body.update(self.extra)
        return body


class InvalidInput(YishiError):
    status = 400
    default_code = "invalid"
    default_zh = "输入有误"
    default_en = "Invalid input"


class NotFound(YishiError):
    """Missing and out-of-scope objects get this same answer, so scope never leaks existence."""

    status = 404
    default_code = "not_found"
    default_zh = "对象不存在"
    default_en = "Not found"


class PermissionDenied(YishiError):
    """The object is within the user's scope, but their roles do not allow this action."""

    status = 403
    default_code = "permission_denied"
    default_zh = "您无权执行此操作"
    default_en = "You are not allowed to do this"


class NotAuthenticated(YishiError):
    status = 401
    default_code = "not_authenticated"
    default_zh = "请先登录"
    default_en = "Authentication required"


class Conflict(YishiError):
    status = 409
    default_code = "conflict"
    default_zh = "操作与当前状态冲突"
    default_en = "The action conflicts with the current state"


class TransitionNotAllowed(Conflict):
    default_code = "transition_not_allowed"
    default_zh = "当前状态下不能执行此操作"
    default_en = "This action is not allowed in the current state"


class RateLimited(YishiError):
    status = 429
    default_code = "rate_limited"
    default_zh = "操作过于频繁，请稍后再试"
    default_en = "Too many requests, try again later"

"""Declared policy parameters: each app declares the keys it reads, their kind and meaning.

Values live only in the database (profiles); code declares *what* can be set, never *how much*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = {"int", "percent", "bool", "limit", "weights", "list", "map", "text"}


@dataclass(frozen=True)
class Parameter:
    key: str
    kind: str
    label: str
    help: str = ""

    def validate(self, value: Any) -> str | None:
        """An error message if ``value`` is not valid for this parameter, else None."""
        from .workdays import Limit

        if self.kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
            return None if ok else "must be an integer"
        if self.kind == "percent":
            ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 100
            return None if ok else "must be a number from 0 to 100"
        if self.kind == "bool":
            return None if isinstance(value, bool) else "must be true or false"
        if self.kind == "limit":
            if not isinstance(value, dict):
                return "must be an object {amount, unit}"
            try:
                Limit.parse(value)
            except ValueError as exc:
                return str(exc)
            return None
        if self.kind == "weights":
            if not isinstance(value, dict) or not all(isinstance(v, int | float) for v in value.values()):
                return "must map names to numbers"
            return None
        if self.kind == "list":
            return None if isinstance(value, list) else "must be a list"
        if self.kind == "map":
            return None if isinstance(value, dict) else "must be an object"
        return None if isinstance(value, str) else "must be text"


PARAMETERS: dict[str, Parameter] = {}


def declare(key: str, kind: str, label: str, help: str = "") -> Parameter:
    if kind not in KINDS:
        raise ValueError(f"unknown parameter kind {kind!r}")
    param = Parameter(key, kind, label, help)
    PARAMETERS[key] = param
    return param


# Parameters of the shared machinery. Domain apps declare theirs in their own ``policy.py``.
declare("calendar.warning_percent", "percent", "预警阈值（已用时限百分比）", "Share of the allowed time after which a deadline is at risk")
declare("accounts.phone_code_ttl_minutes", "int", "短信验证码有效期（分钟）")
declare("accounts.phone_code_max_attempts", "int", "短信验证码最多尝试次数")
declare("accounts.phone_code_per_hour", "int", "每个号码每小时最多发送验证码次数")

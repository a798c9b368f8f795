"""Schemas shared by every router."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from ninja import Field, Schema
from pydantic import AfterValidator

if TYPE_CHECKING:
    from .workflow import Workflow

# The largest id a 64-bit primary key holds; larger numbers are bad input (SQLite overflows on them).
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _printable(value: str) -> str:
    # PostgreSQL cannot store NUL in text, and no other control character (tabs and newlines aside) belongs in
    # what residents and staff write: refuse them here with the field named rather than fail at the database.
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


Text = Annotated[str, AfterValidator(_printable)]


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None


class OkOut(Schema):
    ok: bool = True


class ActionOut(Schema):
    """A transition the current user may run now, for buttons: ``POST …/{id}/actions/{name}``."""

    name: str
    label: str
    requires_reason: bool


class TimelineEventOut(Schema):
    """One audited step: who did what, when, and the tracked fields (state, deadline, unit…) before and after."""

    seq: int
    at: datetime
    code: str
    actor_id: int | None
    actor_label: str
    before: Any
    after: Any
    reason: str


def actions_out(workflow: Workflow, user: Any, obj: Any) -> list[dict[str, Any]]:
    """The ``actions`` of a detail schema: what ``workflow.available`` offers this user on this object now."""
    return [
        {"name": t.name, "label": str(t.label), "requires_reason": t.requires_reason}
        for t in workflow.available(user, obj)
    ]


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}

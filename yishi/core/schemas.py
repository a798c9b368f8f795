"""Schemas shared by every router."""

from __future__ import annotations

import re
from typing import Annotated

from ninja import Field, Schema
from pydantic import AfterValidator

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


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}

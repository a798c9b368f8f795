"""The API's request parser: ninja's JSON and query parsing, refusing text no database can store.

PostgreSQL rejects NUL characters in text and no UTF-8 database takes lone surrogates (which JSON's ``\\ud800``
escapes produce); either would otherwise surface as a server error from the first query that used the value.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja.errors import ValidationError
from ninja.parser import Parser


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _find_unstorable(value: Any, loc: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The location of the first unstorable string in a parsed JSON value (keys included), or None."""
    if isinstance(value, str):
        return loc if _unstorable(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _unstorable(str(key)):
                return (*loc, str(key).encode("utf-8", "replace").decode("utf-8").replace("\x00", ""))
            found = _find_unstorable(item, (*loc, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_unstorable(item, (*loc, index))
            if found is not None:
                return found
    return None


def _refuse(loc: tuple[Any, ...]) -> ValidationError:
    return ValidationError([{"type": "unstorable_text", "loc": loc, "msg": "contains a NUL or invalid character"}])


class StorableTextParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        data = super().parse_body(request)
        found = _find_unstorable(data, ("body",))
        if found is not None:
            raise _refuse(found)
        return data

    def parse_querydict(self, data: MultiValueDict, list_fields: list[str], request: HttpRequest) -> Any:
        where = "query" if data is request.GET else "form"
        for key, values in data.lists():
            if _unstorable(key) or any(isinstance(v, str) and _unstorable(v) for v in values):
                raise _refuse((where, key.replace("\x00", "")))
        return super().parse_querydict(data, list_fields, request)

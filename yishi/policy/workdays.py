"""Working-day calendar and deadlines: a pure module (no database), tested on its own.

A deadline is a *limit* of an amount and a unit:

* ``hours`` — calendar hours from the start (urgent matters: 2 h; utilities: 24 h);
* ``calendar_days`` — the same clock time N calendar days later;
* ``working_days`` — the same clock time on the Nth working day after the start. When the clock starts on a
  rest day, it starts at 00:00 of the next working day, so the deadline is the end of the Nth working day.

Working days come from ``chinese_calendar`` (public holidays and the adjusted working weekends, 调休), corrected
by an override mapping ``{date: is_workday}`` from the database. Years the library does not know fall back to
Monday–Friday plus the overrides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

import chinese_calendar


class LimitUnit(StrEnum):
    HOURS = "hours"
    CALENDAR_DAYS = "calendar_days"
    WORKING_DAYS = "working_days"


@dataclass(frozen=True)
class Limit:
    amount: int
    unit: LimitUnit

    @classmethod
    def parse(cls, value: Mapping[str, object]) -> Limit:
        """Build from a policy value such as ``{"amount": 7, "unit": "working_days"}``."""
        if not isinstance(value, Mapping):
            raise ValueError(f"a limit must be an object {{amount, unit}}, got {value!r}")
        amount = value.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise ValueError(f"limit amount must be a non-negative integer, got {amount!r}")
        return cls(amount, LimitUnit(str(value.get("unit"))))


Overrides = Mapping[date, bool]
_MAX_SCAN_DAYS = 3660


def is_workday(day: date, overrides: Overrides | None = None) -> bool:
    if overrides and day in overrides:
        return overrides[day]
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def next_workday(day: date, overrides: Overrides | None = None) -> date:
    """The first working day strictly after ``day``."""
    current = day
    for _ in range(_MAX_SCAN_DAYS):
        current += timedelta(days=1)
        if is_workday(current, overrides):
            return current
    raise ValueError("no working day within ten years")


def add_working_days(start: datetime, days: int, overrides: Overrides | None = None) -> datetime:
    """The same clock time on the ``days``-th working day after ``start`` (see the module doc for rest days)."""
    tz = start.tzinfo
    clock = start.timetz()
    current = start.date()
    if not is_workday(current, overrides):
        # The clock starts at the beginning of the next working day: count from the end of the rest day.
        current = next_workday(current, overrides) - timedelta(days=1)
        clock = time(0, 0, tzinfo=tz)
        if days == 0:
            return datetime.combine(current + timedelta(days=1), clock)
        for _ in range(days):
            current = next_workday(current, overrides)
        return datetime.combine(current + timedelta(days=1), clock)
    for _ in range(days):
        current = next_workday(current, overrides)
    return datetime.combine(current, clock)


def deadline(start: datetime, limit: Limit, overrides: Overrides | None = None) -> datetime:
    """When a clock started at ``start`` with ``limit`` runs out."""
    if limit.unit is LimitUnit.HOURS:
        return start + timedelta(hours=limit.amount)
    if limit.unit is LimitUnit.CALENDAR_DAYS:
        return start + timedelta(days=limit.amount)
    return add_working_days(start, limit.amount, overrides)


def warning_time(start: datetime, due: datetime, threshold_percent: int) -> datetime:
    """When the ``threshold_percent`` share of the allowed time has elapsed (e.g. 80 % → the at-risk mark)."""
    if not 0 <= threshold_percent <= 100:
        raise ValueError("threshold must be between 0 and 100")
    return start + (due - start) * threshold_percent / 100


def working_days_between(start: date, end: date, overrides: Overrides | None = None) -> int:
    """Working days in (start, end]: how many working days after ``start`` ``end`` is. Negative if end < start."""
    if end < start:
        return -working_days_between(end, start, overrides)
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_workday(current, overrides):
            count += 1
    return count

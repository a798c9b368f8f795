"""The working-day calendar: a pure module, tested without a database."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from yishi.policy.workdays import (
    Limit,
    LimitUnit,
    add_working_days,
    deadline,
    is_workday,
    next_workday,
    warning_time,
    working_days_between,
)

TZ = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# --- the national calendar --------------------------------------------------------------------------------------

def test_national_day_2025():
    assert [d for d in days(date(2025, 9, 27), date(2025, 10, 12)) if is_workday(d)] == [
        date(2025, 9, 28),  # Sunday, adjusted working day (调休)
        date(2025, 9, 29), date(2025, 9, 30),
        date(2025, 10, 9), date(2025, 10, 10),
        date(2025, 10, 11),  # Saturday, adjusted working day
    ]
    assert not any(is_workday(d) for d in days(date(2025, 10, 1), date(2025, 10, 8)))


def test_national_day_2026_as_chinese_calendar_knows_it():
    # chinese_calendar 1.11 has the State Council's 2026 schedule: Oct 1–7 off, Sun Sep 20 and Sat Oct 10 worked.
    assert not any(is_workday(d) for d in days(date(2026, 10, 1), date(2026, 10, 7)))
    assert is_workday(date(2026, 9, 20)) and date(2026, 9, 20).weekday() == 6
    assert is_workday(date(2026, 10, 10)) and date(2026, 10, 10).weekday() == 5
    assert is_workday(date(2026, 10, 8)) and not is_workday(date(2026, 10, 11))
    # Mid-Autumn Festival 2026 falls on Friday Sep 25.
    assert not is_workday(date(2026, 9, 25))


def test_years_the_library_does_not_know_fall_back_to_weekdays():
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 10, 1))
    week = days(date(2027, 9, 27), date(2027, 10, 3))  # Monday to Sunday
    assert [is_workday(d) for d in week] == [True] * 5 + [False] * 2
    # The operator's overrides fill the gap until the library learns the year.
    assert not is_workday(date(2027, 10, 1), {date(2027, 10, 1): False})
    assert add_working_days(at(2026, 12, 31, 9), 1) == at(2027, 1, 1, 9)
    assert add_working_days(at(2026, 12, 31, 9), 1, {date(2027, 1, 1): False}) == at(2027, 1, 4, 9)


def test_adjusted_working_saturday_counts():
    # Friday Oct 10 2025 + 1 working day = Saturday Oct 11 (调休 working day), not Monday.
    assert add_working_days(at(2025, 10, 10, 15, 30), 1) == at(2025, 10, 11, 15, 30)
    assert working_days_between(date(2025, 10, 10), date(2025, 10, 13)) == 2


def test_overrides_win_over_the_library():
    assert not is_workday(date(2025, 10, 9), {date(2025, 10, 9): False})  # a local holiday
    assert is_workday(date(2025, 10, 3), {date(2025, 10, 3): True})  # a declared working day
    assert next_workday(date(2025, 9, 30), {date(2025, 10, 3): True}) == date(2025, 10, 3)
    assert add_working_days(at(2025, 9, 30, 10), 1, {date(2025, 10, 3): True}) == at(2025, 10, 3, 10)


# --- deadlines ---------------------------------------------------------------------------------------------------

def test_working_days_across_national_day_2025():
    # Tuesday Sep 30, 10:00 + 7 working days: Oct 9, 10, 11 (Sat), 13, 14, 15, 16.
    assert deadline(at(2025, 9, 30, 10), Limit(7, LimitUnit.WORKING_DAYS)) == at(2025, 10, 16, 10)
    # Friday Sep 26 + 1 working day = Sunday Sep 28 (adjusted working day).
    assert deadline(at(2025, 9, 26, 17), Limit(1, LimitUnit.WORKING_DAYS)) == at(2025, 9, 28, 17)


def test_zero_working_days_on_a_working_day_is_now():
    start = at(2025, 9, 30, 10, 15)
    assert deadline(start, Limit(0, LimitUnit.WORKING_DAYS)) == start


def test_hours_and_calendar_days_ignore_the_calendar():
    start = at(2025, 9, 30, 23)
    assert deadline(start, Limit(2, LimitUnit.HOURS)) == at(2025, 10, 1, 1)
    assert deadline(start, Limit(24, LimitUnit.HOURS)) == at(2025, 10, 1, 23)
    assert deadline(start, Limit(7, LimitUnit.CALENDAR_DAYS)) == at(2025, 10, 7, 23)
    assert deadline(start, Limit(0, LimitUnit.HOURS)) == start


def test_clock_started_on_a_rest_day_starts_at_the_next_working_day():
    # Received Thursday Oct 2 2025 (holiday) at 14:00: the clock starts Thursday Oct 9 00:00, so one working day
    # runs to the end of Oct 9 (= Oct 10 00:00) and zero working days is the start of Oct 9.
    start = at(2025, 10, 2, 14)
    assert deadline(start, Limit(0, LimitUnit.WORKING_DAYS)) == at(2025, 10, 9)
    assert deadline(start, Limit(1, LimitUnit.WORKING_DAYS)) == at(2025, 10, 10)
    assert deadline(start, Limit(3, LimitUnit.WORKING_DAYS)) == at(2025, 10, 12)  # end of Sat Oct 11 (worked)
    # An ordinary weekend: Saturday 11:00 + 2 working days = end of Tuesday.
    assert deadline(at(2025, 11, 15, 11), Limit(2, LimitUnit.WORKING_DAYS)) == at(2025, 11, 19)


def test_warning_at_80_percent():
    start = at(2025, 11, 3, 9)
    due = start + timedelta(days=10)
    assert warning_time(start, due, 80) == start + timedelta(days=8)
    assert warning_time(start, at(2025, 11, 3, 11), 80) == at(2025, 11, 3, 10, 36)
    assert warning_time(start, due, 0) == start and warning_time(start, due, 100) == due
    for bad in (-1, 101):
        with pytest.raises(ValueError):
            warning_time(start, due, bad)


# --- parsing -----------------------------------------------------------------------------------------------------

def test_limit_parse():
    assert Limit.parse({"amount": 7, "unit": "working_days"}) == Limit(7, LimitUnit.WORKING_DAYS)
    assert Limit.parse({"amount": 0, "unit": "hours"}) == Limit(0, LimitUnit.HOURS)


@pytest.mark.parametrize("value", [
    {"amount": -1, "unit": "hours"},
    {"amount": 1.5, "unit": "hours"},
    {"amount": "7", "unit": "hours"},
    {"amount": True, "unit": "hours"},
    {"amount": None, "unit": "hours"},
    {"unit": "hours"},
    {"amount": 7},
    {"amount": 7, "unit": "weeks"},
    {"amount": 7, "unit": None},
    {},
    [7, "hours"],
    7,
    "7 working days",
    None,
])
def test_limit_parse_rejects_bad_input(value):
    with pytest.raises(ValueError):
        Limit.parse(value)


# --- properties --------------------------------------------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime(2004, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(TZ),
)
override_maps = st.dictionaries(st.dates(date(2024, 1, 1), date(2026, 12, 31)), st.booleans(), max_size=20)


@settings(max_examples=300, deadline=None)
@given(start=starts, n=st.integers(0, 60), overrides=override_maps)
def test_add_working_days_properties_from_a_working_day(start, n, overrides):
    assume(is_workday(start.date(), overrides))
    result = add_working_days(start, n, overrides)
    assert is_workday(result.date(), overrides)
    assert result.timetz() == start.timetz()
    assert working_days_between(start.date(), result.date(), overrides) == n
    assert working_days_between(result.date(), start.date(), overrides) == -n


@settings(max_examples=200, deadline=None)
@given(start=starts, n=st.integers(1, 60), overrides=override_maps)
def test_add_working_days_properties_from_a_rest_day(start, n, overrides):
    assume(not is_workday(start.date(), overrides))
    result = add_working_days(start, n, overrides)
    last_day = result.date() - timedelta(days=1)
    assert result.timetz() == time(0, 0, tzinfo=TZ)
    assert is_workday(last_day, overrides)
    assert working_days_between(start.date(), last_day, overrides) == n


@settings(max_examples=200, deadline=None)
@given(start=starts, n=st.integers(0, 30))
def test_more_days_never_end_earlier(start, n):
    limit = Limit(n, LimitUnit.WORKING_DAYS)
    longer = Limit(n + 1, LimitUnit.WORKING_DAYS)
    assert start <= deadline(start, limit) < deadline(start, longer)

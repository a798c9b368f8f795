"""The monthly rollup behind the dashboard (``yishi.appeals.rollup``): the same numbers as the live count, exact again
after a change or a passing deadline, served as it was within the profile's tolerance (with its time), recomputed
once by a background worker, and one consistent set of rows when two recomputations meet."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from yishi.appeals import services as s
from yishi.appeals import stats
from yishi.appeals.models import Appeal, MonthDispatches, MonthFacts, MonthRollup
from yishi.appeals.rollup import MAX_STALENESS, live_groups, refresh_month
from yishi.appeals.testing import submit
from yishi.conftest import client_for
from yishi.core.testing import race

from .kpi_month import MARCH, NOW, at, build_month, liaison, set_param

MONTH = date(2026, 3, 1)


def counts(row) -> dict[str, int]:
    return {name: getattr(row, name) for name in stats.COUNT_NAMES}


def live_board(user, level: str = "street", now=None):
    """The dashboard's tables counted live from the appeals (the tables computed alone)."""
    now = now or NOW
    return (
        [(r.key, counts(r)) for r in stats.kpis_by_area(user=user, period=MARCH, level=level, now=now)],
        [(r.key, counts(r)) for r in stats.kpis_by_unit(user=user, period=MARCH, now=now)],
        counts(stats.kpis_total(user=user, period=MARCH, now=now)),
    )


def board_of(user, level: str = "street", now=None):
    board = stats.dashboard(user=user, month=MONTH, level=level, now=now or NOW)
    return [(r.key, counts(r)) for r in board.areas], [(r.key, counts(r)) for r in board.units], counts(board.total)


def stored_facts(month: date = MONTH) -> list[dict]:
    """The rollup's rows of ``month`` without the next-deadline columns, ordered like ``live_groups``."""
    rows = MonthFacts.objects.filter(month=month).values("org_unit", "lead_unit", *stats.COUNT_NAMES)
    return sorted(rows, key=lambda r: (r["org_unit"], r["lead_unit"] or 0))


@pytest.fixture
def clock():
    with time_machine.travel(at(3, 2, 8), tick=False) as traveller:
        yield traveller


@pytest.fixture
def month(world, clock):
    """The hand-counted month of ``kpi_month`` and, to vary it, more appeals in other places, led by both units, some
    returned, one answered at once by the street; the clock is left at ``NOW``."""
    appeals = build_month(world, clock)
    t = world.tree
    clock.move_to(at(3, 16, 10))
    for i in range(9):
        place = (t.community_a1, t.community_b1, t.grid_a1, t.community_a2)[i % 4]
        unit = (t.unit_housing, t.unit_water)[i % 2]
        appeal = s.appeal_dispatch(actor=world.district_staff, appeal=submit(world, unit=place), lead_unit_id=unit.pk)
        if i % 3 == 0:
            s.appeal_request_return(actor=liaison(world, unit), appeal=appeal, reason="非本单位职责", basis="职责清单")
        elif i % 3 == 1:
            s.appeal_accept(actor=liaison(world, unit), appeal=appeal)
    clock.move_to(NOW)
    return appeals


@pytest.fixture
def exact(db):
    set_param(MAX_STALENESS, 0)


def test_the_rollup_holds_the_live_counts(month, world, exact):
    refresh_month(MONTH, now=NOW)
    live = sorted(live_groups(Appeal.objects.filter(month=MONTH, counted=True), NOW),
                  key=lambda r: (r["org_unit"], r["lead_unit"] or 0))
    assert stored_facts() == [{k: r[k] for k in ("org_unit", "lead_unit", *stats.COUNT_NAMES)} for r in live]
    assert sum(r["volume"] for r in stored_facts()) == 21  # 12 hand-counted + 9 more
    # Every table of the dashboard, for every kind of user, equals the live count.
    for user in (world.district_staff, world.street_a_staff, world.housing_liaison, world.water_liaison):
        for level in ("street", "community"):
            assert board_of(user, level) == live_board(user, level), (user, level)
    # Dispatches per unit come from the assignments: the returns count against the unit that returned.
    assert MonthDispatches.objects.filter(month=MONTH, returned__gt=0).exists()
    # The February appeal is in no row of March, and February has its own rollup once asked for.
    assert stats.dashboard(user=world.district_staff, month=date(2026, 2, 1), now=NOW).total.volume == 1
    assert MonthRollup.objects.filter(month__in=[MONTH, date(2026, 2, 1)]).count() == 2


def test_a_change_after_the_computation_is_in_the_next_read(month, world, clock, exact):
    clock.shift(timedelta(seconds=1))  # the sweep closed a4 at NOW: a later computation has it
    before = stats.dashboard(user=world.district_staff, month=MONTH, now=NOW)
    assert before.exact and before.as_of == NOW
    clock.shift(timedelta(minutes=5))
    later = NOW + timedelta(minutes=5)
    # Nothing changed and no deadline passed: the rollup is still exact, nothing is recomputed.
    assert MonthRollup.objects.get(month=MONTH).valid_until > later
    again = stats.dashboard(user=world.district_staff, month=MONTH, now=later)
    assert again.exact and again.as_of == later and MonthRollup.objects.get(month=MONTH).computed_at == NOW
    # A new appeal and a callback on an old one, after the computation.
    s.appeal_dispatch(actor=world.district_staff, appeal=submit(world), lead_unit_id=world.tree.unit_water.pk)
    clock.shift(timedelta(minutes=1))
    s.appeal_request_return(actor=world.housing_liaison, appeal=month["a9"], reason="非本单位职责", basis="职责清单")
    now = NOW + timedelta(minutes=6)
    after = stats.dashboard(user=world.district_staff, month=MONTH, now=now)
    assert after.exact and after.total.volume == before.total.volume + 1
    assert board_of(world.district_staff, now=now) == live_board(world.district_staff, now=now)


def test_a_passing_deadline_is_in_the_next_read(month, world, clock, exact):
    stats.dashboard(user=world.district_staff, month=MONTH, now=NOW)
    marker = MonthRollup.objects.get(month=MONTH)
    # a10 is at risk now, a15 was dispatched an hour ago: their deadlines are ahead, the earliest is kept.
    assert marker.valid_until is not None and marker.valid_until > NOW
    later = max(month["a10"].due_at, month["a15"].due_at) + timedelta(hours=1)
    clock.move_to(later)
    board = stats.dashboard(user=world.district_staff, month=MONTH, now=later)
    assert board.exact and board.total.overdue_now > stats.kpis_total(user=world.district_staff, period=MARCH, now=NOW).overdue_now
    assert board_of(world.district_staff, now=later) == live_board(world.district_staff, now=later)


def test_within_the_tolerance_the_previous_counts_are_served_with_their_time(month, world, clock):
    set_param(MAX_STALENESS, 60)
    first = stats.dashboard(user=world.district_staff, month=MONTH)
    assert first.as_of == NOW
    clock.shift(timedelta(seconds=10))
    submit(world)
    clock.shift(timedelta(seconds=20))
    served = stats.dashboard(user=world.district_staff, month=MONTH)
    assert served.total.volume == first.total.volume and not served.exact and served.as_of == NOW
    page = client_for(world.district_staff).get("/appeals/stats/", {"month": "2026-03"})
    assert "数据更新于 12:00" in page.content.decode()
    # Past the tolerance the month is checked, found changed and recomputed (embedded mode: at once).
    clock.shift(timedelta(seconds=31))
    fresh = stats.dashboard(user=world.district_staff, month=MONTH)
    assert fresh.exact and fresh.total.volume == first.total.volume + 1 and fresh.as_of == NOW + timedelta(seconds=61)


def test_with_a_worker_the_previous_counts_are_served_and_one_recomputation_enqueued(
        month, world, clock, settings, django_capture_on_commit_callbacks):
    from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends

    set_param(MAX_STALENESS, 60)
    first = stats.dashboard(user=world.district_staff, month=MONTH)
    clock.shift(timedelta(seconds=10))
    submit(world)
    clock.shift(timedelta(minutes=2))
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]  # the setting changed: the dummy backend, which keeps jobs
    assert type(backend).__name__ == "DummyBackend"
    backend.clear()
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            served = stats.dashboard(user=world.district_staff, month=MONTH)
        assert served.total.volume == first.total.volume and served.as_of == NOW and not served.exact
    assert [r.task.name for r in backend.results] == ["refresh_month_rollup"]
    assert MonthRollup.objects.get(month=MONTH).refresh_queued_at is not None
    # The worker runs it: the next read is the new count.
    backend.results[0].task.call(*backend.results[0].args)
    assert MonthRollup.objects.get(month=MONTH).refresh_queued_at is None
    assert stats.dashboard(user=world.district_staff, month=MONTH).total.volume == first.total.volume + 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_recomputations_at_once_leave_one_set_of_rows(world):
    this_month = timezone.localdate().replace(day=1)
    for i in range(6):
        unit = (world.tree.unit_housing, world.tree.unit_water)[i % 2]
        s.appeal_dispatch(actor=world.district_staff, appeal=submit(world), lead_unit_id=unit.pk)
    outcomes = race(*[lambda: refresh_month(this_month, force=True).pk] * 2)
    assert outcomes[0] == outcomes[1] and isinstance(outcomes[0], int), outcomes
    assert sum(r["volume"] for r in stored_facts(this_month)) == 6 and len(stored_facts(this_month)) == 2
    assert sum(MonthDispatches.objects.filter(month=this_month).values_list("dispatched", flat=True)) == 6
    # Two dashboards finding the month stale at once: one recomputes, the other waits for the month's lock, finds
    # it exact and reads the same rows.
    submit(world)
    set_param(MAX_STALENESS, 0)
    outcomes = race(*[lambda: stats.dashboard(user=world.district_staff, month=this_month).total.volume] * 2)
    assert outcomes == [7, 7], outcomes
    assert sum(r["volume"] for r in stored_facts(this_month)) == 7
    assert MonthRollup.objects.filter(month=this_month).count() == 1

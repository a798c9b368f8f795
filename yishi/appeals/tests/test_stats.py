"""The numbers (DOMAIN §2) on the month of ``kpi_month``: every rate per unit, per street, per community, per
month, the composite score and the ranking, the scope, and the query budget."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yishi.appeals import services as s
from yishi.appeals import stats
from yishi.appeals.choices import AppealState
from yishi.appeals.rollup import MAX_STALENESS
from yishi.appeals.stats import KpiRow, Period, composite_score, rank_rows
from yishi.appeals.testing import submit
from yishi.core.permissions import grants

from .kpi_month import MARCH, MARCH_TOTAL, NOW, at, build_month, liaison, set_param


@pytest.fixture
def exact_dashboards(db):
    """The dashboard's rollup checked and recomputed on every read (the shipped profiles tolerate 60 s)."""
    set_param(MAX_STALENESS, 0)


@pytest.fixture
def clock():
    with time_machine.travel(at(3, 2, 8), tick=False) as traveller:
        yield traveller


@pytest.fixture
def month(world, clock):
    return build_month(world, clock)


def counts(row: KpiRow) -> dict[str, int]:
    return {name: getattr(row, name) for name in stats.COUNT_NAMES}


def test_the_facts_the_services_left(month):
    a = month
    assert (a["a2"].accepted_on_time, a["a2"].contacted_on_time) == (False, False)
    assert (a["a3"].accepted_on_time, a["a3"].contacted_on_time, a["a3"].closed_on_time) == (True, False, False)
    assert a["a5"].return_count == 1 and a["a5"].lead_unit_id == a["a5"].assignments.last().unit_id
    assert a["a6"].reopen_count == 1 and a["a6"].resolution == "resolved"
    assert a["a7"].state == AppealState.REPLIED and a["a7"].counted is False and a["a7"].satisfaction == "unsatisfied"
    assert a["a8"].state == AppealState.DUPLICATE and a["a8"].counted is False
    assert a["a12"].closed_on_time is False


def test_totals_of_the_month(month, world):
    total = stats.kpis_total(user=world.district_staff, period=MARCH, now=NOW)
    assert counts(total) == MARCH_TOTAL
    assert total.response_rate == 6 / 10
    assert total.resolution_rate == 4 / 7
    assert total.satisfaction_rate == 5 / 7
    assert total.on_time_sign_rate == 9 / 10
    assert total.return_rate == 1 / 11
    assert total.reopen_rate == 1 / 8
    assert total.on_time_closure_rate == 6 / 9
    # 30 × 60 % + 35 × 4/7 + 35 × 5/7 = 18 + 20 + 25
    assert total.score == pytest.approx(63.0)


def test_merged_children_and_duplicates_are_counted_once(month, world):
    total = stats.kpis_total(user=world.district_staff, period=MARCH, now=NOW)
    # a7's unsatisfied callback and a8 are nowhere; a1 and a2 count once each.
    assert total.volume == 12 and total.valid_callbacks == 7 and total.satisfied == 5
    assert sum(r.volume for r in stats.kpis_by_unit(user=world.district_staff, period=MARCH, now=NOW)) == 11
    assert sum(r.volume for r in stats.kpis_by_area(user=world.district_staff, period=MARCH, now=NOW)) == 12


def test_per_unit(month, world):
    rows = {r.key: r for r in stats.kpis_by_unit(user=world.district_staff, period=MARCH, now=NOW)}
    housing, water = rows[world.tree.unit_housing.pk], rows[world.tree.unit_water.pk]
    assert set(rows) == {world.tree.unit_housing.pk, world.tree.unit_water.pk}
    assert housing.label == "区住房和城乡建设局"
    assert counts(housing) == {
        "volume": 9,
        "response_due": 8, "responded_on_time": 4,
        "accept_due": 8, "accepted_on_time": 7,
        "valid_callbacks": 5, "resolved": 3, "satisfied": 4, "no_answer": 1,
        # From the assignments: a5 was dispatched to housing, which returned it.
        "dispatched": 10, "returned": 1,
        "replied": 6, "reopened": 1,
        "closure_due": 7, "closed_on_time": 5,
        "overdue_now": 1, "at_risk_now": 1,
    }
    assert (housing.response_rate, housing.resolution_rate, housing.satisfaction_rate) == (0.5, 0.6, 0.8)
    assert housing.return_rate == 0.1 and housing.on_time_closure_rate == 5 / 7
    assert housing.score == pytest.approx(64.0)
    assert counts(water) == {
        "volume": 2,
        "response_due": 2, "responded_on_time": 2,
        "accept_due": 2, "accepted_on_time": 2,
        "valid_callbacks": 2, "resolved": 1, "satisfied": 1, "no_answer": 0,
        "dispatched": 2, "returned": 0,
        "replied": 2, "reopened": 0,
        "closure_due": 2, "closed_on_time": 1,
        "overdue_now": 0, "at_risk_now": 0,
    }
    assert water.score == pytest.approx(65.0)


def test_per_street(month, world):
    rows = stats.kpis_by_area(user=world.district_staff, period=MARCH, level="street", now=NOW)
    assert [r.key for r in rows] == [world.tree.street_a.pk, world.tree.street_b.pk]
    street_a, street_b = rows
    assert counts(street_a) == {
        "volume": 10,
        "response_due": 8, "responded_on_time": 4,
        "accept_due": 8, "accepted_on_time": 7,
        "valid_callbacks": 5, "resolved": 3, "satisfied": 4, "no_answer": 1,
        "dispatched": 9, "returned": 1,
        "replied": 6, "reopened": 1,
        "closure_due": 7, "closed_on_time": 5,
        "overdue_now": 1, "at_risk_now": 1,
    }
    assert street_a.score == pytest.approx(64.0)
    assert (street_b.volume, street_b.response_rate, street_b.resolution_rate, street_b.satisfaction_rate) == (2, 1.0, 0.5, 0.5)
    assert street_b.on_time_closure_rate == 0.5 and street_b.return_rate == 0.0
    assert street_b.score == pytest.approx(65.0)


def test_per_community_follows_grids_up(month, world):
    t = world.tree
    rows = {r.key: r for r in stats.kpis_by_area(user=world.district_staff, period=MARCH, level="community", now=NOW)}
    assert set(rows) == {t.community_a1.pk, t.community_a2.pk, t.community_b1.pk}
    # a10 is located in a grid of community A1.
    assert (rows[t.community_a1.pk].volume, rows[t.community_a2.pk].volume, rows[t.community_b1.pk].volume) == (9, 1, 2)
    assert rows[t.community_a1.pk].at_risk_now == 1


def test_per_month(month, world):
    feb, march = stats.kpis_by_month(user=world.district_staff, period=Period.months(date(2026, 2, 1), date(2026, 3, 31)), now=NOW)
    assert (feb.key, feb.label, march.key) == (date(2026, 2, 1), "2026-02", date(2026, 3, 1))
    assert counts(march) == MARCH_TOTAL
    assert (feb.volume, feb.response_rate, feb.resolution_rate, feb.satisfaction_rate, feb.on_time_closure_rate) == (1, 1.0, 1.0, 1.0, 1.0)
    assert feb.score == pytest.approx(100.0)


def test_date_range(month, world):
    week = stats.kpis_total(user=world.district_staff, period=Period(date(2026, 3, 14), date(2026, 3, 20)), now=NOW)
    assert week.volume == 2 and week.at_risk_now == 1  # a10 and a15
    one_unit = stats.kpis_total(user=world.district_staff, period=MARCH, unit_id=world.tree.unit_water.pk, now=NOW)
    assert one_unit.volume == 2


def test_ranking(month, world):
    streets = stats.ranking(user=world.district_staff, month=date(2026, 3, 1), kind="street", now=NOW)
    assert streets.weights == {"response": 30.0, "resolution": 35.0, "satisfaction": 35.0}
    assert [(r.label, r.rank) for r in streets.rows] == [("礼乐街道", 1), ("外海街道", 2)]
    # Two ranked streets: one on each list, nobody on both.
    assert [r.label for r in streets.red] == ["礼乐街道"] and [r.label for r in streets.black] == ["外海街道"]
    units = stats.ranking(user=world.district_staff, month=date(2026, 3, 1), kind="unit", now=NOW)
    assert [r.label for r in units.rows] == ["江海供水有限公司", "区住房和城乡建设局"]
    assert [r.label for r in units.red] == ["江海供水有限公司"] and [r.label for r in units.black] == ["区住房和城乡建设局"]


def test_scope_narrows_every_table(month, world):
    t = world.tree
    # A street's staff sees the appeals located in their street only.
    total_b = stats.kpis_total(user=world.street_b_staff, period=MARCH, now=NOW)
    assert total_b.volume == 2
    assert [r.key for r in stats.kpis_by_area(user=world.street_b_staff, period=MARCH, now=NOW)] == [t.street_b.pk]
    units_b = {r.key: r.volume for r in stats.kpis_by_unit(user=world.street_b_staff, period=MARCH, now=NOW)}
    assert units_b == {t.unit_housing.pk: 1, t.unit_water.pk: 1}
    # A unit's liaison sees their own unit's appeals wherever they are, and no area.
    assert stats.kpis_total(user=world.water_liaison, period=MARCH, now=NOW).volume == 2
    assert stats.kpis_by_area(user=world.water_liaison, period=MARCH, now=NOW) == []
    # A resident sees nothing.
    assert stats.kpis_total(user=world.resident, period=MARCH, now=NOW).volume == 0
    # Narrowing to an area inside the scope.
    within = stats.kpis_by_area(user=world.district_staff, period=MARCH, level="community", within=t.street_a, now=NOW)
    assert [r.key for r in within] == [t.community_a1.pk, t.community_a2.pk]


def test_composite_score_and_ranking_rules():
    weights = {"response": 30, "resolution": 35, "satisfaction": 35}
    row = KpiRow(response_due=4, responded_on_time=3, valid_callbacks=0)
    # No callbacks: only the response rate is scored, its weight renormalised.
    assert composite_score(row, weights) == pytest.approx(75.0)
    assert composite_score(KpiRow(), weights) is None
    rows = [KpiRow(key=i, label=name, score=score) for i, (name, score) in enumerate(
        [("甲", 90.0), ("乙", 80.0), ("丙", 90.0), ("丁", None), ("戊", 70.0), ("己", 60.0)])]
    ranked, red, black = rank_rows(rows, 2)
    # Equal scores share a rank and are listed by name.
    assert [(r.label, r.rank) for r in ranked] == [("丙", 1), ("甲", 1), ("乙", 3), ("戊", 4), ("己", 5)]
    assert [r.label for r in red] == ["丙", "甲"] and [r.label for r in black] == ["己", "戊"]
    assert rank_rows(rows[:1], 5)[1:] == ([], [])


def test_period():
    assert Period.month(date(2024, 2, 10)) == Period(date(2024, 2, 1), date(2024, 2, 29))
    assert Period.months(date(2025, 11, 5), date(2026, 1, 3)).month_starts() == [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1)]
    assert Period.month(date(2026, 3, 1)).whole_months and not Period(date(2026, 3, 2), date(2026, 3, 31)).whole_months


# --- query budget -------------------------------------------------------------------------------------------------


def _appeals(world, n: int) -> None:
    with time_machine.travel(at(3, 2), tick=False):
        for i in range(n):
            place = (world.tree.community_a1, world.tree.community_b1, world.tree.grid_a1)[i % 3]
            unit = (world.tree.unit_housing, world.tree.unit_water)[i % 2]
            appeal = s.appeal_dispatch(actor=world.district_staff, appeal=submit(world, unit=place), lead_unit_id=unit.pk)
            if i % 4 == 0:
                s.appeal_request_return(actor=liaison(world, unit), appeal=appeal, reason="非本单位职责", basis="职责清单")


@pytest.mark.parametrize("n", [5, 50])
def test_tables_cost_a_constant_number_of_queries(world, n, django_assert_num_queries):
    from yishi.accounts.models import User

    _appeals(world, n)
    grants(User.objects.get(pk=world.district_staff.pk))  # the grants now come from the reference cache: fill it
    # A fresh user object each time, so that finding the grants is part of every budget.
    user = User.objects.get(pk=world.district_staff.pk)
    with django_assert_num_queries(5):  # generation (grants), figures, dispatches and returns, unit names, profile weights
        rows = stats.kpis_by_unit(user=user, period=MARCH, now=NOW)
    assert sum(r.volume for r in rows) == n
    user = User.objects.get(pk=world.district_staff.pk)
    with django_assert_num_queries(5):  # generation (grants), tree depth, figures, areas, profile weights
        rows = stats.kpis_by_area(user=user, period=MARCH, now=NOW)
    assert sum(r.volume for r in rows) == n
    user = User.objects.get(pk=world.district_staff.pk)
    with django_assert_num_queries(3):  # generation (grants), figures, profile weights
        stats.kpis_by_month(user=user, period=MARCH, now=NOW)


def test_query_counts_do_not_grow_with_appeals(world):
    from yishi.accounts.models import User

    def measure() -> tuple[int, int]:
        grants(User.objects.get(pk=world.district_staff.pk))  # the reference cache holds them from here on
        result = []
        for table in (stats.kpis_by_unit, stats.kpis_by_area):
            user = User.objects.get(pk=world.district_staff.pk)
            with CaptureQueriesContext(connection) as ctx:
                table(user=user, period=MARCH, now=NOW)
            result.append(len(ctx.captured_queries))
        return result[0], result[1]

    _appeals(world, 5)
    small = measure()
    _appeals(world, 45)
    assert measure() == small


def test_dashboard_puts_the_month_together(month, world, exact_dashboards):
    board = stats.dashboard(user=world.district_staff, month=date(2026, 3, 5), now=NOW)
    # Its tables are sums of one grouped scan: the same numbers as the tables computed alone.
    for level in ("street", "community"):
        alone = stats.kpis_by_area(user=world.district_staff, period=MARCH, level=level, now=NOW)
        summed = stats.dashboard(user=world.district_staff, month=date(2026, 3, 5), level=level, now=NOW).areas
        assert [counts(r) for r in summed] == [counts(r) for r in alone] and [r.key for r in summed] == [r.key for r in alone]
    alone_units = stats.kpis_by_unit(user=world.district_staff, period=MARCH, now=NOW)
    assert [(r.key, counts(r)) for r in board.units] == [(r.key, counts(r)) for r in alone_units]
    assert board.period == MARCH and board.level == "street"
    assert [r.label for r in board.areas] == ["外海街道", "礼乐街道"] and len(board.units) == 2
    assert counts(board.total) == MARCH_TOTAL
    assert [r.label for r in board.area_ranking.red] == ["礼乐街道"]
    assert [r.label for r in board.unit_ranking.black] == ["区住房和城乡建设局"]


@pytest.mark.parametrize("n", [5, 50])
def test_dashboard_costs_a_constant_number_of_queries(world, n, exact_dashboards):
    from yishi.accounts.models import User

    _appeals(world, n)

    def queries() -> list[str]:
        user = User.objects.get(pk=world.district_staff.pk)
        with CaptureQueriesContext(connection) as ctx:
            stats.dashboard(user=user, month=date(2026, 3, 1), now=NOW)
        # (the policy cache's freshness check comes and goes with the transactions: not counted)
        return [q["sql"] for q in ctx.captured_queries if "policy_policygeneration" not in q["sql"]]

    # The first read computes the month's rollup: the marker row, its lock, the month grouped by place and lead unit
    # and the dispatches (two INSERT … SELECT), the next deadline; then the reading of the rollup.
    cold = queries()
    assert sum(sql.startswith("INSERT INTO") and "GROUP BY" in sql for sql in cold) == 2
    # The next checks the rollup is still exact (one probe of the appeals) and reads it: the marker, the probe, the
    # grants (unless cached), the facts, the dispatches, the areas, the places' paths, the units' names.
    warm = queries()
    assert len(warm) <= 8 and sum("appeals_appeal" in sql for sql in warm) == 1, "\n".join(q[:150] for q in warm)
    assert not any("INSERT" in sql for sql in warm)
    # (19 on PostgreSQL, which also asks for the oldest open transaction)
    assert len(cold) <= 19, "\n".join(q[:150] for q in cold)

"""The numbers of 民呼我应 (DOMAIN §2): 三率 and the other rates, per handling unit, per area, per month.

Every figure is a count of appeals computed by the database in one grouped aggregate query
(``values(…).annotate(Count(…, filter=Q(…)))``); no appeal is ever loaded into Python, so the cost of a table is a
constant number of queries whatever the number of appeals. The facts counted are the denormalised columns the
transitions keep on the appeal row (``accepted_on_time``, ``contacted_on_time``, ``closed_on_time``,
``return_count``, ``reopen_count``, ``resolution``, ``satisfaction``, ``counted``, ``month``).

Definitions (also in ``docs/kpis.md``, with examples). All of them count only *counted* appeals (merged children
and duplicates have ``counted=False`` and are left out, so one matter is never counted twice) received in the
period (the statistics month is the month the appeal was received):

* **响应率 response rate** = appeals accepted on time *and* whose resident was contacted on time ÷ appeals whose
  response is due. An appeal is due once its response is settled: both steps done, or one of them done late, or
  one of their deadlines passed without it.
* **解决率 resolution rate** = valid callbacks answered "解决" ÷ valid callbacks. A valid callback is one where the
  resident gave a satisfaction answer (满意/基本满意/不满意); "no answer" is not a valid callback.
* **满意率 satisfaction rate** = valid callbacks answered 满意 or 基本满意 ÷ valid callbacks.
* **按时签收率 on-time sign rate** = appeals accepted on time ÷ appeals whose acceptance is due (accepted, or the
  accept deadline passed).
* **退单率 return rate** = dispatched appeals with at least one 退单 request ÷ dispatched appeals. For a handling
  unit: appeals dispatched to it as lead for which *it* asked a return ÷ appeals dispatched to it as lead (taken
  from the assignments, so a return counts against the unit that returned, not the one it was re-dispatched to).
* **重办率 reopen rate** = replied appeals reopened at least once ÷ replied appeals (replied now, or reopened).
* **按时办结率 on-time closure rate** = appeals replied within the handling deadline ÷ appeals whose closure is due
  (replied, or still being handled after the deadline).
* **volume** (诉求量), **overdue now** (being handled past the deadline) and **at risk now** (past the 80 % warning
  time, deadline not yet passed).
* **composite score** (综合得分) = Σ weight × rate ÷ Σ weight × 100 over 响应率, 解决率, 满意率 with the weights of
  the policy profile (``appeals.kpi_weights``, e.g. 30/35/35); a rate with no denominator is left out and the
  other weights are renormalised; no rate at all → no score.

The per-unit figures count the appeals whose *current* lead unit (主办) is the unit; co-units (协办) are not
scored. The per-area figures group the appeals by the ancestor of their place at the chosen level (street or
community), following the parent links of the org tree in SQL.

Every function takes the user: the appeals counted are those located in the user's scope for
``appeals.view_stats`` and, for a handling unit's liaison or head (``appeals.view_unit_stats``), those whose lead
is their unit.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Case, Count, F, IntegerField, Max, Q, QuerySet, Sum, When
from django.utils import timezone

from yishi.core.db_router import reads_from_replica
from yishi.core.permissions import get_rule, is_platform_admin, matching_grants, restrict
from yishi.orgs.models import HandlingUnit, OrgUnit
from yishi.policy.models import PolicyProfile
from yishi.policy.services import effective_profile, policy_value

from . import rollup
from .choices import HANDLING_STATES, AppealState, AssignmentRole, Resolution, Satisfaction
from .models import Appeal, Assignment, MonthDispatches, MonthFacts

ANSWERED = (Satisfaction.SATISFIED, Satisfaction.BASIC, Satisfaction.UNSATISFIED)
SATISFIED = (Satisfaction.SATISFIED, Satisfaction.BASIC)
# The closure clock runs until the reply is approved, so a reply waiting for review past the deadline is late too.
CLOSURE_STATES = (*HANDLING_STATES, AppealState.REPLY_SUBMITTED)
SCORED_RATES = ("response", "resolution", "satisfaction")
AREA_LEVELS = ("street", "community")


# --- periods ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Days ``start``..``end`` (inclusive) of the receiving date, in the site's time zone."""

    start: date
    end: date

    @classmethod
    def month(cls, day: date) -> Period:
        first = day.replace(day=1)
        return cls(first, first.replace(day=calendar.monthrange(first.year, first.month)[1]))

    @classmethod
    def months(cls, first: date, last: date) -> Period:
        return cls(first.replace(day=1), cls.month(last).end)

    @property
    def whole_months(self) -> bool:
        return self.start.day == 1 and (self.end + timedelta(days=1)).day == 1

    def month_starts(self) -> list[date]:
        result, current = [], self.start.replace(day=1)
        while current <= self.end:
            result.append(current)
            current = (current + timedelta(days=32)).replace(day=1)
        return result

    def q(self) -> Q:
        """Whole months use the indexed statistics month; other ranges the indexed receiving time."""
        if self.whole_months:
            last = self.end.replace(day=1)
            # One month is an equality: the (month, place, lead unit) facts index then serves the grouped counts.
            return Q(month=self.start) if last == self.start else Q(month__gte=self.start, month__lte=last)
        tz = timezone.get_current_timezone()
        return Q(
            received_at__gte=datetime.combine(self.start, time.min, tzinfo=tz),
            received_at__lt=datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=tz),
        )


# --- rows ---------------------------------------------------------------------------------------------------------


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass
class KpiRow:
    """The counts of one group (a unit, an area, a month, or everything) and the rates derived from them."""

    key: Any = None
    label: str = ""
    volume: int = 0
    response_due: int = 0
    responded_on_time: int = 0
    accept_due: int = 0
    accepted_on_time: int = 0
    valid_callbacks: int = 0
    resolved: int = 0
    satisfied: int = 0
    no_answer: int = 0
    dispatched: int = 0
    returned: int = 0
    replied: int = 0
    reopened: int = 0
    closure_due: int = 0
    closed_on_time: int = 0
    overdue_now: int = 0
    at_risk_now: int = 0
    score: float | None = None
    rank: int | None = None

    @property
    def response_rate(self) -> float | None:
        return _ratio(self.responded_on_time, self.response_due)

    @property
    def resolution_rate(self) -> float | None:
        return _ratio(self.resolved, self.valid_callbacks)

    @property
    def satisfaction_rate(self) -> float | None:
        return _ratio(self.satisfied, self.valid_callbacks)

    @property
    def on_time_sign_rate(self) -> float | None:
        return _ratio(self.accepted_on_time, self.accept_due)

    @property
    def return_rate(self) -> float | None:
        return _ratio(self.returned, self.dispatched)

    @property
    def reopen_rate(self) -> float | None:
        return _ratio(self.reopened, self.replied)

    @property
    def on_time_closure_rate(self) -> float | None:
        return _ratio(self.closed_on_time, self.closure_due)

    def rates(self) -> dict[str, float | None]:
        return {name: getattr(self, f"{name}_rate") for name in RATE_NAMES}

    def as_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data.update({f"{name}_rate": value for name, value in self.rates().items()})
        return data


RATE_NAMES = ("response", "resolution", "satisfaction", "on_time_sign", "return", "reopen", "on_time_closure")
COUNT_NAMES = tuple(f.name for f in fields(KpiRow) if f.name not in {"key", "label", "score", "rank"})


def composite_score(row: KpiRow, weights: dict[str, float]) -> float | None:
    """Σ weight × rate ÷ Σ weight × 100 over the three rates that have a denominator (see the module doc)."""
    total = weighted = 0.0
    for name in SCORED_RATES:
        rate, weight = getattr(row, f"{name}_rate"), float(weights.get(name, 0))
        if rate is not None and weight > 0:
            total += weight
            weighted += weight * rate
    return weighted / total * 100 if total else None


# --- the aggregate ------------------------------------------------------------------------------------------------


def _measures(now: datetime) -> dict[str, Count]:
    """One conditional count per figure of ``KpiRow``; numerators are always subsets of their denominators."""
    response_settled = (
        Q(accepted_on_time__isnull=False, contacted_on_time__isnull=False)
        | Q(accepted_on_time=False)
        | Q(contacted_on_time=False)
        | Q(accepted_at__isnull=True, accept_due_at__lte=now)
        | Q(first_contact_at__isnull=True, contact_due_at__lte=now)
    )
    overdue = Q(state__in=HANDLING_STATES, due_at__lt=now)

    def count(condition: Q | None = None) -> Count:
        return Count("pk", filter=condition) if condition is not None else Count("pk")

    return {
        "volume": count(),
        "response_due": count(response_settled),
        "responded_on_time": count(Q(accepted_on_time=True, contacted_on_time=True)),
        "accept_due": count(Q(accepted_on_time__isnull=False) | Q(accepted_at__isnull=True, accept_due_at__lte=now)),
        "accepted_on_time": count(Q(accepted_on_time=True)),
        "valid_callbacks": count(Q(satisfaction__in=ANSWERED)),
        "resolved": count(Q(satisfaction__in=ANSWERED, resolution=Resolution.RESOLVED)),
        "satisfied": count(Q(satisfaction__in=SATISFIED)),
        "no_answer": count(Q(satisfaction=Satisfaction.NO_ANSWER)),
        "dispatched": count(Q(dispatched_at__isnull=False)),
        "returned": count(Q(dispatched_at__isnull=False, return_count__gt=0)),
        "replied": count(Q(replied_at__isnull=False) | Q(reopen_count__gt=0)),
        "reopened": count(Q(reopen_count__gt=0)),
        "closure_due": count(Q(closed_on_time__isnull=False) | Q(state__in=CLOSURE_STATES, due_at__lt=now)),
        "closed_on_time": count(Q(closed_on_time=True)),
        "overdue_now": count(overdue),
        "at_risk_now": count(Q(state__in=HANDLING_STATES, warn_at__lte=now, due_at__gte=now)),
    }


def _row(data: Mapping[str, Any], key: Any = None, label: str = "") -> KpiRow:
    return KpiRow(key=key, label=label, **{name: data.get(name) or 0 for name in COUNT_NAMES})


def _has_area_scope(user: Any) -> bool:
    return is_platform_admin(user) or bool(matching_grants(user, get_rule("appeals.view_stats")))


def _own_units(user: Any) -> set[int]:
    """The handling units whose own numbers the user may see as their liaison or head."""
    rule = get_rule("appeals.view_unit_stats")
    return {g.handling_unit_id for g in matching_grants(user, rule) if g.handling_unit_id is not None}


def _scope_q(user: Any) -> Q | None:
    """What ``user`` may count, on ``org_unit`` and ``lead_unit`` (the appeals' and the rollup's fields): located in
    their ``appeals.view_stats`` scope, or led by the unit they serve (``appeals.view_unit_stats``); None: all."""
    if is_platform_admin(user):
        return None
    allowed = Q(pk__in=[])
    if _has_area_scope(user):
        allowed |= Q(org_unit__in=restrict(OrgUnit.objects.all(), user, "appeals.view_stats").values("pk"))
    units = _own_units(user)
    if units:
        allowed |= Q(lead_unit_id__in=units)
    return allowed


def stats_scope(user: Any) -> QuerySet[Appeal]:
    """The appeals whose numbers ``user`` may see: located in their ``appeals.view_stats`` scope, or led by the
    unit they serve (``appeals.view_unit_stats``). Counted appeals only."""
    base = Appeal.objects.filter(counted=True)
    scope = _scope_q(user)
    return base if scope is None else base.filter(scope)


def _appeals(user: Any, period: Period, within: OrgUnit | None, unit_id: int | None) -> QuerySet[Appeal]:
    qs = stats_scope(user).filter(period.q())
    if within is not None:
        qs = qs.filter(org_unit__path__startswith=within.path)
    if unit_id is not None:
        qs = qs.filter(lead_unit_id=unit_id)
    return qs.order_by()


def kpi_weights(unit: OrgUnit | None = None, *, profile: PolicyProfile | None = None) -> dict[str, float]:
    """The composite-score weights of the profile in force for ``unit`` (the default profile when None)."""
    weights = policy_value("appeals.kpi_weights", unit, default={}, profile=profile) or {}
    return {name: float(weights.get(name, 0)) for name in SCORED_RATES}


def _scored(rows: Iterable[KpiRow], weights: dict[str, float]) -> list[KpiRow]:
    result = list(rows)
    for row in result:
        row.score = composite_score(row, weights)
    return result


# --- the tables -------------------------------------------------------------------------------------------------


@reads_from_replica
def kpis_total(*, user: Any, period: Period, within: OrgUnit | None = None, unit_id: int | None = None,
               now: datetime | None = None, weights: dict[str, float] | None = None) -> KpiRow:
    """All the figures over every appeal the user may see in the period (one query)."""
    data = _appeals(user, period, within, unit_id).aggregate(**_measures(now or timezone.now()))
    return _scored([_row(data, label="合计")], weights or kpi_weights(within))[0]


@reads_from_replica
def kpis_by_month(*, user: Any, period: Period, within: OrgUnit | None = None, unit_id: int | None = None,
                  now: datetime | None = None, weights: dict[str, float] | None = None) -> list[KpiRow]:
    """One row per statistics month of the period, oldest first, months without appeals included (one query)."""
    grouped = (
        _appeals(user, period, within, unit_id)
        .values("month")
        .annotate(**_measures(now or timezone.now()))
    )
    by_month = {row["month"]: row for row in grouped}
    rows = [_row(by_month.get(m, {}), key=m, label=f"{m:%Y-%m}") for m in period.month_starts()]
    return _scored(rows, weights or kpi_weights(within))


@reads_from_replica
def kpis_by_unit(*, user: Any, period: Period, within: OrgUnit | None = None,
                 now: datetime | None = None, weights: dict[str, float] | None = None) -> list[KpiRow]:
    """One row per handling unit leading appeals of the period (or having returned some), by name; a unit's own
    liaison or head (without an area scope) gets their unit's row only.

    Three queries whatever the number of appeals: the figures grouped by lead unit, the dispatches and returns
    grouped by the unit they were dispatched to, and the units' names.
    """
    appeals = _appeals(user, period, within, None)
    grouped = {
        row["lead_unit"]: row
        for row in appeals.filter(lead_unit__isnull=False).values("lead_unit").annotate(**_measures(now or timezone.now()))
    }
    return _unit_rows(user, grouped, _dispatches(appeals), weights or kpi_weights(within))


def _dispatches(appeals: QuerySet[Appeal]) -> dict[int, Mapping[str, Any]]:
    """Per handling unit: how many of ``appeals`` were dispatched to it as lead, and how many of those it asked to
    return (from the assignments, one query)."""
    return {
        row["unit"]: row
        for row in Assignment.objects.filter(role=AssignmentRole.LEAD, appeal__in=appeals.values("pk"))
        .order_by()
        .values("unit")
        .annotate(
            dispatched=Count("appeal", distinct=True),
            returned=Count("appeal", distinct=True, filter=Q(return_requests__isnull=False)),
        )
    }


def _unit_rows(user: Any, grouped: Mapping[int, Mapping[str, Any]], dispatches: Mapping[int, Mapping[str, Any]],
               weights: dict[str, float]) -> list[KpiRow]:
    """The units' rows from their figures grouped by lead unit and their dispatches and returns (one query: the
    units' names)."""
    ids = set(grouped) | set(dispatches)
    if not _has_area_scope(user):
        # A unit's own staff see their unit's row, not how other units handled the appeals that reached them.
        ids &= _own_units(user)
    names = dict(HandlingUnit.objects.filter(pk__in=ids).values_list("pk", "name"))
    rows = []
    for unit_id in ids:
        row = _row(grouped.get(unit_id, {}), key=unit_id, label=names.get(unit_id, str(unit_id)))
        row.dispatched = dispatches.get(unit_id, {}).get("dispatched", 0)
        row.returned = dispatches.get(unit_id, {}).get("returned", 0)
        rows.append(row)
    rows.sort(key=lambda r: (r.label, r.key))
    return _scored(rows, weights)


def _ancestor_at_level(level: str, max_depth: int) -> Case:
    """The id of the appeal place's ancestor (or itself) at ``level``, found by following the parent links:
    ``org_unit`` when it is at that level, else its parent when that is, and so on up to the root."""
    whens, lookup = [], "org_unit"
    for _ in range(max_depth + 1):
        whens.append(When(**{f"{lookup}__level": level}, then=F(lookup)))
        lookup += "__parent"
    return Case(*whens, default=None, output_field=IntegerField())


@reads_from_replica
def kpis_by_area(*, user: Any, period: Period, level: str = "street", within: OrgUnit | None = None,
                 now: datetime | None = None, weights: dict[str, float] | None = None) -> list[KpiRow]:
    """One row per area (street or community) in the user's scope, in the order of their codes (which the
    org tree numbers hierarchically, e.g. D01-S01, D01-S02), areas without appeals included.

    Appeals located above the level (e.g. at the district itself when grouping by street) are in no row, only in
    the total. Three queries whatever the number of appeals: the tree depth, the grouped figures, the areas.
    """
    if level not in AREA_LEVELS:
        raise ValueError(f"unknown area level {level!r}")
    max_depth = OrgUnit.objects.aggregate(depth=Max("depth"))["depth"] or 0
    grouped = {
        row["area"]: row
        for row in _appeals(user, period, within, None)
        .annotate(area=_ancestor_at_level(level, max_depth))
        .values("area")
        .annotate(**_measures(now or timezone.now()))
    }
    areas = restrict(OrgUnit.objects.filter(level=level), user, "appeals.view_stats")
    if within is not None:
        areas = areas.filter(path__startswith=within.path)
    rows = [_row(grouped.get(pk, {}), key=pk, label=name) for pk, name in areas.order_by("code", "pk").values_list("pk", "name")]
    return _scored(rows, weights or kpi_weights(within))


# --- ranking ------------------------------------------------------------------------------------------------------


@dataclass
class Ranking:
    """A month's ranking by composite score, best first, with the red list (红榜, the best) and the black list
    (黑榜, the worst, worst first). Each list has ``size`` entries, ``appeals.ranking_list_size`` capped at half
    the ranked entries so that nobody is on both lists. Entries without a score are not ranked."""

    kind: str
    period: Period
    weights: dict[str, float]
    size: int
    rows: list[KpiRow] = field(default_factory=list)
    red: list[KpiRow] = field(default_factory=list)
    black: list[KpiRow] = field(default_factory=list)


def rank_rows(rows: Iterable[KpiRow], list_size: int) -> tuple[list[KpiRow], list[KpiRow], list[KpiRow]]:
    """Order scored rows best first with competition ranks (equal scores share a rank: 1, 1, 3); return the ranked
    rows, the red list and the black list."""
    ranked = sorted((r for r in rows if r.score is not None), key=lambda r: (-round(r.score or 0, 9), r.label))
    previous: float | None = None
    for position, row in enumerate(ranked, start=1):
        score = round(row.score or 0, 9)
        if score != previous:
            row.rank, previous = position, score
        else:
            row.rank = ranked[position - 2].rank
    size = max(0, min(list_size, len(ranked) // 2))
    return ranked, ranked[:size], list(reversed(ranked))[:size]


def ranking_of(rows: Iterable[KpiRow], *, kind: str, period: Period, within: OrgUnit | None = None,
               profile: PolicyProfile | None = None) -> Ranking:
    """Rank rows already computed (and scored) for ``period``; the list size and the weights come from ``profile``,
    by default the profile in force for ``within``."""
    profile = profile or effective_profile(within)
    list_size = int(policy_value("appeals.ranking_list_size", default=5, profile=profile))
    ranked, red, black = rank_rows(rows, list_size)
    return Ranking(kind, period, kpi_weights(profile=profile), len(red), ranked, red, black)


@reads_from_replica
def ranking(*, user: Any, month: date, kind: str = "street", within: OrgUnit | None = None,
            now: datetime | None = None) -> Ranking:
    """The monthly ranking of streets (``kind="street"``), communities or handling units (``kind="unit"``)."""
    period = Period.month(month)
    if kind == "unit":
        rows = kpis_by_unit(user=user, period=period, within=within, now=now)
    elif kind in AREA_LEVELS:
        rows = kpis_by_area(user=user, period=period, level=kind, within=within, now=now)
    else:
        raise ValueError(f"unknown ranking kind {kind!r}")
    return ranking_of(rows, kind=kind, period=period, within=within)


# --- the supervisors' dashboard -----------------------------------------------------------------------------------


@dataclass
class Dashboard:
    """One month for one user: the areas at ``level``, the units, the total, and both rankings."""

    period: Period
    level: str
    areas: list[KpiRow]
    units: list[KpiRow]
    total: KpiRow
    area_ranking: Ranking
    unit_ranking: Ranking
    # The time the figures are as of, and whether they are exact at the time asked for (False: the month's rollup
    # was computed less than the profile's staleness tolerance ago and served as it was, or it is the previous one
    # while a worker recomputes the month).
    as_of: datetime | None = None
    exact: bool = True


def _add_up(groups: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    total = dict.fromkeys(COUNT_NAMES, 0)
    for group in groups:
        for name in COUNT_NAMES:
            total[name] += group.get(name) or 0
    return total


@reads_from_replica
def dashboard(*, user: Any, month: date, level: str = "street", within: OrgUnit | None = None,
              now: datetime | None = None) -> Dashboard:
    """Everything the statistics page and its export show for ``month``, in a constant number of queries whatever
    the volume. The month's appeals are counted per place and lead unit in the month's rollup (``rollup``: computed
    once by one grouped query, recomputed when stale beyond the profile's tolerance); the areas, the units and the
    total are sums of the rollup's rows in the user's scope (a few hundred for a district), which is exact because
    every figure is a count."""
    if level not in AREA_LEVELS:
        raise ValueError(f"unknown area level {level!r}")
    now = now or timezone.now()
    period = Period.month(month)
    profile = effective_profile(within)
    weights = kpi_weights(profile=profile)
    staleness = int(policy_value(rollup.MAX_STALENESS, default=0, profile=profile))
    fresh = rollup.month_facts(period.start, now=now, max_staleness=staleness)
    # Just recomputed on the primary: read its rows there (a replica may not have them yet).
    using = DEFAULT_DB_ALIAS if fresh.recomputed else None
    facts = MonthFacts.objects.using(using).filter(month=period.start)
    dispatched = MonthDispatches.objects.using(using).filter(month=period.start)
    scope = _scope_q(user)
    if scope is not None:
        facts, dispatched = facts.filter(scope), dispatched.filter(scope)
    if within is not None:
        facts = facts.filter(org_unit__path__startswith=within.path)
        dispatched = dispatched.filter(org_unit__path__startswith=within.path)
    groups = list(facts.values("org_unit", "lead_unit", *COUNT_NAMES))
    dispatches: dict[int, Mapping[str, Any]] = {
        row["unit"]: row
        for row in dispatched.order_by().values("unit").annotate(dispatched=Sum("dispatched"), returned=Sum("returned"))
    }

    area_list = restrict(OrgUnit.objects.filter(level=level), user, "appeals.view_stats")
    if within is not None:
        area_list = area_list.filter(path__startswith=within.path)
    area_names = list(area_list.order_by("code", "pk").values_list("pk", "name"))
    area_ids = {pk for pk, _ in area_names}
    paths = dict(OrgUnit.objects.filter(pk__in={g["org_unit"] for g in groups}).values_list("pk", "path"))
    area_of = {
        place: next((int(a) for a in path.strip("/").split("/") if a and int(a) in area_ids), None)
        for place, path in paths.items()
    }
    by_area: dict[int, list[Mapping[str, Any]]] = {}
    by_unit: dict[int, list[Mapping[str, Any]]] = {}
    for group in groups:
        area = area_of.get(group["org_unit"])
        if area is not None:
            by_area.setdefault(area, []).append(group)
        if group["lead_unit"] is not None:
            by_unit.setdefault(group["lead_unit"], []).append(group)
    areas = _scored([_row(_add_up(by_area.get(pk, [])), key=pk, label=name) for pk, name in area_names], weights)
    units = _unit_rows(user, {unit: _add_up(rows) for unit, rows in by_unit.items()}, dispatches, weights)
    total = _scored([_row(_add_up(groups), label="合计")], weights)[0]
    return Dashboard(
        period, level, areas, units, total,
        ranking_of(areas, kind=level, period=period, profile=profile),
        ranking_of(units, kind="unit", period=period, profile=profile),
        as_of=fresh.as_of, exact=fresh.exact,
    )

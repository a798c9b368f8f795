"""The monthly rollup of the statistics: the dashboard reads a month's counts pre-aggregated per place and lead unit.

``stats.dashboard`` used to aggregate a district's month of appeals on every call (one grouped scan of up to
hundreds of thousands of index entries). Now a month is aggregated once, for every place of the city, by one grouped
``INSERT … SELECT`` (the same counts, ``stats._measures``) into ``MonthFacts`` (per month, place and lead unit) and
``MonthDispatches`` (the per-unit dispatches and returns from the assignments), and the dashboard adds up the few
hundred rows of its scope. ``MonthRollup`` holds, per month, when the counts were computed and how long they hold.

**When the rollup is exact.** A month's counts change for two reasons only:

* an appeal of the month is saved (every transition saves ``updated_at``; the import's bulk insert and the
  supervision sweep set it too): the rollup misses changes with ``updated_at`` after ``changes_before``, the start of
  the oldest transaction still open when the counts were read (a change made but not yet committed then has a later
  ``updated_at``), found by one probe of the ``(month, updated_at)`` index;
* time passes: the counts that depend on "now" (overdue, at risk, and which appeals are *due* for the response, sign
  and closure rates) move when a deadline or a warning time of an open appeal passes; the rollup keeps the earliest
  such moment of the month (``valid_until``) and is not exact past it. A past month whose appeals are all closed has
  none and stays exact until an appeal of it changes (a late callback, a closure).

**Staleness tolerance.** ``appeals.dashboard_max_staleness_seconds`` of the policy profile: a rollup computed less
than that long ago is served as it is, with its time ("数据更新于 HH:MM"); an older one is checked (the two rules
above) and served if still exact; otherwise the month is recomputed — at once in the embedded mode (and always
when the tolerance is 0, which means "always exact"); with a background task backend the previous counts are served
and one recomputation is enqueued (``tasks.refresh_month_rollup``; ``refresh_queued_at`` keeps it to one).

**Concurrency.** A recomputation locks the month's ``MonthRollup`` row, then checks again whether the month is still
stale (another one may just have finished), then replaces the month's rows in the same transaction: two at once give
one set of rows, never twice the counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from .choices import HANDLING_STATES, AssignmentRole
from .models import Appeal, Assignment, MonthDispatches, MonthFacts, MonthRollup

MAX_STALENESS = "appeals.dashboard_max_staleness_seconds"
# A background recomputation not finished after this long (a lost job) is enqueued again.
REQUEUE_AFTER = timedelta(minutes=10)
NEXT_CHANGES = ("next_accept_due", "next_contact_due", "next_due", "next_warn")
# The times of a month's marker row before its first computation (so that it is neither recent nor exact).
NEVER = datetime(2000, 1, 1, tzinfo=UTC)


def _next_changes(now: datetime) -> dict[str, Min]:
    """The earliest moment after ``now`` that each time-dependent condition of ``stats._measures`` changes for an
    appeal without the appeal being saved (the conditions are there: a deadline reached or passed)."""
    from .stats import CLOSURE_STATES

    return {
        "next_accept_due": Min("accept_due_at", filter=Q(accepted_at__isnull=True, accept_due_at__gt=now)),
        "next_contact_due": Min("contact_due_at", filter=Q(first_contact_at__isnull=True, contact_due_at__gt=now)),
        # closure due and overdue once due_at < now; at risk until due_at < now.
        "next_due": Min("due_at", filter=Q(state__in=CLOSURE_STATES, due_at__gte=now)),
        "next_warn": Min("warn_at", filter=Q(state__in=HANDLING_STATES, warn_at__gt=now)),
    }


def live_groups(appeals: QuerySet[Appeal], now: datetime) -> QuerySet[Any]:
    """The grouped aggregate the rollup stores: ``appeals`` counted per (place, lead unit)."""
    from .stats import _measures

    return appeals.order_by().values("org_unit", "lead_unit").annotate(**_measures(now))


@dataclass
class Freshness:
    """What the dashboard gets for a month: the rollup's marker, the time its counts are as of, whether they are
    exact now, and whether they were recomputed by this call (read them from the primary then)."""

    marker: MonthRollup
    as_of: datetime
    exact: bool
    recomputed: bool = False


def is_exact(marker: MonthRollup, now: datetime) -> bool:
    """No appeal of the month changed since the counts were read, and no deadline of the month passed between the
    time they are as of and ``now``."""
    if now < marker.computed_at or (marker.valid_until is not None and now >= marker.valid_until):
        return False
    # ≥: a change stamped the very microsecond the counts were read may be missing from them.
    return not Appeal.objects.filter(month=marker.month, updated_at__gte=marker.changes_before).exists()


def _background() -> bool:
    """Whether tasks run apart from the request (RQ workers); the embedded mode's backend runs them in-process."""
    from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
    from django_tasks.backends.immediate import ImmediateBackend

    return not isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], ImmediateBackend)


def month_facts(month: date, *, now: datetime | None = None, max_staleness: int = 0) -> Freshness:
    """The rollup of ``month`` as the dashboard may serve it: within ``max_staleness`` seconds of its computation as
    it is, else if still exact, else recomputed (or, with a background worker and a tolerance, the previous one while
    the worker recomputes it)."""
    now = now or timezone.now()
    marker = MonthRollup.objects.filter(month=month).first()
    if marker is not None:
        if max_staleness > 0 and marker.computed_at <= now <= marker.computed_at + timedelta(seconds=max_staleness):
            return Freshness(marker, marker.computed_at, exact=False)
        if is_exact(marker, now):
            return Freshness(marker, now, exact=True)
        if max_staleness > 0 and _background():
            _enqueue_refresh(marker, now)
            return Freshness(marker, marker.computed_at, exact=False)
    marker = refresh_month(month, now=now)
    return Freshness(marker, max(now, marker.computed_at), exact=True, recomputed=True)


def _enqueue_refresh(marker: MonthRollup, now: datetime) -> None:
    from .tasks import refresh_month_rollup

    real_now = timezone.now()
    claimed = MonthRollup.objects.filter(pk=marker.pk).filter(
        Q(refresh_queued_at__isnull=True) | Q(refresh_queued_at__lt=real_now - REQUEUE_AFTER)
    ).update(refresh_queued_at=real_now)
    if claimed:
        transaction.on_commit(lambda: refresh_month_rollup.enqueue(marker.month.isoformat()))


def _changes_before(connection: Any, now: datetime) -> datetime:
    """The time before which every change to the appeals is visible to a query starting now: ``now``, or the start
    of the oldest other transaction still open (its changes, not yet committed, carry a later ``updated_at``).
    SQLite: the recomputation's own transaction holds the only write lock (``transaction_mode=IMMEDIATE``)."""
    if connection.vendor != "postgresql":
        return now
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        )
        oldest = cursor.fetchone()[0]
    return min(now, oldest) if oldest is not None else now


def _insert_select(connection: Any, table: str, keys: list[str], query: QuerySet[Any], month: date) -> None:
    """``INSERT INTO table (month, keys…, annotations…) SELECT month, g.* FROM (query) g``: the rows never leave the
    database. ``query`` is a ``values(…).annotate(…)`` whose grouping columns go to ``keys``, its annotations to the
    columns of the same names (SQLite does not name a subquery's columns the way PostgreSQL does, hence g.*)."""
    sql, params = query.query.get_compiler(connection=connection).as_sql()
    columns = [*keys, *query.query.annotation_select]
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(table)} (month, {quoted}) SELECT %s, g.* FROM ({sql}) g",
            [connection.ops.adapt_datefield_value(month), *params],
        )


def refresh_month(month: date, *, now: datetime | None = None, force: bool = False) -> MonthRollup:
    """Recompute the rollup of ``month`` (its first day) as of ``now``, unless another recomputation made it exact
    while this one waited for the month's lock (``force``: recompute anyway)."""
    now = now or timezone.now()
    connection = connections[DEFAULT_DB_ALIAS]
    MonthRollup.objects.bulk_create(
        [MonthRollup(month=month, computed_at=NEVER, changes_before=NEVER)],
        ignore_conflicts=True,
    )
    with transaction.atomic(using=DEFAULT_DB_ALIAS):
        marker = MonthRollup.objects.select_for_update().get(month=month)
        # Another recomputation may have finished while this one waited for the lock: its counts are as current.
        if not force and is_exact(marker, max(now, marker.computed_at)):
            return marker
        changes_before = _changes_before(connection, timezone.now())
        MonthFacts.objects.filter(month=month).delete()
        MonthDispatches.objects.filter(month=month).delete()
        facts = live_groups(Appeal.objects.filter(month=month, counted=True), now).annotate(**_next_changes(now))
        _insert_select(connection, MonthFacts._meta.db_table, ["org_unit_id", "lead_unit_id"], facts, month)
        dispatches = (
            Assignment.objects.filter(role=AssignmentRole.LEAD, appeal__month=month, appeal__counted=True)
            .order_by()
            .values("appeal__org_unit", "appeal__lead_unit", "unit")
            .annotate(
                dispatched=Count("appeal", distinct=True),
                returned=Count("appeal", distinct=True, filter=Q(return_requests__isnull=False)),
            )
        )
        _insert_select(connection, MonthDispatches._meta.db_table, ["org_unit_id", "lead_unit_id", "unit_id"], dispatches, month)
        nexts = MonthFacts.objects.filter(month=month).aggregate(**{n: Min(n) for n in NEXT_CHANGES})
        marker.computed_at, marker.changes_before = now, changes_before
        marker.valid_until = min((v for v in nexts.values() if v is not None), default=None)
        marker.refresh_queued_at = None
        marker.save()
    return marker

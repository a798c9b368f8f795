"""``yishi partitions``: the coming months' partitions are created once, bounded at local midnight; an
unpartitioned table is left alone; a month whose rows already sit in the default partition is refused."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection

from yishi.core.partitions import PartitionError, ensure_month_partitions, is_partitioned

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are a PostgreSQL feature")


@pytest.fixture
def events(db):
    """A small table partitioned like the audit table (created inside the test's transaction, rolled back)."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE yishi_test_events (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at)")
    return "yishi_test_events"


def _partition_of(table: str, at: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} VALUES (1, %s) RETURNING tableoid::regclass::text", [at])
        return cursor.fetchone()[0]


def test_months_are_created_once_at_local_midnight(events, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    created = ensure_month_partitions(events, today=date(2026, 11, 21), months_ahead=2)
    assert created == ["yishi_test_events_2026_11", "yishi_test_events_2026_12", "yishi_test_events_2027_01"]
    assert ensure_month_partitions(events, today=date(2026, 11, 30), months_ahead=2) == []
    assert ensure_month_partitions(events, today=date(2026, 12, 1), months_ahead=2) == ["yishi_test_events_2027_02"]
    # 2027-01-01 00:30 in Beijing is still 2026-12-31 in UTC: it belongs to January.
    assert _partition_of(events, "2026-12-31T16:30:00+00:00") == "yishi_test_events_2027_01"
    assert _partition_of(events, "2026-12-31T15:59:59+00:00") == "yishi_test_events_2026_12"


def test_an_unpartitioned_table_is_refused_and_the_command_leaves_it(db, capsys):
    assert not is_partitioned("audit_auditevent")
    with pytest.raises(PartitionError, match="audit_auditevent is not partitioned"):
        ensure_month_partitions("audit_auditevent", today=date(2026, 11, 21))
    call_command("partitions")
    assert "audit_auditevent: not partitioned, nothing to do" in capsys.readouterr().out


def test_rows_already_in_the_default_partition_are_named(events):
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {events}_default PARTITION OF {events} DEFAULT")
    assert _partition_of(events, "2027-03-05T10:00:00+08:00") == f"{events}_default"
    with pytest.raises(PartitionError, match=r"cannot create yishi_test_events_2027_03: .*move them"):
        ensure_month_partitions(events, today=date(2027, 3, 1), months_ahead=0)

"""Monthly partitions of PostgreSQL tables that an operator has partitioned (docs/decisions/0005-partitioning.md).

Yishi's migrations do not partition anything; once the audit table has been converted with the SQL of decision
0005, ``yishi partitions`` (run monthly by a timer) creates the coming months' partitions ahead of time, so an
append never lands in the default partition. Months are bounded at local midnight of ``TIME_ZONE``.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError, connection

# Tables that decision 0005 partitions by month, and their partition key (for the report only: the key is the
# table's own, read from the catalogue).
PARTITIONED_TABLES = ("audit_auditevent",)


class PartitionError(Exception):
    """A month's partition could not be created; the message says why and what to do."""


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def is_partitioned(table: str) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [table])
        return cursor.fetchone() is not None


def ensure_month_partitions(table: str, *, today: date, months_ahead: int = 2) -> list[str]:
    """Create the partitions of ``table`` for the month of ``today`` and the ``months_ahead`` after it, unless they
    exist. Returns the names created. The table must be partitioned by range on a timestamp column."""
    if not is_partitioned(table):
        raise PartitionError(f"{table} is not partitioned (see docs/decisions/0005-partitioning.md)")
    zone = ZoneInfo(settings.TIME_ZONE)
    created: list[str] = []
    first = today.replace(day=1)
    with connection.cursor() as cursor:
        for i in range(months_ahead + 1):
            start, end = _add_months(first, i), _add_months(first, i + 1)
            name = f"{table}_{start:%Y_%m}"
            cursor.execute("SELECT to_regclass(%s)", [name])
            if cursor.fetchone()[0] is not None:
                continue
            lower = datetime(start.year, start.month, 1, tzinfo=zone).isoformat()
            upper = datetime(end.year, end.month, 1, tzinfo=zone).isoformat()
            quote = connection.ops.quote_name
            try:
                cursor.execute(
                    f"CREATE TABLE {quote(name)} PARTITION OF {quote(table)} FOR VALUES FROM ('{lower}') TO ('{upper}')"
                )
            except DatabaseError as exc:
                raise PartitionError(
                    f"cannot create {name}: {exc}. If the default partition already holds rows of that month, move "
                    "them: detach the default partition, create the month, INSERT … SELECT the rows, re-attach."
                ) from exc
            created.append(name)
    return created

"""DuckDB as the reference of the dashboard figure: the dashboard's own aggregate query, run by DuckDB over the same
rows, measured in the same run.

The columns the query reads (and the org units' ids and paths it picks the scope from) are copied out of the
database once per run, into DuckDB's own in-memory tables named like ours, so that the SQL Django sent to the
database runs there unchanged (DuckDB reads PostgreSQL's dialect: ``::date``, ``FILTER (WHERE …)``, ``LIKE``).
The copy is not timed; only the query is.
"""

from __future__ import annotations

import csv
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from django.db import connection

APPEAL_TABLE = "appeals_appeal"
ORG_TABLE = "orgs_orgunit"


def columns_read(sql: str, table: str) -> list[str]:
    """The columns of ``table`` a query names (``"table"."column"``), in first-seen order."""
    seen: dict[str, None] = {}
    for column in re.findall(rf'"{table}"\."(\w+)"', sql):
        seen.setdefault(column, None)
    return list(seen)


def _export(table: str, columns: list[str], path: Path) -> None:
    """Write the columns of every row of ``table`` to a CSV file with a header."""
    names = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with path.open("wb") as out, cursor.cursor.copy(f"COPY (SELECT {names} FROM {table}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
                for block in copy:
                    out.write(block)
            return
        cursor.execute(f"SELECT {names} FROM {table}")
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(columns)
            while rows := cursor.fetchmany(50_000):
                writer.writerows(rows)


def _types(table: str, columns: list[str]) -> dict[str, str]:
    """DuckDB types of the exported columns, from the model's fields (the CSV alone would leave booleans and
    timestamps to guessing)."""
    from django.apps import apps

    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    kinds = {str(f.column): f.get_internal_type() for f in model._meta.concrete_fields}
    mapping = {"BooleanField": "BOOLEAN", "DateTimeField": "TIMESTAMPTZ", "DateField": "DATE", "FloatField": "DOUBLE"}
    result = {}
    for column in columns:
        kind = kinds.get(column, "")
        result[column] = mapping.get(kind, "BIGINT" if kind.endswith(("IntegerField", "AutoField", "ForeignKey")) else "VARCHAR")
    return result


class DuckReference:
    """An in-memory DuckDB holding the columns ``sql`` reads of the appeal and org-unit tables."""

    def __init__(self, sql: str) -> None:
        import duckdb

        self.sql = sql
        self.db = duckdb.connect()
        self.db.execute("SET TimeZone = 'UTC'")
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            for table in (APPEAL_TABLE, ORG_TABLE):
                columns = columns_read(sql, table) or ["id"]
                if table == ORG_TABLE:  # the scope subquery names its table by an alias
                    columns = sorted({"id", "path", *columns})
                path = Path(tmp) / f"{table}.csv"
                _export(table, columns, path)
                types = _types(table, columns)
                self.db.execute(
                    f"CREATE TABLE {table} AS SELECT * FROM read_csv(?, header = true, columns = {self._struct(types)})",
                    [str(path)],
                )
        self.load_seconds = time.perf_counter() - started

    @staticmethod
    def _struct(types: dict[str, str]) -> str:
        return "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in types.items()) + "}"

    def run(self) -> list[tuple[Any, ...]]:
        return self.db.execute(self.sql).fetchall()

    def close(self) -> None:
        self.db.close()

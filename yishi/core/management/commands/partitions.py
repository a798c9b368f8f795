"""``yishi partitions``: create the coming months' partitions of the tables an operator has partitioned."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from yishi.core.partitions import PARTITIONED_TABLES, PartitionError, ensure_month_partitions, is_partitioned


class Command(BaseCommand):
    help = (
        "Create this month's and the next months' partitions of the audit table when it is partitioned "
        "(docs/decisions/0005-partitioning.md); does nothing for unpartitioned tables or SQLite. Run monthly."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--months-ahead", type=int, default=2, help="months after the current one (default 2)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["months_ahead"] < 0:
            raise CommandError("--months-ahead must be 0 or more")
        for table in PARTITIONED_TABLES:
            if not is_partitioned(table):
                self.stdout.write(f"{table}: not partitioned, nothing to do")
                continue
            try:
                created = ensure_month_partitions(table, today=timezone.localdate(), months_ahead=options["months_ahead"])
            except PartitionError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"{table}: created {', '.join(created)}" if created else f"{table}: partitions in place")

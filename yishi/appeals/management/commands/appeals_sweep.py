"""``yishi appeals_sweep``: run the supervision sweep once (from cron) or every N seconds (a cron-less deployment)."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connection
from django.utils import timezone

from yishi.appeals.services import SweepResult, supervision_sweep


def describe(result: SweepResult) -> str:
    return " ".join(f"{name}={value}" for name, value in asdict(result).items())


class Command(BaseCommand):
    help = "督办巡检: reminders before the deadline, 催办 after it, escalations, no-answer closures."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every", type=float, metavar="SECONDS",
            help="run again every SECONDS until interrupted (without it: run once)",
        )
        parser.add_argument(
            "--count", type=int, default=0, metavar="N",
            help="with --every: stop after N runs (default 0: never stop)",
        )

    def handle(self, *args: Any, every: float | None = None, count: int = 0, **options: Any) -> None:
        if every is not None and every <= 0:
            raise CommandError("--every must be a positive number of seconds")
        if count < 0:
            raise CommandError("--count must not be negative")
        if every is None:
            self._report(supervision_sweep())
            return
        runs = 0
        while True:
            started = time.monotonic()
            # A long-running loop must not keep a connection the database has dropped (as Django does around each
            # request); never inside a transaction of the caller's, which closing would break.
            if not connection.in_atomic_block:
                close_old_connections()
            try:
                self._report(supervision_sweep())
            except Exception as exc:  # keep looping: the next run may succeed (database restarting, lock timeout)
                self.stderr.write(f"{timezone.localtime():%Y-%m-%d %H:%M:%S} sweep failed: {exc!r}")
            runs += 1
            if count and runs >= count:
                return
            try:
                time.sleep(max(0.0, every - (time.monotonic() - started)))
            except KeyboardInterrupt:
                return

    def _report(self, result: SweepResult) -> None:
        self.stdout.write(f"{timezone.localtime():%Y-%m-%d %H:%M:%S} {describe(result)}")

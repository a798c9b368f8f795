"""``yishi demo``: load the demo district 江海区 (idempotent); ``--reset`` deletes the demo rows first."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from yishi.core.demo import demo_load, demo_reset, demo_steps


class Command(BaseCommand):
    help = (
        "Load the demo district 江海区: streets, communities, grids, handling units, stations and demo logins "
        "(password in yishi.core.demo_accounts). Running it again creates nothing twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset", action="store_true",
            help="delete the demo rows first, then load again (audit events are never deleted)",
        )
        parser.add_argument(
            "--force", action="store_true",
            help="load even though neither YISHI_DEMO nor DEBUG is set (the demo logins share a public password)",
        )
        parser.add_argument(
            "--skip", action="append", default=[], metavar="STEP",
            help="do not load this step (repeatable), e.g. --skip appeals for the places and people only",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not (settings.YISHI_DEMO or settings.DEBUG or options["force"]):
            raise CommandError(
                "The demo creates logins with a published password, among them a superuser. "
                "Set YISHI_DEMO=1 (or pass --force) to load it."
            )
        started = time.monotonic()
        steps = demo_steps()
        unknown = set(options["skip"]) - {step.name for step in steps}
        if unknown:
            raise CommandError(f"Unknown demo step: {', '.join(sorted(unknown))}")
        if options["reset"]:
            removed = demo_reset(steps)
            self.stdout.write("Deleted demo rows: " + (_counts(removed.deleted) or "none"))
        loaded = demo_load([step for step in steps if step.name not in options["skip"]])
        elapsed = time.monotonic() - started
        if loaded.created:
            self.stdout.write(self.style.SUCCESS(f"Demo loaded in {elapsed:.1f} s: {_counts(loaded.created)}"))
        else:
            self.stdout.write("Demo data already loaded; nothing to do.")
        self.stdout.write("Steps: " + ", ".join(step.name for step in steps))


def _counts(counter: Any) -> str:
    return ", ".join(f"{count} {label}" for label, count in counter.items() if count)

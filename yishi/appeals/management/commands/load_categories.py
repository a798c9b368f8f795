"""``yishi load_categories [FILE]``: load a 3-level category catalogue (the shipped one by default)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yishi.appeals.catalogue import SHIPPED_CATALOGUE, load_catalogue
from yishi.core.errors import InvalidInput


class Command(BaseCommand):
    help = (
        "Load the appeal category catalogue from a CSV (code, name, parent_code, default_urgency, fast_lane, "
        "keywords). Categories whose code exists are kept as they are, so running it twice creates nothing twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", default=str(SHIPPED_CATALOGUE), help="CSV file (default: the shipped catalogue)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = load_catalogue(options["file"])
        except FileNotFoundError as exc:
            raise CommandError(f"No such file: {options['file']}") from exc
        except InvalidInput as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Categories: {result.created} created, {result.existing} already present."))

"""``yishi backup``: the database and the uploaded files in one checked archive (see ``yishi.core.backup``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from yishi.core.backup import BackupError, create_backup


class Command(BaseCommand):
    help = (
        "Back up the database (PostgreSQL: pg_dump -Fc; SQLite: online backup API) and MEDIA_ROOT into one tar "
        "with a manifest (versions, migrations, row counts, checksums). Safe while the server runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output", "-o", type=Path, default=None,
            help="archive file, or a directory to write a dated archive in (default: $YISHI_DATA_DIR/backups/)",
        )
        parser.add_argument("--no-media", action="store_true", help="leave MEDIA_ROOT out (not a complete backup)")

    def handle(self, *args: Any, **options: Any) -> None:
        output = options["output"] or Path(settings.DATA_DIR) / "backups"
        if options["output"] is None:
            output.mkdir(parents=True, exist_ok=True)
        try:
            path = create_backup(output, include_media=not options["no_media"], log=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"backup written: {path}"))

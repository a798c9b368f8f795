"""``yishi restore``: put a ``yishi backup`` archive back and prove nothing was lost (see ``yishi.core.backup``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yishi.core.backup import BackupError, open_archive, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup archive into the configured database (DATABASE_URL) and MEDIA_ROOT, then check every "
        "table's row count against the manifest and the audit chain. Refuses a non-empty target unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path)
        parser.add_argument("--force", action="store_true", help="replace the contents of a non-empty database")
        parser.add_argument("--no-media", action="store_true", help="restore the database only")
        parser.add_argument("--check", action="store_true", help="only check the archive (checksums, manifest)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["check"]:
                archive = open_archive(options["archive"])
                m = archive.manifest
                self.stdout.write(
                    f"archive intact: {m['engine']} {m['server_version']}, made {m['created_at']} by Yishi "
                    f"{m['yishi_version']}; {len(m['tables'])} tables, {sum(m['tables'].values())} rows, "
                    f"{m['media']['files']} media files"
                )
                return
            report = restore_backup(
                options["archive"], force=options["force"], include_media=not options["no_media"], log=self.stdout.write,
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"restored: {report.tables} tables, {report.rows} rows, {report.media_files} media files; "
            f"audit chain intact: {report.audit_events} events"
        ))

"""``yishi import_appeals FILE --org-unit CODE --user USERNAME``: import a hotline CSV/Excel export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from yishi.accounts.models import User
from yishi.appeals.choices import ImportStatus
from yishi.appeals.imports import import_batch_create, import_batch_run
from yishi.appeals.models import ImportBatch
from yishi.core.errors import YishiError
from yishi.orgs.models import OrgUnit


class Command(BaseCommand):
    help = (
        "Import hotline records (CSV in UTF-8 or GB18030, or .xlsx; format in docs/import-format.md) as appeals of "
        "the area CODE, entered on the callers' behalf by USERNAME, who needs the appeals.import permission there. "
        "Rows whose 工单编号 was imported before are skipped, so a file can be imported again safely."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV or .xlsx file")
        parser.add_argument("--org-unit", required=True, help="code of the district, street or community imported into")
        parser.add_argument("--user", required=True, help="username of the staff member the appeals are entered by")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        unit = OrgUnit.objects.filter(code=options["org_unit"]).first()
        if unit is None:
            raise CommandError(f"No org unit with code {options['org_unit']!r}")
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {options['user']!r}")
        try:
            with path.open("rb") as handle:
                batch = import_batch_create(actor=user, upload=File(handle, name=path.name), org_unit_id=unit.pk, enqueue=False)
        except YishiError as exc:
            raise CommandError(f"{exc.field or 'file'}: {exc.message_en}") from exc
        result = import_batch_run(batch_id=batch.pk, on_progress=self._progress)
        if result is None:  # only if a worker picked up the batch we just created
            raise CommandError(f"Batch {batch.pk} is being imported elsewhere.")
        self._report(result)
        if result.status == ImportStatus.FAILED:
            raise CommandError("The file could not be imported.")

    def _progress(self, batch: ImportBatch) -> None:
        self.stdout.write(f"  {batch.processed}/{batch.total} rows", ending="\r" if batch.status == ImportStatus.RUNNING else "\n")

    def _report(self, batch: ImportBatch) -> None:
        for error in batch.errors:
            where = f"line {error['line']}" + (f", {error['field']}" if error.get("field") else "")
            self.stderr.write(f"{where}: {error['reason']} ({error['reason_en']})")
        if batch.failed > len(batch.errors):
            self.stderr.write(f"… and {batch.failed - len(batch.errors)} more bad rows")
        summary = f"Batch {batch.pk}: {batch.total} rows, {batch.created} created, {batch.skipped} skipped, {batch.failed} failed."
        self.stdout.write(self.style.SUCCESS(summary) if batch.status == ImportStatus.DONE else self.style.ERROR(summary))

"""``yishi audit verify``: recompute the audit hash chain and report any edited or deleted row."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yishi.audit.models import AuditEvent
from yishi.audit.services import verify_chain


class Command(BaseCommand):
    help = "Audit trail tools: 'verify' checks the hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        problems = verify_chain()
        if problems:
            for problem in problems:
                self.stderr.write(f"TAMPERED {problem}")
            raise CommandError(f"audit chain broken: {len(problems)} problem(s)")
        self.stdout.write(f"audit chain intact: {AuditEvent.objects.count()} events")

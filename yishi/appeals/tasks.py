"""Background work of appeals, run by the task backend (in-process by default, RQ workers in production)."""

from __future__ import annotations

from dataclasses import asdict

from django_tasks import task

from . import services


@task()
def run_supervision_sweep() -> dict[str, int]:
    """The supervision sweep (``services.supervision_sweep``) as a task, for a scheduler that enqueues it every few
    minutes; returns the counts of reminders, 催办, escalations and no-answer closures."""
    return asdict(services.supervision_sweep())


@task()
def import_appeals(batch_id: int) -> None:
    """Import a hotline file (``imports.import_batch_run``); progress and the bad-row report go to the batch."""
    from .imports import import_batch_run

    import_batch_run(batch_id=batch_id)


@task()
def refresh_month_rollup(month: str) -> None:
    """Recompute the statistics rollup of a month (``YYYY-MM-01``) that a dashboard found stale
    (``rollup.month_facts`` enqueues it once; the dashboard serves the previous counts meanwhile)."""
    from datetime import date

    from .rollup import refresh_month

    refresh_month(date.fromisoformat(month))

"""Background work of appeals, run by the task backend (in-process by default, RQ workers in production)."""

from __future__ import annotations

from django_tasks import task


@task()
def import_appeals(batch_id: int) -> None:
    """Import a hotline file (``imports.import_batch_run``); progress and the bad-row report go to the batch."""
    from .imports import import_batch_run

    import_batch_run(batch_id=batch_id)

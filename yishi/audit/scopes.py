"""Which audit events a user may read: those whose subject lies in their area.

Events name their subject by type and id, not by a foreign key, so they outlive it. Each app declares beside its
permission rules how a subject type maps to the org unit that places it (``audit_subject``); the ``audit.view``
rule narrows the events to the subjects under the viewer's grants. A type declared without a scope (the shared
appeal catalogue, policy profiles) is seen by every audit viewer. Undeclared types — and subjects that no longer
exist, whose place cannot be known — are seen by platform administrators only.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps
from django.db.models import CharField, Q
from django.db.models.functions import Cast

# subject type (``app_label.modelname``) → lookup from that model to its OrgUnit ("" for OrgUnit itself), or None
# for a type not tied to a place.
SUBJECTS: dict[str, str | None] = {}


def audit_subject(label: str, scope: str | None) -> None:
    """Declare how audit events about ``label`` are placed: ``scope`` as in a permission rule, or None (shared)."""
    SUBJECTS[label] = scope


def _minimal(paths: Iterable[str]) -> list[str]:
    kept: list[str] = []
    for path in sorted(set(paths), key=len):
        if not any(path.startswith(k) for k in kept):
            kept.append(path)
    return kept


def _area_q(scope: str, paths: list[str]) -> Q:
    field = f"{scope}__path" if scope else "path"
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(**{f"{field}__startswith": path})
    return q


def _ids_in_area(label: str, scope: str, paths: list[str]):  # type: ignore[no-untyped-def]
    """The ids (as the text stored in ``subject_id``) of the ``label`` objects located under ``paths``."""
    model = apps.get_model(label)
    return (
        model._default_manager.filter(_area_q(scope, paths))
        .annotate(_subject_id=Cast("pk", CharField()))
        .values("_subject_id")
    )


def events_in_area_q(paths: Iterable[str]) -> Q:
    """A Q on AuditEvent selecting the events whose subject lies under one of ``paths`` (or is shared)."""
    kept = _minimal(paths)
    q = Q(pk__in=[])
    if not kept:
        return q
    for label, scope in SUBJECTS.items():
        if scope is None:
            q |= Q(subject_type=label)
        else:
            q |= Q(subject_type=label, subject_id__in=_ids_in_area(label, scope, kept))
    return q


def subject_in_area(label: str, subject_id: str, paths: Iterable[str]) -> bool:
    """Does the subject ``label:subject_id`` exist and lie under one of ``paths`` (or is its type shared)?"""
    if label not in SUBJECTS:
        return False
    scope = SUBJECTS[label]
    if scope is None:
        return True
    kept = _minimal(paths)
    return bool(kept) and _ids_in_area(label, scope, kept).filter(_subject_id=subject_id).exists()

"""Reading the audit trail, always as a given user and only what they may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from yishi.core.errors import NotFound
from yishi.core.permissions import get_rule, is_platform_admin, matching_grants, require, restrict

from .models import AuditEvent
from .scopes import subject_in_area


def audit_event_list(
    *, user: Any, subject_type: str | None = None, subject_id: str | None = None, code: str | None = None
) -> QuerySet[AuditEvent]:
    """The events the user may read, newest first. Asking for one subject outside the user's area (or one that
    does not exist) answers *not found*, the same either way."""
    require(user, "audit.view")
    if subject_type and subject_id and not is_platform_admin(user):
        paths = [g.path for g in matching_grants(user, get_rule("audit.view"))]
        if not subject_in_area(subject_type, subject_id, paths):
            raise NotFound()
    qs = restrict(AuditEvent.objects.order_by("-seq"), user, "audit.view")
    if subject_type:
        qs = qs.filter(subject_type=subject_type)
    if subject_id:
        qs = qs.filter(subject_id=subject_id)
    if code:
        qs = qs.filter(code=code)
    return qs

"""Who may read the audit trail: district staff, for the events whose subject lies in their area (see
``yishi.audit.scopes``); platform administrators, everything."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from yishi.accounts.choices import Role
from yishi.core.permissions import Grant, define

from .scopes import events_in_area_q, subject_in_area


def _event_in_area(user: Any, event: Any, grants: list[Grant]) -> bool:
    return subject_in_area(event.subject_type, event.subject_id, [g.path for g in grants])


def _events_in_area_q(user: Any, grants: list[Grant]) -> Q:
    return events_in_area_q(g.path for g in grants)


define(
    "audit.view", roles={Role.DISTRICT_STAFF}, check=_event_in_area, narrow=_events_in_area_q, label="查看审计日志",
)

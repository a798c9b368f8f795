from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from yishi.core.api_auth import auth
from yishi.core.pagination import Page, paginate
from yishi.core.permissions import require
from yishi.core.schemas import ERRORS

from .models import AuditEvent

router = Router(tags=["audit 审计"])


class AuditEventOut(Schema):
    id: int
    seq: int
    at: datetime
    actor_id: int | None
    actor_label: str
    code: str
    subject_type: str
    subject_id: str
    before: Any
    after: Any
    reason: str
    request_id: str


class AuditFilter(Schema):
    subject_type: str | None = None
    subject_id: str | None = None
    code: str | None = None


@router.get("/audit/events", response={200: list[AuditEventOut], **ERRORS}, auth=auth("read"))
@paginate(Page)
def list_events(request: HttpRequest, filters: Query[AuditFilter]):
    require(request.user, "audit.view")
    qs = AuditEvent.objects.order_by("-seq")
    if filters.subject_type:
        qs = qs.filter(subject_type=filters.subject_type)
    if filters.subject_id:
        qs = qs.filter(subject_id=filters.subject_id)
    if filters.code:
        qs = qs.filter(code=filters.code)
    return qs

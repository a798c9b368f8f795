from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from yishi.core.api_auth import auth
from yishi.core.pagination import Page, paginate
from yishi.core.schemas import ERRORS

from .selectors import audit_event_list

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
    """审计事件（最新在前）：区级工作人员只看到对象位于本辖区的事件；查询辖区外的对象返回 404。"""
    return audit_event_list(
        user=request.user, subject_type=filters.subject_type, subject_id=filters.subject_id, code=filters.code
    )

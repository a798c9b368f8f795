"""The appeal lifecycle as a declared transition table (DOMAIN §2)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from yishi.core.workflow import Transition, Workflow

from .choices import AppealState as S
from .models import Appeal

OPEN_FOR_HANDLING = frozenset({S.ACCEPTED, S.IN_PROGRESS})
ESCALATABLE = frozenset({S.RECEIVED, S.DISPATCHED, S.RETURN_REQUESTED, S.ACCEPTED, S.IN_PROGRESS})
MERGEABLE = frozenset({S.RECEIVED, S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS})
SUPERVISABLE = frozenset({S.DISPATCHED, S.RETURN_REQUESTED, S.ACCEPTED, S.IN_PROGRESS, S.REPLY_SUBMITTED})


def T(name: str, source: frozenset[str] | set[str], target: str | None, permission: str, label: Any, **kw: Any) -> Transition:
    return Transition(name, frozenset(source), target, permission, f"appeals.appeal.{name}", label, **kw)


TRANSITIONS = [
    T("triage", {S.RECEIVED}, None, "appeals.manage", _("分类定级")),
    T("reject", {S.RECEIVED}, S.REJECTED, "appeals.manage", _("不予受理"), requires_reason=True),
    T("answer", {S.RECEIVED}, S.REPLIED, "appeals.manage", _("直接答复")),
    T("dispatch", {S.RECEIVED}, S.DISPATCHED, "appeals.manage", _("派单")),
    T("accept", {S.DISPATCHED}, S.ACCEPTED, "appeals.handle", _("签收")),
    T("request_return", {S.DISPATCHED, S.ACCEPTED}, S.RETURN_REQUESTED, "appeals.handle", _("退单"), requires_reason=True),
    T("approve_return", {S.RETURN_REQUESTED}, S.DISPATCHED, "appeals.manage", _("同意退单并改派")),
    T("refuse_return", {S.RETURN_REQUESTED}, None, "appeals.manage", _("驳回退单"), requires_reason=True),
    T("contact", OPEN_FOR_HANDLING, S.IN_PROGRESS, "appeals.handle", _("联系群众")),
    T("progress", OPEN_FOR_HANDLING, None, "appeals.handle", _("记录进展")),
    T("co_report", {S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS}, None, "appeals.co_handle", _("协办反馈")),
    T("request_extension", OPEN_FOR_HANDLING, None, "appeals.handle", _("申请延期"), requires_reason=True),
    T("approve_extension", OPEN_FOR_HANDLING | {S.REPLY_SUBMITTED}, None, "appeals.manage", _("批准延期")),
    T("refuse_extension", OPEN_FOR_HANDLING | {S.REPLY_SUBMITTED}, None, "appeals.manage", _("驳回延期"), requires_reason=True),
    T("submit_reply", OPEN_FOR_HANDLING, S.REPLY_SUBMITTED, "appeals.handle", _("提交答复")),
    T("approve_reply", {S.REPLY_SUBMITTED}, S.REPLIED, "appeals.manage", _("审核通过答复")),
    T("return_reply", {S.REPLY_SUBMITTED}, S.IN_PROGRESS, "appeals.manage", _("答复不合格退回"), requires_reason=True),
    T("callback", {S.REPLIED}, None, "appeals.manage", _("录入回访")),
    T("close", {S.REPLIED}, S.CLOSED, "appeals.manage", _("办结")),
    T("reopen", {S.REPLIED, S.CLOSED}, S.DISPATCHED, "appeals.manage", _("重办"), requires_reason=True),
    T("archive", {S.CLOSED, S.REJECTED, S.DUPLICATE, S.MERGED}, S.ARCHIVED, "appeals.manage", _("归档")),
    T("escalate", ESCALATABLE, S.RECEIVED, "appeals.manage", _("上报上级"), requires_reason=True),
    T("merge", MERGEABLE, S.MERGED, "appeals.manage", _("合并")),
    T("mark_duplicate", {S.RECEIVED, S.DISPATCHED}, S.DUPLICATE, "appeals.manage", _("标记重复件")),
    T("supervise", SUPERVISABLE, None, "appeals.supervise", _("督办")),
]

def _with_reference(appeal: Appeal) -> None:
    """Its org unit, handling level and category from the reference cache instead of three queries."""
    from yishi.orgs.reference import org_unit_by_id

    from .catalogue import category_by_id

    for name, lookup in (("org_unit", org_unit_by_id), ("handling_level", org_unit_by_id), ("category", category_by_id)):
        pk = getattr(appeal, f"{name}_id")
        value = lookup(pk) if pk is not None else None
        if value is not None:
            setattr(appeal, name, value)


appeal_workflow = Workflow(
    Appeal,
    view_permission="appeals.view",
    transitions=TRANSITIONS,
    tracked_fields=["lead_unit", "due_at", "handling_level", "category", "urgency", "resolution", "satisfaction", "merged_into", "duplicate_of"],
    prepare=_with_reference,
)

"""The 8-step loop of a topic as a declared transition table; guards enforce "no next step without the artefact"."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from yishi.core.errors import Conflict
from yishi.core.workflow import Transition, Workflow

from .choices import ReviewState
from .choices import TopicState as S
from .models import Topic


def _gate(code: str, zh: str, en: str) -> Conflict:
    return Conflict(zh, en, code=code)


def has_participants(topic: Topic, user: Any) -> Exception | None:
    if not topic.participants.exists():
        return _gate("no_participants", "请先确定参与主体", "Invite participants first")
    return None


def has_approved_research(topic: Topic, user: Any) -> Exception | None:
    from yishi.policy.services import policy_value

    needed = int(policy_value("consultations.min_research_records", topic.room.org_unit))
    if topic.research.filter(state=ReviewState.APPROVED).count() < needed:
        return _gate("no_approved_research", "不调研不协商：至少需要一份已通过的调研记录", "No consultation without approved research")
    return None


def has_opinion_items(topic: Topic, user: Any) -> Exception | None:
    if not topic.opinion_items.exists():
        return _gate("no_opinion_items", "请先形成协商意见建议清单", "Compile the opinion list first")
    return None


def has_responsibilities(topic: Topic, user: Any) -> Exception | None:
    if not topic.responsibilities.exists():
        return _gate("no_responsibilities", "请先制定工作责任清单", "Draw up the responsibility list first")
    if topic.responsibilities.filter(handling_unit__isnull=True).exists():
        return _gate("responsibility_without_unit", "责任清单中有未明确责任单位的任务", "A task has no responsible unit")
    return None


def has_effects(topic: Topic, user: Any) -> Exception | None:
    if not topic.effects.exists():
        return _gate("no_effects", "请先填写落实效果清单", "Record the effect list first")
    return None


def T(name: str, source: set[str], target: str | None, permission: str, label: Any, **kw: Any) -> Transition:
    return Transition(name, frozenset(source), target, permission, f"consultations.topic.{name}", label, **kw)


TRANSITIONS = [
    T("approve", {S.PROPOSED}, S.APPROVED, "consultations.approve", _("审定通过")),
    T("decline", {S.PROPOSED}, S.DECLINED, "consultations.approve", _("不予审定"), requires_reason=True),
    T("start_research", {S.APPROVED}, S.RESEARCHING, "consultations.manage", _("开始商前调研"), guard=has_participants),
    T("call_meeting", {S.RESEARCHING, S.NO_DECISION}, S.MEETING, "consultations.manage", _("召集协商会议"), guard=has_approved_research),
    T("record_decision", {S.MEETING}, S.DECIDED, "consultations.manage", _("形成协商意见")),
    T("record_no_decision", {S.MEETING}, S.NO_DECISION, "consultations.manage", _("记录议而未决"), requires_reason=True),
    T("submit_results", {S.DECIDED}, S.SUBMITTED, "consultations.manage", _("报送成果"), guard=has_opinion_items),
    T("start_implementation", {S.SUBMITTED}, S.IMPLEMENTING, "consultations.manage", _("转化落实"), guard=has_responsibilities),
    T("start_evaluation", {S.IMPLEMENTING}, S.EVALUATING, "consultations.manage", _("评估质效"), guard=has_effects),
    T("close", {S.EVALUATING}, S.CLOSED, "consultations.manage", _("闭环")),
    T("escalate", {S.APPROVED, S.RESEARCHING, S.NO_DECISION, S.DECIDED}, S.ESCALATED, "consultations.manage", _("上报上级平台"), requires_reason=True),
]

topic_workflow = Workflow(
    Topic,
    view_permission="consultations.view",
    transitions=TRANSITIONS,
    tracked_fields=["approved_at", "results_sent_to", "results_sent_at", "final_rating", "closed_at"],
)

"""The 8 steps of the loop as the topic page shows them: for each, its artefact or what is missing.

A step is *done* when its artefact exists, *current* while the topic is in it, *failed* when it stalled there
(未通过审定, 议而未决, 决而不行), *todo* after the current one. An escalated topic shows the step it left from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .choices import MeetingState, ReviewState, TopicState
from .models import Topic

S = TopicState

NAMES = [gettext_lazy("搭建平台"), gettext_lazy("确定议题"), gettext_lazy("明确主体"), gettext_lazy("商前调研"),
         gettext_lazy("开展协商"), gettext_lazy("报送成果"), gettext_lazy("转化落实"), gettext_lazy("评估质效")]
# The step a topic is in, by state (1-based).
CURRENT: dict[str | None, int] = {
    S.PROPOSED: 2, S.DECLINED: 2, S.APPROVED: 3, S.RESEARCHING: 4, S.MEETING: 5, S.NO_DECISION: 5,
    S.DECIDED: 6, S.SUBMITTED: 7, S.IMPLEMENTING: 7, S.EVALUATING: 8, S.CLOSED: 9,
}


@dataclass
class LoopStep:
    number: int
    name: str
    status: str  # done | current | failed | todo
    artefact: str = ""
    missing: str = ""


def _fmt(at: Any) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d") if at else ""


def _escalated_step(topic: Topic) -> int:
    """Where an escalated topic stood when it went up (the last state before 已上报, from the audit trail)."""
    from .selectors import topic_timeline

    event = topic_timeline(topic).filter(code="consultations.topic.escalate").last()
    before = (event.before or {}).get("state") if event is not None and isinstance(event.before, dict) else None
    return CURRENT.get(before, 3)


def loop_steps(topic: Topic, *, panel: Any = None, failures: Any = None, min_research: int = 1) -> list[LoopStep]:
    room = topic.room
    current = _escalated_step(topic) if topic.state == S.ESCALATED else CURRENT.get(topic.state, 2)
    chair = room.members.filter(role="chair").select_related("user").first()
    members = room.members.count()
    participants = topic.participants.count()
    research = topic.research.aggregate(approved=Count("pk", filter=Q(state=ReviewState.APPROVED)), total=Count("pk"))
    meetings = topic.meetings.aggregate(total=Count("pk"), closed=Count("pk", filter=Q(state=MeetingState.CLOSED)))
    opinions = topic.opinion_items.count()
    tasks = topic.responsibilities.aggregate(
        total=Count("pk"), dispatched=Count("pk", filter=Q(appeal__isnull=False)),
        replied=Count("pk", filter=Q(appeal__replied_at__isnull=False)), no_unit=Count("pk", filter=Q(handling_unit__isnull=True)),
    )
    effects = topic.effects.count()
    satisfaction = topic.satisfaction.aggregate(n=Count("pk"), avg=Avg("score"))
    evaluations = topic.evaluations.count()

    found: list[tuple[str, str]] = []
    # 1 platform
    found.append((
        _("%(room)s：%(n)s 名成员，主持人 %(chair)s") % {"room": room.name, "n": members, "chair": chair.user if chair else "—"},
        "" if chair else _("议事室尚未指定主持人"),
    ))
    # 2 topic
    if topic.approved_at:
        found.append((_("%(date)s 由 %(who)s 审定") % {"date": _fmt(topic.approved_at), "who": topic.approved_by or "—"}, ""))
    elif topic.state == S.DECLINED:
        found.append(("", _("未通过审定：%(reason)s") % {"reason": topic.decline_reason}))
    else:
        found.append(("", _("待同级党组织审定")))
    # 3 participants
    if participants:
        text = _("%(n)s 个参与主体") % {"n": participants}
        if panel is not None and panel.missing:
            text += _("；缺少：%(kinds)s") % {"kinds": "、".join(k.label for k in panel.missing)}
        found.append((text, ""))
    else:
        found.append(("", _("尚未邀请参与主体")))
    # 4 research
    if research["approved"] >= min_research:
        found.append((_("%(a)s 份调研记录已通过（共 %(t)s 份）") % {"a": research["approved"], "t": research["total"]}, ""))
    else:
        found.append(("", _("不调研不协商：至少需要 %(n)s 份已通过的调研记录（已通过 %(a)s 份）") % {"n": min_research, "a": research["approved"]}))
    # 5 consultation
    if topic.state in (S.DECIDED, S.SUBMITTED, S.IMPLEMENTING, S.EVALUATING, S.CLOSED) or (
            topic.state == S.ESCALATED and current > 5):
        if meetings["total"]:
            found.append((_("已形成协商意见（会议 %(n)s 次）") % {"n": meetings["total"]}, ""))
        else:
            found.append((_("已形成协商意见（线下会议，结果由组织者录入）"), ""))
    elif topic.state == S.NO_DECISION:
        found.append((_("会议 %(n)s 次") % {"n": meetings["total"]}, _("议而未决：需要再次协商")))
    elif meetings["total"]:
        found.append((_("会议 %(n)s 次，已结束 %(c)s 次") % {"n": meetings["total"], "c": meetings["closed"]}, _("尚未形成协商意见")))
    else:
        found.append(("", _("尚未召开协商会议")))
    # 6 results
    if topic.results_sent_at:
        found.append((_("%(n)s 条意见建议，%(date)s 报送%(unit)s") % {
            "n": opinions, "date": _fmt(topic.results_sent_at), "unit": topic.results_sent_to or ""}, ""))
    elif opinions:
        found.append((_("%(n)s 条意见建议") % {"n": opinions}, _("尚未报送")))
    else:
        found.append(("", _("尚未形成协商意见建议清单")))
    # 7 implementation
    if tasks["total"]:
        text = _("%(t)s 项任务，%(d)s 项已派单，%(r)s 项已答复") % {"t": tasks["total"], "d": tasks["dispatched"], "r": tasks["replied"]}
        missing = _("%(n)s 项任务未明确责任单位") % {"n": tasks["no_unit"]} if tasks["no_unit"] else ""
        if failures is not None and failures.not_done and not missing:
            missing = _("%(n)s 项任务超期或未签收") % {"n": len(failures.not_done)}
        found.append((text, missing))
    else:
        found.append(("", _("尚未制定工作责任清单")))
    # 8 evaluation
    parts = []
    if effects:
        parts.append(_("%(n)s 条落实效果") % {"n": effects})
    if satisfaction["n"]:
        parts.append(_("%(n)s 份满意度评价（平均 %(avg).1f）") % {"n": satisfaction["n"], "avg": satisfaction["avg"]})
    if evaluations:
        parts.append(_("%(n)s 份第三方评估") % {"n": evaluations})
    if topic.final_rating:
        parts.append(_("综合评价 %(r)s/5") % {"r": topic.final_rating})
    found.append(("；".join(parts), "" if topic.state == S.CLOSED else (_("尚未填写落实效果清单") if not effects else _("尚未闭环"))))

    failed_steps: dict[str, int] = {S.DECLINED: 2, S.NO_DECISION: 5}
    failed_at = failed_steps.get(topic.state)
    if failures is not None and failures.not_done and topic.state in (S.SUBMITTED, S.IMPLEMENTING, S.EVALUATING):
        failed_at = 7
    result = []
    for number, (name, (artefact, missing)) in enumerate(zip(NAMES, found, strict=True), start=1):
        if number == failed_at:
            status = "failed"
        elif number < current or (number == 1):
            status = "done"
        elif number == current:
            status = "current"
        else:
            status = "todo"
        # What is missing matters where the topic stands (and for a platform without a chair), not further on.
        shown = missing if status in ("current", "failed") or number == 1 else ""
        result.append(LoopStep(number, str(name), status, artefact if status != "todo" else "", shown))
    return result


# --- the timeline ------------------------------------------------------------------------------------------------

EVENT_LABELS = {
    "consultations.topic.proposed": gettext_lazy("提出议题"),
    "consultations.topic.supported": gettext_lazy("群众附议"),
    "consultations.participant.invited": gettext_lazy("邀请参与主体"),
    "consultations.participant.removed": gettext_lazy("移除参与主体"),
    "consultations.research.submitted": gettext_lazy("提交调研记录"),
    "consultations.research.approved": gettext_lazy("调研记录审核通过"),
    "consultations.research.rejected": gettext_lazy("调研记录退回"),
    "consultations.opinion.added": gettext_lazy("增加意见建议"),
    "consultations.opinion.from_motions": gettext_lazy("通过的动议列入意见建议清单"),
    "consultations.opinion.removed": gettext_lazy("删除意见建议"),
    "consultations.responsibility.added": gettext_lazy("增加责任清单任务"),
    "consultations.responsibility.unit_set": gettext_lazy("明确责任单位"),
    "consultations.responsibility.dispatched": gettext_lazy("任务派单"),
    "consultations.effect.added": gettext_lazy("记录落实效果"),
    "consultations.satisfaction.responded": gettext_lazy("满意度评价"),
    "consultations.evaluation.added": gettext_lazy("第三方评估"),
    "consultations.topic.meeting_scheduled": gettext_lazy("再次召集协商会议"),
    "consultations.topic.meeting_rescheduled": gettext_lazy("协商会议改期"),
    "consultations.topic.meeting_cancelled": gettext_lazy("协商会议取消"),
}


@dataclass
class Event:
    at: Any
    label: str
    actor: str
    reason: str = ""
    state: str = ""


def timeline(topic: Topic) -> list[Event]:
    """The topic's audited steps with readable labels (one query)."""
    from .selectors import topic_timeline
    from .workflow import topic_workflow

    states: dict[str | None, str | Promise] = dict(S.choices)
    result = []
    for event in topic_timeline(topic):
        name = event.code.removeprefix("consultations.topic.")
        transition = topic_workflow.transitions.get(name)
        label = transition.label if transition is not None else EVENT_LABELS.get(event.code, event.code)
        after = event.after if isinstance(event.after, dict) else {}
        before = event.before if isinstance(event.before, dict) else {}
        state = states.get(after.get("state"), "") if after.get("state") != before.get("state") else ""
        result.append(Event(event.at, str(label), event.actor_label, event.reason, str(state)))
    return result

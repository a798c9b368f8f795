"""The consultation meeting API (开展协商, the online room).

* ``POST /meetings`` calls a meeting on a topic (area staff; the topic moves to 协商会议); ``GET /meetings`` and
  ``GET /meetings/{id}`` read the meetings the caller may follow (others are *not found*).
* ``GET /meetings/{id}/state`` is the live room as the caller sees it, with what they may do now (``can``). It
  carries an ``ETag``; a client polling with ``If-None-Match`` gets ``304`` while nothing changed.
* Every action is ``POST /meetings/{id}/actions/{verb}`` and answers with the new state. The chair's actions
  refuse anyone else with 403 (``not_chair``), or 404 when the caller may not even follow the meeting. Rule
  breaches are 409 with a stable code: ``already_voted``, ``voting_closed``, ``voting_not_open``, ``speech_limit``,
  ``already_waiting``, ``motion_live``, ``speaker_on_floor``, ``no_quorum``, ``not_checked_in``…; a floor request
  without a stance is 422 with ``field: "stance"``.
* Before it starts, the chair or the room's organisers ``reschedule`` a meeting (the notice rule applies to the new
  time: 400 ``notice_too_short`` on ``starts_at``) or ``cancel`` it with a reason; once it has started or ended
  both are 409 (``meeting_open``, ``meeting_closed``, ``meeting_cancelled``). A topic whose meeting was cancelled
  gets the next one through ``POST /meetings`` again.
* ``GET /meetings/{id}/minutes`` and ``GET /meetings/{id}/opinions`` give the minutes (draft or approved) and the
  written opinions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from ninja import Field, Query, Router, Schema

from yishi.core.api_actions import action_route
from yishi.core.api_auth import auth
from yishi.core.pagination import Page, paginate
from yishi.core.schemas import ERRORS, Id, Text

from . import meeting_selectors as selectors
from . import meetings as services
from .choices import MeetingMode, MeetingState, Stance, VoteChoice

router = Router(tags=["consultations 协商会议"])

# --- inputs -----------------------------------------------------------------------------------------------------


class MeetingScheduleIn(Schema):
    topic: Id = Field(..., description="议题 id（须已通过商前调研）")
    mode: MeetingMode = Field(..., description="in_person 现场 / online 网上 / hybrid 线上线下结合")
    starts_at: datetime = Field(..., description="开始时间；须至少提前通知天数（政策配置）")
    agenda: Text = Field(..., max_length=5000)
    location: Text = Field("", max_length=200, description="现场或线上线下结合时必填")


class MeetingFilterIn(Schema):
    topic_id: Id | None = None
    state: MeetingState | None = None


class MeetingParticipantIn(Schema):
    participant: Id | None = Field(None, description="为他人报名/签到时填写（主持人、组织单位）；为空即本人")


class MeetingOpenIn(Schema):
    override_reason: Text = Field("", max_length=2000, description="未达到法定人数仍开会的理由")


class MeetingMotionIn(Schema):
    title: Text = Field(..., max_length=200)
    text: Text = Field("", max_length=5000)


class MeetingMotionRefIn(Schema):
    motion: Id


class MeetingFloorIn(Schema):
    motion: Id
    stance: Stance = Field(..., description="先表明立场：for 赞成 / against 反对 / neutral 中立")


class MeetingFloorRefIn(Schema):
    floor_request: Id


class MeetingSpeechEndIn(Schema):
    floor_request: Id
    text: Text = Field("", max_length=5000, description="发言要点（记入纪要）")


class MeetingVoteIn(Schema):
    motion: Id
    choice: VoteChoice = Field(..., description="yes 赞成 / no 反对 / abstain 弃权")


class MeetingConsensusIn(Schema):
    motion: Id
    note: Text = Field(..., max_length=5000)


class MeetingWithdrawIn(Schema):
    motion: Id
    reason: Text = Field("", max_length=2000)


class MeetingOpinionIn(Schema):
    text: Text = Field(..., max_length=2000)


class MeetingRescheduleIn(Schema):
    starts_at: datetime = Field(..., description="新的开始时间；自现在起须至少提前通知天数（政策配置）")
    reason: Text = Field("", max_length=2000, description="改期理由（通知参与者）")


class MeetingCancelIn(Schema):
    reason: Text = Field(..., max_length=2000, description="取消理由（通知参与者）")


class MeetingMinutesApproveIn(Schema):
    text: Text | None = Field(None, max_length=50_000, description="修改后的纪要全文；为空即审定草稿原文")


# --- outputs ----------------------------------------------------------------------------------------------------


class MeetingDetailOut(Schema):
    id: int
    topic_id: int
    mode: str
    state: str
    starts_at: datetime
    location: str
    agenda: str
    notice_sent_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None
    quorum_met: bool | None
    minutes_approved_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str
    warnings: list[str] = []

    @staticmethod
    def resolve_warnings(obj: Any) -> list[str]:
        return list(getattr(obj, "warnings", []))


class MeetingSpeechOut(Schema):
    id: int
    participant_id: int
    name: str
    stance: str
    stance_label: str
    state: str
    requested_at: datetime
    started_at: datetime | None
    ends_at: datetime | None
    ended_at: datetime | None
    seconds_left: int | None
    overtime: bool
    cut: bool
    text: str
    is_me: bool


class MeetingMotionOut(Schema):
    id: int
    number: int
    title: str
    text: str
    state: str
    state_label: str
    outcome: str
    outcome_label: str
    yes: int
    no: int
    abstain: int
    consensus_note: str
    pass_percent: int
    opened_at: datetime
    closed_at: datetime | None


class MeetingLiveMotionOut(MeetingMotionOut):
    speaker: MeetingSpeechOut | None
    queue: list[MeetingSpeechOut]
    speeches: list[MeetingSpeechOut]
    votes_cast: int
    voting_opened_at: datetime | None


class MeetingInfoOut(Schema):
    id: int
    topic_id: int
    topic_title: str
    room_name: str
    mode: str
    mode_label: str
    state: str
    state_label: str
    starts_at: datetime
    location: str
    agenda: str
    opened_at: datetime | None
    closed_at: datetime | None
    quorum_met: bool | None
    minutes_ready: bool
    minutes_approved: bool
    notice_sent_at: datetime
    cancelled_at: datetime | None
    cancel_reason: str


class MeetingRulesOut(Schema):
    notice_min_days: int
    notice_max_days: int
    quorum_percent: int
    speech_seconds: int
    speeches_per_motion: int
    pass_percent: int


class MeetingQuorumOut(Schema):
    present: int
    total: int
    met: bool
    percent: int


class MeetingAttendanceOut(Schema):
    participant_id: int
    name: str
    kind: str
    kind_label: str
    can_vote: bool
    registered: bool
    present: bool
    is_chair: bool


class MeetingMeOut(Schema):
    signed_in: bool
    chair: bool
    organiser: bool
    participant_id: int | None
    can_vote: bool
    registered: bool
    present: bool
    speeches_used: int
    speeches_left: int | None
    waiting: bool
    vote: str | None
    vote_label: str


class MeetingCanOut(Schema):
    register_: bool = Field(..., alias="register")  # "register" would shadow pydantic's Schema.register
    check_in: bool
    check_in_others: bool
    open_meeting: bool
    open_motion: bool
    grant_floor: bool
    end_speech: bool
    open_vote: bool
    close_vote: bool
    record_consensus: bool
    withdraw_motion: bool
    close_meeting: bool
    request_floor: bool
    vote: bool
    write_opinion: bool
    generate_minutes: bool
    approve_minutes: bool
    reschedule: bool
    cancel: bool


class MeetingStateOut(Schema):
    version: int = Field(..., description="会议最近一次变更的序号；不变即会场无变化")
    now: datetime = Field(..., description="服务器时间（倒计时以服务器为准）")
    meeting: MeetingInfoOut
    chair: str
    rules: MeetingRulesOut
    quorum: MeetingQuorumOut
    attendance: list[MeetingAttendanceOut]
    motion: MeetingLiveMotionOut | None = Field(..., description="正在讨论或表决的动议（一次只议一项）")
    motions: list[MeetingMotionOut] = Field(..., description="已结束的动议及表决结果")
    me: MeetingMeOut
    can: MeetingCanOut = Field(..., description="当前用户现在可以执行的操作")
    opinions: int


class MeetingMinutesOut(Schema):
    meeting_id: int
    text: str
    approved: bool
    approved_at: datetime | None
    approved_by: str | None


class MeetingOpinionOut(Schema):
    id: int
    author: str
    text: str
    created_at: datetime

    @staticmethod
    def resolve_author(obj: Any) -> str:
        return str(obj.author) if obj.author_id else ""


# --- reads ------------------------------------------------------------------------------------------------------


@router.post("/meetings", response={201: MeetingDetailOut, **ERRORS}, auth=auth("write"))
def schedule_meeting(request: HttpRequest, payload: MeetingScheduleIn):
    """召集协商会议（本地区组织单位）：议题须已有通过的调研记录；须至少提前通知天数，超过建议天数时返回 warnings。"""
    meeting = services.meeting_schedule(
        actor=request.user, topic=payload.topic, mode=payload.mode, starts_at=payload.starts_at,
        agenda=payload.agenda, location=payload.location,
    )
    return 201, meeting


@router.get("/meetings", response={200: list[MeetingDetailOut], **ERRORS}, auth=auth("read"))
@paginate(Page)
def list_meetings(request: HttpRequest, filters: Query[MeetingFilterIn]):
    """我可以关注的协商会议（参与主体、议事室成员、本地区工作人员和居民），可按议题、状态筛选。"""
    return selectors.meeting_list(user=request.user, topic_id=filters.topic_id, state=filters.state)


@router.get("/meetings/{int:meeting_id}", response={200: MeetingDetailOut, **ERRORS}, auth=auth("read"))
def get_meeting(request: HttpRequest, meeting_id: int):
    """协商会议：形式、时间、地点、议程、法定人数、纪要是否审定。"""
    return selectors.meeting_get(user=request.user, pk=meeting_id)


def _etag(request: HttpRequest, meeting_id: int, version: int) -> str:
    return f'"m{meeting_id}-v{version}-u{request.user.pk}-{get_language() or ""}"'


@router.get("/meetings/{int:meeting_id}/state", response={200: MeetingStateOut, **ERRORS}, auth=auth("read"))
def meeting_live_state(request: HttpRequest, meeting_id: int, response: HttpResponse):
    """网上议事室的实时状态：当前动议、发言人及其截止时间、发言队列与立场、已结束动议的票数，以及我现在可以做什么。
    带 ETag；以 If-None-Match 轮询，无变化时返回 304。"""
    meeting = selectors.meeting_get(user=request.user, pk=meeting_id)
    etag = _etag(request, meeting.pk, selectors.meeting_version(meeting))
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        not_modified = HttpResponse(status=304)
        not_modified["ETag"] = etag
        not_modified["Cache-Control"] = "private, no-cache"
        return not_modified
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return selectors.meeting_state(user=request.user, meeting=meeting)


@router.get("/meetings/{int:meeting_id}/minutes", response={200: MeetingMinutesOut, **ERRORS}, auth=auth("read"))
def meeting_minutes(request: HttpRequest, meeting_id: int):
    """会议纪要（会后由记录自动生成草稿，主持人审定）。"""
    meeting = selectors.meeting_get(user=request.user, pk=meeting_id)
    return {
        "meeting_id": meeting.pk, "text": meeting.minutes, "approved": meeting.minutes_approved_at is not None,
        "approved_at": meeting.minutes_approved_at,
        "approved_by": str(meeting.minutes_approved_by) if meeting.minutes_approved_by_id else None,
    }


@router.get("/meetings/{int:meeting_id}/opinions", response={200: list[MeetingOpinionOut], **ERRORS}, auth=auth("read"))
def meeting_opinions(request: HttpRequest, meeting_id: int):
    """会上收到的书面意见。"""
    return list(selectors.opinion_list(selectors.meeting_get(user=request.user, pk=meeting_id)))


# --- actions ----------------------------------------------------------------------------------------------------

STATE_RESPONSES = {200: MeetingStateOut, **ERRORS}


_action = action_route(router, "/meetings/{int:meeting_id}", response=STATE_RESPONSES, operation_prefix="meeting")


def _state(request: HttpRequest, meeting_id: int) -> dict[str, Any]:
    """What every action answers: the room as the caller now sees it."""
    return selectors.meeting_state(user=request.user, meeting=selectors.meeting_get(user=request.user, pk=meeting_id))


@_action("register", "报名参会（本人；主持人或组织单位可为参与主体报名）")
def register(request: HttpRequest, meeting_id: int, payload: MeetingParticipantIn):
    services.meeting_register(actor=request.user, meeting=meeting_id, participant=payload.participant)
    return _state(request, meeting_id)


@_action("check_in", "签到（会议当天；网上、线上线下结合会议可本人签到）")
def check_in(request: HttpRequest, meeting_id: int, payload: MeetingParticipantIn):
    services.meeting_check_in(actor=request.user, meeting=meeting_id, participant=payload.participant)
    return _state(request, meeting_id)


@_action("open", "开会（主持人；未达到法定人数须填写理由）")
def open_meeting(request: HttpRequest, meeting_id: int, payload: MeetingOpenIn):
    services.meeting_open(actor=request.user, meeting=meeting_id, override_reason=payload.override_reason)
    return _state(request, meeting_id)


@_action("open_motion", "提出动议（主持人；一次只议一项）")
def open_motion(request: HttpRequest, meeting_id: int, payload: MeetingMotionIn):
    services.motion_open(actor=request.user, meeting=meeting_id, title=payload.title, text=payload.text)
    return _state(request, meeting_id)


@_action("request_floor", "申请发言（参与主体；须先表明立场，每项动议发言次数有限）")
def request_floor(request: HttpRequest, meeting_id: int, payload: MeetingFloorIn):
    services.floor_request(actor=request.user, meeting=meeting_id, motion=payload.motion, stance=payload.stance)
    return _state(request, meeting_id)


@_action("grant_floor", "准许发言（主持人；一次一人，计时开始）")
def grant_floor(request: HttpRequest, meeting_id: int, payload: MeetingFloorRefIn):
    services.floor_grant(actor=request.user, meeting=meeting_id, request=payload.floor_request)
    return _state(request, meeting_id)


@_action("end_speech", "结束发言（发言人或主持人；记录发言要点，超时标记截止）")
def end_speech(request: HttpRequest, meeting_id: int, payload: MeetingSpeechEndIn):
    services.speech_end(actor=request.user, meeting=meeting_id, request=payload.floor_request, text=payload.text)
    return _state(request, meeting_id)


@_action("open_vote", "开始表决（主持人）")
def open_vote(request: HttpRequest, meeting_id: int, payload: MeetingMotionRefIn):
    services.vote_open(actor=request.user, meeting=meeting_id, motion=payload.motion)
    return _state(request, meeting_id)


@_action("cast_vote", "表决：赞成、反对或弃权（每人每项动议一票）")
def cast_vote(request: HttpRequest, meeting_id: int, payload: MeetingVoteIn):
    services.vote_cast(actor=request.user, meeting=meeting_id, motion=payload.motion, choice=payload.choice)
    return _state(request, meeting_id)


@_action("close_vote", "结束表决并计票（主持人）")
def close_vote(request: HttpRequest, meeting_id: int, payload: MeetingMotionRefIn):
    services.vote_close(actor=request.user, meeting=meeting_id, motion=payload.motion)
    return _state(request, meeting_id)


@_action("record_consensus", "记录共识（主持人；代替表决）")
def record_consensus(request: HttpRequest, meeting_id: int, payload: MeetingConsensusIn):
    services.consensus_record(actor=request.user, meeting=meeting_id, motion=payload.motion, note=payload.note)
    return _state(request, meeting_id)


@_action("withdraw_motion", "撤回动议（主持人；讨论中）")
def withdraw_motion(request: HttpRequest, meeting_id: int, payload: MeetingWithdrawIn):
    services.motion_withdraw(actor=request.user, meeting=meeting_id, motion=payload.motion, reason=payload.reason)
    return _state(request, meeting_id)


@_action("write_opinion", "提交书面意见（关注会议的居民等）")
def write_opinion(request: HttpRequest, meeting_id: int, payload: MeetingOpinionIn):
    services.written_opinion_add(actor=request.user, meeting=meeting_id, text=payload.text)
    return _state(request, meeting_id)


@_action("close", "结束会议（主持人）：生成纪要草稿，议题转入“已形成意见”或“议而未决”")
def close_meeting(request: HttpRequest, meeting_id: int):
    services.meeting_close(actor=request.user, meeting=meeting_id)
    return _state(request, meeting_id)


@_action("generate_minutes", "重新生成纪要草稿（主持人或组织单位；审定前）")
def generate_minutes(request: HttpRequest, meeting_id: int):
    services.minutes_generate(actor=request.user, meeting=meeting_id)
    return _state(request, meeting_id)


@_action("approve_minutes", "审定纪要（主持人）")
def approve_minutes(request: HttpRequest, meeting_id: int, payload: MeetingMinutesApproveIn):
    services.minutes_approve(actor=request.user, meeting=meeting_id, text=payload.text)
    return _state(request, meeting_id)


@_action("reschedule", "会议改期（主持人或组织单位；会议开始前；须至少提前通知天数，报名和签到清空并重新通知）")
def reschedule_meeting(request: HttpRequest, meeting_id: int, payload: MeetingRescheduleIn):
    services.meeting_reschedule(actor=request.user, meeting=meeting_id, starts_at=payload.starts_at, reason=payload.reason)
    return _state(request, meeting_id)


@_action("cancel", "取消会议（主持人或组织单位；会议开始前；须写明理由并通知参与者）")
def cancel_meeting(request: HttpRequest, meeting_id: int, payload: MeetingCancelIn):
    services.meeting_cancel(actor=request.user, meeting=meeting_id, reason=payload.reason)
    return _state(request, meeting_id)

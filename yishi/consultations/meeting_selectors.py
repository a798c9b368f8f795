"""Reads of consultation meetings: what a user may see, the live state of the room, and the draft minutes.

``meeting_state`` is what both the room page and ``GET /api/meetings/{id}/state`` show: the agenda, the live
motion with its speaker (``ends_at`` from the server, the page counts down to it), the queue with stances, the
closed motions with their tallies, and what *this* user may do now. ``meeting_version`` is the sequence number of
the meeting's latest audit event: every change to a meeting writes one, so an unchanged version means an unchanged
room and the polling page (or an API client with ``If-None-Match``) gets an empty answer. The topic's events count
too: a participant invited while the meeting is scheduled changes the room.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from yishi.audit.models import AuditEvent
from yishi.core.permissions import can, get_scoped_or_404, restrict

from .choices import FloorState, MeetingMode, MeetingState, MotionOutcome, MotionState, Stance, VoteChoice
from .meetings import (
    LIVE_MOTION_STATES,
    chair_user_id,
    is_chair,
    meeting_rules,
    participant_of,
    passes,
    quorum,
)
from .models import Attendance, FloorRequest, Meeting, Motion, Participant, Topic, Vote, WrittenOpinion

_RELATED = ("topic__room__org_unit",)
SUBJECT_TYPE = Meeting._meta.label_lower
TOPIC_TYPE = Topic._meta.label_lower


def meeting_get(*, user: Any, pk: int) -> Meeting:
    """One meeting the user may follow; missing and out of sight are both *not found*."""
    return get_scoped_or_404(Meeting.objects.select_related(*_RELATED), user, "consultations.follow_meeting", pk=pk)


def meeting_list(*, user: Any, topic_id: int | None = None, state: str | None = None) -> QuerySet[Meeting]:
    qs = restrict(Meeting.objects.select_related(*_RELATED), user, "consultations.follow_meeting")
    if topic_id is not None:
        qs = qs.filter(topic_id=topic_id)
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-starts_at", "-id")


def meeting_version(meeting: Meeting) -> int:
    """The latest audit event of the meeting or of its topic (participants invited meanwhile change the room too)."""
    events = AuditEvent.objects.filter(
        Q(subject_type=SUBJECT_TYPE, subject_id=str(meeting.pk)) | Q(subject_type=TOPIC_TYPE, subject_id=str(meeting.topic_id))
    )
    return int(events.aggregate(v=Max("seq"))["v"] or 0)


def speech_was_cut(request: FloorRequest) -> bool:
    """Ended after its time: the speech was cut at the limit."""
    return bool(request.ended_at and request.ends_at and request.ended_at > request.ends_at)


def _label(choices: Any, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def _roll_call(meeting: Meeting) -> tuple[list[Participant], dict[int, Attendance]]:
    """Everyone invited to the topic (also those invited after the notice) and their attendance rows by participant."""
    invited = list(Participant.objects.filter(topic_id=meeting.topic_id).order_by("pk"))
    rows = {a.participant_id: a for a in Attendance.objects.filter(meeting=meeting)}
    return invited, rows


def _speech(fr: FloorRequest, now: datetime, user: Any) -> dict[str, Any]:
    return {
        "id": fr.pk,
        "participant_id": fr.participant_id,
        "name": fr.participant.name,
        "stance": fr.stance,
        "stance_label": _label(Stance, fr.stance),
        "state": fr.state,
        "requested_at": fr.requested_at,
        "started_at": fr.started_at,
        "ends_at": fr.ends_at,
        "ended_at": fr.ended_at,
        "seconds_left": max(0, int((fr.ends_at - now).total_seconds())) if fr.ends_at and fr.state == FloorState.SPEAKING else None,
        "overtime": bool(fr.state == FloorState.SPEAKING and fr.ends_at and now > fr.ends_at),
        "cut": speech_was_cut(fr),
        "text": fr.text,
        "is_me": fr.participant.user_id is not None and fr.participant.user_id == getattr(user, "pk", None),
    }


def _motion_summary(mo: Motion, pass_percent: int) -> dict[str, Any]:
    return {
        "id": mo.pk,
        "number": mo.number,
        "title": mo.title,
        "text": mo.text,
        "state": mo.state,
        "state_label": _label(MotionState, mo.state),
        "outcome": mo.outcome,
        "outcome_label": _label(MotionOutcome, mo.outcome) if mo.outcome else "",
        "yes": mo.yes,
        "no": mo.no,
        "abstain": mo.abstain,
        "consensus_note": mo.consensus_note,
        "pass_percent": pass_percent,
        "opened_at": mo.opened_at,
        "closed_at": mo.closed_at,
    }


def meeting_state(*, user: Any, meeting: Meeting, now: datetime | None = None) -> dict[str, Any]:
    """The room as ``user`` sees it now (about a dozen queries whatever the size of the meeting)."""
    now = now or timezone.now()
    rules = meeting_rules(meeting)
    topic = meeting.topic
    chair_id = chair_user_id(meeting)
    i_chair = is_chair(user, meeting)
    runs = i_chair or can(user, "consultations.manage", topic)
    me = participant_of(user, meeting)
    speaks = me is not None and me.user_id != chair_id
    present, total, met = quorum(meeting, rules["quorum_percent"])
    invited, rows = _roll_call(meeting)
    my_attendance = rows.get(me.pk) if me is not None else None
    motions = list(meeting.motions.order_by("number"))
    live = next((mo for mo in motions if mo.state in LIVE_MOTION_STATES), None)
    requests = list(live.floor_requests.select_related("participant").order_by("requested_at", "id")) if live else []
    speaker = next((fr for fr in requests if fr.state == FloorState.SPEAKING), None)
    mine = [fr for fr in requests if me is not None and fr.participant_id == me.pk and fr.state != FloorState.CANCELLED]
    my_vote = Vote.objects.filter(motion=live, participant=me).values_list("choice", flat=True).first() if (live and me) else None
    votes_cast = live.votes.count() if live and live.state == MotionState.VOTING else 0
    is_open = meeting.state == MeetingState.OPEN
    day_reached = timezone.localdate(now) >= timezone.localdate(meeting.starts_at)
    in_debate = live is not None and live.state == MotionState.DEBATE
    queue = [fr for fr in requests if fr.state == FloorState.WAITING]
    present_me = bool(my_attendance and my_attendance.present)
    live_or_scheduled = meeting.state in (MeetingState.SCHEDULED, MeetingState.OPEN)
    chair_name = ""
    if chair_id is not None:
        from yishi.accounts.models import User

        chair_name = str(User.objects.filter(pk=chair_id).first() or "")
    can_do = {
        "register": me is not None and meeting.state == MeetingState.SCHEDULED and not (my_attendance and my_attendance.registered_at),
        "check_in": (
            me is not None and live_or_scheduled and day_reached and not present_me
            and (meeting.mode != MeetingMode.IN_PERSON or runs)
        ),
        "check_in_others": runs and live_or_scheduled and day_reached,
        "open_meeting": i_chair and meeting.state == MeetingState.SCHEDULED and day_reached,
        "open_motion": i_chair and is_open and live is None,
        "grant_floor": i_chair and in_debate and speaker is None and bool(queue),
        "end_speech": speaker is not None and (i_chair or (me is not None and speaker.participant_id == me.pk)),
        "open_vote": i_chair and in_debate and speaker is None,
        "close_vote": i_chair and live is not None and live.state == MotionState.VOTING,
        "record_consensus": i_chair and in_debate and speaker is None,
        "withdraw_motion": i_chair and in_debate and speaker is None,
        "close_meeting": i_chair and is_open and live is None,
        "request_floor": (
            speaks and is_open and in_debate and present_me
            and not any(fr.state in (FloorState.WAITING, FloorState.SPEAKING) for fr in mine)
            and len(mine) < rules["speeches_per_motion"]
        ),
        "vote": (
            speaks and me is not None and me.can_vote and present_me and live is not None
            and live.state == MotionState.VOTING and my_vote is None
        ),
        "write_opinion": getattr(user, "is_authenticated", False) and live_or_scheduled,
        "generate_minutes": runs and meeting.state == MeetingState.CLOSED and meeting.minutes_approved_at is None,
        "approve_minutes": (
            i_chair and meeting.state == MeetingState.CLOSED and meeting.minutes_approved_at is None and bool(meeting.minutes)
        ),
        "reschedule": runs and meeting.state == MeetingState.SCHEDULED,
        "cancel": runs and meeting.state == MeetingState.SCHEDULED,
    }
    live_data = None
    if live is not None:
        live_data = {
            **_motion_summary(live, rules["pass_percent"]),
            "speaker": _speech(speaker, now, user) if speaker else None,
            "queue": [_speech(fr, now, user) for fr in queue],
            "speeches": [_speech(fr, now, user) for fr in requests if fr.state == FloorState.DONE],
            "votes_cast": votes_cast,
            "voting_opened_at": live.voting_opened_at,
        }
    return {
        "version": meeting_version(meeting),
        "now": now,
        "meeting": {
            "id": meeting.pk,
            "topic_id": topic.pk,
            "topic_title": topic.title,
            "room_name": topic.room.name,
            "mode": meeting.mode,
            "mode_label": _label(MeetingMode, meeting.mode),
            "state": meeting.state,
            "state_label": _label(MeetingState, meeting.state),
            "starts_at": meeting.starts_at,
            "location": meeting.location,
            "agenda": meeting.agenda,
            "opened_at": meeting.opened_at,
            "closed_at": meeting.closed_at,
            "quorum_met": meeting.quorum_met,
            "minutes_ready": bool(meeting.minutes),
            "minutes_approved": meeting.minutes_approved_at is not None,
            "notice_sent_at": meeting.notice_sent_at,
            "cancelled_at": meeting.cancelled_at,
            "cancel_reason": meeting.cancel_reason,
        },
        "chair": chair_name,
        "rules": rules,
        "quorum": {"present": present, "total": total, "met": met, "percent": rules["quorum_percent"]},
        "attendance": [
            {
                "participant_id": p.pk, "name": p.name, "kind": p.kind, "kind_label": p.get_kind_display(),
                "can_vote": p.can_vote, "registered": bool(p.pk in rows and rows[p.pk].registered_at),
                "present": bool(p.pk in rows and rows[p.pk].present),
                "is_chair": chair_id is not None and p.user_id == chair_id,
            }
            for p in invited
        ],
        "motion": live_data,
        "motions": [_motion_summary(mo, rules["pass_percent"]) for mo in motions if mo.state not in LIVE_MOTION_STATES],
        "me": {
            "signed_in": bool(getattr(user, "is_authenticated", False)),
            "chair": i_chair,
            "organiser": runs,
            "participant_id": me.pk if me else None,
            "can_vote": bool(me and me.can_vote and speaks),
            "registered": bool(my_attendance and my_attendance.registered_at),
            "present": present_me,
            "speeches_used": len(mine),
            "speeches_left": max(0, rules["speeches_per_motion"] - len(mine)) if (live and speaks) else None,
            "waiting": any(fr.state == FloorState.WAITING for fr in mine),
            "vote": my_vote,
            "vote_label": _label(VoteChoice, my_vote) if my_vote else "",
        },
        "can": can_do,
        "opinions": WrittenOpinion.objects.filter(meeting=meeting).count(),
    }


def opinion_list(meeting: Meeting) -> QuerySet[WrittenOpinion]:
    return WrittenOpinion.objects.filter(meeting=meeting).select_related("author").order_by("created_at", "id")


# --- minutes ----------------------------------------------------------------------------------------------------

_NUMERALS = "零一二三四五六七八九十"


def _numeral(n: int) -> str:
    if n <= 10:
        return _NUMERALS[n]
    if n < 20:
        return "十" + _NUMERALS[n - 10]
    if n < 100:
        return _NUMERALS[n // 10] + "十" + (_NUMERALS[n % 10] if n % 10 else "")
    return str(n)


def _time(at: datetime | None) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else "—"


def _clock(at: datetime | None) -> str:
    return timezone.localtime(at).strftime("%H:%M:%S") if at else "—"


def minutes_draft(meeting: Meeting) -> str:
    """纪要 written from the record: time and place, chair, agenda, attendance and quorum, every motion with who
    spoke (stance first, then what they said, marked when cut at the time limit), the vote counts or the
    consensus, the written opinions, and the conclusion."""
    topic = meeting.topic
    rules = meeting_rules(meeting)
    chair_id = chair_user_id(meeting)
    from yishi.accounts.models import User

    chair = User.objects.filter(pk=chair_id).first() if chair_id else None
    invited, rows = _roll_call(meeting)
    present = [p for p in invited if p.pk in rows and rows[p.pk].present]
    absent = [p for p in invited if not (p.pk in rows and rows[p.pk].present)]
    opened = AuditEvent.objects.filter(
        subject_type=SUBJECT_TYPE, subject_id=str(meeting.pk), code="consultations.meeting.opened"
    ).order_by("-seq").first()
    lines = [
        f"《{topic.title}》协商会议纪要",
        "",
        f"议事室：{topic.room.name}",
        f"时间：{_time(meeting.opened_at or meeting.starts_at)} 至 {_time(meeting.closed_at)}",
        f"形式：{_label(MeetingMode, meeting.mode)}" + (f"；地点：{meeting.location}" if meeting.location else ""),
        f"主持人：{chair or '—'}",
        "",
        "议程：",
        meeting.agenda,
        "",
        f"出席：应到 {len(invited)} 方，实到 {len(present)} 方。",
    ]
    if present:
        lines.append("到会：" + "、".join(f"{p.name}（{p.get_kind_display()}）" for p in present))
    if absent:
        lines.append("缺席：" + "、".join(f"{p.name}（{p.get_kind_display()}）" for p in absent))
    if meeting.quorum_met:
        lines.append(f"法定人数：已达到（有表决权参与者须到会 {rules['quorum_percent']}%）。")
    elif meeting.quorum_met is False:
        reason = opened.reason if opened else ""
        lines.append(f"法定人数：未达到，主持人决定开会，理由：{reason or '—'}。")
    motions = list(meeting.motions.order_by("number"))
    speeches = list(
        FloorRequest.objects.filter(motion__meeting=meeting, state=FloorState.DONE)
        .select_related("participant").order_by("started_at", "id")
    )
    votes = list(Vote.objects.filter(motion__meeting=meeting).select_related("participant").order_by("cast_at", "id"))
    for mo in motions:
        lines += ["", f"动议{_numeral(mo.number)}：{mo.title}"]
        if mo.text:
            lines.append(mo.text)
        said = [fr for fr in speeches if fr.motion_id == mo.pk]
        if said:
            lines.append("发言：")
            for i, fr in enumerate(said, 1):
                mark = "（超时，发言截止）" if speech_was_cut(fr) else ""
                lines.append(
                    f"{i}. {fr.participant.name}【{_label(Stance, fr.stance)}】{_clock(fr.started_at)}–{_clock(fr.ended_at)}{mark}："
                    f"{fr.text or '（未记录发言要点）'}"
                )
        else:
            lines.append("发言：无")
        if mo.outcome == MotionOutcome.CONSENSUS:
            lines.append(f"结果：达成共识。{mo.consensus_note}")
        elif mo.state == MotionState.WITHDRAWN:
            lines.append("结果：动议撤回。")
        elif mo.state == MotionState.CLOSED:
            cast = mo.yes + mo.no + mo.abstain
            verdict = "通过" if passes(yes=mo.yes, no=mo.no, abstain=mo.abstain, pass_percent=rules["pass_percent"]) else "未通过"
            lines.append(
                f"表决：赞成 {mo.yes}，反对 {mo.no}，弃权 {mo.abstain}（共 {cast} 票；赞成票须超过投票数的 "
                f"{rules['pass_percent']}%，弃权不计为赞成）。结果：{verdict}。"
            )
            ballot = [v for v in votes if v.motion_id == mo.pk]
            for choice in VoteChoice:
                names = [v.participant.name for v in ballot if v.choice == choice]
                if names:
                    lines.append(f"{choice.label}：" + "、".join(names))
        else:
            lines.append("结果：未决。")
    opinions = list(opinion_list(meeting))
    lines += ["", f"书面意见：{len(opinions)} 份"]
    for i, op in enumerate(opinions, 1):
        lines.append(f"{i}. {op.author or '—'}：{op.text}")
    decided = any(mo.outcome in (MotionOutcome.PASSED, MotionOutcome.CONSENSUS) for mo in motions)
    lines += ["", "结论：" + ("形成协商意见。" if decided else "议而未决。")]
    return "\n".join(lines)

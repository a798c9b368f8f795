"""开展协商: consultation meetings and the speaking rules of the online room (南塘议事规则, DOMAIN §3 step 5).

Every change is one of these functions: atomic, with the meeting row locked (``SELECT … FOR UPDATE``) so that two
people acting at once are served one after the other, permission- and state-checked, audited with a
``consultations.meeting.*`` code on the meeting, and notifying people (e-mail and SMS copies leave after commit).
Pages, the API and the demo all call them.

The rules, each a default of the area's policy profile:

* notice: a meeting is called at least ``notice_min_days`` before it starts (a warning past ``notice_max_days``);
* quorum: the chair opens the meeting when ``quorum_percent`` of the participants with a vote are present, or
  records why it opens without quorum;
* motion first, one at a time: only the chair opens a motion, and a meeting has at most one live motion (the
  database's ``one_live_motion`` constraint backs the check);
* ask for the floor, stance first: a participant states for/against/neutral when asking, at most
  ``speeches_per_motion`` times per motion; the chair grants the floor to one speaker at a time for
  ``speech_seconds``; a speech ended after its time is marked as cut (``ended_at`` > ``ends_at``);
* neutral chair: the chair neither takes the floor nor votes;
* majority decides: one vote per participant with a vote; a motion **passes when the yes votes are more than
  ``pass_percent`` % of all votes cast, abstentions included** (``yes × 100 > (yes + no + abstain) ×
  pass_percent``). Abstaining is a vote cast that is not a yes: with 3 yes, 2 no, 2 abstain and 50 %, 3 ≤ 3.5, so
  the motion fails; with 4 yes, 2 no, 1 abstain it passes. A vote with no votes cast fails;
* or a recorded consensus instead of a vote;
* closing the meeting moves the topic on: ``record_decision`` when a motion passed or a consensus was recorded,
  else ``record_no_decision`` with the reason 议而未决.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from yishi.audit.services import record
from yishi.core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from yishi.core.permissions import can
from yishi.core.workflow import run_transition
from yishi.notifications.services import notify
from yishi.policy.services import effective_profile, policy_value

from .choices import (
    FloorState,
    MeetingMode,
    MeetingState,
    MotionOutcome,
    MotionState,
    Stance,
    TopicState,
    VoteChoice,
)
from .models import Attendance, FloorRequest, Meeting, Motion, Participant, Topic, Vote, WrittenOpinion
from .workflow import topic_workflow

LIVE_MOTION_STATES = (MotionState.DEBATE, MotionState.VOTING)
NO_DECISION_REASON = "议而未决"
TEXT_MAX = 5000
OPINION_MAX = 2000
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --- helpers ----------------------------------------------------------------------------------------------------


def _bad(field_name: str, zh: str, en: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(zh, en, field=field_name, code=code)


def _conflict(code: str, zh: str, en: str, **extra: Any) -> Conflict:
    return Conflict(zh, en, code=code, extra=extra or None)


def _text(value: str | None, field_name: str, *, max_length: int, required: bool, label: str = "内容") -> str:
    text = (value or "").strip()
    if _CONTROL_CHARS.search(text):
        raise _bad(field_name, "不能包含控制字符", "Control characters are not allowed", "invalid_characters")
    if required and not text:
        raise _bad(field_name, f"请填写{label}", f"{field_name} is required", "required")
    if len(text) > max_length:
        raise _bad(field_name, f"{label}不能超过 {max_length} 字", f"{field_name} is longer than {max_length}", "too_long")
    return text


def _pk(obj_or_pk: Any) -> Any:
    return obj_or_pk.pk if hasattr(obj_or_pk, "pk") else obj_or_pk


def meeting_url(meeting: Meeting | int) -> str:
    return reverse("meetings:detail", args=[_pk(meeting)])


def _lock(meeting: Meeting | int) -> Meeting:
    """The meeting row, locked until the transaction ends: every action on a meeting is served in turn."""
    try:
        return (
            Meeting.objects.select_for_update(of=("self",))
            .select_related("topic__room__org_unit")
            .get(pk=_pk(meeting))
        )
    except (Meeting.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc


def _require_signed_in(actor: Any) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()


def _require_follower(actor: Any, meeting: Meeting) -> None:
    """Outside the people who may follow the meeting, it does not exist."""
    _require_signed_in(actor)
    if not can(actor, "consultations.follow_meeting", meeting):
        raise NotFound()


def is_chair(actor: Any, meeting: Meeting) -> bool:
    return can(actor, "consultations.chair", meeting.topic)


def _require_chair(actor: Any, meeting: Meeting) -> None:
    _require_follower(actor, meeting)
    if not is_chair(actor, meeting):
        raise PermissionDenied("只有本议事室的主持人可以执行此操作", "Only the room's chair can do this", code="not_chair")


def chair_user_id(meeting: Meeting) -> int | None:
    return meeting.topic.room.members.filter(role="chair").values_list("user_id", flat=True).first()


def participant_of(actor: Any, meeting: Meeting) -> Participant | None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    return Participant.objects.filter(topic_id=meeting.topic_id, user=actor).first()


def _require_participant(actor: Any, meeting: Meeting) -> Participant:
    """A participant of the topic who is not the chair (the chair stays neutral: no floor, no vote)."""
    _require_follower(actor, meeting)
    participant = participant_of(actor, meeting)
    if participant is None:
        raise PermissionDenied("只有本议题的参与主体可以发言和表决", "Only the topic's participants can speak and vote", code="not_a_participant")
    if chair_user_id(meeting) == actor.pk:
        raise PermissionDenied("主持人保持中立，不发言、不表决", "The chair stays neutral: no speeches, no votes", code="chair_is_neutral")
    return participant


def _require_state(meeting: Meeting, *states: str) -> None:
    if meeting.state in states:
        return
    if meeting.state == MeetingState.SCHEDULED:
        raise _conflict("meeting_not_open", "会议尚未开始", "The meeting has not started", state=meeting.state)
    if meeting.state == MeetingState.OPEN:
        raise _conflict("meeting_open", "会议正在进行", "The meeting is in progress", state=meeting.state)
    if meeting.state == MeetingState.CANCELLED:
        raise _conflict("meeting_cancelled", "会议已取消", "The meeting was cancelled", state=meeting.state)
    raise _conflict("meeting_closed", "会议已结束", "The meeting is over", state=meeting.state)


def _require_meeting_day(meeting: Meeting, now: datetime) -> None:
    if timezone.localdate(now) < timezone.localdate(meeting.starts_at):
        raise _conflict("too_early", "会议当天才能签到和开会", "Check-in and opening start on the day of the meeting")


def _motion(meeting: Meeting, motion: Motion | int) -> Motion:
    found = Motion.objects.filter(meeting=meeting, pk=_pk(motion)).first() if _pk(motion) is not None else None
    if found is None:
        raise NotFound("动议不存在", "No such motion", field="motion")
    return found


def _require_motion_state(motion: Motion, *states: str) -> None:
    if motion.state in states:
        return
    if motion.state in (MotionState.CLOSED, MotionState.WITHDRAWN) and MotionState.VOTING in states:
        raise _conflict("voting_closed", "表决已结束", "Voting on this motion is closed", state=motion.state)
    if motion.state == MotionState.DEBATE and states == (MotionState.VOTING,):
        raise _conflict("voting_not_open", "表决尚未开始", "Voting has not been opened", state=motion.state)
    if motion.state == MotionState.VOTING:
        raise _conflict("motion_in_vote", "动议正在表决，讨论已结束", "The motion is being voted on; debate is over", state=motion.state)
    raise _conflict("motion_closed", "该动议已结束", "This motion is over", state=motion.state)


def _speaker(motion: Motion) -> FloorRequest | None:
    return motion.floor_requests.select_related("participant").filter(state=FloorState.SPEAKING).first()


def _require_no_speaker(motion: Motion) -> None:
    if _speaker(motion) is not None:
        raise _conflict("speaker_on_floor", "有人正在发言，请先结束发言", "Someone has the floor; end the speech first")


def _cancel_queue(motion: Motion) -> int:
    return motion.floor_requests.filter(state=FloorState.WAITING).update(state=FloorState.CANCELLED)


def meeting_rules(meeting_or_topic: Meeting | Topic) -> dict[str, int]:
    """The speaking, voting and notice rules of the room's area (its policy profile), read in one go."""
    topic = meeting_or_topic.topic if isinstance(meeting_or_topic, Meeting) else meeting_or_topic
    profile = effective_profile(topic.room.org_unit)
    keys = ("notice_min_days", "notice_max_days", "quorum_percent", "speech_seconds", "speeches_per_motion", "pass_percent")
    return {k: int(policy_value(f"consultations.{k}", profile=profile)) for k in keys}


def _audit(actor: Any, meeting: Meeting, verb: str, *, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, reason: str = "") -> None:
    record(actor=actor, code=f"consultations.meeting.{verb}", subject=meeting, before=before, after=after, reason=reason)


def _users_of(participants: Any) -> list[Any]:
    return [p.user for p in participants if p.user_id is not None]


def _participants(meeting: Meeting) -> list[Participant]:
    return list(Participant.objects.filter(topic_id=meeting.topic_id).select_related("user"))


def _attendance(meeting: Meeting, participant: Participant) -> Attendance:
    # Participants invited after the notice have no row yet.
    row, _ = Attendance.objects.get_or_create(meeting=meeting, participant=participant)
    return row


def passes(*, yes: int, no: int, abstain: int, pass_percent: int) -> bool:
    """More yes votes than ``pass_percent`` % of all votes cast; abstentions count as cast, never as yes."""
    return yes * 100 > (yes + no + abstain) * pass_percent


def quorum(meeting: Meeting, percent: int) -> tuple[int, int, bool]:
    """(present, total, met) over the participants with a vote, the chair left out."""
    chair_id = chair_user_id(meeting)
    voters = Participant.objects.filter(topic_id=meeting.topic_id, can_vote=True)
    if chair_id is not None:
        voters = voters.exclude(user_id=chair_id)
    total = voters.count()
    present = Attendance.objects.filter(meeting=meeting, present=True, participant__in=voters).count()
    return present, total, total > 0 and present * 100 >= total * percent


# --- calling the meeting ----------------------------------------------------------------------------------------


def _aware(starts_at: datetime | None) -> datetime:
    if starts_at is None:
        raise _bad("starts_at", "请填写开始时间", "starts_at is required", "required")
    return timezone.make_aware(starts_at) if timezone.is_naive(starts_at) else starts_at


def _notice_warnings(starts_at: datetime, rules: dict[str, int], now: datetime) -> list[str]:
    """The notice rule for a notice sent ``now``: refused under ``notice_min_days``, a warning past ``notice_max_days``."""
    if starts_at < now + timedelta(days=rules["notice_min_days"]):
        raise _bad(
            "starts_at", f"会议须至少提前 {rules['notice_min_days']} 天通知",
            f"Give at least {rules['notice_min_days']} days' notice", "notice_too_short",
        )
    if starts_at > now + timedelta(days=rules["notice_max_days"]):
        return [f"通知早于开会 {rules['notice_max_days']} 天以上，请在会前再次提醒参与者"]
    return []


def _when_and_where(meeting: Meeting) -> str:
    when = timezone.localtime(meeting.starts_at).strftime("%Y-%m-%d %H:%M")
    mode = MeetingMode(meeting.mode)
    place = mode.label if mode == MeetingMode.ONLINE else f"{mode.label} · {meeting.location}"
    return f"时间：{when}\n形式：{place}"


def _notice_recipients(topic: Topic) -> list[Any]:
    """Everyone the notice of a meeting goes to: the participants with an account and the room's chair."""
    participants = Participant.objects.filter(topic=topic).select_related("user")
    chair = topic.room.members.filter(role="chair").select_related("user").first()
    return _users_of(participants) + ([chair.user] if chair else [])


def _require_no_live_meeting(topic: Topic) -> None:
    if Meeting.objects.filter(topic=topic, state__in=(MeetingState.SCHEDULED, MeetingState.OPEN)).exists():
        raise _conflict("meeting_live", "本议题已有待召开或进行中的会议，请改期或取消后再召集",
                        "The topic already has a meeting ahead or under way; reschedule or cancel it first")


def meeting_schedule(*, actor: Any, topic: Topic | int, mode: str, starts_at: datetime | None, agenda: str,
                     location: str = "") -> Meeting:
    """Call a meeting on a topic whose research is approved (the topic moves to 协商会议 in the same transaction).

    A topic already at 协商会议 with no meeting ahead or under way (its meeting was cancelled, or it was to meet
    outside Yishi) gets another meeting without moving. The notice goes out now, so ``starts_at`` must be at least
    ``notice_min_days`` away; further than ``notice_max_days`` is allowed with a warning (``meeting.warnings``).
    Every participant gets an attendance row, and those with an account get the notice."""
    _require_signed_in(actor)
    if mode not in MeetingMode.values:
        raise _bad("mode", "请选择会议形式（现场、网上或线上线下结合）", "mode must be in_person, online or hybrid")
    agenda = _text(agenda, "agenda", max_length=TEXT_MAX, required=True, label="议程")
    location = _text(location, "location", max_length=200, required=mode != MeetingMode.ONLINE, label="地点")
    starts = _aware(starts_at)
    made: dict[str, Any] = {}
    extra: dict[str, Any] = {}

    def apply(t: Topic) -> tuple[str, ...]:
        _require_no_live_meeting(t)
        now = timezone.now()
        warnings = _notice_warnings(starts, meeting_rules(t), now)
        meeting = Meeting.objects.create(
            topic=t, mode=mode, starts_at=starts, location=location, agenda=agenda, notice_sent_at=now,
        )
        participants = list(t.participants.select_related("user"))
        Attendance.objects.bulk_create([Attendance(meeting=meeting, participant=p) for p in participants])
        made.update(meeting=meeting, warnings=warnings, participants=participants)
        extra["meeting"] = meeting.pk
        return ()

    with transaction.atomic():
        current = Topic.objects.filter(pk=_pk(topic)).values_list("state", flat=True).first()
        if current == TopicState.MEETING:
            from .services import _locked_topic

            topic_obj = _locked_topic(actor, topic, "consultations.manage", {TopicState.MEETING})
            apply(topic_obj)
            record(actor=actor, code="consultations.topic.meeting_scheduled", subject=topic_obj, after=extra)
        else:
            topic_obj = run_transition(topic_workflow, _pk(topic), "call_meeting", actor=actor, apply=apply, audit_extra=extra)
        meeting = made["meeting"]
        meeting.topic = topic_obj
        _audit(actor, meeting, "scheduled", after={
            "topic": topic_obj.pk, "mode": mode, "starts_at": starts, "location": location,
            "participants": len(made["participants"]), "warnings": made["warnings"],
        })
        notify(
            recipients=_notice_recipients(topic_obj), kind="consultations.meeting_notice",
            title=f"协商会议通知：{topic_obj.title}", body=f"{_when_and_where(meeting)}\n议程：{agenda}",
            url=meeting_url(meeting), sms=True,
        )
    meeting.warnings = made["warnings"]  # type: ignore[attr-defined]
    return meeting


def _require_organiser(actor: Any, meeting: Meeting, zh: str, en: str) -> None:
    """The room's chair or the area's staff who run the room; others who follow the meeting are refused, the rest
    do not see it."""
    _require_follower(actor, meeting)
    if not _runs_meeting(actor, meeting):
        raise PermissionDenied(zh, en, code="not_organiser")


def meeting_reschedule(*, actor: Any, meeting: Meeting | int, starts_at: datetime | None, reason: str = "") -> Meeting:
    """改期: the chair or the room's organisers move a meeting that has not started to a new time. The notice rule
    applies again from now (at least ``notice_min_days``; a warning past ``notice_max_days``); registrations and
    check-ins were for the old time and are cleared; everyone who had the notice is told on commit."""
    reason = _text(reason, "reason", max_length=2000, required=False, label="理由")
    starts = _aware(starts_at)
    with transaction.atomic():
        m = _lock(meeting)
        _require_organiser(actor, m, "只有主持人或组织单位可以改期", "Only the chair or the organisers can reschedule")
        _require_state(m, MeetingState.SCHEDULED)
        if starts == m.starts_at:
            raise _bad("starts_at", "新的开始时间与原时间相同", "The new time is the current one", "unchanged")
        now = timezone.now()
        warnings = _notice_warnings(starts, meeting_rules(m), now)
        before = m.starts_at
        m.starts_at, m.notice_sent_at = starts, now
        m.save(update_fields=["starts_at", "notice_sent_at"])
        cleared = Attendance.objects.filter(meeting=m).filter(
            Q(registered_at__isnull=False) | Q(present=True)
        ).update(registered_at=None, present=False, checked_in_at=None)
        _audit(actor, m, "rescheduled", before={"starts_at": before},
               after={"starts_at": starts, "warnings": warnings, "attendance_cleared": cleared}, reason=reason)
        record(actor=actor, code="consultations.topic.meeting_rescheduled", subject=m.topic,
               before={"starts_at": before}, after={"meeting": m.pk, "starts_at": starts}, reason=reason)
        old = timezone.localtime(before).strftime("%Y-%m-%d %H:%M")
        notify(
            recipients=_notice_recipients(m.topic), kind="consultations.meeting_rescheduled",
            title=f"协商会议改期：{m.topic.title}",
            body=f"原定 {old} 的会议改期。\n{_when_and_where(m)}" + (f"\n理由：{reason}" if reason else "")
            + "\n请重新报名。",
            url=meeting_url(m), sms=True,
        )
    m.warnings = warnings  # type: ignore[attr-defined]
    return m


def meeting_cancel(*, actor: Any, meeting: Meeting | int, reason: str) -> Meeting:
    """取消会议: the chair or the room's organisers cancel a meeting that has not started, with the reason everyone
    who had the notice is told on commit. The topic stays at 协商会议: the organisers call another meeting (or
    record the outcome of one held outside Yishi)."""
    reason = _text(reason, "reason", max_length=2000, required=True, label="取消理由")
    with transaction.atomic():
        m = _lock(meeting)
        _require_organiser(actor, m, "只有主持人或组织单位可以取消会议", "Only the chair or the organisers can cancel")
        _require_state(m, MeetingState.SCHEDULED)
        m.state, m.cancelled_at, m.cancel_reason = MeetingState.CANCELLED, timezone.now(), reason
        m.save(update_fields=["state", "cancelled_at", "cancel_reason"])
        _audit(actor, m, "cancelled", before={"state": MeetingState.SCHEDULED}, after={"state": m.state}, reason=reason)
        record(actor=actor, code="consultations.topic.meeting_cancelled", subject=m.topic, after={"meeting": m.pk},
               reason=reason)
        when = timezone.localtime(m.starts_at).strftime("%Y-%m-%d %H:%M")
        notify(
            recipients=_notice_recipients(m.topic), kind="consultations.meeting_cancelled",
            title=f"协商会议取消：{m.topic.title}", body=f"原定 {when} 的会议取消。\n理由：{reason}",
            url=meeting_url(m), sms=True,
        )
    return m


def meeting_register(*, actor: Any, meeting: Meeting | int, participant: Participant | int | None = None) -> Attendance:
    """报名: a participant says they will come; staff of the area or the chair may register anyone invited."""
    with transaction.atomic():
        m = _lock(meeting)
        _require_follower(actor, m)
        _require_state(m, MeetingState.SCHEDULED, MeetingState.OPEN)
        target = _target_participant(actor, m, participant)
        row = _attendance(m, target)
        if row.registered_at is not None:
            return row
        row.registered_at = timezone.now()
        row.save(update_fields=["registered_at"])
        _audit(actor, m, "registered", after={"participant": target.pk})
    return row


def meeting_check_in(*, actor: Any, meeting: Meeting | int, participant: Participant | int | None = None) -> Attendance:
    """签到 on the day of the meeting. Participants check themselves in to online and hybrid meetings; the chair or
    the area's staff check people in at the door. Presence is what the quorum counts."""
    with transaction.atomic():
        m = _lock(meeting)
        _require_follower(actor, m)
        _require_state(m, MeetingState.SCHEDULED, MeetingState.OPEN)
        target = _target_participant(actor, m, participant)
        if target.user_id == getattr(actor, "pk", None) and m.mode == MeetingMode.IN_PERSON and not _runs_meeting(actor, m):
            raise PermissionDenied("现场会议请在会场签到", "In-person meetings check in at the venue", code="check_in_at_venue")
        now = timezone.now()
        _require_meeting_day(m, now)
        row = _attendance(m, target)
        if row.present:
            return row
        row.present, row.checked_in_at = True, now
        row.registered_at = row.registered_at or now
        row.save(update_fields=["present", "checked_in_at", "registered_at"])
        _audit(actor, m, "checked_in", after={"participant": target.pk})
    return row


def _runs_meeting(actor: Any, meeting: Meeting) -> bool:
    return is_chair(actor, meeting) or can(actor, "consultations.manage", meeting.topic)


def _target_participant(actor: Any, meeting: Meeting, participant: Participant | int | None) -> Participant:
    own = participant_of(actor, meeting)
    if participant is None or (own is not None and _pk(participant) == own.pk):
        if own is None:
            raise PermissionDenied("只有本议题的参与主体可以报名和签到", "Only the topic's participants can register", code="not_a_participant")
        return own
    if not _runs_meeting(actor, meeting):
        raise PermissionDenied("只能为自己报名和签到", "You can only register yourself", code="permission_denied")
    found = Participant.objects.filter(topic_id=meeting.topic_id, pk=_pk(participant)).first()
    if found is None:
        raise NotFound("参与主体不存在", "No such participant", field="participant")
    return found


# --- the chair runs the meeting ---------------------------------------------------------------------------------


def meeting_open(*, actor: Any, meeting: Meeting | int, override_reason: str = "") -> Meeting:
    """The chair opens the meeting. Without the quorum it opens only with the chair's recorded reason."""
    override_reason = _text(override_reason, "override_reason", max_length=2000, required=False, label="理由")
    with transaction.atomic():
        m = _lock(meeting)
        _require_chair(actor, m)
        _require_state(m, MeetingState.SCHEDULED)
        now = timezone.now()
        _require_meeting_day(m, now)
        percent = meeting_rules(m)["quorum_percent"]
        present, total, met = quorum(m, percent)
        if not met and not override_reason:
            raise _conflict(
                "no_quorum", f"未达到法定人数：应到 {total} 人，实到 {present} 人（须 {percent}%）。如确需开会，请填写理由",
                f"No quorum: {present} of {total} present ({percent}% needed); give a reason to open anyway",
                present=present, total=total,
            )
        m.state, m.opened_at, m.quorum_met = MeetingState.OPEN, now, met
        m.save(update_fields=["state", "opened_at", "quorum_met"])
        _audit(actor, m, "opened", before={"state": MeetingState.SCHEDULED},
               after={"state": m.state, "present": present, "total": total, "quorum_percent": percent, "quorum_met": met},
               reason="" if met else override_reason)
        notify(recipients=_users_of(_participants(m)), kind="consultations.meeting_opened",
               title=f"协商会议已开始：{m.topic.title}", url=meeting_url(m))
    return m


def motion_open(*, actor: Any, meeting: Meeting | int, title: str, text: str = "") -> Motion:
    """The chair puts a motion to the meeting (动议先行). One live motion at a time."""
    title = _text(title, "title", max_length=200, required=True, label="动议")
    text = _text(text, "text", max_length=TEXT_MAX, required=False)
    with transaction.atomic():
        m = _lock(meeting)
        _require_chair(actor, m)
        _require_state(m, MeetingState.OPEN)
        live = m.motions.filter(state__in=LIVE_MOTION_STATES).first()
        if live is not None:
            raise _conflict("motion_live", f"一次只议一项动议：请先结束“{live.title}”", "One motion at a time: finish the live one first")
        number = (m.motions.aggregate(n=Max("number"))["n"] or 0) + 1
        try:
            with transaction.atomic():
                motion = Motion.objects.create(
                    meeting=m, number=number, title=title, text=text, opened_by=actor, opened_at=timezone.now()
                )
        except IntegrityError as exc:
            raise _conflict("motion_live", "一次只议一项动议", "One motion at a time") from exc
        _audit(actor, m, "motion_opened", after={"motion": motion.pk, "number": number, "title": title})
    return motion


def floor_request(*, actor: Any, meeting: Meeting | int, motion: Motion | int, stance: str | None) -> FloorRequest:
    """举手: a participant asks for the floor on the live motion, saying first whether they are for, against or
    neutral; at most ``speeches_per_motion`` times per motion, one waiting request at a time."""
    if not stance:
        raise _bad("stance", "请先表明立场：赞成、反对或中立", "State your stance first: for, against or neutral", "stance_required")
    if stance not in Stance.values:
        raise _bad("stance", "立场须为赞成、反对或中立", "stance must be for, against or neutral")
    with transaction.atomic():
        m = _lock(meeting)
        participant = _require_participant(actor, m)
        _require_state(m, MeetingState.OPEN)
        mo = _motion(m, motion)
        _require_motion_state(mo, MotionState.DEBATE)
        if not Attendance.objects.filter(meeting=m, participant=participant, present=True).exists():
            raise _conflict("not_checked_in", "请先签到", "Check in first")
        mine = mo.floor_requests.filter(participant=participant).exclude(state=FloorState.CANCELLED)
        if mine.filter(state__in=(FloorState.WAITING, FloorState.SPEAKING)).exists():
            raise _conflict("already_waiting", "您已在发言队列中", "You are already in the queue")
        limit = meeting_rules(m)["speeches_per_motion"]
        used = mine.count()
        if used >= limit:
            raise _conflict("speech_limit", f"每项动议每人最多发言 {limit} 次", f"At most {limit} speeches per motion", limit=limit)
        request = FloorRequest.objects.create(motion=mo, participant=participant, stance=stance, requested_at=timezone.now())
        _audit(actor, m, "floor_requested", after={"motion": mo.pk, "floor_request": request.pk, "participant": participant.pk, "stance": stance})
    return request


def floor_grant(*, actor: Any, meeting: Meeting | int, request: FloorRequest | int) -> FloorRequest:
    """The chair gives the floor to one waiting speaker; the speech may last ``speech_seconds``."""
    with transaction.atomic():
        m = _lock(meeting)
        _require_chair(actor, m)
        _require_state(m, MeetingState.OPEN)
        fr = _floor_request(m, request)
        if fr.state != FloorState.WAITING:
            raise _conflict("floor_not_waiting", "该发言申请不在等待中", "This request is not waiting", state=fr.state)
        _require_motion_state(fr.motion, MotionState.DEBATE)
        _require_no_speaker(fr.motion)
        now = timezone.now()
        seconds = meeting_rules(m)["speech_seconds"]
        fr.state, fr.started_at, fr.ends_at = FloorState.SPEAKING, now, now + timedelta(seconds=seconds)
        try:
            with transaction.atomic():
                fr.save(update_fields=["state", "started_at", "ends_at"])
        except IntegrityError as exc:
            raise _conflict("speaker_on_floor", "有人正在发言", "Someone has the floor") from exc
        _audit(actor, m, "floor_granted", after={
            "motion": fr.motion_id, "floor_request": fr.pk, "participant": fr.participant_id, "ends_at": fr.ends_at,
        })
    return fr


def _floor_request(meeting: Meeting, request: FloorRequest | int) -> FloorRequest:
    found = (
        FloorRequest.objects.select_related("motion", "participant").filter(motion__meeting=meeting, pk=_pk(request)).first()
        if _pk(request) is not None else None
    )
    if found is None:
        raise NotFound("发言申请不存在", "No such floor request", field="floor_request")
    return found


def speech_end(*, actor: Any, meeting: Meeting | int, request: FloorRequest | int, text: str = "") -> FloorRequest:
    """The speaker (or the chair) ends the speech and records what was said. Ended after its time, the speech is
    marked as cut: its ``ended_at`` lies after ``ends_at`` and the minutes say so."""
    text = _text(text, "text", max_length=TEXT_MAX, required=False)
    with transaction.atomic():
        m = _lock(meeting)
        _require_follower(actor, m)
        fr = _floor_request(m, request)
        if fr.participant.user_id != actor.pk and not is_chair(actor, m):
            raise PermissionDenied("只有发言人或主持人可以结束发言", "Only the speaker or the chair can end the speech", code="not_speaker")
        if fr.state != FloorState.SPEAKING:
            raise _conflict("not_speaking", "该发言不在进行中", "This speech is not running", state=fr.state)
        assert fr.ends_at is not None  # floor_grant sets it when the speech starts
        now = timezone.now()
        cut = now > fr.ends_at
        fr.state, fr.ended_at, fr.text = FloorState.DONE, now, text
        fr.save(update_fields=["state", "ended_at", "text"])
        _audit(actor, m, "speech_ended", after={
            "motion": fr.motion_id, "floor_request": fr.pk, "participant": fr.participant_id, "cut": cut,
            "overrun_seconds": max(0, int((now - fr.ends_at).total_seconds())),
        })
    return fr


def vote_open(*, actor: Any, meeting: Meeting | int, motion: Motion | int) -> Motion:
    """The chair ends the debate and opens the vote; requests still waiting for the floor lapse."""
    with transaction.atomic():
        m = _lock(meeting)
        _require_chair(actor, m)
        _require_state(m, MeetingState.OPEN)
        mo = _motion(m, motion)
        _require_motion_state(mo, MotionState.DEBATE)
        _require_no_speaker(mo)
        lapsed = _cancel_queue(mo)
        mo.state, mo.voting_opened_at = MotionState.VOTING, timezone.now()
        mo.save(update_fields=["state", "voting_opened_at"])
        _audit(actor, m, "vote_opened", after={"motion": mo.pk, "lapsed_requests": lapsed})
    return mo


def vote_cast(*, actor: Any, meeting: Meeting | int, motion: Motion | int, choice: str | None) -> Vote:
    """One vote (赞成/反对/弃权) per participant with a vote per motion, while the vote is open. Consultation votes
    are open: the record keeps who voted how."""
    if choice not in VoteChoice.values:
        raise _bad("choice", "请选择赞成、反对或弃权", "choice must be yes, no or abstain")
    with transaction.atomic():
        m = _lock(meeting)
        participant = _require_participant(actor, m)
        if not participant.can_vote:
            raise PermissionDenied("您列席会议，没有表决权", "You attend without a vote", code="no_vote")
        mo = _motion(m, motion)
        _require_motion_state(mo, MotionState.VOTING)
        if not Attendance.objects.filter(meeting=m, participant=participant, present=True).exists():
            raise _conflict("not_checked_in", "请先签到", "Check in first")
        if Vote.objects.filter(motion=mo, participant=participant).exists():
            raise _conflict("already_voted", "您已对该动议表决过", "You have already voted on this motion")
        try:
            with transaction.atomic():
                vote = Vote.objects.create(motion=mo, participant=participant, choice=choice, cast_at=timezone.now())
        except IntegrityError as exc:
            raise _conflict("already_voted", "您已对该动议表决过", "You have already voted on this motion") from exc
        _audit(actor, m, "vote_cast", after={"motion": mo.pk, "participant": participant.pk, "choice": choice})
    return vote


def vote_close(*, actor: Any, meeting: Meeting | int, motion: Motion | int) -> Motion:
    """The chair closes the vote; the outcome follows ``passes`` with the area's ``pass_percent``."""
    with transaction.atomic():
        m = _lock(meeting)
        _require_chair(actor, m)
        mo = _motion(m, motion)
        _require_motion_state(mo, MotionState.VOTING)
        choices = list(mo.votes.values_list("choice", flat=True))
        yes, no, abstain = (choices.count(c) for c in (VoteChoice.YES, VoteChoice.NO, VoteChoice.ABSTAIN))
        percent = meeting_rules(m)["pass_percent"]
        passed = passes(yes=yes, no=no, abstain=abstain, pass_percent=percent)
        mo.state, mo.closed_at = MotionState.CLOSED, timezone.now()
        mo.yes, mo.no, mo.abstain = yes, no, abstain
        mo.outcome = MotionOutcome.PASSED if passed else MotionOutcome.FAILED
        mo.save(update_fields=["state", "closed_at", "yes", "no", "abstain", "outcome"])
        _audit(actor, m, "vote_closed", after={
            "motion": mo.pk, "yes": yes, "no": no, "abstain": abstain, "pass_percent": percent, "outcome": mo.outcome,
        })
    return mo


def consensus_record(*, actor: Any, meeting: Meeting | int, motion: Motion | int, note: str) -> Motion:
    """The chair records the consensus reached in debate, instead of a vote."""
    note = _text(note, "note", max_length=TEXT_MAX, required=True, label="共识内容")
    with transaction.atomic():
        m = _lock(meeting)
        _require_chair(actor, m)
        _require_state(m, MeetingState.OPEN)
        mo = _motion(m, motion)
        _require_motion_state(mo, MotionState.DEBATE)
        _require_no_speaker(mo)
        _cancel_queue(mo)
        mo.state, mo.closed_at, mo.outcome, mo.consensus_note = MotionState.CLOSED, timezone.now(), MotionOutcome.CONSENSUS, note
        mo.save(update_fields=["state", "closed_at", "outcome", "consensus_note"])
        _audit(actor, m, "consensus_recorded", after={"motion": mo.pk, "note": note})
    return mo


def motion_withdraw(*, actor: Any, meeting: Meeting | int, motion: Motion | int, reason: str = "") -> Motion:
    """The chair withdraws a motion still in debate (it leaves no outcome)."""
    reason = _text(reason, "reason", max_length=2000, required=False, label="理由")
    with transaction.atomic():
        m = _lock(meeting)
        _require_chair(actor, m)
        _require_state(m, MeetingState.OPEN)
        mo = _motion(m, motion)
        _require_motion_state(mo, MotionState.DEBATE)
        _require_no_speaker(mo)
        _cancel_queue(mo)
        mo.state, mo.closed_at, mo.outcome = MotionState.WITHDRAWN, timezone.now(), MotionOutcome.NONE
        mo.save(update_fields=["state", "closed_at", "outcome"])
        _audit(actor, m, "motion_withdrawn", after={"motion": mo.pk}, reason=reason)
    return mo


def written_opinion_add(*, actor: Any, meeting: Meeting | int, text: str) -> WrittenOpinion:
    """书面意见: anyone following the meeting (residents of the area included) writes in before or during it."""
    text = _text(text, "text", max_length=OPINION_MAX, required=True, label="意见")
    with transaction.atomic():
        m = _lock(meeting)
        _require_follower(actor, m)
        _require_state(m, MeetingState.SCHEDULED, MeetingState.OPEN)
        opinion = WrittenOpinion.objects.create(topic_id=m.topic_id, meeting=m, author=actor, text=text)
        _audit(actor, m, "written_opinion_added", after={"opinion": opinion.pk})
    return opinion


def meeting_close(*, actor: Any, meeting: Meeting | int) -> Meeting:
    """The chair closes the meeting (no motion may be live). The draft minutes are written from the record and
    the topic moves on: decided when a motion passed or a consensus was recorded, else 议而未决."""
    with transaction.atomic():
        m = _lock(meeting)
        _require_chair(actor, m)
        _require_state(m, MeetingState.OPEN)
        live = m.motions.filter(state__in=LIVE_MOTION_STATES).first()
        if live is not None:
            raise _conflict("motion_live", f"请先结束动议“{live.title}”（表决、记录共识或撤回）", "Finish the live motion first")
        m.state, m.closed_at = MeetingState.CLOSED, timezone.now()
        m.save(update_fields=["state", "closed_at"])
        decided = m.motions.filter(outcome__in=(MotionOutcome.PASSED, MotionOutcome.CONSENSUS)).exists()
        _audit(actor, m, "closed", before={"state": MeetingState.OPEN}, after={"state": m.state, "decided": decided})
        _write_minutes(actor, m)
        _topic_move_on(actor, m.topic_id, decided=decided)
        notify(recipients=_users_of(_participants(m)), kind="consultations.meeting_closed",
               title=f"协商会议已结束：{m.topic.title}", url=meeting_url(m))
    return m


def _topic_move_on(actor: Any, topic_id: int, *, decided: bool) -> Topic:
    """The topic leaves 协商会议 with the meeting's outcome, through the topic service (its notifications included).
    The chair's right comes from chairing this meeting, checked above, so the transition's staff rule is not asked
    again; its state check is."""
    from .services import topic_record_outcome

    return topic_record_outcome(
        actor=actor, topic=topic_id, decided=decided, reason="" if decided else NO_DECISION_REASON, authorized=True
    )


# --- minutes ----------------------------------------------------------------------------------------------------


def _write_minutes(actor: Any, meeting: Meeting) -> None:
    from .meeting_selectors import minutes_draft

    meeting.minutes = minutes_draft(meeting)
    meeting.save(update_fields=["minutes"])
    _audit(actor, meeting, "minutes_generated", after={"length": len(meeting.minutes)})


def minutes_generate(*, actor: Any, meeting: Meeting | int) -> Meeting:
    """Write the draft minutes (纪要) again from the record of a closed meeting, until the chair approves them."""
    with transaction.atomic():
        m = _lock(meeting)
        _require_follower(actor, m)
        if not _runs_meeting(actor, m):
            raise PermissionDenied("只有主持人或组织单位可以生成纪要", "Only the chair or the organisers can draft the minutes", code="not_chair")
        _require_state(m, MeetingState.CLOSED)
        if m.minutes_approved_at is not None:
            raise _conflict("minutes_approved", "纪要已审定，不能重新生成", "The minutes are approved")
        _write_minutes(actor, m)
    return m


def minutes_approve(*, actor: Any, meeting: Meeting | int, text: str | None = None) -> Meeting:
    """The chair approves the minutes, optionally with an edited text; approved minutes no longer change."""
    edited = _text(text, "text", max_length=50_000, required=False, label="纪要") if text is not None else ""
    with transaction.atomic():
        m = _lock(meeting)
        _require_chair(actor, m)
        _require_state(m, MeetingState.CLOSED)
        if m.minutes_approved_at is not None:
            raise _conflict("minutes_approved", "纪要已审定", "The minutes are already approved")
        changed = bool(edited) and edited != m.minutes
        if edited:
            m.minutes = edited
        if not m.minutes.strip():
            raise _bad("text", "纪要不能为空", "The minutes are empty", "required")
        m.minutes_approved_by, m.minutes_approved_at = actor, timezone.now()
        m.save(update_fields=["minutes", "minutes_approved_by", "minutes_approved_at"])
        _audit(actor, m, "minutes_approved", after={"edited": changed, "length": len(m.minutes)})
        notify(recipients=_users_of(_participants(m)), kind="consultations.minutes_approved",
               title=f"会议纪要已审定：{m.topic.title}", url=reverse("meetings:minutes", args=[m.pk]))
    return m

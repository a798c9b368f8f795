"""The consultation meeting and its speaking rules (开展协商, 南塘议事规则), through the services on frozen time.

Each rule has its allowed and its refused side: notice, quorum, the chair's monopoly on running the meeting, one
live motion, stance first, speech count and time limits, one speaker at a time, one vote per participant,
abstentions not counted as yes, the topic's outcome, the minutes, and an audit event for every action.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from yishi.audit.models import AuditEvent
from yishi.audit.services import events_for, verify_chain
from yishi.consultations import meetings as svc
from yishi.consultations.choices import FloorState, MeetingState, MotionOutcome, MotionState, TopicState
from yishi.consultations.meeting_selectors import meeting_state, meeting_version, minutes_draft
from yishi.consultations.meeting_testing import (
    START,
    T0,
    build_meeting_world,
    check_in_all,
    open_meeting,
    schedule,
)
from yishi.consultations.models import Attendance, FloorRequest, Meeting, Motion, Vote, WrittenOpinion
from yishi.core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from yishi.notifications.models import Notification


@pytest.fixture
def motion(mw, opened):
    return svc.motion_open(actor=mw.chair, meeting=opened, title="同意在3号楼北侧加装电梯", text="费用按楼层分摊")


def codes(meeting: Meeting) -> list[str]:
    return list(events_for(meeting).values_list("code", flat=True))


def speak(mw, meeting, motion, user, stance="for", text="", seconds=60, time_machine=None):
    fr = svc.floor_request(actor=user, meeting=meeting, motion=motion, stance=stance)
    svc.floor_grant(actor=mw.chair, meeting=meeting, request=fr)
    if time_machine is not None:
        time_machine.shift(timedelta(seconds=seconds))
    return svc.speech_end(actor=user, meeting=meeting, request=fr, text=text)


def vote_all(mw, meeting, motion, choices: list[str]):
    svc.vote_open(actor=mw.chair, meeting=meeting, motion=motion)
    for user, choice in zip(mw.voters, choices, strict=False):
        svc.vote_cast(actor=user, meeting=meeting, motion=motion, choice=choice)
    return svc.vote_close(actor=mw.chair, meeting=meeting, motion=motion)


# --- calling the meeting: notice, agenda, mode, the research gate ---------------------------------------------------


def test_staff_call_a_meeting_the_topic_moves_and_participants_get_the_notice(mw, time_machine, django_capture_on_commit_callbacks):
    time_machine.move_to(T0, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        meeting = schedule(mw, starts_at=START, mode="hybrid", location="直冲社区党群服务中心二楼")
    mw.topic.refresh_from_db()
    assert mw.topic.state == TopicState.MEETING
    assert (meeting.state, meeting.mode, meeting.notice_sent_at) == (MeetingState.SCHEDULED, "hybrid", T0)
    assert meeting.warnings == []
    assert Attendance.objects.filter(meeting=meeting).count() == len(mw.participants) + 1  # the observer too
    notified = set(Notification.objects.filter(kind="consultations.meeting_notice").values_list("recipient_id", flat=True))
    assert notified == {u.pk for u in mw.voters} | {mw.observer_user.pk, mw.chair.pk}
    call = AuditEvent.objects.get(code="consultations.topic.call_meeting")
    assert call.after["meeting"] == meeting.pk and call.after["state"] == TopicState.MEETING
    assert codes(meeting) == ["consultations.meeting.scheduled"]


def test_notice_must_be_at_least_the_profile_minimum(mw, time_machine):
    time_machine.move_to(T0, tick=False)
    with pytest.raises(InvalidInput) as exc:
        schedule(mw, starts_at=T0 + timedelta(days=1, hours=23))
    assert (exc.value.field, exc.value.code) == ("starts_at", "notice_too_short")
    mw.topic.refresh_from_db()
    assert mw.topic.state == TopicState.RESEARCHING and not Meeting.objects.exists()  # all rolled back
    assert not AuditEvent.objects.filter(code="consultations.topic.call_meeting").exists()
    assert schedule(mw, starts_at=T0 + timedelta(days=2)).warnings == []  # exactly the minimum is enough


def test_notice_longer_than_the_profile_maximum_is_allowed_with_a_warning(mw, time_machine):
    time_machine.move_to(T0, tick=False)
    meeting = schedule(mw, starts_at=T0 + timedelta(days=10))
    assert len(meeting.warnings) == 1 and "3 天" in meeting.warnings[0]
    assert events_for(meeting).get().after["warnings"] == meeting.warnings


def test_no_meeting_without_approved_research(mw, time_machine):
    mw.topic.research.update(state="submitted")
    with pytest.raises(Conflict) as exc:
        schedule(mw)
    assert exc.value.code == "no_approved_research" and not Meeting.objects.exists()


@pytest.mark.parametrize(
    ("kw", "field"),
    [({"mode": "phone"}, "mode"), ({"agenda": "  "}, "agenda"), ({"mode": "in_person", "location": ""}, "location"),
     ({"agenda": "议程\x00"}, "agenda")],
)
def test_bad_meeting_input_names_the_field(mw, kw, field):
    with pytest.raises(InvalidInput) as exc:
        schedule(mw, **kw)
    assert exc.value.field == field
    assert not Meeting.objects.exists()


def test_only_area_staff_call_meetings(mw):
    for user in (mw.chair, mw.voters[0]):
        with pytest.raises((PermissionDenied, NotFound)):
            svc.meeting_schedule(
                actor=user, topic=mw.topic, mode="online", starts_at=timezone.now() + timedelta(days=3), agenda="议程"
            )
    with pytest.raises(NotAuthenticated):
        svc.meeting_schedule(actor=None, topic=mw.topic, mode="online", starts_at=timezone.now() + timedelta(days=3), agenda="议程")
    assert not Meeting.objects.exists()


# --- registration and check-in ----------------------------------------------------------------------------------


def test_participants_register_and_check_in_on_the_day(mw, time_machine):
    time_machine.move_to(T0, tick=False)
    meeting = schedule(mw, starts_at=START)
    row = svc.meeting_register(actor=mw.voters[0], meeting=meeting)
    assert row.registered_at == T0 and not row.present
    svc.meeting_register(actor=mw.voters[0], meeting=meeting)  # again: nothing new
    with pytest.raises(Conflict) as exc:
        svc.meeting_check_in(actor=mw.voters[0], meeting=meeting)
    assert exc.value.code == "too_early"
    time_machine.move_to(START - timedelta(hours=1), tick=False)
    row = svc.meeting_check_in(actor=mw.voters[0], meeting=meeting)
    assert row.present and row.checked_in_at == START - timedelta(hours=1)
    assert codes(meeting) == ["consultations.meeting.scheduled", "consultations.meeting.registered", "consultations.meeting.checked_in"]


def test_in_person_meetings_check_in_at_the_venue(mw, time_machine):
    time_machine.move_to(T0, tick=False)
    meeting = schedule(mw, starts_at=START, mode="in_person", location="社区会议室")
    time_machine.move_to(START, tick=False)
    with pytest.raises(PermissionDenied) as exc:
        svc.meeting_check_in(actor=mw.voters[0], meeting=meeting)
    assert exc.value.code == "check_in_at_venue"
    svc.meeting_check_in(actor=mw.chair, meeting=meeting, participant=mw.participants[0].pk)
    svc.meeting_check_in(actor=mw.staff, meeting=meeting, participant=mw.participants[1])
    assert Attendance.objects.filter(meeting=meeting, present=True).count() == 2


def test_only_participants_register_and_only_for_themselves(mw, scheduled):
    with pytest.raises(PermissionDenied) as exc:
        svc.meeting_register(actor=mw.resident, meeting=scheduled)
    assert exc.value.code == "not_a_participant"
    with pytest.raises(PermissionDenied):
        svc.meeting_check_in(actor=mw.voters[0], meeting=scheduled, participant=mw.participants[1].pk)
    with pytest.raises(NotFound):
        svc.meeting_register(actor=mw.outsider, meeting=scheduled)
    with pytest.raises(NotFound) as exc:
        svc.meeting_check_in(actor=mw.chair, meeting=scheduled, participant=999_999)
    assert exc.value.field == "participant"


# --- opening: the chair, on the day, with quorum or a recorded reason ---------------------------------------------


def test_the_chair_opens_with_quorum(mw, scheduled):
    check_in_all(mw, scheduled, count=2)  # 2 of 4 voters = 50 %, the shipped quorum
    meeting = svc.meeting_open(actor=mw.chair, meeting=scheduled)
    assert (meeting.state, meeting.quorum_met, meeting.opened_at) == (MeetingState.OPEN, True, START)
    event = events_for(meeting).filter(code="consultations.meeting.opened").get()
    assert (event.after["present"], event.after["total"], event.after["quorum_met"]) == (2, 4, True)
    assert Notification.objects.filter(kind="consultations.meeting_opened", recipient=mw.voters[3]).exists()


def test_without_quorum_the_chair_must_give_a_reason(mw, scheduled):
    check_in_all(mw, scheduled, count=1)
    with pytest.raises(Conflict) as exc:
        svc.meeting_open(actor=mw.chair, meeting=scheduled)
    assert exc.value.code == "no_quorum" and exc.value.extra == {"present": 1, "total": 4}
    meeting = svc.meeting_open(actor=mw.chair, meeting=scheduled, override_reason="暴雨，多数代表委托书面意见")
    assert meeting.state == MeetingState.OPEN and meeting.quorum_met is False
    event = events_for(meeting).filter(code="consultations.meeting.opened").get()
    assert event.reason == "暴雨，多数代表委托书面意见" and event.after["quorum_met"] is False


def test_the_observer_and_the_chair_do_not_count_for_quorum(mw, scheduled):
    from yishi.consultations.models import Participant

    Participant.objects.create(topic=mw.topic, kind="resident_rep", user=mw.chair, name="主持人老周")
    svc.meeting_check_in(actor=mw.chair, meeting=scheduled)
    svc.meeting_check_in(actor=mw.observer_user, meeting=scheduled)
    check_in_all(mw, scheduled, count=1)
    assert svc.quorum(scheduled, 50) == (1, 4, False)


def test_only_the_chair_opens_and_only_on_the_day(mw, time_machine):
    time_machine.move_to(T0, tick=False)
    meeting = schedule(mw, starts_at=START)
    with pytest.raises(Conflict) as exc:
        svc.meeting_open(actor=mw.chair, meeting=meeting, override_reason="提前开")
    assert exc.value.code == "too_early"
    time_machine.move_to(START, tick=False)
    check_in_all(mw, meeting)
    for user in (mw.staff, mw.voters[0], mw.member):
        with pytest.raises(PermissionDenied) as exc:
            svc.meeting_open(actor=user, meeting=meeting)
        assert exc.value.code == "not_chair"
    with pytest.raises(NotFound):
        svc.meeting_open(actor=mw.outsider, meeting=meeting)
    svc.meeting_open(actor=mw.chair, meeting=meeting)
    with pytest.raises(Conflict) as exc:
        svc.meeting_open(actor=mw.chair, meeting=meeting)
    assert exc.value.code == "meeting_open"


# --- motions: the chair only, one at a time -------------------------------------------------------------------------


def test_only_the_chair_opens_motions(mw, opened):
    for user in (mw.voters[0], mw.staff, mw.member, mw.resident):
        with pytest.raises(PermissionDenied) as exc:
            svc.motion_open(actor=user, meeting=opened, title="我的动议")
        assert exc.value.code == "not_chair"
    for user in (mw.outsider, mw.outsider_staff):
        with pytest.raises(NotFound):
            svc.motion_open(actor=user, meeting=opened, title="我的动议")
    with pytest.raises(InvalidInput) as exc:
        svc.motion_open(actor=mw.chair, meeting=opened, title=" ")
    assert exc.value.field == "title"
    assert not Motion.objects.exists()


def test_one_live_motion_at_a_time(mw, opened, motion):
    assert (motion.number, motion.state) == (1, MotionState.DEBATE)
    with pytest.raises(Conflict) as exc:
        svc.motion_open(actor=mw.chair, meeting=opened, title="第二项")
    assert exc.value.code == "motion_live"
    svc.vote_open(actor=mw.chair, meeting=opened, motion=motion)
    with pytest.raises(Conflict):
        svc.motion_open(actor=mw.chair, meeting=opened, title="第二项")
    svc.vote_close(actor=mw.chair, meeting=opened, motion=motion)
    second = svc.motion_open(actor=mw.chair, meeting=opened, title="第二项")
    assert second.number == 2
    # The database holds the line even past the service.
    with pytest.raises(IntegrityError), transaction.atomic():
        Motion.objects.create(meeting=opened, number=3, title="绕过", opened_at=timezone.now())


def test_no_motion_before_the_meeting_opens(mw, scheduled):
    with pytest.raises(Conflict) as exc:
        svc.motion_open(actor=mw.chair, meeting=scheduled, title="太早")
    assert exc.value.code == "meeting_not_open"


# --- the floor: stance first, count and time limits, one speaker ------------------------------------------------------


@pytest.mark.parametrize(("stance", "code"), [(None, "stance_required"), ("", "stance_required"), ("maybe", "invalid")])
def test_the_floor_needs_a_stance_first(mw, opened, motion, stance, code):
    with pytest.raises(InvalidInput) as exc:
        svc.floor_request(actor=mw.voters[0], meeting=opened, motion=motion, stance=stance)
    assert (exc.value.field, exc.value.code) == ("stance", code)


def test_who_may_ask_for_the_floor(mw, opened, motion):
    with pytest.raises(PermissionDenied) as exc:
        svc.floor_request(actor=mw.resident, meeting=opened, motion=motion, stance="for")
    assert exc.value.code == "not_a_participant"
    from yishi.consultations.models import Participant

    Participant.objects.create(topic=mw.topic, kind="resident_rep", user=mw.chair, name="主持人老周")
    with pytest.raises(PermissionDenied) as exc:
        svc.floor_request(actor=mw.chair, meeting=opened, motion=motion, stance="for")
    assert exc.value.code == "chair_is_neutral"
    with pytest.raises(NotFound):
        svc.floor_request(actor=mw.outsider, meeting=opened, motion=motion, stance="for")
    with pytest.raises(Conflict) as exc:  # the observer never checked in
        svc.floor_request(actor=mw.observer_user, meeting=opened, motion=motion, stance="neutral")
    assert exc.value.code == "not_checked_in"
    with pytest.raises(NotFound) as exc:
        svc.floor_request(actor=mw.voters[0], meeting=opened, motion=999_999, stance="for")
    assert exc.value.field == "motion"


def test_speech_count_limit_per_participant_per_motion(mw, opened, motion):
    speak(mw, opened, motion, mw.voters[0], "for", "支持")
    fr = svc.floor_request(actor=mw.voters[0], meeting=opened, motion=motion, stance="against")
    with pytest.raises(Conflict) as exc:  # one waiting request at a time
        svc.floor_request(actor=mw.voters[0], meeting=opened, motion=motion, stance="for")
    assert exc.value.code == "already_waiting"
    svc.floor_grant(actor=mw.chair, meeting=opened, request=fr)
    svc.speech_end(actor=mw.voters[0], meeting=opened, request=fr, text="补充意见")
    with pytest.raises(Conflict) as exc:
        svc.floor_request(actor=mw.voters[0], meeting=opened, motion=motion, stance="for")
    assert exc.value.code == "speech_limit" and exc.value.extra == {"limit": 2}
    # Another participant still has both turns, and the next motion starts afresh.
    speak(mw, opened, motion, mw.voters[1], "against")
    svc.motion_withdraw(actor=mw.chair, meeting=opened, motion=motion)
    nxt = svc.motion_open(actor=mw.chair, meeting=opened, title="改为南侧加装")
    assert svc.floor_request(actor=mw.voters[0], meeting=opened, motion=nxt, stance="for").state == FloorState.WAITING


def test_one_speaker_at_a_time_for_the_profile_time(mw, opened, motion):
    a = svc.floor_request(actor=mw.voters[0], meeting=opened, motion=motion, stance="for")
    b = svc.floor_request(actor=mw.voters[1], meeting=opened, motion=motion, stance="against")
    a = svc.floor_grant(actor=mw.chair, meeting=opened, request=a)
    assert (a.state, a.started_at, a.ends_at) == (FloorState.SPEAKING, START, START + timedelta(seconds=120))
    with pytest.raises(Conflict) as exc:
        svc.floor_grant(actor=mw.chair, meeting=opened, request=b)
    assert exc.value.code == "speaker_on_floor"
    with pytest.raises(Conflict):
        svc.floor_grant(actor=mw.chair, meeting=opened, request=a)
    with pytest.raises(PermissionDenied) as exc:
        svc.floor_grant(actor=mw.voters[2], meeting=opened, request=b)
    assert exc.value.code == "not_chair"
    with pytest.raises(IntegrityError), transaction.atomic():
        FloorRequest.objects.filter(pk=b.pk).update(state=FloorState.SPEAKING)


def test_speech_time_limit_marks_an_overrun_speech_as_cut(mw, opened, motion, time_machine):
    on_time = speak(mw, opened, motion, mw.voters[0], "for", "采光影响很小", seconds=120, time_machine=time_machine)
    late = speak(mw, opened, motion, mw.voters[1], "against", "噪声问题没有解决", seconds=121, time_machine=time_machine)
    assert on_time.state == FloorState.DONE and on_time.ended_at == on_time.ends_at
    assert late.ended_at == late.ends_at + timedelta(seconds=1)
    ended = list(events_for(opened).filter(code="consultations.meeting.speech_ended").values_list("after", flat=True))
    assert [(e["cut"], e["overrun_seconds"]) for e in ended] == [(False, 0), (True, 1)]
    state = meeting_state(user=mw.resident, meeting=opened)
    assert [(s["name"], s["cut"]) for s in state["motion"]["speeches"]] == [("李明", False), ("王芳", True)]
    assert "王芳【反对】" in minutes_draft(opened) and "（超时，发言截止）：噪声问题没有解决" in minutes_draft(opened)


def test_the_speaker_or_the_chair_ends_a_speech(mw, opened, motion, time_machine):
    fr = svc.floor_request(actor=mw.voters[0], meeting=opened, motion=motion, stance="neutral")
    svc.floor_grant(actor=mw.chair, meeting=opened, request=fr)
    with pytest.raises(PermissionDenied) as exc:
        svc.speech_end(actor=mw.voters[1], meeting=opened, request=fr)
    assert exc.value.code == "not_speaker"
    time_machine.shift(timedelta(seconds=200))
    fr = svc.speech_end(actor=mw.chair, meeting=opened, request=fr, text="主持人记录：建议再做一次噪声评估")
    assert fr.state == FloorState.DONE and fr.text.startswith("主持人记录")
    with pytest.raises(Conflict) as exc:
        svc.speech_end(actor=mw.voters[0], meeting=opened, request=fr)
    assert exc.value.code == "not_speaking"


def test_the_vote_waits_for_the_speaker_and_ends_the_queue(mw, opened, motion):
    a = svc.floor_request(actor=mw.voters[0], meeting=opened, motion=motion, stance="for")
    b = svc.floor_request(actor=mw.voters[1], meeting=opened, motion=motion, stance="against")
    svc.floor_grant(actor=mw.chair, meeting=opened, request=a)
    for call in (svc.vote_open, svc.motion_withdraw):
        with pytest.raises(Conflict) as exc:
            call(actor=mw.chair, meeting=opened, motion=motion)
        assert exc.value.code == "speaker_on_floor"
    svc.speech_end(actor=mw.voters[0], meeting=opened, request=a)
    svc.vote_open(actor=mw.chair, meeting=opened, motion=motion)
    b.refresh_from_db()
    assert b.state == FloorState.CANCELLED
    with pytest.raises(Conflict) as exc:
        svc.floor_request(actor=mw.voters[2], meeting=opened, motion=motion, stance="for")
    assert exc.value.code == "motion_in_vote"


# --- votes: one each, only while open, counted by the profile's rule ------------------------------------------------


def test_one_vote_per_participant_and_none_after_closing(mw, opened, motion):
    with pytest.raises(Conflict) as exc:
        svc.vote_cast(actor=mw.voters[0], meeting=opened, motion=motion, choice="yes")
    assert exc.value.code == "voting_not_open"
    svc.vote_open(actor=mw.chair, meeting=opened, motion=motion)
    svc.vote_cast(actor=mw.voters[0], meeting=opened, motion=motion, choice="yes")
    with pytest.raises(Conflict) as exc:
        svc.vote_cast(actor=mw.voters[0], meeting=opened, motion=motion, choice="no")
    assert exc.value.code == "already_voted"
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(motion=motion, participant=mw.participants[0], choice="no", cast_at=timezone.now())
    svc.vote_close(actor=mw.chair, meeting=opened, motion=motion)
    for user in (mw.voters[0], mw.voters[1]):
        with pytest.raises(Conflict) as exc:
            svc.vote_cast(actor=user, meeting=opened, motion=motion, choice="yes")
        assert exc.value.code == "voting_closed"
    with pytest.raises(Conflict) as exc:
        svc.vote_close(actor=mw.chair, meeting=opened, motion=motion)
    assert exc.value.code == "voting_closed"
    assert list(Vote.objects.values_list("choice", flat=True)) == ["yes"]


def test_who_may_vote(mw, opened, motion):
    svc.vote_open(actor=mw.chair, meeting=opened, motion=motion)
    with pytest.raises(PermissionDenied) as exc:
        svc.vote_cast(actor=mw.resident, meeting=opened, motion=motion, choice="yes")
    assert exc.value.code == "not_a_participant"
    with pytest.raises(PermissionDenied) as exc:
        svc.vote_cast(actor=mw.observer_user, meeting=opened, motion=motion, choice="yes")
    assert exc.value.code == "no_vote"
    with pytest.raises(PermissionDenied) as exc:
        svc.vote_cast(actor=mw.member, meeting=opened, motion=motion, choice="yes")
    assert exc.value.code == "not_a_participant"
    with pytest.raises(NotFound):
        svc.vote_cast(actor=mw.outsider, meeting=opened, motion=motion, choice="yes")
    with pytest.raises(InvalidInput) as exc:
        svc.vote_cast(actor=mw.voters[0], meeting=opened, motion=motion, choice="maybe")
    assert exc.value.field == "choice"
    assert not Vote.objects.exists()


def test_only_the_chair_opens_and_closes_votes(mw, opened, motion):
    for call in (svc.vote_open, svc.vote_close):
        with pytest.raises(PermissionDenied) as exc:
            call(actor=mw.voters[0], meeting=opened, motion=motion)
        assert exc.value.code == "not_chair"
        with pytest.raises(PermissionDenied):
            call(actor=mw.staff, meeting=opened, motion=motion)
    svc.vote_open(actor=mw.chair, meeting=opened, motion=motion)
    with pytest.raises(PermissionDenied):
        svc.vote_close(actor=mw.voters[0], meeting=opened, motion=motion)
    motion.refresh_from_db()
    assert motion.state == MotionState.VOTING


@pytest.mark.parametrize(
    ("yes", "no", "abstain", "percent", "passed"),
    [
        (3, 2, 2, 50, False),  # 3 > 3.5? no: abstentions are votes cast, not yes
        (4, 2, 1, 50, True),  # 4 > 3.5
        (3, 2, 0, 50, True),  # without the abstentions the same 3 yes pass
        (2, 2, 0, 50, False),  # a tie is not a majority
        (1, 0, 0, 50, True),
        (0, 0, 0, 50, False),  # nobody voted: nothing passes
        (0, 0, 3, 50, False),
        (2, 1, 0, 66, True),  # 200 > 198
        (4, 2, 0, 67, False),  # 400 > 402? no
    ],
)
def test_the_pass_rule(yes, no, abstain, percent, passed):
    assert svc.passes(yes=yes, no=no, abstain=abstain, pass_percent=percent) is passed


@pytest.fixture
def seven(tree, time_machine):
    world = build_meeting_world(tree, voters=7)
    time_machine.move_to(T0, tick=False)
    meeting = schedule(world, starts_at=START)
    time_machine.move_to(START, tick=False)
    return world, open_meeting(world, meeting)


def test_abstentions_are_not_counted_as_yes(seven):
    mw, meeting = seven
    first = svc.motion_open(actor=mw.chair, meeting=meeting, title="北侧方案")
    first = vote_all(mw, meeting, first, ["yes", "yes", "yes", "no", "no", "abstain", "abstain"])
    assert (first.yes, first.no, first.abstain, first.outcome) == (3, 2, 2, MotionOutcome.FAILED)
    second = svc.motion_open(actor=mw.chair, meeting=meeting, title="北侧方案（修改后）")
    second = vote_all(mw, meeting, second, ["yes", "yes", "yes", "yes", "no", "no", "abstain"])
    assert (second.yes, second.no, second.abstain, second.outcome) == (4, 2, 1, MotionOutcome.PASSED)
    closed = list(events_for(meeting).filter(code="consultations.meeting.vote_closed").values_list("after", flat=True))
    assert [(c["yes"], c["no"], c["abstain"], c["pass_percent"], c["outcome"]) for c in closed] == [
        (3, 2, 2, 50, "failed"), (4, 2, 1, 50, "passed"),
    ]


def test_the_pass_percent_comes_from_the_areas_profile(seven):
    from yishi.policy.services import default_profile, profile_copy, profile_update

    mw, meeting = seven
    strict = profile_copy(actor=None, source=default_profile(), code="strict-2026", name="三分之二多数")
    profile_update(actor=None, profile=strict, params={**strict.params, "consultations.pass_percent": 66})
    mw.tree.community_a1.policy_profile = strict
    mw.tree.community_a1.save(update_fields=["policy_profile"])
    motion = svc.motion_open(actor=mw.chair, meeting=meeting, title="北侧方案")
    motion = vote_all(mw, meeting, motion, ["yes", "yes", "yes", "yes", "no", "no", "abstain"])
    assert motion.outcome == MotionOutcome.FAILED  # 4 of 7 = 57 % is a majority, not two thirds


# --- consensus and withdrawal ---------------------------------------------------------------------------------------


def test_the_chair_records_a_consensus_instead_of_a_vote(mw, opened, motion):
    with pytest.raises(InvalidInput) as exc:
        svc.consensus_record(actor=mw.chair, meeting=opened, motion=motion, note="")
    assert exc.value.field == "note"
    with pytest.raises(PermissionDenied):
        svc.consensus_record(actor=mw.voters[0], meeting=opened, motion=motion, note="都同意")
    waiting = svc.floor_request(actor=mw.voters[0], meeting=opened, motion=motion, stance="for")
    motion = svc.consensus_record(actor=mw.chair, meeting=opened, motion=motion, note="同意北侧加装，施工避开午休")
    waiting.refresh_from_db()
    assert (motion.state, motion.outcome, waiting.state) == (MotionState.CLOSED, MotionOutcome.CONSENSUS, FloorState.CANCELLED)
    second = svc.motion_open(actor=mw.chair, meeting=opened, title="费用分摊")
    svc.vote_open(actor=mw.chair, meeting=opened, motion=second)
    with pytest.raises(Conflict) as exc:  # once the vote is open, the vote decides
        svc.consensus_record(actor=mw.chair, meeting=opened, motion=second, note="共识")
    assert exc.value.code == "motion_in_vote"


def test_the_chair_withdraws_a_motion_in_debate(mw, opened, motion):
    with pytest.raises(PermissionDenied):
        svc.motion_withdraw(actor=mw.voters[0], meeting=opened, motion=motion)
    motion = svc.motion_withdraw(actor=mw.chair, meeting=opened, motion=motion, reason="方案需重新测算")
    assert (motion.state, motion.outcome) == (MotionState.WITHDRAWN, "")
    assert events_for(opened).filter(code="consultations.meeting.motion_withdrawn").get().reason == "方案需重新测算"
    with pytest.raises(Conflict) as exc:
        svc.vote_open(actor=mw.chair, meeting=opened, motion=motion)
    assert exc.value.code == "motion_closed"


# --- written opinions from people who follow the meeting --------------------------------------------------------------


def test_residents_of_the_area_follow_and_write_in(mw, scheduled, time_machine):
    opinion = svc.written_opinion_add(actor=mw.resident, meeting=scheduled, text="希望电梯施工期间保障老人出行")
    assert (opinion.topic_id, opinion.author_id) == (mw.topic.pk, mw.resident.pk)
    state = meeting_state(user=mw.resident, meeting=scheduled)
    assert state["can"]["write_opinion"] and not state["can"]["request_floor"] and state["me"]["participant_id"] is None
    with pytest.raises(NotFound):
        svc.written_opinion_add(actor=mw.outsider, meeting=scheduled, text="外区意见")
    with pytest.raises(NotAuthenticated):
        svc.written_opinion_add(actor=None, meeting=scheduled, text="匿名")
    with pytest.raises(InvalidInput) as exc:
        svc.written_opinion_add(actor=mw.resident, meeting=scheduled, text="  ")
    assert exc.value.field == "text"
    with pytest.raises(InvalidInput) as exc:
        svc.written_opinion_add(actor=mw.resident, meeting=scheduled, text="长" * 2001)
    assert exc.value.code == "too_long"
    open_meeting(mw, scheduled)
    svc.meeting_close(actor=mw.chair, meeting=scheduled)
    with pytest.raises(Conflict) as exc:
        svc.written_opinion_add(actor=mw.resident, meeting=scheduled, text="会后意见")
    assert exc.value.code == "meeting_closed"
    assert WrittenOpinion.objects.count() == 1


# --- closing the meeting moves the topic on ---------------------------------------------------------------------------


def test_a_passed_motion_means_a_decision(mw, opened, motion, django_capture_on_commit_callbacks):
    vote_all(mw, opened, motion, ["yes", "yes", "yes", "no"])
    with pytest.raises(PermissionDenied):
        svc.meeting_close(actor=mw.staff, meeting=opened)
    with django_capture_on_commit_callbacks(execute=True):
        meeting = svc.meeting_close(actor=mw.chair, meeting=opened)
    mw.topic.refresh_from_db()
    assert (meeting.state, meeting.closed_at, mw.topic.state) == (MeetingState.CLOSED, START, TopicState.DECIDED)
    event = AuditEvent.objects.get(code="consultations.topic.record_decision")
    assert event.actor_id == mw.chair.pk
    assert meeting.minutes.startswith("《3号楼加装电梯》协商会议纪要")
    assert Notification.objects.filter(kind="consultations.meeting_closed").count() == len(mw.voters) + 1


def test_a_consensus_means_a_decision(mw, opened, motion):
    svc.consensus_record(actor=mw.chair, meeting=opened, motion=motion, note="一致同意")
    svc.meeting_close(actor=mw.chair, meeting=opened)
    mw.topic.refresh_from_db()
    assert mw.topic.state == TopicState.DECIDED


@pytest.mark.parametrize("ending", ["failed", "withdrawn", "nothing"])
def test_no_passed_motion_means_no_decision(mw, opened, ending):
    if ending != "nothing":
        motion = svc.motion_open(actor=mw.chair, meeting=opened, title="北侧方案")
        if ending == "failed":
            vote_all(mw, opened, motion, ["yes", "no", "no", "abstain"])
        else:
            svc.motion_withdraw(actor=mw.chair, meeting=opened, motion=motion)
    svc.meeting_close(actor=mw.chair, meeting=opened)
    mw.topic.refresh_from_db()
    assert mw.topic.state == TopicState.NO_DECISION
    event = AuditEvent.objects.get(code="consultations.topic.record_no_decision")
    assert event.reason == "议而未决" and event.after["state"] == TopicState.NO_DECISION
    assert minutes_draft(opened).endswith("结论：议而未决。")


def test_the_meeting_does_not_close_over_a_live_motion(mw, opened, motion):
    with pytest.raises(Conflict) as exc:
        svc.meeting_close(actor=mw.chair, meeting=opened)
    assert exc.value.code == "motion_live"
    mw.topic.refresh_from_db()
    assert mw.topic.state == TopicState.MEETING


def test_after_no_decision_a_new_meeting_can_be_called(mw, opened, time_machine):
    svc.meeting_close(actor=mw.chair, meeting=opened)
    again = schedule(mw, starts_at=START + timedelta(days=7))
    mw.topic.refresh_from_db()
    assert mw.topic.state == TopicState.MEETING and again.pk != opened.pk


# --- minutes ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def held(mw, opened, motion, time_machine):
    """A meeting with speeches (one cut), a failed vote, a consensus, a withdrawn motion and a written opinion."""
    svc.written_opinion_add(actor=mw.resident, meeting=opened, text="施工期间请保障老人出行")
    speak(mw, opened, motion, mw.voters[0], "for", "低层采光影响很小", seconds=90, time_machine=time_machine)
    speak(mw, opened, motion, mw.voters[1], "against", "噪声问题没有解决", seconds=130, time_machine=time_machine)
    vote_all(mw, opened, motion, ["yes", "no", "no", "abstain"])
    second = svc.motion_open(actor=mw.chair, meeting=opened, title="先做噪声评估再定方案")
    speak(mw, opened, second, mw.voters[2], "neutral", "", seconds=30, time_machine=time_machine)
    svc.consensus_record(actor=mw.chair, meeting=opened, motion=second, note="请物业一个月内完成噪声评估")
    third = svc.motion_open(actor=mw.chair, meeting=opened, title="临时动议")
    svc.motion_withdraw(actor=mw.chair, meeting=opened, motion=third)
    return svc.meeting_close(actor=mw.chair, meeting=opened)


def test_minutes_are_written_from_the_record(mw, held):
    text = held.minutes
    for expected in (
        "《3号楼加装电梯》协商会议纪要",
        "议事室：直冲社区议事室",
        "时间：2026-03-04 19:00 至 ",
        "形式：网上",
        "主持人：主持人老周",
        "一、介绍调研情况",
        "出席：应到 5 方，实到 4 方。",
        "到会：李明（居民代表）、王芳（利益相关方）",
        "缺席：区住房和城乡建设局（职能部门）",
        "法定人数：已达到",
        "动议一：同意在3号楼北侧加装电梯",
        "费用按楼层分摊",
        "1. 李明【赞成】19:00:00–19:01:30：低层采光影响很小",
        "2. 王芳【反对】19:01:30–19:03:40（超时，发言截止）：噪声问题没有解决",
        "表决：赞成 1，反对 2，弃权 1（共 4 票；赞成票须超过投票数的 50%，弃权不计为赞成）。结果：未通过。",
        "赞成：李明",
        "反对：王芳、张伟",
        "弃权：刘洋",
        "动议二：先做噪声评估再定方案",
        "1. 张伟【中立】",
        "（未记录发言要点）",
        "结果：达成共识。请物业一个月内完成噪声评估",
        "动议三：临时动议",
        "结果：动议撤回。",
        "书面意见：1 份",
        "1. 居民小林：施工期间请保障老人出行",
        "结论：形成协商意见。",
    ):
        assert expected in text, expected


def test_minutes_are_regenerated_until_the_chair_approves_them(mw, held, time_machine):
    with pytest.raises(PermissionDenied):
        svc.minutes_generate(actor=mw.voters[0], meeting=held)
    Meeting.objects.filter(pk=held.pk).update(minutes="")
    assert svc.minutes_generate(actor=mw.staff, meeting=held).minutes.startswith("《")
    with pytest.raises(PermissionDenied):
        svc.minutes_approve(actor=mw.staff, meeting=held)
    time_machine.shift(timedelta(hours=1))
    edited = svc.minutes_approve(actor=mw.chair, meeting=held, text=held.minutes + "\n记录人：社区工作人员")
    assert edited.minutes.endswith("记录人：社区工作人员") and edited.minutes_approved_by_id == mw.chair.pk
    for call in (svc.minutes_approve, svc.minutes_generate):
        with pytest.raises(Conflict) as exc:
            call(actor=mw.chair, meeting=held)
        assert exc.value.code == "minutes_approved"
    approved = events_for(held).filter(code="consultations.meeting.minutes_approved").get()
    assert approved.after["edited"] is True


def test_minutes_only_after_the_meeting(mw, opened):
    with pytest.raises(Conflict) as exc:
        svc.minutes_generate(actor=mw.chair, meeting=opened)
    assert exc.value.code == "meeting_open"


# --- the audit trail and the version the room polls ---------------------------------------------------------------


def test_every_action_is_audited_and_bumps_the_version(mw, held):
    svc.minutes_generate(actor=mw.chair, meeting=held)
    svc.minutes_approve(actor=mw.chair, meeting=held)
    found = set(codes(held))
    expected = {
        f"consultations.meeting.{verb}" for verb in (
            "scheduled", "checked_in", "opened", "motion_opened", "floor_requested", "floor_granted", "speech_ended",
            "vote_opened", "vote_cast", "vote_closed", "consensus_recorded", "motion_withdrawn",
            "written_opinion_added", "closed", "minutes_generated", "minutes_approved",
        )
    }
    assert found == expected
    assert meeting_version(held) == AuditEvent.objects.filter(subject_id=str(held.pk), subject_type="consultations.meeting").latest("seq").seq
    assert verify_chain() == []
    assert {e.actor_id for e in events_for(held).filter(code="consultations.meeting.vote_cast")} == {u.pk for u in mw.voters}


def test_a_participant_invited_before_the_meeting_changes_the_room(mw, scheduled):
    from yishi.consultations.services import participant_invite

    before = meeting_version(scheduled)
    participant_invite(actor=mw.staff, topic=mw.topic, kind="expert", name="规划专家老吴", can_vote=False)
    assert meeting_version(scheduled) > before
    roll = {a["name"]: (a["can_vote"], a["present"]) for a in meeting_state(user=mw.chair, meeting=scheduled)["attendance"]}
    assert roll["规划专家老吴"] == (False, False)  # on the roll although invited after the notice
    assert meeting_state(user=mw.chair, meeting=scheduled)["quorum"]["total"] == 4


def test_refused_actions_leave_no_trace(mw, opened, motion):
    before = meeting_version(opened)
    for call in (
        lambda: svc.motion_open(actor=mw.chair, meeting=opened, title="第二项"),
        lambda: svc.vote_close(actor=mw.chair, meeting=opened, motion=motion),
        lambda: svc.floor_request(actor=mw.resident, meeting=opened, motion=motion, stance="for"),
    ):
        with pytest.raises((Conflict, PermissionDenied)):
            call()
    assert meeting_version(opened) == before


# --- what the room shows each person ---------------------------------------------------------------------------------


def test_the_state_offers_each_person_what_they_may_do_now(mw, opened, motion):
    chair = meeting_state(user=mw.chair, meeting=opened)
    assert chair["can"]["open_vote"] and chair["can"]["record_consensus"] and not chair["can"]["request_floor"]
    assert not chair["can"]["open_motion"] and not chair["can"]["close_meeting"]  # a motion is live
    voter = meeting_state(user=mw.voters[0], meeting=opened)
    assert voter["can"]["request_floor"] and not voter["can"]["open_vote"] and voter["me"]["speeches_left"] == 2
    fr = svc.floor_request(actor=mw.voters[0], meeting=opened, motion=motion, stance="for")
    assert meeting_state(user=mw.chair, meeting=opened)["can"]["grant_floor"]
    svc.floor_grant(actor=mw.chair, meeting=opened, request=fr)
    voter = meeting_state(user=mw.voters[0], meeting=opened)
    speaker = voter["motion"]["speaker"]
    assert (speaker["name"], speaker["stance_label"], speaker["seconds_left"], speaker["is_me"]) == ("李明", "赞成", 120, True)
    assert voter["can"]["end_speech"] and not meeting_state(user=mw.voters[1], meeting=opened)["can"]["end_speech"]
    svc.speech_end(actor=mw.voters[0], meeting=opened, request=fr)
    svc.vote_open(actor=mw.chair, meeting=opened, motion=motion)
    svc.vote_cast(actor=mw.voters[0], meeting=opened, motion=motion, choice="yes")
    voter = meeting_state(user=mw.voters[0], meeting=opened)
    assert not voter["can"]["vote"] and voter["me"]["vote"] == "yes" and voter["motion"]["votes_cast"] == 1
    assert (voter["motion"]["yes"], voter["motion"]["no"]) == (0, 0)  # tallies only after closing
    assert meeting_state(user=mw.voters[1], meeting=opened)["can"]["vote"]
    assert not meeting_state(user=mw.observer_user, meeting=opened)["can"]["vote"]


def test_the_state_costs_a_bounded_number_of_queries(mw, opened, motion, django_assert_max_num_queries):
    for user in mw.voters[:3]:
        svc.floor_request(actor=user, meeting=opened, motion=motion, stance="for")
    meeting = Meeting.objects.select_related("topic__room__org_unit").get(pk=opened.pk)
    with django_assert_max_num_queries(22):
        meeting_state(user=mw.voters[0], meeting=meeting)

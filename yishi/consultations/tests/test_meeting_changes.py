"""Rescheduling and cancelling a meeting before it starts (改期、取消): who may, when, the notice rule for the new
time, the notice to everyone who had the first one, the audit trail, and the next meeting after a cancellation —
through the services, the pages and the API, on frozen time."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from yishi.audit.models import AuditEvent
from yishi.audit.services import events_for, verify_chain
from yishi.conftest import client_for
from yishi.consultations import meetings as svc
from yishi.consultations.choices import MeetingState, TopicState
from yishi.consultations.meeting_testing import BJ, START, T0, build_meeting_world, check_in_all, schedule
from yishi.consultations.models import Attendance, Meeting
from yishi.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yishi.notifications.models import Notification
from yishi.policy.services import default_profile, profile_update

LATER = datetime(2026, 3, 5, 19, 0, tzinfo=BJ)  # Thursday evening


@pytest.fixture
def mw(tree):
    world = build_meeting_world(tree)
    for i, user in enumerate([*world.voters, world.observer_user, world.chair]):
        user.email = f"p{i}@example.org"
        user.save(update_fields=["email"])
    return world


@pytest.fixture
def scheduled(mw, time_machine):
    time_machine.move_to(T0, tick=False)
    return schedule(mw, starts_at=START)


def everyone_notified(mw) -> set[int]:
    return {u.pk for u in mw.voters} | {mw.observer_user.pk, mw.chair.pk}


def recipients(kind: str) -> set[int]:
    return set(Notification.objects.filter(kind=kind).values_list("recipient_id", flat=True))


def codes(meeting: Meeting) -> list[str]:
    return list(events_for(meeting).values_list("code", flat=True))


# --- reschedule ---------------------------------------------------------------------------------------------------


def test_the_chair_reschedules_and_everyone_is_told_after_commit(mw, scheduled, time_machine, django_capture_on_commit_callbacks):
    svc.meeting_register(actor=mw.voters[0], meeting=scheduled)
    time_machine.move_to(START - timedelta(hours=2), tick=False)  # the day: someone has checked in already
    svc.meeting_check_in(actor=mw.voters[1], meeting=scheduled)
    now = timezone.now()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        meeting = svc.meeting_reschedule(actor=mw.chair, meeting=scheduled, starts_at=now + timedelta(days=3), reason="主持人出差")
        assert mail.outbox == []  # nothing leaves before the commit
    assert callbacks
    for callback in callbacks:
        callback()
    meeting.refresh_from_db()
    assert (meeting.state, meeting.starts_at, meeting.notice_sent_at) == (MeetingState.SCHEDULED, now + timedelta(days=3), now)
    assert not Attendance.objects.filter(meeting=meeting).exclude(registered_at=None).exists()
    assert not Attendance.objects.filter(meeting=meeting, present=True).exists()
    assert recipients("consultations.meeting_rescheduled") == everyone_notified(mw)
    notice = Notification.objects.filter(kind="consultations.meeting_rescheduled").first()
    assert "2026-03-04 19:00" in notice.body and "主持人出差" in notice.body
    assert len(mail.outbox) == len(everyone_notified(mw))
    event = events_for(meeting).get(code="consultations.meeting.rescheduled")
    assert event.reason == "主持人出差" and event.after["attendance_cleared"] == 2
    assert AuditEvent.objects.filter(code="consultations.topic.meeting_rescheduled", subject_id=str(mw.topic.pk)).exists()
    assert verify_chain() == []


def test_the_new_time_follows_the_notice_rule_of_the_profile(mw, scheduled):
    with pytest.raises(InvalidInput) as exc:
        svc.meeting_reschedule(actor=mw.staff, meeting=scheduled, starts_at=T0 + timedelta(days=1, hours=23))
    assert (exc.value.field, exc.value.code) == ("starts_at", "notice_too_short")
    profile = default_profile()
    profile_update(actor=None, profile=profile, params={**profile.params, "consultations.notice_min_days": 4})
    with pytest.raises(InvalidInput):
        svc.meeting_reschedule(actor=mw.staff, meeting=scheduled, starts_at=LATER)  # 3 days 9 hours: too short now
    scheduled.refresh_from_db()
    assert scheduled.starts_at == START and codes(scheduled) == ["consultations.meeting.scheduled"]
    moved = svc.meeting_reschedule(actor=mw.staff, meeting=scheduled, starts_at=T0 + timedelta(days=10))
    assert moved.warnings and "3 天" in moved.warnings[0]  # past notice_max_days: allowed, with a reminder
    with pytest.raises(InvalidInput) as exc:
        svc.meeting_reschedule(actor=mw.staff, meeting=scheduled, starts_at=T0 + timedelta(days=10))
    assert exc.value.code == "unchanged"
    with pytest.raises(InvalidInput) as exc:
        svc.meeting_reschedule(actor=mw.staff, meeting=scheduled, starts_at=None)
    assert exc.value.field == "starts_at"


def test_only_the_chair_and_the_organisers_change_a_meeting(mw, scheduled):
    for verb in (svc.meeting_reschedule, svc.meeting_cancel):
        kwargs = {"starts_at": LATER} if verb is svc.meeting_reschedule else {"reason": "改期"}
        with pytest.raises(PermissionDenied) as exc:
            verb(actor=mw.voters[0], meeting=scheduled, **kwargs)
        assert exc.value.code == "not_organiser"
        with pytest.raises(PermissionDenied):
            verb(actor=mw.resident, meeting=scheduled, **kwargs)  # follows the meeting, does not run it
        for stranger in (mw.outsider, mw.outsider_staff):
            with pytest.raises(NotFound):
                verb(actor=stranger, meeting=scheduled, **kwargs)
    scheduled.refresh_from_db()
    assert (scheduled.state, scheduled.starts_at) == (MeetingState.SCHEDULED, START)
    assert codes(scheduled) == ["consultations.meeting.scheduled"]


@pytest.mark.parametrize("stage", ["open", "closed", "cancelled"])
def test_a_meeting_that_started_ended_or_was_cancelled_cannot_be_changed(mw, scheduled, time_machine, stage):
    time_machine.move_to(START, tick=False)
    if stage in ("open", "closed"):
        check_in_all(mw, scheduled)
        svc.meeting_open(actor=mw.chair, meeting=scheduled)
        if stage == "closed":
            svc.meeting_close(actor=mw.chair, meeting=scheduled)
    else:
        svc.meeting_cancel(actor=mw.chair, meeting=scheduled, reason="场地不可用")
    code = {"open": "meeting_open", "closed": "meeting_closed", "cancelled": "meeting_cancelled"}[stage]
    with pytest.raises(Conflict) as exc:
        svc.meeting_reschedule(actor=mw.chair, meeting=scheduled, starts_at=START + timedelta(days=3))
    assert exc.value.code == code
    with pytest.raises(Conflict) as exc:
        svc.meeting_cancel(actor=mw.staff, meeting=scheduled, reason="不开了")
    assert exc.value.code == code


# --- cancel -------------------------------------------------------------------------------------------------------


def test_cancel_needs_a_reason_tells_everyone_and_a_new_meeting_can_be_called(mw, scheduled, django_capture_on_commit_callbacks):
    with pytest.raises(InvalidInput) as exc:
        svc.meeting_cancel(actor=mw.chair, meeting=scheduled, reason="  ")
    assert exc.value.field == "reason"
    with django_capture_on_commit_callbacks(execute=True):
        meeting = svc.meeting_cancel(actor=mw.chair, meeting=scheduled, reason="台风预警，暂停集会")
    meeting.refresh_from_db()
    assert (meeting.state, meeting.cancelled_at, meeting.cancel_reason) == (MeetingState.CANCELLED, T0, "台风预警，暂停集会")
    assert recipients("consultations.meeting_cancelled") == everyone_notified(mw)
    assert codes(meeting) == ["consultations.meeting.scheduled", "consultations.meeting.cancelled"]
    mw.topic.refresh_from_db()
    assert mw.topic.state == TopicState.MEETING  # still at the meeting step
    with pytest.raises(Conflict):  # nothing may happen in a cancelled meeting
        svc.meeting_register(actor=mw.voters[0], meeting=meeting)
    again = schedule(mw, starts_at=LATER)
    assert again.state == MeetingState.SCHEDULED and again.pk != meeting.pk
    assert Attendance.objects.filter(meeting=again).count() == len(mw.participants) + 1
    assert AuditEvent.objects.filter(code="consultations.topic.meeting_scheduled", subject_id=str(mw.topic.pk)).exists()
    with pytest.raises(Conflict) as exc:  # one meeting ahead at a time
        schedule(mw, starts_at=LATER + timedelta(days=1))
    assert exc.value.code == "meeting_live"
    assert Meeting.objects.filter(topic=mw.topic).count() == 2


# --- pages ------------------------------------------------------------------------------------------------------


def test_the_room_page_offers_the_changes_to_the_chair_only(mw, scheduled):
    url = f"/consultations/meetings/{scheduled.pk}/"
    chair_page = client_for(mw.chair).get(url).content.decode()
    assert "actions/reschedule/" in chair_page and "actions/cancel/" in chair_page
    voter_page = client_for(mw.voters[0]).get(url).content.decode()
    assert "actions/reschedule/" not in voter_page and "actions/cancel/" not in voter_page


def test_reschedule_and_cancel_through_the_pages(mw, scheduled):
    client = client_for(mw.chair)
    base = f"/consultations/meetings/{scheduled.pk}/actions/"
    response = client.post(base + "reschedule/", {"starts_at": "2026-03-03T09:00", "reason": ""}, headers={"HX-Request": "true"})
    assert response.status_code == 400 and 'role="alert">会议须至少提前 2 天通知' in response.content.decode()
    response = client.post(base + "reschedule/", {"starts_at": "明天晚上"}, headers={"HX-Request": "true"})
    assert response.status_code == 400 and "时间格式无效" in response.content.decode()
    response = client.post(base + "reschedule/", {"starts_at": "2026-03-05T19:00", "reason": "避开社区活动"})
    assert response.status_code == 302
    scheduled.refresh_from_db()
    assert scheduled.starts_at == LATER
    response = client.post(base + "cancel/", {"reason": "场地维修"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "场地维修" in page and 'data-testid="cancelled"' in page and "hx-trigger" not in page  # polling stops
    scheduled.refresh_from_db()
    assert scheduled.state == MeetingState.CANCELLED
    topic_page = client_for(mw.staff).get(f"/consultations/topics/{mw.topic.pk}/").content.decode()
    assert f"/consultations/meetings/new/{mw.topic.pk}/" in topic_page and "场地维修" in topic_page
    assert "协商会议改期" in topic_page and "协商会议取消" in topic_page  # the topic's timeline names both
    assert client_for(mw.outsider).post(base + "cancel/", {"reason": "x"}).status_code == 404


# --- API ----------------------------------------------------------------------------------------------------------


def api(user, meeting, verb: str, body: dict):
    return client_for(user).post(f"/api/meetings/{meeting.pk}/actions/{verb}", data=json.dumps(body),
                                 content_type="application/json")


def test_reschedule_and_cancel_through_the_api(mw, scheduled):
    too_soon = api(mw.staff, scheduled, "reschedule", {"starts_at": "2026-03-03T19:00:00+08:00"})
    assert too_soon.status_code == 400 and (too_soon.json()["field"], too_soon.json()["code"]) == ("starts_at", "notice_too_short")
    assert api(mw.voters[0], scheduled, "reschedule", {"starts_at": "2026-03-05T19:00:00+08:00"}).status_code == 403
    assert api(mw.outsider, scheduled, "cancel", {"reason": "x"}).status_code == 404
    moved = api(mw.staff, scheduled, "reschedule", {"starts_at": "2026-03-05T19:00:00+08:00", "reason": "避开社区活动"})
    assert moved.status_code == 200, moved.content
    state = moved.json()
    assert datetime.fromisoformat(state["meeting"]["starts_at"]) == LATER and state["can"]["cancel"] is True
    assert api(mw.chair, scheduled, "cancel", {}).status_code == 422  # the reason is required
    cancelled = api(mw.chair, scheduled, "cancel", {"reason": "场地维修"})
    assert cancelled.status_code == 200
    body = cancelled.json()
    assert body["meeting"]["state"] == "cancelled" and body["meeting"]["cancel_reason"] == "场地维修"
    assert body["can"]["reschedule"] is False and body["can"]["cancel"] is False
    again = api(mw.chair, scheduled, "reschedule", {"starts_at": "2026-03-08T19:00:00+08:00"})
    assert again.status_code == 409 and again.json()["code"] == "meeting_cancelled"
    detail = client_for(mw.staff).get(f"/api/meetings/{scheduled.pk}").json()
    assert detail["state"] == "cancelled" and detail["cancel_reason"] == "场地维修"


def test_api_refuses_changes_to_an_open_meeting(mw, scheduled, time_machine):
    time_machine.move_to(START, tick=False)
    check_in_all(mw, scheduled)
    svc.meeting_open(actor=mw.chair, meeting=scheduled)
    response = api(mw.chair, scheduled, "reschedule", {"starts_at": "2026-03-09T19:00:00+08:00"})
    assert response.status_code == 409 and response.json()["code"] == "meeting_open"
    response = api(mw.staff, scheduled, "cancel", {"reason": "x"})
    assert response.status_code == 409 and response.json()["code"] == "meeting_open"

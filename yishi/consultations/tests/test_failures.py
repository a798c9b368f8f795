"""The failure modes of seed 003 made visible: 议而不决, 决而不行, 行而不久 per topic, and their counts per room and
level for supervisors (one grouped query)."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yishi.appeals import services as appeals
from yishi.consultations import services
from yishi.consultations.choices import MeetingState, MotionOutcome
from yishi.consultations.choices import TopicState as S
from yishi.consultations.models import Meeting, Motion, Topic
from yishi.consultations.selectors import annotate_failures, failure_counts, topic_failures, topic_list
from yishi.consultations.testing import drive_topic


def flags(topic: Topic, now=None) -> tuple[bool, bool, bool]:
    row = annotate_failures(Topic.objects.filter(pk=topic.pk), now).values_list("no_decision", "not_done", "regressed").get()
    return tuple(bool(x) for x in row)


def _meeting(topic: Topic, *, state: str, outcome: str | None) -> Meeting:
    now = timezone.now()
    meeting = Meeting.objects.create(topic=topic, mode="in_person", starts_at=now, agenda="议程", notice_sent_at=now, state=state)
    if outcome is not None:
        Motion.objects.create(meeting=meeting, number=1, title="动议", state="closed", outcome=outcome, opened_at=now)
    return meeting


# --- 议而不决 --------------------------------------------------------------------------------------------------------


def test_talked_but_not_decided(cw):
    assert flags(drive_topic(cw, S.NO_DECISION)) == (True, False, False)
    meeting = drive_topic(cw, S.MEETING)
    assert flags(meeting) == (False, False, False)  # not held yet
    _meeting(meeting, state=MeetingState.CLOSED, outcome=MotionOutcome.FAILED)
    assert flags(meeting) == (True, False, False)  # held, nothing passed, nothing recorded yet
    detail = topic_failures(meeting)
    assert detail.no_decision and "没有通过的动议" in detail.no_decision_reason
    decided = drive_topic(cw, S.MEETING)
    _meeting(decided, state=MeetingState.CLOSED, outcome=MotionOutcome.CONSENSUS)
    assert flags(decided) == (False, False, False)
    for state in (S.DECIDED, S.CLOSED, S.PROPOSED):
        assert flags(drive_topic(cw, state))[0] is False


# --- 决而不行 --------------------------------------------------------------------------------------------------------


def test_decided_but_not_done_task_without_unit(cw):
    topic = drive_topic(cw, S.SUBMITTED)
    assert flags(topic) == (False, False, False)
    item = services.responsibility_add(actor=cw.community_staff, topic=topic, opinion_item_id=topic.opinion_items.get().pk,
                                       task="修复路灯")
    assert flags(topic) == (False, True, False)
    [problem] = topic_failures(topic).not_done
    assert problem.item == item and problem.reason == "未明确责任单位"


def test_decided_but_not_done_task_not_accepted_or_overdue(cw):
    topic = drive_topic(cw, S.IMPLEMENTING)  # one task, 10 working days, dispatched now
    appeal = topic.responsibilities.get().appeal
    assert flags(topic) == (False, False, False)
    late_accept = appeal.accept_due_at + timedelta(minutes=1)
    assert flags(topic, late_accept) == (False, True, False)
    assert topic_failures(topic, now=late_accept).not_done[0].reason == "超时未签收"
    with time_machine.travel(appeal.dispatched_at + timedelta(hours=1), tick=False):
        appeals.appeal_accept(actor=cw.aw.housing_liaison, appeal=appeal)
    assert flags(topic, late_accept) == (False, False, False)
    overdue = appeal.due_at + timedelta(hours=1)
    assert flags(topic, overdue) == (False, True, False)
    assert topic_failures(topic, now=overdue).not_done[0].reason == "已超过办理时限"
    with time_machine.travel(appeal.dispatched_at + timedelta(days=2), tick=False):
        appeals.appeal_submit_reply(actor=cw.aw.housing_liaison, appeal=appeal, text="已修复")
    assert flags(topic, overdue) == (False, False, False)  # replied: the unit's clock stopped


# --- 行而不久 --------------------------------------------------------------------------------------------------------


def _again(cw, unit, *, category=None, days_after: float, closed_at):
    data = appeals.AppealInput(nature="complaint", category_id=(category or cw.aw.cat_lift).pk, title="又坏了",
                               text="问题又出现了", org_unit_id=unit.pk)
    with time_machine.travel(closed_at + timedelta(days=days_after), tick=False):
        return appeals.appeal_submit(actor=cw.aw.resident, data=data)


def test_done_but_not_lasting(cw):
    topic = drive_topic(cw, S.CLOSED)  # took up one appeal: 加装电梯 in community A1
    closed_at = topic.closed_at
    later = closed_at + timedelta(days=100)
    assert flags(topic, later) == (False, False, False)
    # other categories, other places, before closure or after the window do not count
    _again(cw, cw.tree.community_a1, category=cw.aw.cat_water, days_after=3, closed_at=closed_at)
    _again(cw, cw.tree.community_b1, days_after=3, closed_at=closed_at)
    _again(cw, cw.tree.community_a2, days_after=3, closed_at=closed_at)
    _again(cw, cw.tree.community_a1, days_after=-1, closed_at=closed_at)
    _again(cw, cw.tree.community_a1, days_after=95, closed_at=closed_at)  # the window is 90 days
    _again(cw, cw.tree.community_a1, days_after=5, closed_at=closed_at)
    _again(cw, cw.tree.grid_a1, days_after=30, closed_at=closed_at)  # a grid of the same community counts
    assert flags(topic, later) == (False, False, False)
    detail = topic_failures(topic)
    assert (detail.regress_count, detail.regress_threshold, detail.regress_window_days) == (2, 3, 90)
    _again(cw, cw.tree.community_a1, days_after=60, closed_at=closed_at)
    assert flags(topic, later) == (False, False, True)
    assert topic_failures(topic).regress_count == 3


def test_a_topic_without_appeals_never_regresses(cw):
    topic = drive_topic(cw, S.CLOSED, with_appeal=False)
    for days in (1, 2, 3, 4):
        _again(cw, cw.tree.community_a1, days_after=days, closed_at=topic.closed_at)
    assert flags(topic) == (False, False, False)


# --- counts for supervisors --------------------------------------------------------------------------------------


def test_failure_counts_per_room_and_level_within_scope(cw):
    drive_topic(cw, S.NO_DECISION)  # community A1
    drive_topic(cw, S.NO_DECISION, room=cw.street_room)
    submitted = drive_topic(cw, S.SUBMITTED, room=cw.hall)
    services.responsibility_add(actor=cw.district_staff, topic=submitted, opinion_item_id=submitted.opinion_items.get().pk,
                                task="待定")
    drive_topic(cw, S.CLOSED, room=cw.home_b)
    counts = failure_counts(cw.district_staff)
    rooms = {r.label: (r.topics, r.no_decision, r.not_done, r.regressed) for r in counts.rooms}
    assert rooms == {
        cw.home.name: (1, 1, 0, 0), cw.street_room.name: (1, 1, 0, 0), cw.hall.name: (1, 0, 1, 0), cw.home_b.name: (1, 0, 0, 0),
    }
    levels = {r.level: (r.topics, r.no_decision, r.not_done) for r in counts.levels}
    assert levels == {"district": (1, 0, 1), "street": (1, 1, 0), "community": (2, 1, 0)}
    assert [r.level for r in counts.levels] == ["district", "street", "community"]
    total = counts.total
    assert (total.topics, total.no_decision, total.not_done, total.regressed) == (4, 2, 1, 0)
    # a street's staff see their street and its communities; a community's party organisation its own room
    assert {r.label for r in failure_counts(cw.street_a_staff).rooms} == {cw.home.name, cw.street_room.name}
    assert {r.label for r in failure_counts(cw.party_b1).rooms} == {cw.home_b.name}
    assert failure_counts(cw.resident).rooms == [] and failure_counts(cw.aw.housing_liaison).rooms == []


def test_failure_counts_is_one_query_whatever_the_number_of_topics(cw):
    for room in (cw.home, cw.street_room, cw.hall):
        drive_topic(cw, S.NO_DECISION, room=room)
    failure_counts(cw.district_staff)  # warm the profile lookups
    with CaptureQueriesContext(connection) as few:
        failure_counts(cw.district_staff)
    for room in (cw.home, cw.home_b, cw.hall):
        drive_topic(cw, S.CLOSED, room=room)
    with CaptureQueriesContext(connection) as more:
        failure_counts(cw.district_staff)
    assert len(more) == len(few) <= 6
    aggregate = [q["sql"] for q in more.captured_queries if "GROUP BY" in q["sql"]]
    assert len(aggregate) == 1


def test_lists_filter_by_failure_mode(cw):
    stuck = drive_topic(cw, S.NO_DECISION)
    drive_topic(cw, S.DECIDED)
    from yishi.consultations.selectors import TopicFilter

    assert list(topic_list(user=cw.community_staff, filters=TopicFilter(failure="no_decision"))) == [stuck]
    assert not topic_list(user=cw.community_staff, filters=TopicFilter(failure="regressed")).exists()
    rows = {t.pk: (t.no_decision, t.not_done, t.regressed) for t in topic_list(user=cw.community_staff)}
    assert rows[stuck.pk] == (True, False, False)

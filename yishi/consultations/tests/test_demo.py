"""``yishi demo``, step "consultations": the 1+5+N platform, topics in every state with each failure mode, and the
朝翠路 street-light story (seed 004) end to end. The core steps and this one are loaded once per module (without
the appeals replay, which has its own tests) in a transaction rolled back at the end."""

from __future__ import annotations

import time
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from yishi.accounts.models import User
from yishi.appeals.choices import AppealState, Channel
from yishi.appeals.models import Appeal
from yishi.audit.models import AuditEvent
from yishi.audit.services import verify_chain
from yishi.conftest import client_for
from yishi.consultations.choices import RoomLevel, TopicSource, TopicState
from yishi.consultations.demo import KEY_PREFIX, load_consultations_demo
from yishi.consultations.models import Room, Topic
from yishi.consultations.selectors import annotate_failures
from yishi.core.demo import DemoContext, demo_reset, demo_steps
from yishi.notifications.models import Notification

STORY = "朝翠路通车两年路灯未亮"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        started = time.process_time()
        call_command("demo", "--force", "--skip", "appeals", stdout=StringIO())
        yield time.process_time() - started
        transaction.set_rollback(True)


def test_the_step_is_hooked_into_the_command():
    names = [s.name for s in demo_steps()]
    assert names.index("consultations") > names.index("appeals") > names.index("people")


def test_the_story_takes_up_the_appeals_demos_reports_when_they_exist(db):
    from yishi.appeals import demo_texts as texts
    from yishi.appeals import services as appeals
    from yishi.appeals.catalogue import load_catalogue
    from yishi.appeals.models import Category

    call_command("demo", "--force", "--skip", "appeals", "--skip", "consultations", stdout=StringIO())
    load_catalogue()
    ctx = DemoContext()
    community = ctx.community("朝翠社区")
    reported = []
    with time_machine.travel(timezone.now() - timedelta(days=118), tick=False):
        for title, text in [texts.CHAOCUI_MAIN, texts.CHAOCUI_CHILDREN[0]]:
            data = appeals.AppealInput(nature="complaint", category_id=Category.objects.get(code="140301").pk, title=title,
                                       text=text, org_unit_id=community.pk)
            reported.append(appeals.appeal_submit(actor=User.objects.get(username="demo_resident29"), data=data))
    load_consultations_demo(ctx)
    hall = Topic.objects.get(title=STORY, room__level="district")
    assert set(hall.appeals.all()) == set(reported)
    assert not Appeal.objects.filter(idempotency_key__startswith=f"{KEY_PREFIX}chaocui").exists()


def test_the_three_level_platform(demo, db):
    rooms = Room.objects.select_related("parent")
    levels = {level: rooms.filter(level=level).count() for level in RoomLevel.values}
    assert levels["district"] == 1 and levels["street"] == 5 and levels["community"] >= 8 and levels["sector"] == 1
    hall = rooms.get(level="district")
    assert hall.name == "江海区政协委员议事厅" and hall.parent is None
    for room in rooms.exclude(level="district"):
        assert room.parent is not None and room.org_unit.path.startswith(room.parent.org_unit.path), room
        assert room.parent.level == ("district" if room.level in ("street", "sector") else "street"), room
        assert room.members.filter(role="chair").count() == 1, room
        assert room.station is not None
    assert hall.members.get(role="chair").user.username == "demo_member1"
    chaocui = rooms.get(name="朝翠社区委员之家")
    assert chaocui.members.filter(user__username="demo_member2").exists()  # CPPCC members and NPC deputies sit in
    assert chaocui.members.filter(user__username="demo_deputy10").exists()
    assert hall.members.filter(user__roles__role="deputy").exists()


def test_every_state_and_every_failure_mode(demo, db):
    topics = annotate_failures(Topic.objects.all())
    assert set(topics.values_list("state", flat=True)) == set(TopicState.values)
    assert set(topics.values_list("source", flat=True)) == set(TopicSource.values)
    assert topics.filter(no_decision=True).exists() and topics.filter(not_done=True).exists()
    assert topics.filter(regressed=True).exists()
    assert not topics.filter(title__startswith="朝翠路", regressed=True).exists()
    proposed = Topic.objects.get(state="proposed")
    assert proposed.source == "residents" and proposed.supports.exists()


def test_the_street_light_story_end_to_end(demo, db):
    home = Topic.objects.get(title=STORY, room__level="community")
    street = Topic.objects.get(escalated_from=home)
    hall = Topic.objects.get(escalated_from=street)
    assert (home.room.name, street.room.name, hall.room.name) == ("朝翠社区委员之家", "江南街道委员议事室", "江海区政协委员议事厅")
    assert home.source == "members" and home.proposer.username == "demo_member2"
    assert home.state == street.state == "escalated" and hall.state == "closed" and hall.final_rating == 5
    appeals = list(hall.appeals.all())
    assert len(appeals) >= 2 and all(a.category.name == "路灯不亮" and a.org_unit.name == "朝翠社区" for a in appeals)
    assert set(home.appeals.all()) == set(appeals)
    kinds = set(hall.participants.values_list("kind", flat=True))
    assert {"cppcc_member", "deputy", "department", "expert", "resident_rep", "property_company"} <= kinds
    assert hall.research.filter(state="approved").count() >= 2
    meeting = hall.meetings.first()
    if meeting is not None:  # the online room installed: the meeting decided it by votes
        assert meeting.state == "closed" and meeting.motions.filter(outcome="passed").count() == 3
        assert hall.opinion_items.exclude(motion=None).count() == 3
    assert hall.opinion_items.count() == 3 and hall.results_sent_to == hall.room.org_unit
    tasks = {r.handling_unit.name: r for r in hall.responsibilities.select_related("handling_unit", "appeal")}
    assert set(tasks) == {"江海区城市管理和综合执法局", "江海供电局", "江海区住房和城乡建设局"}
    for item in tasks.values():
        appeal = item.appeal
        assert appeal.channel == Channel.CONSULTATION and appeal.state == AppealState.CLOSED
        assert appeal.replied_at <= appeal.due_at  # on time
    lights = tasks["江海区城市管理和综合执法局"].appeal
    assert 20 <= (lights.replied_at - lights.dispatched_at).days <= 40  # "within about a month"
    assert hall.effects.count() == 3 and hall.satisfaction.count() >= 3 and hall.evaluations.count() == 1
    # every step a record with its time and actor, in order, in the past
    events = list(AuditEvent.objects.filter(subject_type="consultations.topic", subject_id=str(hall.pk)).order_by("seq"))
    times = [e.at for e in events]
    assert times == sorted(times) and times[-1] < timezone.now() - timedelta(days=30)
    assert all(e.actor_id for e in events)
    assert events[0].code == "consultations.topic.proposed" and events[-1].code == "consultations.topic.close"
    # the residents whose appeals it took up were told
    residents = {a.submitter_id for a in appeals if a.submitter_id}
    assert residents and residents <= set(Notification.objects.filter(kind="consultations.outcome").values_list("recipient", flat=True))
    # demo users follow it on the pages
    for username in ("demo_district1", "demo_member2", "demo_evaluator"):
        assert client_for(User.objects.get(username=username)).get(f"/consultations/topics/{hall.pk}/").status_code == 200


def test_loading_is_fast_and_twice_creates_nothing(demo, db):
    assert demo < 15  # CPU seconds, the core steps included
    counts = (Topic.objects.count(), Room.objects.count(), Appeal.objects.count(), AuditEvent.objects.count())
    out = StringIO()
    call_command("demo", "--force", "--skip", "appeals", stdout=out)
    assert "nothing to do" in out.getvalue()
    assert (Topic.objects.count(), Room.objects.count(), Appeal.objects.count(), AuditEvent.objects.count()) == counts
    assert verify_chain() == []


def test_reset_deletes_the_demo_consultations(demo, db):
    demo_reset(demo_steps())
    assert not Topic.objects.exists() and not Room.objects.exists()
    assert verify_chain() == []

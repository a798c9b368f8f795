"""Consultations in the admin: every model is registered and its pages load with a whole loop's records; states
and meeting records cannot be edited there; the research action goes through the service."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from yishi.audit.models import AuditEvent
from yishi.conftest import client_for
from yishi.consultations import meetings, services
from yishi.consultations.choices import MeetingState, ReviewState
from yishi.consultations.choices import TopicState as S
from yishi.consultations.meeting_testing import START, T0, build_meeting_world, open_meeting, schedule
from yishi.consultations.models import ResearchRecord, Topic
from yishi.consultations.testing import drive_topic

MODELS = list(apps.get_app_config("consultations").get_models())


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def loop(cw, tree, time_machine):
    """Every kind of record: a closed topic (all the lists of the loop), an evaluated one, a supported proposal,
    research with an attachment, a catalogue item, and a meeting under way with a speech and a vote."""
    closed = drive_topic(cw, S.CLOSED)
    evaluating = drive_topic(cw, S.EVALUATING)
    services.satisfaction_respond(actor=cw.resident, topic=evaluating, score=4)
    services.evaluation_add(actor=cw.evaluator, topic=evaluating, organisation="五邑大学评估中心", score=88, report="落实到位")
    services.topic_support(actor=cw.resident, topic=drive_topic(cw, S.PROPOSED, title="增设充电桩"))
    services.catalogue_item_create(actor=cw.district_staff, org_unit=tree.district, title="老旧小区加装电梯")
    researching = drive_topic(cw, S.RESEARCHING, title="加装电梯")
    pdf = SimpleUploadedFile("台账.pdf", b"%PDF-1.4\n%%EOF\n")
    services.research_add(actor=cw.member, topic=researching, kind="policy", title="政策梳理", text="x", attachments=[pdf])
    mw = build_meeting_world(tree, prefix="m")
    time_machine.move_to(T0, tick=False)
    meeting = schedule(mw, starts_at=START)
    meetings.written_opinion_add(actor=mw.resident, meeting=meeting, text="支持加装")
    time_machine.move_to(START, tick=False)
    open_meeting(mw, meeting)
    motion = meetings.motion_open(actor=mw.chair, meeting=meeting, title="同意在3号楼北侧加装电梯")
    speech = meetings.floor_request(actor=mw.voters[0], meeting=meeting, motion=motion, stance="for")
    meetings.floor_grant(actor=mw.chair, meeting=meeting, request=speech)
    meetings.speech_end(actor=mw.voters[0], meeting=meeting, request=speech, text="低层住户已同意")
    meetings.vote_open(actor=mw.chair, meeting=meeting, motion=motion)
    meetings.vote_cast(actor=mw.voters[0], meeting=meeting, motion=motion, choice="yes")
    return {"closed": closed, "researching": researching, "meeting": meeting, "mw": mw}


def test_every_model_of_consultations_is_registered():
    assert [m._meta.label for m in MODELS if m not in admin.site._registry] == []


def test_changelists_and_change_pages_load(loop, admin_user):
    client = client_for(admin_user)
    empty = []
    for model in MODELS:
        info = (model._meta.app_label, model._meta.model_name)
        response = client.get(reverse("admin:{}_{}_changelist".format(*info)) + "?q=a")
        assert response.status_code == 200, model
        obj = model._default_manager.order_by("pk").first()
        if obj is None:
            empty.append(model._meta.label)
            continue
        response = client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
        assert response.status_code == 200, model
    assert empty == []


def test_nothing_is_added_or_deleted_in_the_admin(loop, admin_user):
    client = client_for(admin_user)
    for model in MODELS:
        info = (model._meta.app_label, model._meta.model_name)
        assert client.get(reverse("admin:{}_{}_add".format(*info))).status_code == 403, model
        obj = model._default_manager.order_by("pk").first()
        assert client.get(reverse("admin:{}_{}_delete".format(*info), args=[obj.pk])).status_code == 403, model


def test_a_topic_state_cannot_be_changed_in_the_admin_but_its_wording_can(loop, admin_user):
    topic = loop["researching"]
    url = reverse("admin:consultations_topic_change", args=[topic.pk])
    response = client_for(admin_user).post(url, {
        "title": "加装电梯（修订）", "description": topic.description, "state": S.CLOSED, "final_rating": "5",
        **{f"{prefix}-{k}": v for prefix in ("participants", "research", "meetings", "opinion_items", "responsibilities")
           for k, v in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))},
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    topic = Topic.objects.get(pk=topic.pk)
    assert (topic.title, topic.state, topic.final_rating) == ("加装电梯（修订）", S.RESEARCHING, None)
    event = AuditEvent.objects.get(code="admin.consultations.topic.changed")
    assert event.after == {"title": "加装电梯（修订）"}


def test_meetings_are_read_only(loop, admin_user):
    meeting = loop["meeting"]
    url = reverse("admin:consultations_meeting_change", args=[meeting.pk])
    response = client_for(admin_user).post(url, {"state": MeetingState.CLOSED, "minutes": "改过的纪要"})
    assert response.status_code == 403
    meeting.refresh_from_db()
    assert (meeting.state, meeting.minutes) == (MeetingState.OPEN, "")


def test_the_approve_action_goes_through_the_service(loop, admin_user):
    research = ResearchRecord.objects.get(topic=loop["researching"], title="政策梳理")
    response = client_for(admin_user).post(reverse("admin:consultations_researchrecord_changelist"), {
        "action": "approve", "_selected_action": [research.pk],
    })
    assert response.status_code == 302
    research.refresh_from_db()
    assert research.state == ReviewState.APPROVED and research.reviewed_by == admin_user
    assert AuditEvent.objects.filter(code="consultations.research.approved", subject_id=str(research.topic_id)).exists()

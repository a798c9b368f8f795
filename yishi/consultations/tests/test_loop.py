"""The 8-step loop through its services: every transition of ``topic_workflow`` from every state and by every kind
of role, the gates between the steps, and the records each step leaves (DOMAIN §3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from yishi.appeals import services as appeals
from yishi.appeals.choices import AppealState, Channel
from yishi.audit.models import AuditEvent
from yishi.consultations import services
from yishi.consultations.choices import MeetingState, MotionOutcome, ParticipantKind, TopicSource
from yishi.consultations.choices import TopicState as S
from yishi.consultations.models import Meeting, Motion, Participant, Room, Topic
from yishi.consultations.testing import ConsultWorld, drive_topic, fresh
from yishi.consultations.workflow import topic_workflow
from yishi.core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied, YishiError
from yishi.core.testing import make_user
from yishi.notifications.models import Notification

STATES = [s.value for s in S]


class _Rollback(Exception):
    pass


def attempt(run: Callable[[], Any]) -> str:
    """Run a service call in a savepoint rolled back afterwards: "ok" or the refusal's code."""
    try:
        with transaction.atomic():
            run()
            raise _Rollback
    except _Rollback:
        return "ok"
    except YishiError as exc:
        return exc.code


def call(cw: ConsultWorld, name: str, topic: Topic, actor: Any) -> Callable[[], Any]:
    """The service of transition ``name`` with valid input."""
    return {
        "approve": lambda: services.topic_approve(actor=actor, topic=topic),
        "decline": lambda: services.topic_decline(actor=actor, topic=topic, reason="不属于本级事项"),
        "start_research": lambda: services.topic_start_research(actor=actor, topic=topic),
        "call_meeting": lambda: services.topic_call_meeting(actor=actor, topic=topic),
        "record_decision": lambda: services.topic_record_outcome(actor=actor, topic=topic, decided=True),
        "record_no_decision": lambda: services.topic_record_outcome(actor=actor, topic=topic, decided=False, reason="分歧较大"),
        "submit_results": lambda: services.topic_submit_results(actor=actor, topic=topic, sent_to_id=topic.room.org_unit_id),
        "start_implementation": lambda: services.topic_start_implementation(actor=actor, topic=topic),
        "start_evaluation": lambda: services.topic_start_evaluation(actor=actor, topic=topic),
        "close": lambda: services.topic_close(actor=actor, topic=topic, final_rating=4),
        "escalate": lambda: services.topic_escalate(actor=actor, topic=topic, reason="本级无法协调"),
    }[name]


# transition → (source states, target, performer, {state: gate code} where drive_topic's topic lacks the artefact)
SPEC: dict[str, tuple[set[str], str, str, dict[str, str]]] = {
    "approve": ({S.PROPOSED}, S.APPROVED, "party", {}),
    "decline": ({S.PROPOSED}, S.DECLINED, "party", {}),
    "start_research": ({S.APPROVED}, S.RESEARCHING, "organiser", {S.APPROVED: "no_participants"}),
    "call_meeting": ({S.RESEARCHING, S.NO_DECISION}, S.MEETING, "organiser", {S.RESEARCHING: "no_approved_research"}),
    "record_decision": ({S.MEETING}, S.DECIDED, "organiser", {}),
    "record_no_decision": ({S.MEETING}, S.NO_DECISION, "organiser", {}),
    "submit_results": ({S.DECIDED}, S.SUBMITTED, "organiser", {S.DECIDED: "no_opinion_items"}),
    "start_implementation": ({S.SUBMITTED}, S.IMPLEMENTING, "organiser", {S.SUBMITTED: "no_responsibilities"}),
    "start_evaluation": ({S.IMPLEMENTING}, S.EVALUATING, "organiser", {S.IMPLEMENTING: "no_effects"}),
    "close": ({S.EVALUATING}, S.CLOSED, "organiser", {}),
    "escalate": ({S.APPROVED, S.RESEARCHING, S.NO_DECISION, S.DECIDED}, S.ESCALATED, "organiser", {}),
}


def test_spec_matches_the_declared_workflow():
    declared = {t.name: (set(t.source), t.target) for t in topic_workflow.transitions.values()}
    assert declared == {name: (source, target) for name, (source, target, _p, _g) in SPEC.items()}


@pytest.mark.parametrize("state", STATES)
def test_every_transition_from_every_state(cw, state):
    topic = drive_topic(cw, state)
    performers = {"party": cw.party_a1, "organiser": cw.community_staff}
    for name, (source, _target, performer, gates) in SPEC.items():
        outcome = attempt(call(cw, name, topic, performers[performer]))
        expected = (gates.get(state, "ok")) if state in source else "transition_not_allowed"
        assert outcome == expected, (name, state, outcome)
    assert fresh(topic).state == state  # everything above was rolled back


@pytest.mark.parametrize("name", [n for n in SPEC if not SPEC[n][3] or set(SPEC[n][0]) - set(SPEC[n][3])])
def test_each_transition_reaches_its_target_and_is_audited(cw, name):
    source, target, performer, gates = SPEC[name]
    state = next(s for s in sorted(source) if s not in gates)
    topic = drive_topic(cw, state)
    actor = cw.party_a1 if performer == "party" else cw.community_staff
    call(cw, name, topic, actor)()
    assert fresh(topic).state == target
    event = AuditEvent.objects.filter(subject_type="consultations.topic", subject_id=str(topic.pk)).order_by("seq").last()
    assert event.code == f"consultations.topic.{name}" and event.actor_id == actor.pk
    assert event.before["state"] == state and event.after["state"] == target


# performer kind → (roles that succeed, the same roles elsewhere → not found, roles that see it without the right)
ROLES = {
    "party": (["party_a1", "party_street_a", "party_district"], ["party_b1"],
              ["community_staff", "resident", "member", "chair", "district_staff"]),
    "organiser": (["community_staff", "street_a_staff", "district_staff"], ["community_b_staff", "street_b_staff"],
                  ["party_a1", "resident", "member", "chair", "evaluator"]),
}


@pytest.mark.parametrize("name", list(SPEC))
def test_every_transition_by_role(cw, name):
    source, _target, performer, gates = SPEC[name]
    state = next((s for s in sorted(source) if s not in gates), None)
    if state is None:  # gated in every state drive_topic builds: the gate tests cover the success
        state = sorted(source)[0]
    topic = drive_topic(cw, state)
    allowed, elsewhere, without_right = ROLES[performer]
    expected_ok = gates.get(state, "ok")
    for role in allowed:
        assert attempt(call(cw, name, topic, getattr(cw, role))) == expected_ok, (name, role)
    for role in elsewhere:
        assert attempt(call(cw, name, topic, getattr(cw, role))) == "not_found", (name, role)
    for role in without_right:
        assert attempt(call(cw, name, topic, getattr(cw, role))) == "permission_denied", (name, role)
    assert attempt(call(cw, name, topic, None)) == "not_found"
    assert attempt(call(cw, name, topic, make_user())) == "not_found"  # signed in, no role, lives nowhere


# --- the gates ------------------------------------------------------------------------------------------------------


def test_no_meeting_without_approved_research(cw):
    topic = drive_topic(cw, S.RESEARCHING)
    with pytest.raises(Conflict) as exc:
        services.topic_call_meeting(actor=cw.community_staff, topic=topic)
    assert exc.value.code == "no_approved_research"
    research = services.research_add(actor=cw.member, topic=topic, kind="note", title="调研", text="走访记录")
    with pytest.raises(Conflict):  # submitted is not approved
        services.topic_call_meeting(actor=cw.community_staff, topic=topic)
    services.research_reject(actor=cw.party_a1, topic=topic, research_id=research.pk, reason="数据不全")
    with pytest.raises(Conflict):
        services.topic_call_meeting(actor=cw.community_staff, topic=topic)
    again = services.research_add(actor=cw.member, topic=topic, kind="site_visit", title="补充走访", text="夜间走访")
    services.research_approve(actor=cw.street_a_staff, topic=topic, research_id=again.pk)  # a level above
    assert services.topic_call_meeting(actor=cw.community_staff, topic=topic).state == S.MEETING


def test_research_is_reviewed_by_the_party_or_a_higher_level_never_by_its_author(cw):
    topic = drive_topic(cw, S.RESEARCHING)
    mine = services.research_add(actor=cw.community_staff, topic=topic, kind="policy", title="政策梳理", text="相关规定")
    theirs = services.research_add(actor=cw.member, topic=topic, kind="note", title="笔记", text="走访")
    with pytest.raises(PermissionDenied):  # the organisers of the same level do not review
        services.research_approve(actor=cw.community_staff, topic=topic, research_id=theirs.pk)
    with pytest.raises(PermissionDenied):
        services.research_approve(actor=cw.community_staff, topic=topic, research_id=mine.pk)
    services.research_approve(actor=cw.party_a1, topic=topic, research_id=mine.pk)
    with pytest.raises(Conflict) as exc:
        services.research_approve(actor=cw.party_a1, topic=topic, research_id=mine.pk)
    assert exc.value.code == "already_reviewed"
    with pytest.raises(InvalidInput) as exc:
        services.research_reject(actor=cw.street_a_staff, topic=topic, research_id=theirs.pk, reason=" ")
    assert exc.value.field == "reason"
    assert services.research_reject(actor=cw.street_a_staff, topic=topic, research_id=theirs.pk, reason="数据不全").state == "rejected"
    with pytest.raises(InvalidInput) as exc:
        services.research_approve(actor=cw.party_a1, topic=topic, research_id=999999)
    assert exc.value.field == "research"
    with pytest.raises(NotFound):  # another street's staff do not see the topic
        services.research_approve(actor=cw.street_b_staff, topic=topic, research_id=theirs.pk)
    neighbour = make_user()
    neighbour.home_unit = cw.tree.community_a1
    neighbour.save()
    with pytest.raises(PermissionDenied):  # a resident of the area sees it; only members and participants add research
        services.research_add(actor=neighbour, topic=topic, kind="note", title="x", text="y")


def test_research_review_by_its_author_is_refused(cw):
    topic = drive_topic(cw, S.RESEARCHING)
    mine = services.research_add(actor=cw.street_a_staff, topic=topic, kind="policy", title="政策梳理", text="相关规定")
    with pytest.raises(PermissionDenied) as exc:
        services.research_approve(actor=cw.street_a_staff, topic=topic, research_id=mine.pk)
    assert exc.value.code == "own_research"


def test_no_results_without_opinions_and_only_to_the_same_or_a_higher_level(cw):
    topic = drive_topic(cw, S.DECIDED)
    with pytest.raises(Conflict) as exc:
        services.topic_submit_results(actor=cw.community_staff, topic=topic, sent_to_id=cw.tree.community_a1.pk)
    assert exc.value.code == "no_opinion_items"
    services.opinion_add(actor=cw.community_staff, topic=topic, text="修复路灯", rationale="夜间出行安全")
    for unit in (cw.tree.community_b1, cw.tree.grid_a1, cw.tree.street_b):
        with pytest.raises(InvalidInput) as exc:
            services.topic_submit_results(actor=cw.community_staff, topic=topic, sent_to_id=unit.pk)
        assert (exc.value.field, exc.value.code) == ("results_sent_to", "not_same_or_higher_level")
    topic = services.topic_submit_results(actor=cw.community_staff, topic=topic, sent_to_id=cw.tree.district.pk)
    assert topic.state == S.SUBMITTED and topic.results_sent_to_id == cw.tree.district.pk and topic.results_sent_at


def test_no_implementation_without_responsibilities_or_with_a_task_without_unit(cw):
    topic = drive_topic(cw, S.SUBMITTED)
    with pytest.raises(Conflict) as exc:
        services.topic_start_implementation(actor=cw.community_staff, topic=topic)
    assert exc.value.code == "no_responsibilities"
    opinion = topic.opinion_items.get()
    item = services.responsibility_add(actor=cw.community_staff, topic=topic, opinion_item_id=opinion.pk, task="修复路灯")
    assert item.handling_unit is None and item.working_days == 15  # the profile's default
    with pytest.raises(Conflict) as exc:
        services.topic_start_implementation(actor=cw.community_staff, topic=topic)
    assert exc.value.code == "responsibility_without_unit"
    services.responsibility_set_unit(actor=cw.community_staff, topic=topic, responsibility_id=item.pk,
                                     handling_unit_id=cw.tree.unit_housing.pk)
    assert services.topic_start_implementation(actor=cw.community_staff, topic=topic).state == S.IMPLEMENTING


def test_no_evaluation_without_effects(cw):
    topic = drive_topic(cw, S.IMPLEMENTING)
    with pytest.raises(Conflict) as exc:
        services.topic_start_evaluation(actor=cw.community_staff, topic=topic)
    assert exc.value.code == "no_effects"
    services.effect_add(actor=cw.community_staff, topic=topic, text="已修复", evidence="照片")
    assert services.topic_start_evaluation(actor=cw.community_staff, topic=topic).state == S.EVALUATING


def test_no_research_without_participants(cw):
    topic = drive_topic(cw, S.APPROVED)
    with pytest.raises(Conflict) as exc:
        services.topic_start_research(actor=cw.community_staff, topic=topic)
    assert exc.value.code == "no_participants"


def test_reasons_are_required(cw):
    topic = drive_topic(cw, S.PROPOSED)
    with pytest.raises(InvalidInput) as exc:
        services.topic_decline(actor=cw.party_a1, topic=topic, reason="  ")
    assert exc.value.field == "reason"
    meeting = drive_topic(cw, S.MEETING)
    with pytest.raises(InvalidInput):
        services.topic_record_outcome(actor=cw.community_staff, topic=meeting, decided=False, reason="")
    approved = drive_topic(cw, S.APPROVED)
    with pytest.raises(InvalidInput):
        services.topic_escalate(actor=cw.community_staff, topic=approved, reason="")


# --- topics: proposing and supporting ------------------------------------------------------------------------------


def test_residents_propose_in_writing_with_their_name_only_in_their_area(cw):
    topic = services.topic_propose(actor=cw.resident, room=cw.home, source=TopicSource.RESIDENTS, title="楼道灯不亮",
                                   description="3 号楼楼道灯坏了一个月。")
    assert topic.state == S.PROPOSED and topic.proposer == cw.resident and topic.proposer_name == "王小明"
    # the room above covers the resident's home too
    services.topic_propose(actor=cw.resident, room=cw.street_room, source=TopicSource.RESIDENTS, title="街道公园",
                           description="希望增加健身器材。", proposer_name="王小明")
    for room in (cw.home_b, cw.home):
        actor = cw.resident if room == cw.home_b else cw.outsider
        with pytest.raises(PermissionDenied) as exc:
            services.topic_propose(actor=actor, room=room, source=TopicSource.RESIDENTS, title="x", description="y",
                                   proposer_name="李四")
        assert exc.value.code == "outside_area"
    nameless = make_user()
    nameless.display_name = ""
    nameless.home_unit = cw.tree.community_a1
    nameless.save()
    with pytest.raises(InvalidInput) as exc:
        services.topic_propose(actor=nameless, room=cw.home, source=TopicSource.RESIDENTS, title="x", description="y")
    assert (exc.value.field, exc.value.code) == ("proposer_name", "required")
    with pytest.raises(NotAuthenticated):
        services.topic_propose(actor=None, room=cw.home, source=TopicSource.RESIDENTS, title="x", description="y")
    # the party organisation and the organisers hear of it
    assert Notification.objects.filter(recipient=cw.party_a1, kind="consultations.topic_proposed").exists()
    assert Notification.objects.filter(recipient=cw.community_staff, kind="consultations.topic_proposed").exists()


def test_members_recommend_staff_assign_others_may_not(cw):
    topic = services.topic_propose(actor=cw.member, room=cw.home, source=TopicSource.MEMBERS, title="委员荐题",
                                   description="建议协商停车问题。")
    assert topic.source == TopicSource.MEMBERS
    with pytest.raises(PermissionDenied):
        services.topic_propose(actor=cw.member, room=cw.home_b, source=TopicSource.MEMBERS, title="x", description="y")
    services.topic_propose(actor=cw.street_a_staff, room=cw.home, source=TopicSource.PARTY, title="党政点题", description="z")
    with pytest.raises(PermissionDenied):
        services.topic_propose(actor=cw.street_b_staff, room=cw.home, source=TopicSource.PARTY, title="x", description="y")
    with pytest.raises(PermissionDenied):
        services.topic_propose(actor=cw.resident, room=cw.home, source=TopicSource.PARTY, title="x", description="y")
    for source in (TopicSource.APPEALS, TopicSource.ESCALATED, "other"):
        with pytest.raises(InvalidInput) as exc:
            services.topic_propose(actor=cw.community_staff, room=cw.home, source=source, title="x", description="y")
        assert exc.value.field == "source"
    with pytest.raises(InvalidInput) as exc:
        services.topic_propose(actor=cw.community_staff, room=cw.home, source=TopicSource.PARTY, title="", description="y")
    assert exc.value.field == "title"
    inactive = Room.objects.create(name="停用", level="community", org_unit=cw.tree.community_a1, is_active=False)
    with pytest.raises(NotFound):
        services.topic_propose(actor=cw.community_staff, room=inactive, source=TopicSource.PARTY, title="x", description="y")


def test_catalogue_item_must_apply_to_the_room(cw):
    district_item = services.catalogue_item_create(actor=cw.district_staff, org_unit=cw.tree.district, title="道路照明")
    b_item = services.catalogue_item_create(actor=cw.district_staff, org_unit=cw.tree.community_b1, title="威东事项")
    topic = services.topic_propose(actor=cw.community_staff, room=cw.home, source=TopicSource.PARTY, title="路灯",
                                   description="路灯不亮", catalogue_item_id=district_item.pk)
    assert topic.catalogue_item == district_item
    with pytest.raises(InvalidInput) as exc:
        services.topic_propose(actor=cw.community_staff, room=cw.home, source=TopicSource.PARTY, title="x",
                               description="y", catalogue_item_id=b_item.pk)
    assert exc.value.field == "catalogue_item"
    with pytest.raises(PermissionDenied):
        services.catalogue_item_create(actor=cw.community_staff, org_unit=cw.tree.community_b1, title="越界")
    with pytest.raises(InvalidInput):
        services.catalogue_item_create(actor=cw.district_staff, org_unit=cw.tree.district, title="道路照明")


def test_topic_from_a_cluster_of_appeals_links_each(cw):
    a1 = appeals.appeal_submit(actor=cw.aw.resident, data=_appeal_data(cw, cw.tree.community_a1))
    a2 = appeals.appeal_submit(actor=cw.resident, data=_appeal_data(cw, cw.tree.grid_a1))
    elsewhere = appeals.appeal_submit(actor=cw.outsider, data=_appeal_data(cw, cw.tree.community_b1))
    topic = services.topic_from_appeals(actor=cw.community_staff, room=cw.home, appeal_ids=[a1.pk, a2.pk, a1.pk],
                                        title="直冲路路灯")
    assert topic.source == TopicSource.APPEALS and set(topic.appeals.all()) == {a1, a2}
    assert a1.tracking_code in topic.description
    with pytest.raises(InvalidInput) as exc:  # outside the community staff's sight
        services.topic_from_appeals(actor=cw.community_staff, room=cw.home, appeal_ids=[elsewhere.pk], title="x")
    assert (exc.value.field, exc.value.code) == ("appeals", "unknown_appeal")
    with pytest.raises(InvalidInput) as exc:  # seen by the district, but not in the room's area
        services.topic_from_appeals(actor=cw.district_staff, room=cw.home, appeal_ids=[elsewhere.pk], title="x")
    assert exc.value.code == "outside_area"
    with pytest.raises(InvalidInput):
        services.topic_from_appeals(actor=cw.community_staff, room=cw.home, appeal_ids=[], title="x")
    # the residents of those appeals now see the topic
    assert services.topic_link_appeals(actor=cw.community_staff, topic=topic, appeal_ids=[a2.pk])
    from yishi.consultations.selectors import topic_get

    assert topic_get(user=cw.aw.resident, pk=topic.pk) == topic


def _appeal_data(cw: ConsultWorld, unit: Any) -> appeals.AppealInput:
    return appeals.AppealInput(nature="complaint", category_id=cw.aw.cat_lift.pk, title="路灯不亮", text="直冲路路灯不亮",
                               org_unit_id=unit.pk)


def test_a_resident_supports_a_proposed_topic_once(cw):
    topic = drive_topic(cw, S.PROPOSED)
    assert services.topic_support(actor=cw.resident, topic=topic) == 1
    with pytest.raises(Conflict) as exc:
        services.topic_support(actor=cw.resident, topic=topic)
    assert exc.value.code == "already_supported"
    neighbour = make_user()
    neighbour.home_unit = cw.tree.community_a1
    neighbour.save()
    assert services.topic_support(actor=neighbour, topic=topic) == 2
    with pytest.raises(NotFound):  # another community: the topic does not exist for them
        services.topic_support(actor=cw.outsider, topic=topic)
    with pytest.raises(PermissionDenied) as exc:  # sees it (staff of the area) but does not live there
        services.topic_support(actor=cw.community_staff, topic=topic)
    assert exc.value.code == "outside_area"
    with pytest.raises(NotAuthenticated):
        services.topic_support(actor=None, topic=topic)
    own = services.topic_propose(actor=cw.resident, room=cw.home, source=TopicSource.RESIDENTS, title="楼道灯",
                                 description="坏了")
    with pytest.raises(Conflict) as exc:
        services.topic_support(actor=cw.resident, topic=own)
    assert exc.value.code == "own_topic"
    approved = drive_topic(cw, S.APPROVED)
    with pytest.raises(Conflict) as exc:
        services.topic_support(actor=cw.resident, topic=approved)
    assert exc.value.code == "transition_not_allowed"


# --- participants --------------------------------------------------------------------------------------------------


def test_participants_of_every_kind_and_the_representativeness_panel(cw):
    from yishi.consultations.selectors import representativeness
    from yishi.orgs.models import Enterprise

    topic = drive_topic(cw, S.APPROVED)
    panel = representativeness(topic)
    assert not panel.present and {k.kind for k in panel.missing} >= {"stakeholder", "resident_rep"}
    property_company = Enterprise.objects.create(name="直冲物业", kind="property_company", org_unit=cw.tree.community_a1)
    far_firm = Enterprise.objects.create(name="别处物业", kind="property_company", org_unit=cw.tree.community_b1)
    s = services
    s.participant_invite(actor=cw.community_staff, topic=topic, kind="cppcc_member", user_id=cw.member.pk)
    s.participant_invite(actor=cw.community_staff, topic=topic, kind="expert", talent_id=cw.expert.pk)
    s.participant_invite(actor=cw.community_staff, topic=topic, kind="department", handling_unit_id=cw.tree.unit_water.pk,
                         can_vote=False)
    s.participant_invite(actor=cw.community_staff, topic=topic, kind="property_company", enterprise_id=property_company.pk)
    s.participant_invite(actor=cw.community_staff, topic=topic, kind="stakeholder", name="沿街商户代表")
    assert topic.participants.get(talent=cw.expert).name == "李教授"
    assert not topic.participants.get(handling_unit=cw.tree.unit_water).can_vote
    for kwargs in ({"user_id": cw.member.pk}, {"talent_id": cw.expert.pk}, {"handling_unit_id": cw.tree.unit_water.pk},
                   {"enterprise_id": property_company.pk}):
        with pytest.raises(Conflict) as exc:
            s.participant_invite(actor=cw.community_staff, topic=topic, kind="stakeholder", **kwargs)
        assert exc.value.code == "already_invited"
    with pytest.raises(InvalidInput) as exc:
        s.participant_invite(actor=cw.community_staff, topic=topic, kind="stakeholder")
    assert exc.value.field == "name"
    with pytest.raises(InvalidInput) as exc:
        s.participant_invite(actor=cw.community_staff, topic=topic, kind="alien", name="x")
    assert exc.value.field == "kind"
    with pytest.raises(InvalidInput):
        s.participant_invite(actor=cw.community_staff, topic=topic, kind="stakeholder", user_id=cw.member.pk,
                             handling_unit_id=cw.tree.unit_water.pk)
    assert far_firm  # any enterprise may be invited by id; pickers offer the nearby ones
    panel = representativeness(topic)
    present = {k.kind: k.count for k in panel.present}
    assert present == {"cppcc_member": 1, "expert": 1, "department": 1, "property_company": 1, "stakeholder": 1}
    assert "resident_rep" in {k.kind for k in panel.missing} and not panel.complete
    assert Notification.objects.filter(recipient=cw.member, kind="consultations.invited").exists()
    # removed before a meeting; not by others; not once the loop has moved past the meeting
    stakeholder = topic.participants.get(name="沿街商户代表")
    with pytest.raises(PermissionDenied):
        s.participant_remove(actor=cw.party_a1, topic=topic, participant_id=stakeholder.pk)
    s.participant_remove(actor=cw.community_staff, topic=topic, participant_id=stakeholder.pk)
    assert not Participant.objects.filter(pk=stakeholder.pk).exists()
    decided = drive_topic(cw, S.DECIDED)
    with pytest.raises(Conflict):
        s.participant_invite(actor=cw.community_staff, topic=decided, kind=ParticipantKind.EXPERT, name="晚到的专家")


def test_participants_are_fixed_while_a_meeting_is_open(cw):
    from django.utils import timezone

    topic = drive_topic(cw, S.MEETING)
    Meeting.objects.create(topic=topic, mode="online", starts_at=timezone.now(), agenda="议程", notice_sent_at=timezone.now(),
                           state=MeetingState.OPEN)
    with pytest.raises(Conflict) as exc:
        services.participant_invite(actor=cw.community_staff, topic=topic, kind="expert", name="专家")
    assert exc.value.code == "meeting_open"


# --- after the meeting ------------------------------------------------------------------------------------------------


def test_the_meeting_services_record_the_outcome_for_the_chair(cw):
    topic = drive_topic(cw, S.MEETING)
    with pytest.raises(PermissionDenied):
        services.topic_record_outcome(actor=cw.chair, topic=topic, decided=True)
    topic = services.topic_record_outcome(actor=cw.chair, topic=topic, decided=True, authorized=True)
    assert topic.state == S.DECIDED
    again = drive_topic(cw, S.MEETING)
    with pytest.raises(InvalidInput):  # the reason stays required, authorized or not
        services.topic_record_outcome(actor=cw.chair, topic=again, decided=False, authorized=True)


def test_opinion_list_from_passed_motions_and_written_items(cw):
    from django.utils import timezone

    topic = drive_topic(cw, S.DECIDED)
    now = timezone.now()
    meeting = Meeting.objects.create(topic=topic, mode="in_person", starts_at=now, agenda="议程", notice_sent_at=now,
                                     state=MeetingState.CLOSED)
    passed = Motion.objects.create(meeting=meeting, number=1, title="修复路灯", text="两周内完成", state="closed",
                                   outcome=MotionOutcome.PASSED, opened_at=now, yes=5, no=1, abstain=1)
    agreed = Motion.objects.create(meeting=meeting, number=2, title="纳入巡查", state="closed", outcome=MotionOutcome.CONSENSUS,
                                   opened_at=now, consensus_note="与会各方一致同意")
    Motion.objects.create(meeting=meeting, number=3, title="另建新路", state="closed", outcome=MotionOutcome.FAILED, opened_at=now)
    items = services.opinions_from_motions(actor=cw.community_staff, topic=topic)
    assert [(i.number, i.motion_id) for i in items] == [(1, passed.pk), (2, agreed.pk)]
    assert items[0].text == "修复路灯：两周内完成" and "赞成 5，反对 1，弃权 1" in items[0].rationale
    assert items[1].rationale == "与会各方一致同意"
    with pytest.raises(Conflict) as exc:  # each motion once
        services.opinions_from_motions(actor=cw.community_staff, topic=topic)
    assert exc.value.code == "no_passed_motions"
    written = services.opinion_add(actor=cw.community_staff, topic=topic, text="加强宣传", rationale="居民不了解报修渠道")
    assert written.number == 3 and written.motion is None
    with pytest.raises(InvalidInput) as exc:
        services.opinion_add(actor=cw.community_staff, topic=topic, text="x", rationale="")
    assert exc.value.field == "rationale"
    services.opinion_remove(actor=cw.community_staff, topic=topic, opinion_id=written.pk)
    assert topic.opinion_items.count() == 2
    with pytest.raises(PermissionDenied):
        services.opinion_add(actor=cw.member, topic=topic, text="x", rationale="y")


def test_responsibilities_become_dispatched_appeals_with_their_working_days(cw):
    from yishi.policy import workdays
    from yishi.policy.services import compute_deadline

    topic = drive_topic(cw, S.SUBMITTED)
    opinion = topic.opinion_items.get()
    item = services.responsibility_add(actor=cw.community_staff, topic=topic, opinion_item_id=opinion.pk,
                                       task="修复直冲路路灯", handling_unit_id=cw.tree.unit_water.pk, working_days=7)
    assert item.appeal is None  # dispatched when implementation starts
    with pytest.raises(InvalidInput) as exc:
        services.responsibility_add(actor=cw.community_staff, topic=topic, opinion_item_id=opinion.pk, task="x",
                                    handling_unit_id=cw.tree.unit_water.pk, working_days=0)
    assert exc.value.field == "working_days"
    with pytest.raises(InvalidInput) as exc:
        services.responsibility_add(actor=cw.community_staff, topic=topic, opinion_item_id=999999, task="x")
    assert exc.value.field == "opinion_item"
    services.topic_start_implementation(actor=cw.community_staff, topic=topic)
    item.refresh_from_db()
    appeal = item.appeal
    assert appeal.channel == Channel.CONSULTATION and appeal.category.name == "协商落实"
    assert appeal.state == AppealState.DISPATCHED and appeal.lead_unit == cw.tree.unit_water
    assert appeal.entered_by == cw.community_staff and appeal.org_unit == cw.home.org_unit
    assert appeal.due_at == compute_deadline(appeal.dispatched_at, workdays.Limit(7, workdays.LimitUnit.WORKING_DAYS))
    assert "修复直冲路路灯" in appeal.title and topic.title in appeal.text
    # the unit works it like any appeal: accept, extend, reply
    appeal = appeals.appeal_accept(actor=cw.aw.water_liaison, appeal=appeal)
    appeals.appeal_request_extension(actor=cw.aw.water_liaison, appeal=appeal, working_days=3, reason="材料未到")
    appeals.appeal_approve_extension(actor=cw.community_staff, appeal=appeal)
    appeal = appeals.appeal_submit_reply(actor=cw.aw.water_liaison, appeal=appeal, text="已修复")
    assert appeal.state == AppealState.REPLY_SUBMITTED
    # a task added during implementation goes out at once; a task without unit waits for one
    later = services.responsibility_add(actor=cw.community_staff, topic=topic, opinion_item_id=opinion.pk, task="巡查",
                                        handling_unit_id=cw.tree.unit_housing.pk)
    assert later.appeal.lead_unit == cw.tree.unit_housing and later.working_days == 15
    pending = services.responsibility_add(actor=cw.community_staff, topic=topic, opinion_item_id=opinion.pk, task="宣传")
    assert pending.appeal is None
    pending = services.responsibility_set_unit(actor=cw.community_staff, topic=topic, responsibility_id=pending.pk,
                                               handling_unit_id=cw.tree.unit_street_a.pk)
    assert pending.appeal.lead_unit == cw.tree.unit_street_a
    with pytest.raises(Conflict) as exc:
        services.responsibility_set_unit(actor=cw.community_staff, topic=topic, responsibility_id=pending.pk,
                                         handling_unit_id=cw.tree.unit_water.pk)
    assert exc.value.code == "already_dispatched"
    # the unit of a task sees the topic
    from yishi.consultations.selectors import topic_get

    assert topic_get(user=cw.aw.water_liaison, pk=topic.pk) == topic


def test_satisfaction_of_participants_and_affected_residents_once_each(cw):
    topic = drive_topic(cw, S.EVALUATING)
    participant = services.satisfaction_respond(actor=cw.member, topic=topic, score=5, comment="很好")
    affected = services.satisfaction_respond(actor=cw.aw.resident, topic=topic, score=4)
    assert participant.is_participant and not affected.is_participant
    with pytest.raises(Conflict) as exc:
        services.satisfaction_respond(actor=cw.member, topic=topic, score=3)
    assert exc.value.code == "already_responded"
    neighbour = make_user()
    neighbour.home_unit = cw.tree.community_a1
    neighbour.save()
    with pytest.raises(PermissionDenied):  # sees the topic, neither took part nor was affected
        services.satisfaction_respond(actor=neighbour, topic=topic, score=3)
    for score in (0, 6, "5", None):
        with pytest.raises(InvalidInput) as exc:
            services.satisfaction_respond(actor=cw.resident, topic=topic, score=score)
        assert exc.value.field == "score"
    implementing = drive_topic(cw, S.IMPLEMENTING)
    with pytest.raises(Conflict):
        services.satisfaction_respond(actor=cw.member, topic=implementing, score=5)


def test_third_party_evaluation_and_closing_with_a_rating_tell_the_residents(cw):
    topic = drive_topic(cw, S.EVALUATING)
    with pytest.raises(PermissionDenied):
        services.evaluation_add(actor=cw.community_staff, topic=topic, organisation="x", score=80, report="y")
    evaluation = services.evaluation_add(actor=cw.evaluator, topic=topic, organisation="江门市社会治理评估中心", score=88,
                                         report="落实到位")
    assert evaluation.score == 88
    with pytest.raises(Conflict):
        services.evaluation_add(actor=cw.evaluator, topic=topic, organisation="x", score=80, report="y")
    with pytest.raises(InvalidInput) as exc:
        services.evaluation_add(actor=make_user("evaluator", cw.tree.district), topic=topic, organisation="x", score=101, report="y")
    assert exc.value.field == "score"
    for rating in (0, 6):
        with pytest.raises(InvalidInput) as exc:
            services.topic_close(actor=cw.community_staff, topic=topic, final_rating=rating)
        assert exc.value.field == "final_rating"
    topic = services.topic_close(actor=cw.community_staff, topic=topic, final_rating=5)
    assert topic.state == S.CLOSED and topic.final_rating == 5 and topic.closed_at
    outcome = Notification.objects.filter(kind="consultations.outcome")
    assert set(outcome.values_list("recipient", flat=True)) == {cw.aw.resident.pk}
    assert "协商" in outcome.get().body


# --- escalation ---------------------------------------------------------------------------------------------------


def test_escalation_takes_everything_up_one_level(cw):
    topic = drive_topic(cw, S.RESEARCHING)
    research = services.research_add(actor=cw.member, topic=topic, kind="site_visit", title="走访", text="夜间走访")
    services.research_approve(actor=cw.party_a1, topic=topic, research_id=research.pk)
    services.research_add(actor=cw.member, topic=topic, kind="note", title="待审", text="待审核")
    topic.supports.create(user=cw.resident)
    up = services.topic_escalate(actor=cw.community_staff, topic=topic, reason="涉及区级部门，社区无法协调")
    old = fresh(topic)
    assert old.state == S.ESCALATED
    assert up.room == cw.street_room and up.source == TopicSource.ESCALATED and up.escalated_from == old
    assert up.state == S.PROPOSED and up.title == old.title and "社区无法协调" in up.description
    assert sorted(up.participants.values_list("kind", "name", "user", "handling_unit", "can_vote")) == sorted(
        old.participants.values_list("kind", "name", "user", "handling_unit", "can_vote"))
    assert sorted(up.research.values_list("title", "state", "author", "reviewed_by")) == sorted(
        old.research.values_list("title", "state", "author", "reviewed_by"))
    assert set(up.appeals.all()) == set(old.appeals.all()) and up.appeals.exists()
    assert list(up.supports.values_list("user", flat=True)) == [cw.resident.pk]
    event = AuditEvent.objects.filter(subject_type="consultations.topic", subject_id=str(old.pk), code="consultations.topic.escalate").get()
    assert event.after["escalated_to"] == up.pk and event.reason
    assert Notification.objects.filter(recipient=cw.party_street_a, kind="consultations.topic_escalated").exists()
    # up again, to the district hall; the hall has no parent room
    services.topic_approve(actor=cw.party_street_a, topic=up)
    top = services.topic_escalate(actor=cw.street_a_staff, topic=up, reason="需区级统筹")
    assert top.room == cw.hall and top.escalated_from_id == up.pk and top.participants.count() == old.participants.count()
    services.topic_approve(actor=cw.party_district, topic=top)
    with pytest.raises(Conflict) as exc:
        services.topic_escalate(actor=cw.district_staff, topic=top, reason="再上报")
    assert exc.value.code == "no_parent_room"
    # the community staff who escalated cannot act at the street level
    with pytest.raises(NotFound):
        services.topic_approve(actor=cw.community_staff, topic=top)


# --- the platform ------------------------------------------------------------------------------------------------


def test_rooms_have_one_chair_and_sit_in_the_three_level_tree(cw):
    from yishi.consultations.models import RoomMember

    services.room_member_set(actor=cw.community_staff, room=cw.home, user=cw.member, role="chair")
    assert list(RoomMember.objects.filter(room=cw.home, role="chair").values_list("user", flat=True)) == [cw.member.pk]
    assert RoomMember.objects.get(room=cw.home, user=cw.chair).role == "member"
    with pytest.raises(PermissionDenied):
        services.room_member_set(actor=cw.community_b_staff, room=cw.home, user=cw.member, role="member")
    with pytest.raises(InvalidInput):
        services.room_member_set(actor=cw.community_staff, room=cw.home, user=cw.member, role="king")
    services.room_member_remove(actor=cw.community_staff, room=cw.home, user=cw.chair)
    with pytest.raises(InvalidInput):
        services.room_member_remove(actor=cw.community_staff, room=cw.home, user=cw.chair)
    with pytest.raises(InvalidInput) as exc:  # a street room in a community
        services.room_create(actor=cw.district_staff, name="x", level="street", org_unit=cw.tree.community_a1)
    assert exc.value.code == "level_mismatch"
    with pytest.raises(InvalidInput) as exc:  # a parent at the same level
        services.room_create(actor=cw.district_staff, name="x", level="street", org_unit=cw.tree.street_a, parent=cw.street_room)
    assert exc.value.code == "parent_not_higher"
    with pytest.raises(InvalidInput) as exc:  # a parent elsewhere
        services.room_create(actor=cw.district_staff, name="x", level="community", org_unit=cw.tree.community_a2,
                             parent=fresh_room(cw.home_b.parent_id))
    assert exc.value.code == "parent_outside"
    with pytest.raises(PermissionDenied):
        services.room_create(actor=cw.community_staff, name="x", level="community", org_unit=cw.tree.community_b1)
    with pytest.raises(InvalidInput) as exc:
        services.room_create(actor=cw.district_staff, name="医药界", level="sector", org_unit=cw.tree.district)
    assert exc.value.field == "sector"


def fresh_room(pk: int) -> Room:
    return Room.objects.get(pk=pk)


def test_talent_pool_is_searched_by_expertise_within_reach(cw):
    from yishi.consultations.selectors import talent_search

    services.talent_add(actor=cw.community_b_staff, name="王工", expertise="给排水", org_unit=cw.tree.community_b1)
    services.talent_add(actor=cw.community_staff, name="赵老师", expertise="社区照明设计", org_unit=cw.tree.community_a1,
                        kind="resident_rep")
    assert {t.name for t in talent_search(user=cw.community_staff, q="照明")} == {"李教授", "赵老师"}
    assert {t.name for t in talent_search(user=cw.community_staff, q="排水")} == set()  # another community's
    assert {t.name for t in talent_search(user=cw.district_staff, q="排水")} == {"王工"}
    assert {t.name for t in talent_search(user=cw.community_staff, kind="resident_rep")} == {"赵老师"}
    assert not talent_search(user=cw.resident).exists()
    with pytest.raises(InvalidInput):
        services.talent_add(actor=cw.district_staff, name="x", expertise="", org_unit=cw.tree.district)

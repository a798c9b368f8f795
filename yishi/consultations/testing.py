"""Builders for consultations tests: the three-level platform on the test tree, people in every role of the loop,
and ``drive_topic`` to bring a topic to any state through the real services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from yishi.appeals.testing import AppealsWorld, build_world, submit
from yishi.core.testing import Tree, make_user

from . import services
from .choices import ParticipantKind, RoomLevel, RoomMemberRole, TopicSource, TopicState
from .models import Room, Talent, Topic


@dataclass
class ConsultWorld:
    tree: Tree
    aw: AppealsWorld
    hall: Room  # district 委员议事厅
    street_room: Room  # street A 委员议事室
    home: Room  # community A1 委员之家
    home_b: Room  # community B1 委员之家 (another street)
    district_staff: Any
    street_a_staff: Any
    street_b_staff: Any
    community_staff: Any  # community A1
    community_b_staff: Any  # community B1
    party_district: Any
    party_street_a: Any
    party_a1: Any
    party_b1: Any
    chair: Any  # chair of the community A1 home
    member: Any  # a CPPCC member of the community A1 home
    hall_chair: Any
    resident: Any  # lives in community A1 (grid)
    outsider: Any  # lives in community B1
    evaluator: Any
    expert: Talent


def build_consult_world(tree: Tree) -> ConsultWorld:
    aw = build_world(tree)
    district_staff = aw.district_staff
    hall = services.room_create(actor=district_staff, name="江海区政协委员议事厅", level=RoomLevel.DISTRICT, org_unit=tree.district)
    street_room = services.room_create(actor=district_staff, name="外海街道委员议事室", level=RoomLevel.STREET,
                                       org_unit=tree.street_a, parent=hall)
    home = services.room_create(actor=district_staff, name="直冲社区委员之家", level=RoomLevel.COMMUNITY,
                                org_unit=tree.community_a1, parent=street_room)
    street_b_room = services.room_create(actor=district_staff, name="礼乐街道委员议事室", level=RoomLevel.STREET,
                                         org_unit=tree.street_b, parent=hall)
    home_b = services.room_create(actor=district_staff, name="威东社区委员之家", level=RoomLevel.COMMUNITY,
                                  org_unit=tree.community_b1, parent=street_b_room)
    chair = make_user("cppcc_member", tree.street_a)
    member = make_user("cppcc_member", tree.street_a)
    hall_chair = make_user("cppcc_member", tree.district)
    for room, person, role in [(home, chair, RoomMemberRole.CHAIR), (home, member, RoomMemberRole.MEMBER),
                               (street_room, member, RoomMemberRole.CHAIR), (hall, hall_chair, RoomMemberRole.CHAIR)]:
        services.room_member_set(actor=district_staff, room=room, user=person, role=role)
    resident = make_user("resident", tree.community_a1)
    resident.home_unit = tree.grid_a1
    resident.display_name = "王小明"
    resident.save(update_fields=["home_unit", "display_name"])
    outsider = make_user("resident", tree.community_b1)
    outsider.home_unit = tree.community_b1
    outsider.save(update_fields=["home_unit"])
    expert = services.talent_add(actor=district_staff, name="李教授", expertise="城市照明、市政设施", org_unit=tree.district,
                                 organisation="五邑大学")
    return ConsultWorld(
        tree=tree, aw=aw, hall=hall, street_room=street_room, home=home, home_b=home_b,
        district_staff=district_staff, street_a_staff=aw.street_a_staff, street_b_staff=aw.street_b_staff,
        community_staff=aw.community_staff, community_b_staff=make_user("community_staff", tree.community_b1),
        party_district=make_user("party_approver", tree.district), party_street_a=make_user("party_approver", tree.street_a),
        party_a1=make_user("party_approver", tree.community_a1), party_b1=make_user("party_approver", tree.community_b1),
        chair=chair, member=member, hall_chair=hall_chair, resident=resident, outsider=outsider,
        evaluator=make_user("evaluator", tree.district), expert=expert,
    )


def organiser_of(cw: ConsultWorld, room: Room) -> Any:
    return {cw.hall.pk: cw.district_staff, cw.street_room.pk: cw.street_a_staff, cw.home.pk: cw.community_staff,
            cw.home_b.pk: cw.community_b_staff}.get(room.pk, cw.district_staff)


def approver_of(cw: ConsultWorld, room: Room) -> Any:
    return {cw.hall.pk: cw.party_district, cw.street_room.pk: cw.party_street_a, cw.home.pk: cw.party_a1,
            cw.home_b.pk: cw.party_b1}.get(room.pk, cw.party_district)


ORDER = [
    TopicState.PROPOSED, TopicState.APPROVED, TopicState.RESEARCHING, TopicState.MEETING, TopicState.DECIDED,
    TopicState.SUBMITTED, TopicState.IMPLEMENTING, TopicState.EVALUATING, TopicState.CLOSED,
]


def drive_topic(cw: ConsultWorld, state: str, *, room: Room | None = None, with_appeal: bool = True, **propose: Any) -> Topic:
    """A topic in ``state``, reached through the real services along the main path. DECLINED, NO_DECISION and
    ESCALATED branch off it; every topic is proposed by the room's organiser (党政点题) and, with ``with_appeal``,
    takes up one appeal of the area (so its resident is an affected resident)."""
    room = room or cw.home
    boss = organiser_of(cw, room)
    party = approver_of(cw, room)
    target = TopicState(state)
    topic = services.topic_propose(
        actor=boss, room=room, source=propose.pop("source", TopicSource.PARTY),
        title=propose.pop("title", "直冲路路灯长期不亮"), description=propose.pop("description", "直冲路一段路灯晚上不亮，群众出行不便。"),
        **propose,
    )
    if with_appeal:
        appeal = submit(cw.aw, unit=room.org_unit if room.org_unit.level != "district" else cw.tree.community_a1)
        topic.appeals.add(appeal)
    if target == TopicState.PROPOSED:
        return fresh(topic)
    if target == TopicState.DECLINED:
        return fresh(services.topic_decline(actor=party, topic=topic, reason="不属于本级协商事项"))
    services.topic_approve(actor=party, topic=topic)
    if target == TopicState.APPROVED:
        return fresh(topic)
    services.participant_invite(actor=boss, topic=topic, kind=ParticipantKind.CPPCC_MEMBER, user_id=cw.member.pk)
    services.participant_invite(actor=boss, topic=topic, kind=ParticipantKind.RESIDENT_REP, user_id=cw.resident.pk)
    services.participant_invite(actor=boss, topic=topic, kind=ParticipantKind.DEPARTMENT, handling_unit_id=cw.tree.unit_housing.pk)
    services.topic_start_research(actor=boss, topic=topic)
    if target == TopicState.RESEARCHING:
        return fresh(topic)
    if target == TopicState.ESCALATED:
        services.topic_escalate(actor=boss, topic=topic, reason="本级无法协调")
        return fresh(topic)
    research = services.research_add(actor=cw.member, topic=topic, kind="site_visit", title="实地走访", text="夜间走访直冲路，12 盏路灯不亮。")
    services.research_approve(actor=party, topic=topic, research_id=research.pk)
    services.topic_call_meeting(actor=boss, topic=topic)
    if target == TopicState.MEETING:
        return fresh(topic)
    if target == TopicState.NO_DECISION:
        return fresh(services.topic_record_outcome(actor=boss, topic=topic, decided=False, reason="各方意见分歧较大"))
    services.topic_record_outcome(actor=boss, topic=topic, decided=True, reason="形成三条意见")
    if target == TopicState.DECIDED:
        return fresh(topic)
    opinion = services.opinion_add(actor=boss, topic=topic, text="尽快修复直冲路路灯", rationale="夜间出行安全")
    services.topic_submit_results(actor=boss, topic=topic, sent_to_id=room.org_unit_id)
    if target == TopicState.SUBMITTED:
        return fresh(topic)
    services.responsibility_add(actor=boss, topic=topic, opinion_item_id=opinion.pk, task="修复直冲路路灯",
                                handling_unit_id=cw.tree.unit_housing.pk, working_days=10)
    services.topic_start_implementation(actor=boss, topic=topic)
    if target == TopicState.IMPLEMENTING:
        return fresh(topic)
    services.effect_add(actor=boss, topic=topic, text="路灯已全部修复", evidence="夜间巡查照片")
    services.topic_start_evaluation(actor=boss, topic=topic)
    if target == TopicState.EVALUATING:
        return fresh(topic)
    services.topic_close(actor=boss, topic=topic, final_rating=5)
    assert target == TopicState.CLOSED, target
    return fresh(topic)


def fresh(topic: Topic) -> Topic:
    return Topic.objects.select_related("room", "room__org_unit").get(pk=topic.pk)

"""Who may do what in consultations.

* Area staff (community/street/district) run the rooms of their area: propose party/government topics, invite
  participants, record research, call meetings, compile results, turn them into responsibilities, evaluate.
* The party organisation at the same level (role party_approver scoped to the room's area) approves topics and
  research.
* Room members (deputies, CPPCC members, residents' representatives) recommend topics; the room's chair runs
  the meeting (opens motions, grants the floor, opens and closes votes, approves minutes).
* Residents propose topics (signed, in writing) and support them only in rooms whose area covers their home.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from yishi.accounts.choices import Role
from yishi.audit.scopes import audit_subject
from yishi.core.permissions import Grant, define

AREA_STAFF = {Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_STAFF}
VIEWERS = AREA_STAFF | {Role.PARTY_APPROVER, Role.DEPUTY, Role.CPPCC_MEMBER, Role.EXPERT, Role.EVALUATOR, Role.GRID_WORKER}


def _resident_of_area(user: Any, obj: Any, grants: list[Grant]) -> bool:
    room = getattr(obj, "room", obj)
    home = getattr(user, "home_unit", None)
    return home is not None and home.path.startswith(room.org_unit.path)


def _resident_q(user: Any, grants: list[Grant]) -> Q:
    """Topics of the rooms whose area covers the user's home (the home unit or one of its ancestors)."""
    home = getattr(user, "home_unit", None)
    if home is None:
        return Q(pk__in=[])
    return Q(room__org_unit_id__in=home.ancestor_ids)


def _involved(user: Any, obj: Any, grants: list[Grant]) -> bool:
    """The room's members, the topic's proposer and participants, the residents whose appeals it takes up and
    the handling units given a task of its responsibility list."""
    topic = obj
    if getattr(topic, "proposer_id", None) == user.pk:
        return True
    if topic.room.members.filter(user=user).exists() or topic.participants.filter(user=user).exists():
        return True
    if topic.appeals.filter(submitter=user).exists():
        return True
    units = {g.handling_unit_id for g in grants if g.handling_unit_id}
    return bool(units) and topic.responsibilities.filter(handling_unit_id__in=units).exists()


def _involved_q(user: Any, grants: list[Grant]) -> Q:
    from .models import Participant, ResponsibilityItem, RoomMember, Topic

    q = Q(proposer_id=user.pk)
    q |= Q(room_id__in=RoomMember.objects.filter(user=user).values("room_id"))
    q |= Q(pk__in=Participant.objects.filter(user=user).values("topic_id"))
    q |= Q(pk__in=Topic.appeals.through.objects.filter(appeal__submitter=user).values("topic_id"))
    units = {g.handling_unit_id for g in grants if g.handling_unit_id}
    if units:
        q |= Q(pk__in=ResponsibilityItem.objects.filter(handling_unit_id__in=units).values("topic_id"))
    return q


def _room_member(user: Any, obj: Any, grants: list[Grant]) -> bool:
    room = getattr(obj, "room", obj)
    return room.members.filter(user=user).exists()


def _room_chair(user: Any, obj: Any, grants: list[Grant]) -> bool:
    room = getattr(obj, "room", obj)
    return room.members.filter(user=user, role="chair").exists()


# Objects expose ``room`` (topics) or are rooms; scope through the room's org unit.
# A topic is seen by the supervising roles of the room's area, by the people it involves and by the residents of the
# area (who propose, support and follow); to anyone else it does not exist (404).
define("consultations.view_area", roles=VIEWERS, scope="room__org_unit", label="查看本地区协商议题")
define("consultations.view_involved", roles=[], authenticated=True, check=_involved, narrow=_involved_q, label="查看参与的协商议题")
define("consultations.view_resident", roles=[], authenticated=True, check=_resident_of_area, narrow=_resident_q, label="查看本地区协商议题（居民）")
define(
    "consultations.view", roles=[],
    any_of=("consultations.view_area", "consultations.view_involved", "consultations.view_resident"),
    label="查看协商议题",
)
define("consultations.manage", roles=AREA_STAFF, scope="room__org_unit", label="组织协商议事")
define("consultations.manage_room", roles=AREA_STAFF, scope="org_unit", label="管理议事室")
define("consultations.approve", roles={Role.PARTY_APPROVER}, scope="room__org_unit", label="党组织审定")
define("consultations.recommend", roles=[], authenticated=True, check=_room_member, label="委员荐题")
define("consultations.propose", roles=[], authenticated=True, check=_resident_of_area, label="群众出题")
define("consultations.chair", roles=[], authenticated=True, check=_room_chair, label="主持会议")
define("consultations.evaluate", roles={Role.EVALUATOR}, scope="room__org_unit", label="第三方评估")
define("consultations.supervise", roles=VIEWERS, scope="room__org_unit", label="查看失效预警")


def _takes_part(user: Any, obj: Any, grants: list[Grant]) -> bool:
    return obj.room.members.filter(user=user).exists() or obj.participants.filter(user=user).exists()


def _above_the_room(user: Any, obj: Any, grants: list[Grant]) -> bool:
    # ``grants`` already cover the room's area; keep those of a higher level than the room itself.
    return any(g.path != obj.room.org_unit.path for g in grants)


def _affected(user: Any, obj: Any, grants: list[Grant]) -> bool:
    return obj.participants.filter(user=user).exists() or obj.appeals.filter(submitter=user).exists()


# Research is written by the organisers, the room's members and the invited participants (委员、部门调研), and
# reviewed by someone other than the organisers of the same level: the party organisation, or area staff of a
# higher level (a street officer for a community room).
define("consultations.take_part", roles=[], authenticated=True, check=_takes_part, label="参与协商（成员、参与主体）")
define("consultations.research", roles=[], any_of=("consultations.manage", "consultations.take_part"), label="提交调研记录")
define("consultations.review_above", roles=AREA_STAFF, scope="room__org_unit", check=_above_the_room, label="上级审核调研")
define("consultations.review_research", roles=[], any_of=("consultations.approve", "consultations.review_above"), label="审核调研记录")
define("consultations.respond", roles=[], authenticated=True, check=_affected, label="评价协商成果（参与主体、相关群众）")

for _label in ("consultations.room", "consultations.talent", "consultations.catalogueitem"):
    audit_subject(_label, "org_unit")
audit_subject("consultations.topic", "room__org_unit")
audit_subject("consultations.meeting", "topic__room__org_unit")

from . import rules_meetings  # noqa: E402, F401  (the online room: who may follow a meeting)

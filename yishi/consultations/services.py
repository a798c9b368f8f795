"""Every change in 有事好商量 outside the meeting room is one of these functions: atomic, with the topic row locked,
permission- and state-checked, audited, and telling people in-app (e-mail and SMS copies leave after the commit).

The topic's own state moves only through ``yishi.core.workflow.run_transition`` with ``topic_workflow``; the records
each step leaves (participants, research, opinion items, responsibilities, effects, satisfaction, evaluations)
are written here with the topic locked, so a step and its gate never race. Every record is audited with the topic
as its subject, so the topic's timeline is one query.

Responsibility items become tracked tasks: each is an ``Appeal`` entered through ``yishi.appeals.services`` on the
organiser's behalf (channel 协商落实, category 协商落实) and dispatched to the item's handling unit with the item's
working days as its deadline, so accepting, returning, extending, supervising and replying work as for any appeal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from yishi.accounts.models import User
from yishi.audit.services import record
from yishi.core.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)
from yishi.core.permissions import can, require
from yishi.core.uploads import UploadRules, upload_name, validate_uploads
from yishi.core.workflow import run_transition
from yishi.notifications.services import notify
from yishi.orgs.models import Enterprise, HandlingUnit, OrgUnit, Sector, Station
from yishi.policy import workdays
from yishi.policy.services import policy_value

from .choices import (
    MeetingState,
    MotionOutcome,
    ParticipantKind,
    ResearchKind,
    ReviewState,
    RoomLevel,
    RoomMemberRole,
    TopicSource,
    TopicState,
)
from .models import (
    Attendance,
    CatalogueItem,
    EffectItem,
    FloorRequest,
    Meeting,
    Motion,
    OpinionItem,
    Participant,
    ResearchAttachment,
    ResearchRecord,
    ResponsibilityItem,
    Room,
    RoomMember,
    SatisfactionResponse,
    Talent,
    ThirdPartyEvaluation,
    Topic,
    TopicSupport,
    Vote,
    WrittenOpinion,
)
from .workflow import topic_workflow

S = TopicState
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Where each kind of record may be added (the step it belongs to, and the ones that may revisit it).
INVITE_STATES = frozenset({S.APPROVED, S.RESEARCHING, S.MEETING, S.NO_DECISION})
RESEARCH_STATES = frozenset({S.APPROVED, S.RESEARCHING, S.NO_DECISION})
OPINION_STATES = frozenset({S.DECIDED})
RESPONSIBILITY_STATES = frozenset({S.SUBMITTED, S.IMPLEMENTING})
EFFECT_STATES = frozenset({S.IMPLEMENTING, S.EVALUATING})
EVALUATION_STATES = frozenset({S.EVALUATING})
SUPPORT_STATES = frozenset({S.PROPOSED})

TERRITORIAL_RANK: dict[str, int] = {RoomLevel.COMMUNITY: 1, RoomLevel.STREET: 2, RoomLevel.DISTRICT: 3}
TASK_CATEGORY_CODE = "CONSULTATION"
TASK_CATEGORY_NAME = "协商落实"
MAX_WORKING_DAYS = 366


# --- small helpers ---------------------------------------------------------------------------------------------


def _bad(field: str, zh: str, en: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(zh, en, field=field, code=code)


def _text(value: Any, field: str, max_length: int, *, required: bool = True, label: str = "") -> str:
    """Trimmed text, refused with the field named when empty (if required), too long or holding control characters."""
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if _CONTROL_CHARS.search(text):
        raise _bad(field, "不能包含控制字符", "Control characters are not allowed", "invalid_characters")
    if required and not text:
        raise _bad(field, f"请填写{label or '此项'}", f"{field} is required", "required")
    if len(text) > max_length:
        raise _bad(field, f"不能超过 {max_length} 字", f"{field} is longer than {max_length}", "too_long")
    return text


def _int_in(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not (low <= value <= high):
        raise _bad(field, f"须为 {low} 至 {high} 的整数", f"Must be an integer from {low} to {high}", "out_of_range")
    return value


def _pk(obj_or_pk: Any) -> Any:
    return getattr(obj_or_pk, "pk", obj_or_pk)


class _InRoom:
    """Lets a rule scoped by ``room__org_unit`` be checked before the topic exists."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.participants = Participant.objects.none()
        self.appeals = Topic.appeals.through.objects.none()


class _Located:
    """Lets a rule scoped by ``org_unit`` be checked for a place (catalogue items, talents, new rooms)."""

    def __init__(self, unit: OrgUnit) -> None:
        self.org_unit = unit


def topic_url(topic: Topic | int) -> str:
    return reverse("consultations:topic", args=[_pk(topic)])


def _room(room: Room | int) -> Room:
    found = Room.objects.select_related("org_unit", "parent").filter(pk=_pk(room), is_active=True).first()
    if found is None:
        raise NotFound()
    return found


def _locked_topic(actor: Any, topic: Topic | int, action: str, states: Iterable[str] | None) -> Topic:
    """The topic row locked for this transaction: missing or outside the actor's sight → not found; no right →
    forbidden; wrong step → transition_not_allowed. Call inside ``transaction.atomic``."""
    try:
        obj = Topic.objects.select_for_update().filter(pk=_pk(topic)).first()
    except (ValueError, TypeError):
        obj = None
    if obj is None or not can(actor, "consultations.view", obj):
        raise NotFound()
    if not can(actor, action, obj):
        raise PermissionDenied()
    if states is not None and obj.state not in states:
        raise TransitionNotAllowed(extra={"state": obj.state})
    return obj


# --- recipients ---------------------------------------------------------------------------------------------------

ORGANISER_ROLES = ("community_staff", "street_staff", "district_staff")


def organisers_of(room: Room) -> list[User]:
    """Area staff whose scope is exactly the room's area (they run the room)."""
    return list(
        User.objects.filter(
            roles__org_unit_id=room.org_unit_id, roles__role__in=ORGANISER_ROLES, roles__is_active=True, is_active=True
        ).distinct()
    )


def party_approvers_of(room: Room) -> list[User]:
    """The party organisation of the room's level: approvers at the room's unit, else at the nearest unit above."""
    ids = room.org_unit.ancestor_ids or [room.org_unit_id]
    rows = list(
        User.objects.filter(roles__org_unit_id__in=ids, roles__role="party_approver", roles__is_active=True, is_active=True)
        .values_list("pk", "roles__org_unit__depth")
    )
    if not rows:
        return []
    deepest = max(depth for _pk_, depth in rows)
    return list(User.objects.filter(pk__in={pk for pk, depth in rows if depth == deepest}))


def _participant_users(topic: Topic) -> list[User]:
    return list(User.objects.filter(consultation_participations__topic=topic, is_active=True).distinct())


def affected_residents(topic: Topic) -> list[User]:
    """The residents who submitted the appeals the topic takes up (merged children's residents included)."""
    return list(User.objects.filter(appeals__consultation_topics=topic, is_active=True).distinct())


def _proposer(topic: Topic) -> list[User]:
    return [topic.proposer] if topic.proposer is not None else []


# --- platform: rooms, members, catalogue, talent pool ------------------------------------------------------------


def _check_room_shape(level: str, unit: OrgUnit, parent: Room | None, sector: Sector | None,
                      enterprise: Enterprise | None) -> None:
    if level not in RoomLevel.values:
        raise _bad("level", "层级无效", "Unknown level", "invalid_choice")
    if level in TERRITORIAL_RANK and unit.level != level:
        raise _bad("org_unit", "议事室层级须与所在区域一致", "The room's level must match its area", "level_mismatch")
    if level == RoomLevel.SECTOR and sector is None:
        raise _bad("sector", "界别议事室须选择界别", "A sector room needs its sector", "required")
    if level == RoomLevel.ENTERPRISE and enterprise is None:
        raise _bad("enterprise", "企业议事室须选择单位", "An enterprise room needs its enterprise", "required")
    if parent is not None:
        if not unit.path.startswith(parent.org_unit.path):
            raise _bad("parent", "上级平台须在本区域或其上级区域", "The parent room must cover this area", "parent_outside")
        own = TERRITORIAL_RANK.get(level, 0)
        if TERRITORIAL_RANK.get(parent.level, 0) <= own:
            raise _bad("parent", "上级平台须高于本议事室的层级", "The parent room must be of a higher level", "parent_not_higher")


def room_create(*, actor: Any, name: str, level: str, org_unit: OrgUnit | int, parent: Room | int | None = None,
                station: Station | int | None = None, sector: Sector | int | None = None,
                enterprise: Enterprise | int | None = None, description: str = "") -> Room:
    """搭建平台: a room (委员之家/议事室/议事厅, or a sector or enterprise room) in an area the actor runs."""
    name = _text(name, "name", 150, label="名称")
    description = _text(description, "description", 2000, required=False)
    unit = OrgUnit.objects.filter(pk=_pk(org_unit), is_active=True).first()
    if unit is None:
        raise _bad("org_unit", "区域不存在", "Unknown area", "unknown_org_unit")
    require(actor, "consultations.manage_room", _Located(unit))
    parent_room = _room(parent) if parent is not None else None
    station_obj = Station.objects.filter(pk=_pk(station), is_active=True).first() if station is not None else None
    if station is not None and (station_obj is None or not station_obj.org_unit.path.startswith(unit.path)):
        raise _bad("station", "阵地不存在或不在本区域", "Unknown station in this area", "unknown_station")
    sector_obj = Sector.objects.filter(pk=_pk(sector)).first() if sector is not None else None
    if sector is not None and sector_obj is None:
        raise _bad("sector", "界别不存在", "Unknown sector", "unknown_sector")
    enterprise_obj = Enterprise.objects.filter(pk=_pk(enterprise)).first() if enterprise is not None else None
    if enterprise is not None and enterprise_obj is None:
        raise _bad("enterprise", "单位不存在", "Unknown enterprise", "unknown_enterprise")
    _check_room_shape(level, unit, parent_room, sector_obj, enterprise_obj)
    with transaction.atomic():
        room = Room.objects.create(
            name=name, level=level, org_unit=unit, parent=parent_room, station=station_obj, sector=sector_obj,
            enterprise=enterprise_obj, description=description,
        )
        record(actor=actor, code="consultations.room.created", subject=room,
               after={"name": name, "level": level, "org_unit": unit.pk, "parent": parent_room.pk if parent_room else None})
    return room


def room_member_set(*, actor: Any, room: Room | int, user: User | int, role: str = RoomMemberRole.MEMBER) -> RoomMember:
    """Add a member or change their duty. A room has one chair: naming a new chair makes the old one a member."""
    if role not in RoomMemberRole.values:
        raise _bad("role", "职责无效", "Unknown duty", "invalid_choice")
    person = User.objects.filter(pk=_pk(user), is_active=True).first()
    if person is None:
        raise _bad("user", "用户不存在", "Unknown user", "unknown_user")
    with transaction.atomic():
        locked = Room.objects.select_for_update().filter(pk=_pk(room), is_active=True).first()
        if locked is None:
            raise NotFound()
        require(actor, "consultations.manage_room", locked)
        before_chair = locked.members.filter(role=RoomMemberRole.CHAIR).values_list("user_id", flat=True).first()
        if role == RoomMemberRole.CHAIR and before_chair not in (None, person.pk):
            locked.members.filter(role=RoomMemberRole.CHAIR).update(role=RoomMemberRole.MEMBER)
        member, _created = RoomMember.objects.update_or_create(room=locked, user=person, defaults={"role": role})
        record(actor=actor, code="consultations.room.member_set", subject=locked,
               before={"chair": before_chair}, after={"user": person.pk, "role": role})
        notify(recipients=[person], kind="consultations.room_member", title=f"您已成为{locked.name}的{member.get_role_display()}",
               url=reverse("consultations:room", args=[locked.pk]))
    return member


def room_member_remove(*, actor: Any, room: Room | int, user: User | int) -> None:
    with transaction.atomic():
        locked = Room.objects.select_for_update().filter(pk=_pk(room), is_active=True).first()
        if locked is None:
            raise NotFound()
        require(actor, "consultations.manage_room", locked)
        deleted, _ = locked.members.filter(user_id=_pk(user)).delete()
        if not deleted:
            raise _bad("user", "该用户不是本议事室成员", "Not a member of this room", "not_a_member")
        record(actor=actor, code="consultations.room.member_removed", subject=locked, after={"user": _pk(user)})


def catalogue_item_create(*, actor: Any, org_unit: OrgUnit | int, title: str, description: str = "",
                          mandatory: bool = True) -> CatalogueItem:
    """议事协商目录: a kind of matter the area must (or may) consult on."""
    unit = OrgUnit.objects.filter(pk=_pk(org_unit), is_active=True).first()
    if unit is None:
        raise _bad("org_unit", "区域不存在", "Unknown area", "unknown_org_unit")
    require(actor, "consultations.manage_room", _Located(unit))
    title = _text(title, "title", 150, label="事项")
    description = _text(description, "description", 2000, required=False)
    if CatalogueItem.objects.filter(org_unit=unit, title=title).exists():
        raise _bad("title", "本区域的目录中已有该事项", "This matter is already in the area's catalogue", "duplicate")
    with transaction.atomic():
        item = CatalogueItem.objects.create(org_unit=unit, title=title, description=description, mandatory=bool(mandatory))
        record(actor=actor, code="consultations.catalogue.created", subject=item,
               after={"org_unit": unit.pk, "title": title, "mandatory": item.mandatory})
    return item


def talent_add(*, actor: Any, name: str, expertise: str, org_unit: OrgUnit | int, kind: str = ParticipantKind.EXPERT,
               organisation: str = "", phone: str = "", user: User | int | None = None) -> Talent:
    """协商议事人才库: a person the rooms can invite for their expertise."""
    unit = OrgUnit.objects.filter(pk=_pk(org_unit), is_active=True).first()
    if unit is None:
        raise _bad("org_unit", "区域不存在", "Unknown area", "unknown_org_unit")
    require(actor, "consultations.manage_room", _Located(unit))
    if kind not in ParticipantKind.values:
        raise _bad("kind", "类别无效", "Unknown kind", "invalid_choice")
    person = None
    if user is not None:
        person = User.objects.filter(pk=_pk(user), is_active=True).first()
        if person is None:
            raise _bad("user", "用户不存在", "Unknown user", "unknown_user")
        if Talent.objects.filter(user=person).exists():
            raise _bad("user", "该用户已在人才库中", "Already in the talent pool", "duplicate")
    with transaction.atomic():
        talent = Talent.objects.create(
            user=person, name=_text(name, "name", 50, label="姓名"), kind=kind,
            expertise=_text(expertise, "expertise", 300, label="专长"),
            organisation=_text(organisation, "organisation", 150, required=False),
            org_unit=unit, phone=_text(phone, "phone", 20, required=False),
        )
        record(actor=actor, code="consultations.talent.added", subject=talent,
               after={"name": talent.name, "kind": kind, "expertise": talent.expertise, "org_unit": unit.pk})
    return talent


# --- step 2: topics ---------------------------------------------------------------------------------------------


def _catalogue_item_for(room: Room, item_id: int | None) -> CatalogueItem | None:
    if not item_id:
        return None
    item = CatalogueItem.objects.select_related("org_unit").filter(pk=item_id).first()
    if item is None or not room.org_unit.path.startswith(item.org_unit.path):
        raise _bad("catalogue_item", "目录事项不存在或不适用于本议事室", "No such catalogue item for this room", "unknown_catalogue_item")
    return item


def _announce_proposed(topic: Topic, room: Room) -> None:
    notify(recipients=party_approvers_of(room) + organisers_of(room), kind="consultations.topic_proposed",
           title=f"新议题待审定：{topic.title}", body=f"{room.name} · {topic.get_source_display()}", url=topic_url(topic))


def topic_propose(*, actor: Any, room: Room | int, source: str, title: str, description: str,
                  proposer_name: str = "", catalogue_item_id: int | None = None) -> Topic:
    """确定议题: 党政点题 by the area's staff, 群众出题 by a resident of the room's area in writing with their name,
    委员荐题 by a member of the room. The topic waits for the party organisation's approval."""
    room_obj = _room(room)
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if source == TopicSource.PARTY:
        require(actor, "consultations.manage", _InRoom(room_obj))
    elif source == TopicSource.RESIDENTS:
        if not can(actor, "consultations.propose", room_obj):
            raise PermissionDenied("只有居住在本议事室所在区域的群众可以在这里出题",
                                   "Only residents of the room's area may propose topics here", code="outside_area")
        proposer_name = proposer_name or getattr(actor, "display_name", "")
        proposer_name = _text(proposer_name, "proposer_name", 50, label="署名")
    elif source == TopicSource.MEMBERS:
        require(actor, "consultations.recommend", room_obj)
    else:
        raise _bad("source", "议题来源无效", "Unknown source (party, residents or members)", "invalid_choice")
    title = _text(title, "title", 150, label="议题")
    description = _text(description, "description", 5000, label="说明")
    item = _catalogue_item_for(room_obj, catalogue_item_id)
    with transaction.atomic():
        topic = Topic.objects.create(
            room=room_obj, title=title, description=description, source=source, proposer=actor,
            proposer_name=_text(proposer_name or str(actor), "proposer_name", 50), catalogue_item=item,
        )
        record(actor=actor, code="consultations.topic.proposed", subject=topic,
               after={"state": topic.state, "source": source, "room": room_obj.pk, "catalogue_item": item.pk if item else None})
        _announce_proposed(topic, room_obj)
    return topic


def topic_from_appeals(*, actor: Any, room: Room | int, appeal_ids: Sequence[int], title: str,
                       description: str = "") -> Topic:
    """民呼热点: a topic made from a cluster of appeals of the room's area, linked back to each of them."""
    room_obj = _room(room)
    require(actor, "consultations.manage", _InRoom(room_obj))
    appeals = _appeals_of_area(actor, room_obj, appeal_ids)
    ids = [a.pk for a in appeals]
    title = _text(title, "title", 150, label="议题")
    description = _text(description, "description", 5000, required=False) or "\n".join(
        f"{a.tracking_code} {a.title}" for a in appeals
    )[:5000]
    with transaction.atomic():
        topic = Topic.objects.create(
            room=room_obj, title=title, description=description, source=TopicSource.APPEALS, proposer=actor,
            proposer_name=str(actor)[:50],
        )
        topic.appeals.set(appeals)
        record(actor=actor, code="consultations.topic.proposed", subject=topic,
               after={"state": topic.state, "source": TopicSource.APPEALS, "room": room_obj.pk, "appeals": ids})
        _announce_proposed(topic, room_obj)
    return topic


def _appeals_of_area(actor: Any, room: Room, appeal_ids: Sequence[int]) -> list[Any]:
    """The appeals named, each visible to the actor and located in the room's area (else a field error)."""
    from yishi.appeals.selectors import appeal_get

    ids = list(dict.fromkeys(int(i) for i in appeal_ids or []))
    if not ids:
        raise _bad("appeals", "请选择诉求", "Choose the appeals", "required")
    if len(ids) > 200:
        raise _bad("appeals", "一次最多关联 200 件诉求", "At most 200 appeals", "too_many")
    appeals = []
    for pk in ids:
        try:
            appeal = appeal_get(user=actor, pk=pk)
        except NotFound:
            raise _bad("appeals", f"诉求 {pk} 不存在", f"No appeal {pk}", "unknown_appeal") from None
        if not appeal.org_unit.path.startswith(room.org_unit.path):
            raise _bad("appeals", f"诉求 {appeal.tracking_code} 不在本议事室所在区域",
                       f"Appeal {appeal.tracking_code} lies outside the room's area", "outside_area")
        appeals.append(appeal)
    return appeals


LINKABLE_STATES = frozenset(set(S) - {S.DECLINED, S.CLOSED, S.ESCALATED})


def topic_link_appeals(*, actor: Any, topic: Topic | int, appeal_ids: Sequence[int]) -> Topic:
    """Take up more appeals of the room's area in a topic (their residents follow it and hear the outcome)."""
    with transaction.atomic():
        t = _locked_topic(actor, topic, "consultations.manage", LINKABLE_STATES)
        appeals = _appeals_of_area(actor, t.room, appeal_ids)
        t.appeals.add(*appeals)
        record(actor=actor, code="consultations.topic.appeals_linked", subject=t, after={"appeals": [a.pk for a in appeals]})
    return t


def topic_support(*, actor: Any, topic: Topic | int) -> int:
    """A resident of the room's area supports someone else's proposed topic, once. Returns the number of supporters."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    with transaction.atomic():
        obj = _locked_topic(actor, topic, "consultations.view", SUPPORT_STATES)
        if not can(actor, "consultations.propose", obj):
            raise PermissionDenied("只有本议事室所在区域的群众可以附议", "Only residents of the room's area may support it",
                                   code="outside_area")
        if obj.proposer_id == actor.pk:
            raise Conflict("不能附议自己提出的议题", "You proposed this topic", code="own_topic")
        if obj.supports.filter(user=actor).exists():
            raise Conflict("您已附议过这个议题", "You already support this topic", code="already_supported")
        try:
            with transaction.atomic():
                TopicSupport.objects.create(topic=obj, user=actor)
        except IntegrityError:
            raise Conflict("您已附议过这个议题", "You already support this topic", code="already_supported") from None
        count = obj.supports.count()
        record(actor=actor, code="consultations.topic.supported", subject=obj, after={"supporters": count})
    return count


def topic_approve(*, actor: Any, topic: Topic | int, note: str = "") -> Topic:
    """审定: the party organisation of the room's level approves the topic; participants can now be invited."""
    def apply(t: Topic) -> list[str]:
        t.approved_by = actor
        t.approved_at = timezone.now()
        notify(recipients=_proposer(t) + organisers_of(t.room), kind="consultations.topic_approved",
               title=f"议题已审定：{t.title}", body=note, url=topic_url(t))
        return ["approved_by", "approved_at"]

    return run_transition(topic_workflow, topic, "approve", actor=actor, reason=note, apply=apply)


def topic_decline(*, actor: Any, topic: Topic | int, reason: str) -> Topic:
    """不予审定, with the reason the proposer sees."""
    def apply(t: Topic) -> list[str]:
        t.decline_reason = _text(reason, "reason", 2000, label="理由")
        notify(recipients=_proposer(t), kind="consultations.topic_declined", title=f"议题未通过审定：{t.title}",
               body=t.decline_reason, url=topic_url(t))
        return ["decline_reason"]

    return run_transition(topic_workflow, topic, "decline", actor=actor, reason=reason, apply=apply)


# --- step 3: participants --------------------------------------------------------------------------------------


def participant_invite(*, actor: Any, topic: Topic | int, kind: str, user_id: int | None = None,
                       talent_id: int | None = None, handling_unit_id: int | None = None,
                       enterprise_id: int | None = None, name: str = "", can_vote: bool = True) -> Participant:
    """明确主体: invite a stakeholder, residents' representative, deputy, member, expert (from the talent pool),
    department (a handling unit), property company, owners' committee or social organisation (an enterprise), or
    a person without an account by name. Until a meeting opens."""
    if kind not in ParticipantKind.values:
        raise _bad("kind", "参与主体类别无效", "Unknown participant kind", "invalid_choice")
    given = [x for x in (user_id, talent_id, handling_unit_id, enterprise_id) if x]
    if len(given) > 1:
        raise _bad("user", "用户、人才、承办单位、企业只能选一项", "Give one of user, talent, handling unit, enterprise",
                   "one_source")
    name = _text(name, "name", 100, required=False)
    with transaction.atomic():
        t = _locked_topic(actor, topic, "consultations.manage", INVITE_STATES)
        if Meeting.objects.filter(topic=t, state=MeetingState.OPEN).exists():
            raise Conflict("会议进行中，不能调整参与主体", "A meeting is in progress", code="meeting_open")
        fields: dict[str, Any] = {"kind": kind, "can_vote": bool(can_vote)}
        if user_id:
            person = User.objects.filter(pk=user_id, is_active=True).first()
            if person is None:
                raise _bad("user", "用户不存在", "Unknown user", "unknown_user")
            fields.update(user=person, name=name or str(person))
        elif talent_id:
            talent = Talent.objects.filter(pk=talent_id, is_active=True).first()
            if talent is None:
                raise _bad("talent", "人才库中没有此人", "Unknown talent", "unknown_talent")
            if t.participants.filter(talent=talent).exists():
                raise Conflict("已邀请此人", "Already invited", code="already_invited", field="talent")
            fields.update(talent=talent, user=talent.user, name=name or talent.name)
        elif handling_unit_id:
            unit = HandlingUnit.objects.filter(pk=handling_unit_id, is_active=True).first()
            if unit is None:
                raise _bad("handling_unit", "承办单位不存在", "Unknown handling unit", "unknown_unit")
            if t.participants.filter(handling_unit=unit).exists():
                raise Conflict("已邀请该单位", "Already invited", code="already_invited", field="handling_unit")
            fields.update(handling_unit=unit, name=name or unit.name)
        elif enterprise_id:
            enterprise = Enterprise.objects.filter(pk=enterprise_id).first()
            if enterprise is None:
                raise _bad("enterprise", "单位不存在", "Unknown enterprise", "unknown_enterprise")
            if t.participants.filter(enterprise=enterprise).exists():
                raise Conflict("已邀请该单位", "Already invited", code="already_invited", field="enterprise")
            fields.update(enterprise=enterprise, name=name or enterprise.name)
        elif not name:
            raise _bad("name", "请填写参与主体的姓名或单位", "Give a name, a user, a talent or a unit", "required")
        else:
            fields["name"] = name
        person = fields.get("user")
        if person is not None and t.participants.filter(user=person).exists():
            raise Conflict("已邀请此人", "Already invited", code="already_invited", field="user")
        participant = Participant.objects.create(topic=t, **fields)
        record(actor=actor, code="consultations.participant.invited", subject=t,
               after={"participant": participant.pk, "kind": kind, "name": participant.name,
                      "user": person.pk if person else None, "can_vote": participant.can_vote})
        if person is not None:
            notify(recipients=[person], kind="consultations.invited", title=f"邀请您参与协商：{t.title}",
                   body=f"{t.room.name} · {participant.get_kind_display()}", url=topic_url(t))
    return participant


def participant_remove(*, actor: Any, topic: Topic | int, participant_id: int) -> None:
    with transaction.atomic():
        t = _locked_topic(actor, topic, "consultations.manage", INVITE_STATES)
        if Meeting.objects.filter(topic=t, state=MeetingState.OPEN).exists():
            raise Conflict("会议进行中，不能调整参与主体", "A meeting is in progress", code="meeting_open")
        participant = t.participants.filter(pk=participant_id).first()
        if participant is None:
            raise _bad("participant", "参与主体不存在", "No such participant", "unknown_participant")
        # Attendance, speeches and votes would go with the row: someone who took part in a meeting stays listed.
        if (Attendance.objects.filter(participant=participant).exists() or Vote.objects.filter(participant=participant).exists()
                or FloorRequest.objects.filter(participant=participant).exists()):
            raise Conflict("该参与主体已有会议记录，不能移除", "The participant has meeting records", code="has_records")
        after = {"participant": participant.pk, "name": participant.name}
        participant.delete()
        record(actor=actor, code="consultations.participant.removed", subject=t, after=after)


# --- step 4: research ------------------------------------------------------------------------------------------


def topic_start_research(*, actor: Any, topic: Topic | int) -> Topic:
    """商前调研 starts once participants are invited."""
    return run_transition(topic_workflow, topic, "start_research", actor=actor)


def research_upload_rules(topic: Topic) -> UploadRules:
    """How many research attachments, how large and of which kinds, from the room's policy profile."""
    unit = topic.room.org_unit
    return UploadRules(
        max_count=int(policy_value("consultations.attachment_max_count", unit)),
        max_bytes=int(policy_value("consultations.attachment_max_bytes", unit)),
        kinds=tuple(policy_value("consultations.attachment_kinds", unit)), noun="附件", noun_en="attachment",
    )


def research_add(*, actor: Any, topic: Topic | int, kind: str, title: str, text: str,
                 attachments: Sequence[UploadedFile] = ()) -> ResearchRecord:
    """A research note, site visit, policy finding or survey, with its attachments (count, size and kinds from the
    room's policy profile, checked before anything is written); it counts once reviewed and approved."""
    if kind not in ResearchKind.values:
        raise _bad("kind", "调研类型无效", "Unknown research kind", "invalid_choice")
    title = _text(title, "title", 150, label="标题")
    text = _text(text, "text", 10000, label="内容")
    files = list(attachments or ())
    with transaction.atomic():
        t = _locked_topic(actor, topic, "consultations.research", RESEARCH_STATES)
        validate_uploads(files, research_upload_rules(t), field="attachments")
        item = ResearchRecord.objects.create(topic=t, kind=kind, title=title, text=text, author=actor,
                                             state=ReviewState.SUBMITTED)
        stored = [
            ResearchAttachment.objects.create(research=item, file=f, name=upload_name(f), size=f.size or 0,
                                              content_type=f.content_type or "application/octet-stream", uploaded_by=actor)
            for f in files
        ]
        record(actor=actor, code="consultations.research.submitted", subject=t,
               after={"research": item.pk, "kind": kind, "title": title,
                      "attachments": [{"id": a.pk, "name": a.name, "size": a.size} for a in stored]})
        notify(recipients=party_approvers_of(t.room), kind="consultations.research_submitted",
               title=f"调研记录待审核：{t.title}", body=title, url=topic_url(t))
    return item


def _review_research(actor: Any, topic: Topic | int, research_id: int, state: str, reason: str) -> ResearchRecord:
    with transaction.atomic():
        t = _locked_topic(actor, topic, "consultations.review_research", RESEARCH_STATES | {S.MEETING})
        item = t.research.select_for_update().filter(pk=research_id).first()
        if item is None:
            raise _bad("research", "调研记录不存在", "No such research record", "unknown_research")
        if item.author_id == getattr(actor, "pk", None):
            raise PermissionDenied("不能审核自己提交的调研记录", "You cannot review your own research", code="own_research")
        if item.state != ReviewState.SUBMITTED:
            raise Conflict("该调研记录已审核", "Already reviewed", code="already_reviewed", extra={"state": item.state})
        item.state, item.reviewed_by, item.reviewed_at = state, actor, timezone.now()
        item.save(update_fields=["state", "reviewed_by", "reviewed_at"])
        verb = "approved" if state == ReviewState.APPROVED else "rejected"
        record(actor=actor, code=f"consultations.research.{verb}", subject=t,
               after={"research": item.pk, "state": state}, reason=reason)
        if item.author_id:
            notify(recipients=[item.author], kind=f"consultations.research_{verb}",
                   title=f"调研记录{'已通过' if verb == 'approved' else '被退回'}：{item.title}", body=reason, url=topic_url(t))
    return item


def research_approve(*, actor: Any, topic: Topic | int, research_id: int, note: str = "") -> ResearchRecord:
    """The party organisation, or area staff above the room's level, approves a research record."""
    return _review_research(actor, topic, research_id, ReviewState.APPROVED, _text(note, "note", 2000, required=False))


def research_reject(*, actor: Any, topic: Topic | int, research_id: int, reason: str) -> ResearchRecord:
    """Send a research record back with the reason (it does not count towards the gate)."""
    return _review_research(actor, topic, research_id, ReviewState.REJECTED, _text(reason, "reason", 2000, label="理由"))


# --- step 5: the meeting (the room itself is yishi.consultations.meetings) -------------------------------------


def topic_call_meeting(*, actor: Any, topic: Topic | int, mode: str | None = None, starts_at: Any = None,
                       agenda: str = "", location: str = "") -> Topic:
    """召集协商会议: refused (``no_approved_research``) until the policy's number of research records is approved.

    With the meeting's details (``mode``…) the meeting is scheduled through ``meetings.meeting_schedule``, which
    moves the topic in the same transaction (notice, attendance list, the online room). Without them the topic
    just moves to 协商会议: a meeting held outside Yishi, whose outcome the organisers record afterwards with
    ``topic_record_outcome``."""
    if mode is not None:
        from .meetings import meeting_schedule

        meeting_schedule(actor=actor, topic=topic, mode=mode, starts_at=starts_at, agenda=agenda, location=location)
        return Topic.objects.get(pk=_pk(topic))

    def apply(t: Topic) -> list[str]:
        notify(recipients=_participant_users(t) + list(User.objects.filter(room_memberships__room=t.room).distinct()),
               kind="consultations.meeting_called", title=f"协商会议即将召开：{t.title}", url=topic_url(t))
        return []

    return run_transition(topic_workflow, topic, "call_meeting", actor=actor, apply=apply)


def topic_record_outcome(*, actor: Any, topic: Topic | int, decided: bool, reason: str = "",
                         authorized: bool = False) -> Topic:
    """After the meeting: 形成协商意见 (``decided``) or 议而未决 with the reason. The meeting services call this when
    the chair closes a meeting, with ``authorized=True`` once they checked the chair themselves."""
    name = "record_decision" if decided else "record_no_decision"

    def apply(t: Topic) -> list[str]:
        notify(recipients=organisers_of(t.room) + _participant_users(t), kind=f"consultations.{name}",
               title=f"{'已形成协商意见' if decided else '议而未决'}：{t.title}", body=reason, url=topic_url(t))
        return []

    return run_transition(topic_workflow, topic, name, actor=actor, reason=reason, apply=apply, authorized=authorized)


# --- step 6: results ---------------------------------------------------------------------------------------------


def _next_number(topic: Topic) -> int:
    return (topic.opinion_items.aggregate(n=Max("number"))["n"] or 0) + 1


def opinion_add(*, actor: Any, topic: Topic | int, text: str, rationale: str, motion_id: int | None = None) -> OpinionItem:
    """协商意见建议清单: one item with its rationale (written, or from a motion the meeting passed)."""
    text = _text(text, "text", 5000, label="意见建议")
    rationale = _text(rationale, "rationale", 5000, label="理由")
    with transaction.atomic():
        t = _locked_topic(actor, topic, "consultations.manage", OPINION_STATES)
        motion = None
        if motion_id:
            motion = Motion.objects.filter(pk=motion_id, meeting__topic=t).first()
            if motion is None:
                raise _bad("motion", "动议不存在", "No such motion of this topic", "unknown_motion")
        item = OpinionItem.objects.create(topic=t, number=_next_number(t), text=text, rationale=rationale, motion=motion)
        record(actor=actor, code="consultations.opinion.added", subject=t,
               after={"opinion": item.pk, "number": item.number, "motion": motion_id})
    return item


def opinions_from_motions(*, actor: Any, topic: Topic | int) -> list[OpinionItem]:
    """Turn every motion the meetings passed (or agreed by consensus) into an opinion item, once each."""
    created = []
    with transaction.atomic():
        t = _locked_topic(actor, topic, "consultations.manage", OPINION_STATES)
        taken = set(t.opinion_items.exclude(motion=None).values_list("motion_id", flat=True))
        motions = Motion.objects.filter(
            meeting__topic=t, outcome__in=[MotionOutcome.PASSED, MotionOutcome.CONSENSUS]
        ).exclude(pk__in=taken).order_by("meeting__starts_at", "number")
        number = _next_number(t)
        for motion in motions:
            if motion.outcome == MotionOutcome.PASSED:
                rationale = f"协商会议表决通过（赞成 {motion.yes}，反对 {motion.no}，弃权 {motion.abstain}）"
            else:
                rationale = motion.consensus_note or "协商会议达成共识"
            text = motion.title + (f"：{motion.text}" if motion.text else "")
            created.append(OpinionItem.objects.create(topic=t, number=number, text=text[:5000], rationale=rationale, motion=motion))
            number += 1
        if not created:
            raise Conflict("没有尚未列入清单的通过动议", "No passed motion left to list", code="no_passed_motions")
        record(actor=actor, code="consultations.opinion.from_motions", subject=t,
               after={"opinions": [i.pk for i in created]})
    return created


def opinion_remove(*, actor: Any, topic: Topic | int, opinion_id: int) -> None:
    with transaction.atomic():
        t = _locked_topic(actor, topic, "consultations.manage", OPINION_STATES)
        deleted, _ = t.opinion_items.filter(pk=opinion_id).delete()
        if not deleted:
            raise _bad("opinion", "意见建议不存在", "No such opinion item", "unknown_opinion")
        record(actor=actor, code="consultations.opinion.removed", subject=t, after={"opinion": opinion_id})


def topic_submit_results(*, actor: Any, topic: Topic | int, sent_to_id: int | None, note: str = "") -> Topic:
    """报送成果: the opinion list goes to the party committee / government of the room's level or one above it."""
    def apply(t: Topic) -> list[str]:
        unit = OrgUnit.objects.filter(pk=sent_to_id, is_active=True).first() if sent_to_id else None
        if unit is None or unit.pk not in (t.room.org_unit.ancestor_ids or [t.room.org_unit_id]):
            raise _bad("results_sent_to", "成果须报送本级或上级党委政府", "Send the results to the room's level or a higher one",
                       "not_same_or_higher_level")
        t.results_sent_to = unit
        t.results_sent_at = timezone.now()
        receivers = list(User.objects.filter(roles__org_unit=unit, roles__is_active=True, is_active=True,
                                             roles__role__in=(*ORGANISER_ROLES, "party_approver")).distinct())
        notify(recipients=receivers, kind="consultations.results_submitted", title=f"协商成果报送：{t.title}",
               body=note, url=topic_url(t))
        return ["results_sent_to", "results_sent_at"]

    return run_transition(topic_workflow, topic, "submit_results", actor=actor, reason=note, apply=apply)


# --- step 7: implementation ---------------------------------------------------------------------------------------


def _unit_for(room: Room, handling_unit_id: int | None) -> HandlingUnit | None:
    if not handling_unit_id:
        return None
    unit = HandlingUnit.objects.select_related("org_unit").filter(pk=handling_unit_id, is_active=True).first()
    near = unit is not None and (
        room.org_unit.path.startswith(unit.org_unit.path) or unit.org_unit.path.startswith(room.org_unit.path)
    )
    if not near:
        raise _bad("handling_unit", "承办单位不存在或不在本区域", "Unknown handling unit for this area", "unknown_unit")
    return unit


def task_category() -> Any:
    """The appeals category 协商落实 of consultation tasks, created the first time it is needed."""
    from yishi.appeals.catalogue import category_create
    from yishi.appeals.models import Category

    found = Category.objects.filter(code=TASK_CATEGORY_CODE).first()
    if found is not None:
        return found
    return category_create(actor=None, code=TASK_CATEGORY_CODE, name=TASK_CATEGORY_NAME,
                           keywords="协商 议事 责任清单 落实")


def _dispatch_task(actor: Any, topic: Topic, item: ResponsibilityItem) -> Any:
    """Enter the item as an appeal on the organiser's behalf and dispatch it to the item's unit, due after the
    item's working days. Idempotent by the item (a retried call finds the appeal it made)."""
    from yishi.appeals import services as appeals
    from yishi.appeals.choices import Channel, Nature

    room = topic.room
    title_max = int(policy_value("appeals.title_max_length", room.org_unit))
    text_max = int(policy_value("appeals.text_max_length", room.org_unit))
    opinion = item.opinion_item
    text = (f"{item.task}\n\n来源：{room.name}协商议题“{topic.title}”，协商意见第 {opinion.number} 条：{opinion.text}"
            f"\n时限：{item.working_days} 个工作日。")
    data = appeals.AppealInput(
        nature=Nature.SUGGEST, category_id=task_category().pk, title=f"协商落实：{item.task}"[:title_max],
        text=text[:text_max], org_unit_id=room.org_unit_id, consent_contact=False, contact_name=str(actor)[:50],
    )
    appeal = appeals.appeal_submit(actor=actor, data=data, channel=Channel.CONSULTATION, on_behalf=True,
                                   idempotency_key=f"consultation-task-{item.pk}")
    if appeal.state == "received":
        limit = workdays.Limit(item.working_days, workdays.LimitUnit.WORKING_DAYS)
        appeal = appeals.appeal_dispatch(actor=actor, appeal=appeal, lead_unit_id=item.handling_unit_id, limit=limit,
                                         note=f"协商责任清单：{topic.title}"[:300])
    item.appeal = appeal
    item.save(update_fields=["appeal"])
    record(actor=actor, code="consultations.responsibility.dispatched", subject=topic,
           after={"responsibility": item.pk, "appeal": appeal.pk, "tracking_code": appeal.tracking_code,
                  "handling_unit": item.handling_unit_id, "due_at": appeal.due_at})
    return appeal


def responsibility_add(*, actor: Any, topic: Topic | int, opinion_item_id: int, task: str,
                       handling_unit_id: int | None = None, working_days: int | None = None) -> ResponsibilityItem:
    """工作责任清单: a task turned from an opinion item, with its handling unit and working days (the profile's
    default when not given). During implementation a task with a unit is dispatched at once."""
    task = _text(task, "task", 2000, label="任务")
    with transaction.atomic():
        t = _locked_topic(actor, topic, "consultations.manage", RESPONSIBILITY_STATES)
        opinion = t.opinion_items.filter(pk=opinion_item_id).first()
        if opinion is None:
            raise _bad("opinion_item", "意见建议不存在", "No such opinion item", "unknown_opinion")
        unit = _unit_for(t.room, handling_unit_id)
        if working_days is None:
            working_days = int(policy_value("consultations.task_default_working_days", t.room.org_unit))
        days = _int_in(working_days, "working_days", 1, MAX_WORKING_DAYS)
        item = ResponsibilityItem.objects.create(topic=t, opinion_item=opinion, task=task, handling_unit=unit,
                                                 working_days=days, created_by=actor)
        record(actor=actor, code="consultations.responsibility.added", subject=t,
               after={"responsibility": item.pk, "opinion": opinion.pk, "handling_unit": unit.pk if unit else None,
                      "working_days": days})
        if t.state == S.IMPLEMENTING and unit is not None:
            _dispatch_task(actor, t, item)
    return item


def responsibility_set_unit(*, actor: Any, topic: Topic | int, responsibility_id: int, handling_unit_id: int) -> ResponsibilityItem:
    """Name the responsible unit of a task that has none (决而不行 until it has); dispatched at once during
    implementation. A task already dispatched changes units through the appeal (return and re-dispatch)."""
    with transaction.atomic():
        t = _locked_topic(actor, topic, "consultations.manage", RESPONSIBILITY_STATES | {S.EVALUATING})
        item = t.responsibilities.select_for_update().filter(pk=responsibility_id).first()
        if item is None:
            raise _bad("responsibility", "责任事项不存在", "No such responsibility", "unknown_responsibility")
        if item.appeal_id:
            raise Conflict("任务已派单，请通过工单退单改派", "Already dispatched; re-dispatch through its appeal",
                           code="already_dispatched")
        unit = _unit_for(t.room, handling_unit_id)
        if unit is None:
            raise _bad("handling_unit", "请选择责任单位", "Choose the responsible unit", "required")
        before = item.handling_unit_id
        item.handling_unit = unit
        item.save(update_fields=["handling_unit"])
        record(actor=actor, code="consultations.responsibility.unit_set", subject=t,
               before={"handling_unit": before}, after={"responsibility": item.pk, "handling_unit": unit.pk})
        if t.state in (S.IMPLEMENTING, S.EVALUATING):
            _dispatch_task(actor, t, item)
    return item


def topic_start_implementation(*, actor: Any, topic: Topic | int) -> Topic:
    """转化落实: every task of the responsibility list (each with a unit, the gate checks) becomes a dispatched
    appeal with its deadline."""
    def apply(t: Topic) -> list[str]:
        for item in t.responsibilities.select_related("opinion_item").filter(appeal__isnull=True).order_by("pk"):
            _dispatch_task(actor, t, item)
        return []

    return run_transition(topic_workflow, topic, "start_implementation", actor=actor, apply=apply)


# --- step 8: evaluation -----------------------------------------------------------------------------------------


def effect_add(*, actor: Any, topic: Topic | int, text: str, evidence: str = "",
               responsibility_id: int | None = None) -> EffectItem:
    """落实效果清单: what changed, with evidence, per task when given."""
    text = _text(text, "text", 5000, label="落实效果")
    evidence = _text(evidence, "evidence", 5000, required=False)
    with transaction.atomic():
        t = _locked_topic(actor, topic, "consultations.manage", EFFECT_STATES)
        item = None
        if responsibility_id:
            item = t.responsibilities.filter(pk=responsibility_id).first()
            if item is None:
                raise _bad("responsibility", "责任事项不存在", "No such responsibility", "unknown_responsibility")
        effect = EffectItem.objects.create(topic=t, responsibility=item, text=text, evidence=evidence, author=actor)
        record(actor=actor, code="consultations.effect.added", subject=t,
               after={"effect": effect.pk, "responsibility": responsibility_id})
    return effect


def topic_start_evaluation(*, actor: Any, topic: Topic | int) -> Topic:
    """评估质效: with the effect list recorded, participants and affected residents are asked for their judgement."""
    def apply(t: Topic) -> list[str]:
        notify(recipients=_participant_users(t) + affected_residents(t), kind="consultations.evaluation_open",
               title=f"请评价协商成果落实情况：{t.title}", url=topic_url(t))
        return []

    return run_transition(topic_workflow, topic, "start_evaluation", actor=actor, apply=apply)


def satisfaction_respond(*, actor: Any, topic: Topic | int, score: int, comment: str = "") -> SatisfactionResponse:
    """A participant's or an affected resident's satisfaction (1–5), once each."""
    score = _int_in(score, "score", 1, 5)
    comment = _text(comment, "comment", 1000, required=False)
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    with transaction.atomic():
        t = _locked_topic(actor, topic, "consultations.respond", EVALUATION_STATES)
        if t.satisfaction.filter(user=actor).exists():
            raise Conflict("您已评价过", "You already responded", code="already_responded")
        response = SatisfactionResponse.objects.create(
            topic=t, user=actor, is_participant=t.participants.filter(user=actor).exists(), score=score, comment=comment,
        )
        record(actor=actor, code="consultations.satisfaction.responded", subject=t,
               after={"response": response.pk, "score": score, "participant": response.is_participant})
    return response


def evaluation_add(*, actor: Any, topic: Topic | int, organisation: str, score: int, report: str) -> ThirdPartyEvaluation:
    """第三方评估 (optional): an evaluator of the area scores the result (0–100) with a report, once each."""
    organisation = _text(organisation, "organisation", 150, label="评估机构")
    report = _text(report, "report", 10000, label="评估报告")
    score = _int_in(score, "score", 0, 100)
    with transaction.atomic():
        t = _locked_topic(actor, topic, "consultations.evaluate", EVALUATION_STATES)
        if t.evaluations.filter(evaluator=actor).exists():
            raise Conflict("您已提交过评估", "You already evaluated this topic", code="already_evaluated")
        evaluation = ThirdPartyEvaluation.objects.create(topic=t, evaluator=actor, organisation=organisation,
                                                         score=score, report=report)
        record(actor=actor, code="consultations.evaluation.added", subject=t,
               after={"evaluation": evaluation.pk, "score": score, "organisation": organisation})
    return evaluation


def _notify_outcome(topic: Topic) -> None:
    """The residents whose appeals the topic took up hear how it ended (in-app; SMS for those who left a phone)."""
    from yishi.appeals.models import Appeal
    from yishi.notifications.sms import send_sms

    body = f"您反映的问题已经{topic.room.name}协商议事并落实，结果评价：{topic.final_rating}/5。"
    notify(recipients=affected_residents(topic), kind="consultations.outcome", title=f"协商结果：{topic.title}",
           body=body, url=topic_url(topic))
    phones = set(
        Appeal.objects.filter(consultation_topics=topic, submitter__isnull=True, consent_contact=True)
        .exclude(contact_phone="").values_list("contact_phone", flat=True)
    )
    for phone in sorted(phones):
        text = f"【议事】您反映的“{topic.title[:20]}”已经协商议事落实办结。"
        transaction.on_commit(partial(send_sms, phone, text))


def topic_close(*, actor: Any, topic: Topic | int, final_rating: int, note: str = "") -> Topic:
    """闭环 with the final rating (1–5); the linked appeals' residents are told the outcome."""
    rating = _int_in(final_rating, "final_rating", 1, 5)

    def apply(t: Topic) -> list[str]:
        t.final_rating = rating
        t.closed_at = timezone.now()
        _notify_outcome(t)
        return ["final_rating", "closed_at"]

    return run_transition(topic_workflow, topic, "close", actor=actor, reason=note, apply=apply)


# --- escalation up the three-level platform ----------------------------------------------------------------------


@dataclass
class _Escalated:
    topic: Topic | None = None


def topic_escalate(*, actor: Any, topic: Topic | int, reason: str) -> Topic:
    """上报: a matter this level cannot settle goes to the parent room (委员之家 → 议事室 → 议事厅) as a new topic
    with everything attached: participants, research (with its reviews), linked appeals, supporters and written
    opinions. The new topic waits for the party organisation of that level; this one ends as 已上报. Returns the
    new topic."""
    made = _Escalated()
    extra: dict[str, Any] = {}

    def apply(t: Topic) -> list[str]:
        room = Room.objects.select_related("org_unit").get(pk=t.room_id)
        parent = (
            Room.objects.select_related("org_unit").filter(pk=room.parent_id, is_active=True).first()
            if room.parent_id is not None else None
        )
        if parent is None:
            raise Conflict("本议事室没有上级平台", "This room has no parent room", code="no_parent_room")
        own_item = t.catalogue_item
        item = own_item if (own_item is not None and parent.org_unit.path.startswith(own_item.org_unit.path)) else None
        new = Topic.objects.create(
            room=parent, title=t.title, source=TopicSource.ESCALATED, proposer=actor, proposer_name=room.name[:50],
            catalogue_item=item, escalated_from=t,
            description=f"{t.description}\n\n【{room.name}上报】{reason}"[:5000],
        )
        for p in t.participants.all():
            Participant.objects.create(topic=new, kind=p.kind, user=p.user, name=p.name, talent=p.talent,
                                       handling_unit=p.handling_unit, enterprise=p.enterprise, can_vote=p.can_vote)
        for r in t.research.prefetch_related("attachments"):
            copy = ResearchRecord.objects.create(topic=new, kind=r.kind, title=r.title, text=r.text, author=r.author,
                                                 state=r.state, reviewed_by=r.reviewed_by, reviewed_at=r.reviewed_at)
            # The copies share the stored files (Yishi never removes a stored file, so neither row outlives it).
            ResearchAttachment.objects.bulk_create([
                ResearchAttachment(research=copy, file=a.file.name, name=a.name, content_type=a.content_type,
                                   size=a.size, uploaded_by_id=a.uploaded_by_id)
                for a in r.attachments.all()
            ])
        new.appeals.set(t.appeals.all())
        TopicSupport.objects.bulk_create([TopicSupport(topic=new, user_id=uid) for uid in t.supports.values_list("user_id", flat=True)])
        for w in t.written_opinions.all():
            WrittenOpinion.objects.create(topic=new, author=w.author, text=w.text)
        record(actor=actor, code="consultations.topic.proposed", subject=new,
               after={"state": new.state, "source": TopicSource.ESCALATED, "room": parent.pk, "escalated_from": t.pk},
               reason=reason)
        notify(recipients=party_approvers_of(parent) + organisers_of(parent), kind="consultations.topic_escalated",
               title=f"下级上报议题：{new.title}", body=f"{room.name}：{reason}", url=topic_url(new))
        made.topic = new
        extra["escalated_to"] = new.pk
        return []

    run_transition(topic_workflow, topic, "escalate", actor=actor, reason=reason, apply=apply, audit_extra=extra)
    assert made.topic is not None
    return made.topic

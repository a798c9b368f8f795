"""Input and output schemas of the consultations API (有事好商量).

Inputs name related objects by id under the field name the services use in their errors (``room``, ``user``,
``talent``, ``handling_unit``, ``opinion_item``, ``results_sent_to``…), so an error's ``field`` is the JSON key to
fix. Content rules (required text, lengths, ranges, scope) are the services'; type errors are answered 422 here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.urls import reverse
from ninja import Field, Schema

from yishi.core.schemas import ActionOut, Id, Text, actions_out

from .choices import ParticipantKind, ResearchKind, RoomLevel, RoomMemberRole, TopicSource, TopicState
from .models import Room, Topic

# --- platform ------------------------------------------------------------------------------------------------------


class RoomIn(Schema):
    name: Text = Field(..., max_length=150)
    level: RoomLevel
    org_unit: Id
    parent: Id | None = None
    station: Id | None = None
    sector: Id | None = None
    enterprise: Id | None = None
    description: Text = Field("", max_length=2000)


class RoomMemberIn(Schema):
    user: Id
    role: RoomMemberRole = RoomMemberRole.MEMBER


class RoomMemberOut(Schema):
    user_id: int
    name: str
    role: str
    role_label: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj.user)

    @staticmethod
    def resolve_role_label(obj: Any) -> str:
        return str(obj.get_role_display())


class RoomOut(Schema):
    id: int
    name: str
    level: str
    level_label: str
    org_unit_id: int
    org_unit_name: str = Field(..., alias="org_unit.name")
    parent_id: int | None
    station_id: int | None
    sector_id: int | None
    enterprise_id: int | None
    description: str
    chair_id: int | None
    chair_name: str | None

    @staticmethod
    def resolve_level_label(obj: Room) -> str:
        return str(obj.get_level_display())

    @staticmethod
    def _chair(obj: Room) -> Any:
        chairs = getattr(obj, "chairs", None)
        if chairs is None:
            chairs = list(obj.members.filter(role="chair").select_related("user"))
        return chairs[0] if chairs else None

    @staticmethod
    def resolve_chair_id(obj: Room) -> int | None:
        chair = RoomOut._chair(obj)
        return chair.user_id if chair else None

    @staticmethod
    def resolve_chair_name(obj: Room) -> str | None:
        chair = RoomOut._chair(obj)
        return str(chair.user) if chair else None


class RoomDetailOut(RoomOut):
    members: list[RoomMemberOut]

    @staticmethod
    def resolve_members(obj: Room) -> Any:
        from .selectors import room_members

        return room_members(obj)


class RoomFilterIn(Schema):
    level: RoomLevel | None = None
    org_unit_id: Id | None = None


class CatalogueItemIn(Schema):
    org_unit: Id
    title: Text = Field(..., max_length=150)
    description: Text = Field("", max_length=2000)
    mandatory: bool = True


class CatalogueItemOut(Schema):
    id: int
    org_unit_id: int
    org_unit_name: str = Field(..., alias="org_unit.name")
    title: str
    description: str
    mandatory: bool


class CatalogueFilterIn(Schema):
    org_unit_id: Id | None = None


class TalentIn(Schema):
    name: Text = Field(..., max_length=50)
    expertise: Text = Field(..., max_length=300)
    org_unit: Id
    kind: ParticipantKind = ParticipantKind.EXPERT
    organisation: Text = Field("", max_length=150)
    phone: Text = Field("", max_length=20)
    user: Id | None = None


class TalentOut(Schema):
    id: int
    name: str
    kind: str
    expertise: str
    organisation: str
    org_unit_id: int
    user_id: int | None
    phone: str


class TalentFilterIn(Schema):
    q: Text | None = Field(None, max_length=100, description="按专长、姓名、单位搜索")
    kind: ParticipantKind | None = None


# --- topics ---------------------------------------------------------------------------------------------------------


class ProposeIn(Schema):
    """党政点题 (party, area staff), 群众出题 (residents, signed), 委员荐题 (members of the room)."""

    room: Id
    source: Literal["party", "residents", "members"]
    title: Text = Field(..., max_length=150)
    description: Text = Field(..., max_length=5000)
    proposer_name: Text = Field("", max_length=50, description="群众出题须署名（默认为本人显示名称）")
    catalogue_item: Id | None = None


class FromAppealsIn(Schema):
    room: Id
    appeals: list[Id] = Field(..., min_length=1, max_length=200)
    title: Text = Field(..., max_length=150)
    description: Text = Field("", max_length=5000)


class TopicFilterIn(Schema):
    state: TopicState | None = None
    room_id: Id | None = None
    level: RoomLevel | None = None
    source: TopicSource | None = None
    failure: Literal["no_decision", "not_done", "regressed"] | None = Field(
        None, description="议而不决 no_decision · 决而不行 not_done · 行而不久 regressed"
    )
    q: Text | None = Field(None, max_length=100)


class FailureFlagsOut(Schema):
    no_decision: bool
    not_done: bool
    regressed: bool


class TopicListOut(Schema):
    id: int
    title: str
    source: str
    source_label: str
    state: str
    state_label: str
    room_id: int
    room_name: str = Field(..., alias="room.name")
    room_level: str = Field(..., alias="room.level")
    proposer_name: str
    created_at: datetime
    supporter_count: int
    failures: FailureFlagsOut

    @staticmethod
    def resolve_source_label(obj: Topic) -> str:
        return str(obj.get_source_display())

    @staticmethod
    def resolve_state_label(obj: Topic) -> str:
        return str(obj.get_state_display())

    @staticmethod
    def resolve_supporter_count(obj: Topic) -> int:
        count = getattr(obj, "supporter_count", None)
        return count if count is not None else obj.supports.count()

    @staticmethod
    def resolve_failures(obj: Topic) -> dict[str, bool]:
        if not hasattr(obj, "no_decision"):
            from .selectors import annotate_failures

            obj = annotate_failures(Topic.objects.filter(pk=obj.pk)).get()
        # annotate_failures adds the three flags as annotations, which the model class does not declare.
        return {name: getattr(obj, name) for name in ("no_decision", "not_done", "regressed")}


class LinkedAppealOut(Schema):
    id: int
    tracking_code: str
    title: str
    state: str
    category_id: int


class ParticipantOut(Schema):
    id: int
    kind: str
    kind_label: str
    name: str
    user_id: int | None
    talent_id: int | None
    handling_unit_id: int | None
    enterprise_id: int | None
    can_vote: bool
    invited_at: datetime

    @staticmethod
    def resolve_kind_label(obj: Any) -> str:
        return str(obj.get_kind_display())


class KindCountOut(Schema):
    kind: str
    label: str
    count: int
    required: bool


class RepresentativenessOut(Schema):
    present: list[KindCountOut]
    missing: list[KindCountOut]
    complete: bool


class ResearchAttachmentOut(Schema):
    """A research attachment; ``url`` downloads it (``GET``, read scope, only for those who may see the topic)."""

    id: int
    name: str
    content_type: str
    size: int
    created_at: datetime
    url: str

    @staticmethod
    def resolve_url(obj: Any) -> str:
        return reverse("api:consultations_research_attachment", args=[obj.research.topic_id, obj.research_id, obj.pk])


class ResearchOut(Schema):
    id: int
    kind: str
    title: str
    text: str
    author_id: int | None
    state: str
    reviewed_by_id: int | None
    reviewed_at: datetime | None
    created_at: datetime
    attachments: list[ResearchAttachmentOut]

    @staticmethod
    def resolve_attachments(obj: Any) -> Any:
        return obj.attachments.all()


class MeetingOut(Schema):
    id: int
    mode: str
    state: str
    starts_at: datetime
    location: str
    closed_at: datetime | None
    url: str

    @staticmethod
    def resolve_url(obj: Any) -> str:
        from .templatetags.consultations_tags import meeting_href

        return meeting_href(obj.pk)


class OpinionOut(Schema):
    id: int
    number: int
    text: str
    rationale: str
    motion_id: int | None


class TaskAppealOut(Schema):
    id: int
    tracking_code: str
    state: str
    due_at: datetime | None
    accepted_at: datetime | None
    replied_at: datetime | None


class ResponsibilityOut(Schema):
    id: int
    opinion_item_id: int
    task: str
    handling_unit_id: int | None
    handling_unit_name: str | None
    working_days: int
    appeal: TaskAppealOut | None
    created_at: datetime

    @staticmethod
    def resolve_handling_unit_name(obj: Any) -> str | None:
        return obj.handling_unit.name if obj.handling_unit_id else None


class EffectOut(Schema):
    id: int
    responsibility_id: int | None
    text: str
    evidence: str
    author_id: int | None
    created_at: datetime


class SatisfactionOut(Schema):
    id: int
    user_id: int
    is_participant: bool
    score: int
    comment: str
    created_at: datetime


class EvaluationOut(Schema):
    id: int
    evaluator_id: int | None
    organisation: str
    score: int
    report: str
    created_at: datetime


class TopicDetailOut(TopicListOut):
    description: str
    proposer_id: int | None
    catalogue_item_id: int | None
    escalated_from_id: int | None
    escalated_to_ids: list[int]
    approved_at: datetime | None
    decline_reason: str
    results_sent_to_id: int | None
    results_sent_at: datetime | None
    final_rating: int | None
    closed_at: datetime | None
    appeals: list[LinkedAppealOut]
    participants: list[ParticipantOut]
    representativeness: RepresentativenessOut
    research: list[ResearchOut]
    meetings: list[MeetingOut]
    opinion_items: list[OpinionOut]
    responsibilities: list[ResponsibilityOut]
    effects: list[EffectOut]
    satisfaction: list[SatisfactionOut]
    evaluations: list[EvaluationOut]
    actions: list[ActionOut]

    @staticmethod
    def resolve_escalated_to_ids(obj: Topic) -> list[int]:
        return list(obj.escalations.order_by("pk").values_list("pk", flat=True))

    @staticmethod
    def resolve_appeals(obj: Topic) -> Any:
        return obj.appeals.order_by("received_at", "pk")

    @staticmethod
    def resolve_participants(obj: Topic) -> Any:
        return obj.participants.order_by("pk")

    @staticmethod
    def resolve_representativeness(obj: Topic) -> dict[str, Any]:
        from .selectors import representativeness

        panel = representativeness(obj)
        return {"present": panel.present, "missing": panel.missing, "complete": panel.complete}

    @staticmethod
    def resolve_research(obj: Topic) -> Any:
        return obj.research.prefetch_related("attachments").order_by("created_at", "pk")

    @staticmethod
    def resolve_meetings(obj: Topic) -> Any:
        return obj.meetings.order_by("starts_at", "pk")

    @staticmethod
    def resolve_opinion_items(obj: Topic) -> Any:
        return obj.opinion_items.order_by("number")

    @staticmethod
    def resolve_responsibilities(obj: Topic) -> Any:
        return obj.responsibilities.select_related("handling_unit", "appeal").order_by("pk")

    @staticmethod
    def resolve_effects(obj: Topic) -> Any:
        return obj.effects.order_by("created_at", "pk")

    @staticmethod
    def resolve_satisfaction(obj: Topic) -> Any:
        return obj.satisfaction.order_by("created_at", "pk")

    @staticmethod
    def resolve_evaluations(obj: Topic) -> Any:
        return obj.evaluations.order_by("created_at", "pk")

    @staticmethod
    def resolve_actions(obj: Topic, context: Any) -> list[dict[str, Any]]:
        from .workflow import topic_workflow

        return actions_out(topic_workflow, context["request"].user, obj)


class SupportOut(Schema):
    supporters: int


# --- action inputs ---------------------------------------------------------------------------------------------------


class NoteIn(Schema):
    note: Text = Field("", max_length=2000)


class ReasonIn(Schema):
    reason: Text = Field(..., max_length=2000)


class OptionalReasonIn(Schema):
    reason: Text = Field("", max_length=2000)


class CallMeetingIn(Schema):
    """Without ``mode`` the topic just moves to 协商会议 (a meeting held outside Yishi); with it the meeting is
    scheduled in the online room (notice, attendance list) as ``POST /meetings`` does."""

    mode: Literal["in_person", "online", "hybrid"] | None = None
    starts_at: datetime | None = None
    agenda: Text = Field("", max_length=5000)
    location: Text = Field("", max_length=200)


class SubmitResultsIn(Schema):
    results_sent_to: Id = Field(..., description="本级或上级党委政府所在组织单元 id")
    note: Text = Field("", max_length=2000)


class CloseIn(Schema):
    final_rating: int = Field(..., description="综合评价 1–5")
    note: Text = Field("", max_length=2000)


class ParticipantIn(Schema):
    kind: ParticipantKind
    user: Id | None = None
    talent: Id | None = None
    handling_unit: Id | None = None
    enterprise: Id | None = None
    name: Text = Field("", max_length=100)
    can_vote: bool = True


class ResearchIn(Schema):
    kind: ResearchKind
    title: Text = Field(..., max_length=150)
    text: Text = Field(..., max_length=10000)


class OpinionIn(Schema):
    text: Text = Field(..., max_length=5000)
    rationale: Text = Field(..., max_length=5000)
    motion: Id | None = None


class ResponsibilityIn(Schema):
    opinion_item: Id
    task: Text = Field(..., max_length=2000)
    handling_unit: Id | None = None
    working_days: int | None = Field(None, description="办理时限（工作日），默认取政策配置")


class UnitIn(Schema):
    handling_unit: Id


class EffectIn(Schema):
    text: Text = Field(..., max_length=5000)
    evidence: Text = Field("", max_length=5000)
    responsibility: Id | None = None


class SatisfactionIn(Schema):
    score: int = Field(..., description="满意度 1–5")
    comment: Text = Field("", max_length=1000)


class EvaluationIn(Schema):
    organisation: Text = Field(..., max_length=150)
    score: int = Field(..., description="评分 0–100")
    report: Text = Field(..., max_length=10000)


# --- failure counts --------------------------------------------------------------------------------------------------


class FailureRowOut(Schema):
    key: str
    label: str
    level: str
    topics: int
    no_decision: int
    not_done: int
    regressed: int
    room_id: int | None = None

    @staticmethod
    def resolve_key(obj: Any) -> str:
        return str(obj.key)


class FailureCountsOut(Schema):
    rooms: list[FailureRowOut]
    levels: list[FailureRowOut]
    total: FailureRowOut

"""Reads of consultations, always narrowed to what the user may see, and the three failure modes made visible.

Seed 003 warns of 议而不决、决而不行、行而不久 (talked but not decided, decided but not done, done but not lasting).
Each is a condition on a topic, computed in the database (``annotate_failures``) so that lists can show badges
and supervisors can count them per room and level in one aggregate query (``failure_counts``):

* **议而不决** ``no_decision``: the topic is 议而未决 (NO_DECISION), or its meeting closed without a passed
  motion or a recorded consensus and no decision has been recorded yet;
* **决而不行** ``not_done``: after the results were submitted, a task of the responsibility list has no
  responsible unit, was not dispatched during implementation, was not accepted by its acceptance deadline, or is
  overdue (its appeal is still being handled after its deadline);
* **行而不久** ``regressed``: after closure, appeals of the same categories as the linked appeals, in the same places
  (the communities or grids of the linked appeals), keep coming: at least ``consultations.regression_threshold`` of
  them within ``consultations.regression_window_days`` (both from the policy profile in force in the room's area).
  A topic that took up no appeal has no category to watch and never counts as regressed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from yishi.audit.models import AuditEvent
from yishi.core.errors import NotFound
from yishi.core.permissions import get_rule, get_scoped_or_404, is_platform_admin, matching_grants, restrict

from .choices import MeetingState, MotionOutcome, ParticipantKind, ReviewState, RoomLevel, TopicState
from .models import (
    CatalogueItem,
    Meeting,
    Motion,
    ResearchAttachment,
    ResponsibilityItem,
    Room,
    RoomMember,
    Talent,
    Topic,
    TopicSupport,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

S = TopicState
AFTER_RESULTS = (S.SUBMITTED, S.IMPLEMENTING, S.EVALUATING)
DISPATCHING = (S.IMPLEMENTING, S.EVALUATING)
FAILURES = ("no_decision", "not_done", "regressed")


# --- rooms, catalogue, talents ------------------------------------------------------------------------------------


def room_list(*, level: str | None = None, org_unit_id: int | None = None) -> QuerySet[Room]:
    """The active rooms (the platform is public, like the stations), with their chair, optionally of one level or
    of one area's subtree."""
    chairs = RoomMember.objects.filter(role="chair").select_related("user")
    qs = (
        Room.objects.filter(is_active=True)
        .select_related("org_unit", "parent")
        .prefetch_related(Prefetch("members", queryset=chairs, to_attr="chairs"))
        .annotate(member_count=Count("members", distinct=True))
    )
    if level:
        qs = qs.filter(level=level)
    if org_unit_id:
        from yishi.orgs.models import OrgUnit

        unit = OrgUnit.objects.filter(pk=org_unit_id).first()
        qs = qs.filter(org_unit__path__startswith=unit.path) if unit else qs.none()
    return qs.order_by("org_unit__path", "name")


def room_get(*, pk: int) -> Room:
    room = Room.objects.select_related("org_unit", "parent", "station", "sector", "enterprise").filter(pk=pk, is_active=True).first()
    if room is None:
        raise NotFound()
    return room


def room_members(room: Room) -> list[RoomMember]:
    order = Case(When(role="chair", then=0), When(role="secretary", then=1), default=2)
    return list(room.members.select_related("user").annotate(o=order).order_by("o", "user__display_name", "pk"))


def catalogue_list(*, org_unit: Any = None) -> QuerySet[CatalogueItem]:
    """The catalogue items that apply to an area: its own and those of the areas above it (all when no area)."""
    qs = CatalogueItem.objects.select_related("org_unit")
    if org_unit is not None:
        qs = qs.filter(org_unit_id__in=org_unit.ancestor_ids or [org_unit.pk])
    return qs.order_by("org_unit__path", "-mandatory", "title")


def talent_search(*, user: Any, q: str = "", kind: str | None = None) -> QuerySet[Talent]:
    """协商议事人才库 for those who organise consultations: the talents of their areas and of the areas above them,
    searched by expertise (also name and organisation)."""
    grants = matching_grants(user, get_rule("consultations.manage_room"))
    qs = Talent.objects.filter(is_active=True).select_related("org_unit", "user")
    if not is_platform_admin(user):
        if not grants:
            return qs.none()
        near = Q()
        for g in grants:
            ids = [int(p) for p in g.path.strip("/").split("/") if p]
            near |= Q(org_unit__path__startswith=g.path) | Q(org_unit_id__in=ids)
        qs = qs.filter(near)
    term = (q or "").strip()
    if term:
        qs = qs.filter(Q(expertise__icontains=term) | Q(name__icontains=term) | Q(organisation__icontains=term))
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("name", "pk")


# --- failure modes -----------------------------------------------------------------------------------------------


class _Count(Subquery):
    """The number of rows of a subquery (portable: SQLite and PostgreSQL)."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _sub)"
    output_field = IntegerField()


def _per_area(value: Callable[[Any], Any], output_field: Any) -> Any:
    """An SQL expression giving each topic ``value(profile)`` for the policy profile in force in its room's area."""
    from yishi.orgs.models import OrgUnit
    from yishi.policy.services import default_profile

    default = default_profile()
    choosers = OrgUnit.objects.filter(policy_profile__isnull=False).select_related("policy_profile").order_by("-depth")
    whens = [When(room__org_unit__path__startswith=u.path, then=Value(value(u.policy_profile))) for u in choosers]
    if not whens:
        return Value(value(default), output_field=output_field)
    return Case(*whens, default=Value(value(default)), output_field=output_field)


def _policy_int(key: str) -> Callable[[Any], int]:
    from yishi.policy.services import policy_value

    return lambda profile: int(policy_value(key, profile=profile))


def bad_tasks(now: datetime) -> Q:
    """The responsibility items that make a topic 决而不行 (a condition on ResponsibilityItem rows)."""
    from yishi.appeals.choices import HANDLING_STATES, AppealState

    return (
        Q(handling_unit__isnull=True)
        | Q(appeal__isnull=True, topic__state__in=DISPATCHING)
        | Q(appeal__state__in=[AppealState.DISPATCHED, AppealState.RETURN_REQUESTED], appeal__accept_due_at__lt=now)
        | Q(appeal__state__in=HANDLING_STATES, appeal__due_at__lt=now)
    )


class FailureAnnotations(TypedDict):
    """What ``annotate_failures`` adds to each topic."""

    regress_until: datetime | None
    regress_threshold: int
    regress_count: int
    no_decision: bool
    not_done: bool
    regressed: bool


def annotate_failures(
    qs: QuerySet[Topic], now: datetime | None = None
) -> QuerySet[WithAnnotations[Topic, FailureAnnotations]]:
    """Add ``no_decision``, ``not_done`` and ``regressed`` (booleans) and ``regress_count`` to a topic queryset."""
    from yishi.appeals.models import Appeal

    now = now or timezone.now()
    passed = Motion.objects.filter(meeting__topic=OuterRef("pk"), outcome__in=[MotionOutcome.PASSED, MotionOutcome.CONSENSUS])
    closed = Meeting.objects.filter(topic=OuterRef("pk"), state=MeetingState.CLOSED)
    undecided = Q(state=S.NO_DECISION) | (Q(state=S.MEETING) & Q(Exists(closed)) & ~Q(Exists(passed)))
    bad = ResponsibilityItem.objects.filter(bad_tasks(now), topic=OuterRef("pk"))
    links = Topic.appeals.through.objects.filter(topic_id=OuterRef(OuterRef("pk")))
    # The places of the linked appeals: their units, and the community of those made on a grid.
    places = links.values("appeal__org_unit_id").union(
        links.filter(appeal__org_unit__level="grid").values("appeal__org_unit__parent_id")
    )
    new_appeals = Appeal.objects.filter(
        Q(org_unit_id__in=places) | Q(org_unit__parent_id__in=places),
        counted=True,
        category_id__in=links.values("appeal__category_id"),
        received_at__gt=OuterRef("closed_at"),
        received_at__lte=OuterRef("regress_until"),
    ).exclude(pk__in=links.values("appeal_id")).values("pk")
    window = _per_area(lambda p: timedelta(days=_policy_int("consultations.regression_window_days")(p)), DurationField())
    return qs.annotate(
        regress_until=ExpressionWrapper(F("closed_at") + window, output_field=DateTimeField()),
        regress_threshold=_per_area(_policy_int("consultations.regression_threshold"), IntegerField()),
        regress_count=Case(When(state=S.CLOSED, then=_Count(new_appeals)), default=Value(0), output_field=IntegerField()),
        no_decision=Case(When(undecided, then=Value(True)), default=Value(False), output_field=BooleanField()),
        not_done=Case(When(Q(state__in=AFTER_RESULTS) & Q(Exists(bad)), then=Value(True)), default=Value(False),
                      output_field=BooleanField()),
        regressed=Case(When(state=S.CLOSED, regress_count__gte=F("regress_threshold"), then=Value(True)),
                       default=Value(False), output_field=BooleanField()),
    )


@dataclass
class FailureRow:
    key: Any
    label: str
    level: str = ""
    level_label: str = ""
    topics: int = 0
    no_decision: int = 0
    not_done: int = 0
    regressed: int = 0
    room_id: int | None = None
    org_unit: str = ""

    @property
    def total(self) -> int:
        return self.no_decision + self.not_done + self.regressed


@dataclass
class FailureCounts:
    rooms: list[FailureRow] = field(default_factory=list)
    levels: list[FailureRow] = field(default_factory=list)

    @property
    def total(self) -> FailureRow:
        row = FailureRow(key="all", label="合计")
        for r in self.levels:
            row.topics += r.topics
            row.no_decision += r.no_decision
            row.not_done += r.not_done
            row.regressed += r.regressed
        return row


LEVEL_ORDER = [RoomLevel.DISTRICT, RoomLevel.STREET, RoomLevel.COMMUNITY, RoomLevel.SECTOR, RoomLevel.ENTERPRISE]


def failure_counts(user: Any, *, now: datetime | None = None) -> FailureCounts:
    """For supervisors: topics and each failure mode counted per room (one grouped aggregate query over the topics
    the user may supervise), then summed per level of the three-level platform."""
    def flag(name: str) -> Sum:
        return Sum(Case(When(**{name: True}, then=Value(1)), default=Value(0), output_field=IntegerField()))

    topics = annotate_failures(restrict(Topic.objects.all(), user, "consultations.supervise"), now)
    rows = (
        topics.order_by()
        .values("room_id", "room__name", "room__level", "room__org_unit__name", "room__org_unit__path")
        .annotate(n=Count("pk"), nd=flag("no_decision"), nt=flag("not_done"), rg=flag("regressed"))
        .order_by("room__org_unit__path", "room__name")
    )
    levels = dict(RoomLevel.choices)
    result = FailureCounts()
    by_level: dict[str, FailureRow] = {}
    for r in rows:
        level = r["room__level"]
        row = FailureRow(key=r["room_id"], label=r["room__name"], level=level, level_label=str(levels.get(level, level)),
                         topics=r["n"], no_decision=r["nd"] or 0, not_done=r["nt"] or 0, regressed=r["rg"] or 0,
                         room_id=r["room_id"], org_unit=r["room__org_unit__name"])
        result.rooms.append(row)
        total = by_level.setdefault(level, FailureRow(key=level, label=row.level_label, level=level, level_label=row.level_label))
        total.topics += row.topics
        total.no_decision += row.no_decision
        total.not_done += row.not_done
        total.regressed += row.regressed
    result.levels = [by_level[lv] for lv in LEVEL_ORDER if lv in by_level]
    return result


@dataclass
class TaskProblem:
    item: ResponsibilityItem
    reason: str


@dataclass
class TopicFailures:
    """The failure modes of one topic, with what causes them, for its page."""

    no_decision: bool = False
    no_decision_reason: str = ""
    not_done: list[TaskProblem] = field(default_factory=list)
    regressed: bool = False
    regress_count: int = 0
    regress_threshold: int = 0
    regress_window_days: int = 0

    @property
    def any(self) -> bool:
        return self.no_decision or bool(self.not_done) or self.regressed


def topic_failures(topic: Topic, *, now: datetime | None = None) -> TopicFailures:
    from yishi.appeals.choices import HANDLING_STATES, AppealState
    from yishi.policy.services import policy_value

    now = now or timezone.now()
    annotated: Mapping[str, Any] = annotate_failures(Topic.objects.filter(pk=topic.pk), now).values("no_decision", "regress_count", "regressed").first() or {}
    result = TopicFailures(no_decision=bool(annotated.get("no_decision")), regressed=bool(annotated.get("regressed")),
                           regress_count=int(annotated.get("regress_count") or 0))
    unit = topic.room.org_unit
    result.regress_threshold = int(policy_value("consultations.regression_threshold", unit))
    result.regress_window_days = int(policy_value("consultations.regression_window_days", unit))
    if result.no_decision:
        result.no_decision_reason = "议而未决" if topic.state == S.NO_DECISION else "会议结束但没有通过的动议或共识"
    if topic.state in AFTER_RESULTS:
        items = topic.responsibilities.filter(bad_tasks(now)).select_related("handling_unit", "appeal", "opinion_item")
        for item in items:
            if item.handling_unit_id is None:
                reason = "未明确责任单位"
            elif item.appeal is None:
                reason = "尚未派单"
            elif item.appeal.state in HANDLING_STATES and item.appeal.due_at and item.appeal.due_at < now:
                reason = "已超过办理时限"
            elif item.appeal.state in (AppealState.DISPATCHED, AppealState.RETURN_REQUESTED):
                reason = "超时未签收"
            else:
                reason = "未落实"
            result.not_done.append(TaskProblem(item, reason))
    return result


# --- topics -------------------------------------------------------------------------------------------------------


@dataclass
class TopicFilter:
    state: str | None = None
    room_id: int | None = None
    level: str | None = None
    source: str | None = None
    failure: str | None = None  # one of FAILURES
    q: str | None = None


def topic_list(*, user: Any, filters: TopicFilter | None = None, now: datetime | None = None) -> QuerySet[Topic]:
    """The topics the user may see, newest first, with the failure-mode flags and the number of supporters."""
    f = filters or TopicFilter()
    qs = restrict(Topic.objects.all(), user, "consultations.view").select_related("room", "room__org_unit")
    if f.state:
        qs = qs.filter(state=f.state)
    if f.room_id:
        qs = qs.filter(room_id=f.room_id)
    if f.level:
        qs = qs.filter(room__level=f.level)
    if f.source:
        qs = qs.filter(source=f.source)
    if f.q:
        term = f.q.strip()
        qs = qs.filter(Q(title__icontains=term) | Q(description__icontains=term))
    qs = annotate_failures(qs, now).annotate(
        supporter_count=_Count(TopicSupport.objects.filter(topic=OuterRef("pk")).values("pk"))
    )
    if f.failure in FAILURES:
        qs = qs.filter(**{f.failure: True})
    return qs.order_by("-created_at", "-id")


def topic_get(*, user: Any, pk: int) -> Topic:
    qs = Topic.objects.select_related(
        "room", "room__org_unit", "room__parent", "proposer", "catalogue_item", "escalated_from", "escalated_from__room",
        "approved_by", "results_sent_to",
    )
    return get_scoped_or_404(qs, user, "consultations.view", pk=pk)


def research_attachment_get(*, user: Any, topic_id: int, research_id: int, pk: int) -> ResearchAttachment:
    """An attachment of a research record of a topic the user may see; not found otherwise (or when the ids do not
    belong together), exactly like a missing one."""
    topic = topic_get(user=user, pk=topic_id)
    found = ResearchAttachment.objects.filter(pk=pk, research_id=research_id, research__topic=topic).first()
    if found is None:
        raise NotFound()
    return found


def topic_timeline(topic: Topic) -> QuerySet[AuditEvent]:
    """Every recorded step of the topic and of the records it left, in order: who did what, when."""
    return AuditEvent.objects.filter(subject_type="consultations.topic", subject_id=str(topic.pk)).order_by("seq")


def research_review_notes(topic: Topic) -> dict[int, str]:
    """The reason given when each research record was reviewed (kept in the audit trail)."""
    notes: dict[int, str] = {}
    for event in topic_timeline(topic).filter(code__in=["consultations.research.approved", "consultations.research.rejected"]):
        after = event.after if isinstance(event.after, dict) else {}
        if after.get("research") and event.reason:
            notes[int(after["research"])] = event.reason
    return notes


def approved_research_count(topic: Topic) -> int:
    return topic.research.filter(state=ReviewState.APPROVED).count()


# --- representativeness -------------------------------------------------------------------------------------------


@dataclass
class KindCount:
    kind: str
    label: str
    count: int = 0
    required: bool = False


@dataclass
class Representativeness:
    """Which kinds of party the participant list has and which the profile expects but are missing."""

    kinds: list[KindCount]

    @property
    def present(self) -> list[KindCount]:
        return [k for k in self.kinds if k.count]

    @property
    def missing(self) -> list[KindCount]:
        return [k for k in self.kinds if k.required and not k.count]

    @property
    def complete(self) -> bool:
        return not self.missing


def representativeness(topic: Topic) -> Representativeness:
    from yishi.policy.services import policy_value

    required = set(policy_value("consultations.required_participant_kinds", topic.room.org_unit, default=[]) or [])
    counts = dict(topic.participants.values_list("kind").annotate(n=Count("pk")).order_by())
    return Representativeness([
        KindCount(kind, str(label), int(counts.get(kind, 0)), kind in required) for kind, label in ParticipantKind.choices
    ])

"""Builders for meeting tests and the demo: a community room with its chair, a topic whose research is approved,
its participants (with and without a vote) and the people around it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from yishi.core.testing import Tree, make_user

from . import meetings
from .choices import ParticipantKind, ResearchKind, ReviewState, RoomLevel, TopicSource, TopicState
from .models import Meeting, Participant, ResearchRecord, Room, RoomMember, Topic

NAMES = ["李明", "王芳", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周强", "吴敏"]
# The meeting tests' clock: the notice goes out on a Monday morning for a Wednesday evening meeting (19点议事厅).
BJ = timezone.get_fixed_timezone(8 * 60)
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=BJ)
START = datetime(2026, 3, 4, 19, 0, tzinfo=BJ)
KINDS = [
    ParticipantKind.RESIDENT_REP, ParticipantKind.STAKEHOLDER, ParticipantKind.DEPUTY, ParticipantKind.PROPERTY_COMPANY,
    ParticipantKind.OWNERS_COMMITTEE, ParticipantKind.CPPCC_MEMBER, ParticipantKind.EXPERT, ParticipantKind.SOCIAL_ORG,
]


@dataclass
class MeetingWorld:
    tree: Tree
    room: Room
    topic: Topic
    staff: Any  # community staff of the room's area: calls meetings
    chair: Any  # the room's chair
    member: Any  # a room member who is not a participant
    voters: list[Any]  # users of the participants with a vote, in order
    participants: list[Participant]  # their Participant rows, same order
    observer: Participant  # a department attending without a vote
    observer_user: Any
    resident: Any  # a resident of the area, not a participant: follows and writes in
    outsider: Any  # a resident of another street: the meeting does not exist for them
    outsider_staff: Any  # staff of another street


def build_meeting_world(tree: Tree, *, voters: int = 4, password: str = "pw-Yishi-2026", prefix: str = "") -> MeetingWorld:
    """A topic in 商前调研 with approved research and ``voters`` participants with a vote, ready for a meeting."""
    room = Room.objects.create(name="直冲社区议事室", level=RoomLevel.COMMUNITY, org_unit=tree.community_a1)
    chair = make_user(username=f"{prefix}chair", password=password)
    chair.display_name = "主持人老周"
    chair.save(update_fields=["display_name"])
    RoomMember.objects.create(room=room, user=chair, role="chair")
    member = make_user(username=f"{prefix}member", password=password)
    RoomMember.objects.create(room=room, user=member, role="member")
    staff = make_user("community_staff", tree.community_a1, username=f"{prefix}staff", password=password)
    topic = Topic.objects.create(
        room=room, title="3号楼加装电梯", description="3号楼居民申请加装电梯，低层住户担心采光和噪声。",
        source=TopicSource.PARTY, state=TopicState.RESEARCHING,
    )
    ResearchRecord.objects.create(
        topic=topic, kind=ResearchKind.SITE_VISIT, title="现场踏勘", text="电梯井道位于北侧，对低层采光影响有限。",
        author=staff, state=ReviewState.APPROVED, reviewed_by=staff, reviewed_at=timezone.now(),
    )
    users, rows = [], []
    for i in range(voters):
        user = make_user(username=f"{prefix}voter{i + 1}", password=password)
        user.display_name = NAMES[i % len(NAMES)]
        user.save(update_fields=["display_name"])
        users.append(user)
        rows.append(Participant.objects.create(topic=topic, kind=KINDS[i % len(KINDS)], user=user, name=user.display_name))
    observer_user = make_user(username=f"{prefix}observer", password=password)
    observer = Participant.objects.create(
        topic=topic, kind=ParticipantKind.DEPARTMENT, user=observer_user, name="区住房和城乡建设局", can_vote=False,
        handling_unit=tree.unit_housing,
    )
    resident = make_user("resident", tree.community_a1, username=f"{prefix}neighbour", password=password)
    resident.home_unit = tree.community_a1
    resident.display_name = "居民小林"
    resident.save(update_fields=["home_unit", "display_name"])
    outsider = make_user("resident", tree.community_b1, username=f"{prefix}outsider", password=password)
    outsider.home_unit = tree.community_b1
    outsider.save(update_fields=["home_unit"])
    outsider_staff = make_user("street_staff", tree.street_b, username=f"{prefix}outsider_staff", password=password)
    return MeetingWorld(
        tree=tree, room=room, topic=topic, staff=staff, chair=chair, member=member, voters=users, participants=rows,
        observer=observer, observer_user=observer_user, resident=resident, outsider=outsider, outsider_staff=outsider_staff,
    )


def notice_ok(now: datetime | None = None) -> datetime:
    """A start time just past the shipped profiles' minimum notice (2 days)."""
    return (now or timezone.now()) + timedelta(days=2, hours=1)


def schedule(world: MeetingWorld, *, mode: str = "online", starts_at: datetime | None = None, **kw: Any) -> Meeting:
    return meetings.meeting_schedule(
        actor=world.staff, topic=world.topic, mode=mode, starts_at=starts_at or notice_ok(),
        agenda=kw.pop("agenda", "一、介绍调研情况；二、讨论加装方案；三、表决。"), location=kw.pop("location", ""), **kw,
    )


def check_in_all(world: MeetingWorld, meeting: Meeting, count: int | None = None) -> None:
    """The first ``count`` voters (all by default) check themselves in."""
    for user in world.voters[: len(world.voters) if count is None else count]:
        meetings.meeting_check_in(actor=user, meeting=meeting)


def open_meeting(world: MeetingWorld, meeting: Meeting) -> Meeting:
    check_in_all(world, meeting)
    return meetings.meeting_open(actor=world.chair, meeting=meeting)

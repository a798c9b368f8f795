"""Who may see and do what in a consultation meeting (the online room).

* **Following** a meeting (reading the room, the state, the minutes; leaving a written opinion): the topic's
  participants, the room's members, area staff and the other supervising roles of the room's area, and residents
  whose home lies in the room's area. Everyone else gets *not found*, as if the meeting did not exist.
* **Chairing** is ``consultations.chair`` (rules.py): the room's chair opens the meeting, opens motions, grants the
  floor, opens and closes votes, records consensus, closes the meeting and approves the minutes.
* **Speaking and voting** belong to the topic's participants (those with a vote, for voting), never to the chair:
  the chair stays neutral (南塘议事规则), so the services refuse the chair's floor requests and votes.

Objects given to these rules are meetings (``topic.room.org_unit`` scopes them).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from yishi.accounts.choices import Role
from yishi.core.permissions import Grant, define

from .rules import VIEWERS


def _meeting_people(user: Any, obj: Any, grants: list[Grant]) -> bool:
    topic = getattr(obj, "topic", obj)
    return topic.participants.filter(user=user).exists() or topic.room.members.filter(user=user).exists()


def _meeting_people_q(user: Any, grants: list[Grant]) -> Q:
    from .models import Participant, RoomMember

    topics = Participant.objects.filter(user=user).values("topic_id")
    rooms = RoomMember.objects.filter(user=user).values("room_id")
    return Q(topic_id__in=topics) | Q(topic__room_id__in=rooms)


def _home_paths(user: Any, grants: list[Grant]) -> list[str]:
    """The org paths of the user's home: the profile's home unit and the areas of their resident roles."""
    paths = [g.path for g in grants if g.role == Role.RESIDENT]
    home = getattr(user, "home_unit", None)
    if home is not None:
        paths.append(home.path)
    return paths


def _resident_of_meeting_area(user: Any, obj: Any, grants: list[Grant]) -> bool:
    topic = getattr(obj, "topic", obj)
    room_path = topic.room.org_unit.path
    return any(path.startswith(room_path) for path in _home_paths(user, grants))


def _resident_of_meeting_area_q(user: Any, grants: list[Grant]) -> Q:
    from yishi.orgs.models import OrgUnit

    # A room covers a home when the room's unit is the home or one of its ancestors.
    ids = {int(part) for path in _home_paths(user, grants) for part in path.strip("/").split("/") if part}
    if not ids:
        return Q(pk__in=[])
    paths = list(OrgUnit.objects.filter(pk__in=ids).values_list("path", flat=True))
    return Q(topic__room__org_unit__path__in=paths)


define("consultations.meeting_area", roles=VIEWERS, scope="topic__room__org_unit", label="查看本地区协商会议")
define(
    "consultations.meeting_people", roles=[], authenticated=True, check=_meeting_people, narrow=_meeting_people_q,
    label="参与协商会议",
)
define(
    "consultations.meeting_resident", roles=[], authenticated=True, check=_resident_of_meeting_area,
    narrow=_resident_of_meeting_area_q, label="旁听协商会议（本地区居民）",
)
define(
    "consultations.follow_meeting", roles=[],
    any_of=("consultations.meeting_area", "consultations.meeting_people", "consultations.meeting_resident"),
    label="关注协商会议、提交书面意见",
)

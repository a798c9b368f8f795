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

from yishi.accounts.choices import Role
from yishi.core.permissions import Grant, define

AREA_STAFF = {Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_STAFF}
VIEWERS = AREA_STAFF | {Role.PARTY_APPROVER, Role.DEPUTY, Role.CPPCC_MEMBER, Role.EXPERT, Role.EVALUATOR, Role.GRID_WORKER}


def _resident_of_area(user: Any, obj: Any, grants: list[Grant]) -> bool:
    room = getattr(obj, "room", obj)
    home = getattr(user, "home_unit", None)
    return home is not None and home.path.startswith(room.org_unit.path)


def _room_member(user: Any, obj: Any, grants: list[Grant]) -> bool:
    room = getattr(obj, "room", obj)
    return room.members.filter(user=user).exists()


def _room_chair(user: Any, obj: Any, grants: list[Grant]) -> bool:
    room = getattr(obj, "room", obj)
    return room.members.filter(user=user, role="chair").exists()


# Objects expose ``room`` (topics) or are rooms; scope through the room's org unit.
define("consultations.view", roles=[], public=True, label="查看协商议事（公开）")
define("consultations.manage", roles=AREA_STAFF, scope="room__org_unit", label="组织协商议事")
define("consultations.manage_room", roles=AREA_STAFF, scope="org_unit", label="管理议事室")
define("consultations.approve", roles={Role.PARTY_APPROVER}, scope="room__org_unit", label="党组织审定")
define("consultations.recommend", roles=[], authenticated=True, check=_room_member, label="委员荐题")
define("consultations.propose", roles=[], authenticated=True, check=_resident_of_area, label="群众出题")
define("consultations.chair", roles=[], authenticated=True, check=_room_chair, label="主持会议")
define("consultations.evaluate", roles={Role.EVALUATOR}, scope="room__org_unit", label="第三方评估")
define("consultations.supervise", roles=VIEWERS, scope="room__org_unit", label="查看失效预警")

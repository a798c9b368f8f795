"""Who may do what to an appeal.

* Staff of the area (grid, community, street, district, dispatch centre) see appeals located in their subtree.
* Triage, dispatch and review belong to the level that currently handles the appeal (``handling_level``):
  after an escalation to the district, the street no longer dispatches it.
* A handling unit's liaison and head see the appeals dispatched to their unit and act on those where their unit
  is the live lead.
* A signed-in resident sees their own appeals.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from yishi.accounts.choices import Role
from yishi.audit.scopes import audit_subject
from yishi.core.permissions import ALL_ROLES, Grant, define

AREA_STAFF = {Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_STAFF, Role.DISPATCHER}
MANAGERS = {Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_STAFF, Role.DISPATCHER}
UNIT = {Role.UNIT_LIAISON, Role.UNIT_HEAD}
INTAKE = AREA_STAFF | {Role.DEPUTY, Role.CPPCC_MEMBER}


def _unit_ids(grants: list[Grant]) -> set[int]:
    return {g.handling_unit_id for g in grants if g.handling_unit_id is not None}


def _is_lead(user: Any, appeal: Any, grants: list[Grant]) -> bool:
    return appeal.lead_unit_id is not None and appeal.lead_unit_id in _unit_ids(grants)


def _is_assigned(user: Any, appeal: Any, grants: list[Grant]) -> bool:
    units = _unit_ids(grants)
    return bool(units) and appeal.assignments.filter(unit_id__in=units).exists()


def _assigned_q(user: Any, grants: list[Grant]) -> Q:
    from .models import Assignment

    return Q(pk__in=Assignment.objects.filter(unit_id__in=_unit_ids(grants)).values("appeal_id"))


def _own(user: Any, appeal: Any, grants: list[Grant]) -> bool:
    return appeal.submitter_id == user.pk


def _own_q(user: Any, grants: list[Grant]) -> Q:
    return Q(submitter_id=user.pk)


define("appeals.view_area", roles=AREA_STAFF | {Role.DEPUTY, Role.CPPCC_MEMBER}, scope="org_unit")
define("appeals.view_unit", roles=UNIT, check=_is_assigned, narrow=_assigned_q)
define("appeals.view_own", roles=[], authenticated=True, check=_own, narrow=_own_q)
define("appeals.view", roles=[], any_of=("appeals.view_area", "appeals.view_unit", "appeals.view_own"), label="查看诉求")
# What anyone may read without signing in (the masked public board, Open311 GET requests): the areas whose
# profile turns the board on.
define("appeals.view_public", roles=[], scope="org_unit", anonymous_param="appeals.public_board", label="公开查看诉求")

define("appeals.submit", roles=[ALL_ROLES], scope="org_unit", authenticated=True, anonymous_param="appeals.anonymous_submit", label="提交诉求")
define("appeals.enter", roles=INTAKE, scope="org_unit", label="代群众录入诉求")
define("appeals.import", roles=MANAGERS, scope="", label="导入热线工单")
define("appeals.manage", roles=MANAGERS, scope="handling_level", label="分拨、审核、办结诉求")
define("appeals.supervise", roles={Role.STREET_STAFF, Role.DISTRICT_STAFF, Role.DISPATCHER}, scope="org_unit", label="督办")
define("appeals.handle", roles=UNIT, check=_is_lead, label="承办诉求")
define("appeals.co_handle", roles=UNIT, check=_is_assigned, label="协办诉求")
define("appeals.manage_catalogue", roles={Role.DISTRICT_STAFF}, label="维护分类与派单规则")
define("appeals.view_stats", roles=MANAGERS | {Role.DEPUTY, Role.CPPCC_MEMBER}, scope="", label="查看三率统计")
define("appeals.view_unit_stats", roles=UNIT, label="查看本单位三率统计")

define("wishes.view", roles=[], public=True, label="查看微心愿")
define("wishes.submit", roles=[ALL_ROLES], authenticated=True, label="发布微心愿")
define("wishes.adopt", roles={Role.DEPUTY, Role.CPPCC_MEMBER, Role.VOLUNTEER}, scope="org_unit", label="认领微心愿")

audit_subject("appeals.appeal", "org_unit")
audit_subject("appeals.microwish", "org_unit")
audit_subject("appeals.importbatch", "org_unit")
audit_subject("appeals.routingrule", "area")
audit_subject("appeals.category", None)  # one catalogue shared by every area

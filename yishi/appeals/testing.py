"""Builders for appeals tests: a small catalogue with routing rules and people in every appeals role."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from yishi.core.testing import Tree, make_user

from . import services
from .catalogue import category_create, routing_rule_set
from .choices import AppealState
from .models import Appeal, Category
from .services import AppealInput, appeal_submit


@dataclass
class AppealsWorld:
    tree: Tree
    cat_building: Category
    cat_lift: Category
    cat_water: Category
    dispatcher: Any
    community_staff: Any
    street_a_staff: Any
    street_b_staff: Any
    district_staff: Any
    housing_liaison: Any
    water_liaison: Any
    street_office_liaison: Any
    resident: Any
    grid_worker: Any


def build_world(tree: Tree) -> AppealsWorld:
    top = category_create(actor=None, code="C01", name="城乡建设")
    mid = category_create(actor=None, code="C0101", name="住房保障", parent=top)
    lift = category_create(actor=None, code="C010101", name="老旧小区加装电梯", parent=mid)
    utilities = category_create(actor=None, code="C02", name="水电气热")
    water = category_create(actor=None, code="C0201", name="供水", parent=utilities, default_urgency="utility")
    routing_rule_set(actor=None, category=top, area=tree.district, lead_unit=tree.unit_housing)
    routing_rule_set(actor=None, category=utilities, area=tree.district, lead_unit=tree.unit_water)
    resident = make_user()
    resident.phone = "13800138001"
    resident.save(update_fields=["phone"])
    return AppealsWorld(
        tree=tree,
        cat_building=top,
        cat_lift=lift,
        cat_water=water,
        dispatcher=make_user("dispatcher", tree.district),
        community_staff=make_user("community_staff", tree.community_a1),
        street_a_staff=make_user("street_staff", tree.street_a),
        street_b_staff=make_user("street_staff", tree.street_b),
        district_staff=make_user("district_staff", tree.district),
        housing_liaison=make_user("unit_liaison", tree.district, handling_unit=tree.unit_housing),
        water_liaison=make_user("unit_liaison", tree.district, handling_unit=tree.unit_water),
        street_office_liaison=make_user("unit_liaison", tree.street_a, handling_unit=tree.unit_street_a),
        resident=resident,
        grid_worker=make_user("grid_worker", tree.grid_a1),
    )


def submit(world: AppealsWorld, *, actor: Any = None, unit: Any = None, category: Category | None = None, **overrides: Any):
    data = AppealInput(
        nature=overrides.pop("nature", "complaint"),
        category_id=(category or world.cat_lift).pk,
        title=overrides.pop("title", "小区加装电梯进展缓慢"),
        text=overrides.pop("text", "我们小区 3 号楼加装电梯申请半年了还没有开工，请相关部门尽快推进。"),
        org_unit_id=(unit or world.tree.community_a1).pk,
        **overrides,
    )
    return appeal_submit(actor=actor if actor is not None else world.resident, data=data)


def liaison_for(world: AppealsWorld, appeal: Appeal) -> Any:
    """The liaison of the appeal's current lead unit (None when it has no lead)."""
    by_unit = {
        world.tree.unit_housing.pk: world.housing_liaison,
        world.tree.unit_water.pk: world.water_liaison,
        world.tree.unit_street_a.pk: world.street_office_liaison,
    }
    return by_unit.get(appeal.lead_unit_id) if appeal.lead_unit_id else None


_phones = itertools.count(1)


def second_resident(phone: str | None = None) -> Any:
    """Another resident, with a phone of their own (for merges: several residents, one object)."""
    user = make_user()
    user.phone = phone or f"139{next(_phones):08d}"
    user.save(update_fields=["phone"])
    return user


def drive_to(world: AppealsWorld, state: str, *, manager: Any = None, **submit_overrides: Any) -> Appeal:
    """An appeal in ``state``, reached through the real services along the main path (every state is reachable).

    The manager (triage, dispatch, review, callback) is the district dispatcher unless given; the unit is the one
    the routing rules choose (housing for building categories, water for utilities) and acts through its liaison.
    ``merged`` is a second resident's appeal merged into a received one (``merged_into``); ``duplicate`` is the
    same resident's second appeal marked as a duplicate of the first (``duplicate_of``).
    """
    target = AppealState(state)
    boss = manager or world.dispatcher
    if target == AppealState.MERGED:
        parent = submit(world, **submit_overrides)
        child = submit(world, **{**submit_overrides, "actor": second_resident()})
        return _fresh(services.appeal_merge(actor=boss, appeal=child, into_id=parent.pk, reason="同一对象"))
    if target == AppealState.DUPLICATE:
        original = submit(world, **submit_overrides)
        again = submit(world, **submit_overrides)
        return _fresh(services.appeal_mark_duplicate(actor=boss, appeal=again, original_id=original.pk))
    appeal = submit(world, **submit_overrides)
    if target == AppealState.RECEIVED:
        return _fresh(appeal)
    if target == AppealState.REJECTED:
        return _fresh(services.appeal_reject(actor=boss, appeal=appeal, reason="不属于受理范围"))
    appeal = services.appeal_dispatch(actor=boss, appeal=appeal)
    if target == AppealState.DISPATCHED:
        return _fresh(appeal)
    unit = liaison_for(world, appeal)
    if target == AppealState.RETURN_REQUESTED:
        return _fresh(services.appeal_request_return(actor=unit, appeal=appeal, reason="非本单位职责", basis="三定方案第三条"))
    appeal = services.appeal_accept(actor=unit, appeal=appeal)
    if target == AppealState.ACCEPTED:
        return _fresh(appeal)
    appeal = services.appeal_contact(actor=unit, appeal=appeal, text="已电话联系群众")
    if target == AppealState.IN_PROGRESS:
        return _fresh(appeal)
    appeal = services.appeal_submit_reply(actor=unit, appeal=appeal, text="已安排施工队进场")
    if target == AppealState.REPLY_SUBMITTED:
        return _fresh(appeal)
    appeal = services.appeal_approve_reply(actor=boss, appeal=appeal)
    if target == AppealState.REPLIED:
        return _fresh(appeal)
    appeal = services.appeal_callback(actor=boss, appeal=appeal, resolution="resolved", satisfaction="satisfied")
    if target == AppealState.CLOSED:
        return _fresh(appeal)
    appeal = services.appeal_archive(actor=boss, appeal=appeal)
    assert target == AppealState.ARCHIVED, target
    return _fresh(appeal)


def _fresh(appeal: Appeal) -> Appeal:
    return Appeal.objects.select_related("category", "org_unit", "handling_level", "lead_unit").get(pk=appeal.pk)

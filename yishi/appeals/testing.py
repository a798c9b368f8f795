"""Builders for appeals tests: a small catalogue with routing rules and people in every appeals role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from yishi.core.testing import Tree, make_user

from .catalogue import category_create, routing_rule_set
from .models import Category
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

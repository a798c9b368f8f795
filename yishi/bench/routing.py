"""Routing rules for the generated city, so that the intake figure measures dispatch by rule as in production.

The same table as the demo district (``yishi.appeals.demo``): each district routes each first-level category (and
the more specific ones the demo names) to one of its departments or utilities, with co-units where the demo has
them; each street routes the small matters (物业监管, 市容, 环卫, 调解) to its own office. Departments the
generated city lacks (文旅, 农业农村, 应急) fall back to 民政局, so every category the demo routes routes here too.
"""

from __future__ import annotations

from django.db import transaction

from yishi.appeals.demo import DISTRICT_RULES, STREET_RULES
from yishi.appeals.models import Category, RoutingRule
from yishi.orgs.models import HandlingUnit, OrgUnit

from .generate import DEPARTMENTS, UTILITIES

# Demo unit key → the generated unit's code suffix (``<district code>-U07``: the 8th department, ``-P00``: a utility).
_DEPARTMENT_OF = {"housing": "住房和城乡建设局", "urban": "城市管理和综合执法局", "transport": "交通运输局",
                  "environment": "生态环境分局", "market": "市场监督管理局", "education": "教育局", "health": "卫生健康局",
                  "hrss": "人力资源和社会保障局", "civil": "民政局", "water_affairs": "水务局",
                  "natural_resources": "自然资源分局", "police": "公安分局"}
_UTILITY_OF = {"water": "供水有限公司", "power": "供电局", "gas": "燃气有限公司", "telecom": "通信分公司"}
_FALLBACK = "civil"


def _suffix(key: str) -> str:
    if key in _UTILITY_OF:
        return f"P{UTILITIES.index(_UTILITY_OF[key]):02d}"
    return f"U{DEPARTMENTS.index(_DEPARTMENT_OF.get(key, _DEPARTMENT_OF[_FALLBACK])):02d}"


def ensure_routing_rules(prefix: str = "B") -> int:
    """Create the rules the generated city lacks (idempotent). Returns how many were created.

    Written in bulk like the rest of the generated data (no audit events: the generator is not an operator)."""
    cats = {c.code: c.pk for c in Category.objects.filter(code__in=[*DISTRICT_RULES, *STREET_RULES])}
    units = dict(HandlingUnit.objects.filter(code__startswith=f"{prefix}-").values_list("code", "pk"))
    districts = list(OrgUnit.objects.filter(code__startswith=f"{prefix}-", level="district").values_list("pk", "code"))
    streets = list(OrgUnit.objects.filter(code__startswith=f"{prefix}-", level="street").values_list("pk", "code"))
    existing = set(RoutingRule.objects.filter(area__code__startswith=f"{prefix}-").values_list("category_id", "area_id"))
    rules: list[RoutingRule] = []
    co_of: dict[tuple[int, int], list[int]] = {}
    for area_id, code in districts:
        for cat_code, (lead, co) in DISTRICT_RULES.items():
            cat_id = cats.get(cat_code)
            lead_id = units.get(f"{code}-{_suffix(lead)}")
            if cat_id is None or lead_id is None or (cat_id, area_id) in existing:
                continue
            rules.append(RoutingRule(category_id=cat_id, area_id=area_id, lead_unit_id=lead_id))
            co_of[(cat_id, area_id)] = [units[f"{code}-{_suffix(k)}"] for k in co if f"{code}-{_suffix(k)}" in units]
    for area_id, code in streets:
        office = units.get(f"{code}-O")
        for cat_code in STREET_RULES:
            cat_id = cats.get(cat_code)
            if cat_id is None or office is None or (cat_id, area_id) in existing:
                continue
            rules.append(RoutingRule(category_id=cat_id, area_id=area_id, lead_unit_id=office))
    with transaction.atomic():
        RoutingRule.objects.bulk_create(rules, batch_size=2000)
        created = {(r.category_id, r.area_id): r.pk for r in
                   RoutingRule.objects.filter(area__code__startswith=f"{prefix}-").only("pk", "category_id", "area_id")}
        through = RoutingRule.co_units.through
        through.objects.bulk_create([
            through(routingrule_id=created[key], handlingunit_id=unit_id)
            for key, unit_ids in co_of.items() for unit_id in unit_ids
        ], ignore_conflicts=True)
    return len(rules)

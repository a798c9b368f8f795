"""The category catalogue and routing rules: kept by district staff (or loaded from a CSV)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from yishi.audit.services import record
from yishi.core.errors import InvalidInput
from yishi.core.permissions import require

from .models import Category, RoutingRule


def category_create(*, actor: Any, code: str, name: str, parent: Category | None = None, **fields: Any) -> Category:
    """Add a category under ``parent`` (levels 1–3)."""
    if actor is not None:
        require(actor, "appeals.manage_catalogue")
    level = (parent.level + 1) if parent else 1
    if level > 3:
        raise InvalidInput("分类最多三级", "The catalogue has at most three levels", field="parent")
    if Category.objects.filter(code=code).exists():
        raise InvalidInput("代码已被使用", "Code already in use", field="code", code="duplicate")
    with transaction.atomic():
        cat = Category.objects.create(code=code, name=name, parent=parent, level=level, **fields)
        cat.path = f"{parent.path if parent else '/'}{cat.pk}/"
        cat.save(update_fields=["path"])
        record(actor=actor, code="appeals.category.created", subject=cat, after={"code": code, "name": name})
    return cat


def routing_rule_set(*, actor: Any, category: Category, area: Any, lead_unit: Any, co_units: list[Any] | None = None) -> RoutingRule:
    if actor is not None:
        require(actor, "appeals.manage_catalogue")
    with transaction.atomic():
        rule, _ = RoutingRule.objects.update_or_create(category=category, area=area, defaults={"lead_unit": lead_unit, "is_active": True})
        rule.co_units.set(co_units or [])
        record(actor=actor, code="appeals.routing_rule.set", subject=rule, after={"category": category.pk, "area": area.pk, "lead": lead_unit.pk})
    return rule

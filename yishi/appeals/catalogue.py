"""The category catalogue and routing rules: kept by district staff (or loaded from a CSV)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from yishi.audit.services import record
from yishi.core.errors import InvalidInput
from yishi.core.permissions import require
from yishi.policy import cache as policy_cache

from .choices import Urgency
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


# --- the shipped catalogue ------------------------------------------------------------------------------------

SHIPPED_CATALOGUE = Path(__file__).resolve().parent / "fixtures" / "categories.csv"
_TRUE = {"1", "true", "yes", "y", "是"}


@dataclass
class CatalogueLoad:
    created: int = 0
    existing: int = 0


def load_catalogue(path: str | Path | None = None, *, actor: Any = None) -> CatalogueLoad:
    """Load a 3-level catalogue from a UTF-8 CSV (columns ``code, name, parent_code, default_urgency, fast_lane,
    keywords``; parents before their children) through ``category_create``. Idempotent by code: a category whose
    code exists is left as it is, so loading twice creates nothing twice and never overwrites an operator's edits.
    A blank urgency inherits the parent's. A bad row raises ``InvalidInput`` naming its line; nothing is kept then.
    """
    path = Path(path) if path is not None else SHIPPED_CATALOGUE
    result = CatalogueLoad()
    with path.open(encoding="utf-8-sig", newline="") as fh, transaction.atomic():
        reader = csv.DictReader(fh)
        missing = {"code", "name", "parent_code"} - set(reader.fieldnames or [])
        if missing:
            raise InvalidInput(f"分类文件缺少列：{'、'.join(sorted(missing))}", f"Missing columns: {', '.join(sorted(missing))}", field="file")
        known = {c.code: c for c in Category.objects.all()}
        for line, row in enumerate(reader, start=2):
            code, name = (row.get("code") or "").strip(), (row.get("name") or "").strip()
            parent_code = (row.get("parent_code") or "").strip()

            def bad(zh: str, en: str, line: int = line) -> InvalidInput:
                return InvalidInput(f"第 {line} 行：{zh}", f"Line {line}: {en}", field="file", code="bad_row")

            if not code or not name:
                raise bad("代码和名称不能为空", "code and name are required")
            if code in known:
                result.existing += 1
                continue
            parent = known.get(parent_code) if parent_code else None
            if parent_code and parent is None:
                raise bad(f"上级分类 {parent_code} 不存在", f"unknown parent {parent_code}")
            urgency = (row.get("default_urgency") or "").strip() or (parent.default_urgency if parent else Urgency.GENERAL)
            if urgency not in Urgency.values:
                raise bad(f"紧急程度 {urgency} 无效", f"unknown urgency {urgency}")
            try:
                known[code] = category_create(
                    actor=actor, code=code, name=name, parent=parent, default_urgency=urgency,
                    fast_lane=(row.get("fast_lane") or "").strip().lower() in _TRUE,
                    keywords=(row.get("keywords") or "").strip()[:300],
                )
            except InvalidInput as exc:  # e.g. a fourth level
                raise bad(exc.message_zh, exc.message_en) from exc
            result.created += 1
    return result


# --- cached lookups -------------------------------------------------------------------------------------------

def category_by_id(pk: Any) -> Category | None:
    """The category with this id (active or not), from the in-process reference cache (``yishi.policy.cache``);
    shared between callers: read-only."""
    return policy_cache.cached("appeals.category", pk, lambda: Category.objects.filter(pk=pk).first())


def active_category(pk: Any) -> Category | None:
    """The active category with this id, or None."""
    category = category_by_id(pk)
    return category if category is not None and category.is_active else None

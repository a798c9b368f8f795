"""Org units by id from the in-process reference cache (``yishi.policy.cache``), for services that look the same
few units up on every call (intake, dispatch). The instances are shared between callers: read-only."""

from __future__ import annotations

from typing import Any

from yishi.policy import cache

from .choices import OrgLevel
from .models import OrgUnit


def org_unit_by_id(pk: Any) -> OrgUnit | None:
    """The unit with this id (active or not), or None."""
    return cache.cached("orgs.unit", pk, lambda: OrgUnit.objects.filter(pk=pk).first())


def active_org_unit(pk: Any) -> OrgUnit | None:
    """The active unit with this id, or None."""
    unit = org_unit_by_id(pk)
    return unit if unit is not None and unit.is_active else None


def district_of(unit: OrgUnit) -> OrgUnit | None:
    """The district the unit lies in (itself when it is one), or None above the districts."""
    for pk in reversed(unit.ancestor_ids):
        node = org_unit_by_id(pk)
        if node is not None and node.level == OrgLevel.DISTRICT:
            return node
    return None

"""Changes to the org tree. Paths are kept here and nowhere else."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

from yishi.audit.services import record
from yishi.core.errors import InvalidInput
from yishi.core.permissions import require
from yishi.policy import cache as policy_cache

from .models import OrgUnit


def org_unit_create(*, actor: Any, name: str, code: str, level: str, parent: OrgUnit | None = None, **fields: Any) -> OrgUnit:
    """Create a unit under ``parent`` (None: a root). Checks the actor may manage the parent's subtree."""
    if actor is not None and parent is not None:
        require(actor, "orgs.manage_orgunit", parent, visible_action="orgs.view_orgunit")
    if OrgUnit.objects.filter(code=code).exists():
        raise InvalidInput("代码已被使用", "Code already in use", field="code", code="duplicate")
    with transaction.atomic():
        unit = OrgUnit.objects.create(name=name, code=code, level=level, parent=parent, **fields)
        unit.path = f"{parent.path if parent else '/'}{unit.pk}/"
        unit.depth = (parent.depth + 1) if parent else 0
        unit.save(update_fields=["path", "depth"])
        record(actor=actor, code="orgs.unit.created", subject=unit, after={"name": name, "code": code, "path": unit.path})
    return unit


def org_unit_move(*, actor: Any, unit: OrgUnit, new_parent: OrgUnit) -> OrgUnit:
    """Move a unit and its whole subtree under ``new_parent``, rewriting the paths in one statement."""
    require(actor, "orgs.manage_orgunit", unit, visible_action="orgs.view_orgunit")
    require(actor, "orgs.manage_orgunit", new_parent, visible_action="orgs.view_orgunit")
    if new_parent.path.startswith(unit.path):
        raise InvalidInput("不能移动到自身的下级", "Cannot move a unit below itself", field="parent")
    with transaction.atomic():
        locked = OrgUnit.objects.select_for_update().get(pk=unit.pk)
        old_path, old_depth = locked.path, locked.depth
        new_path = f"{new_parent.path}{locked.pk}/"
        shift = new_parent.depth + 1 - old_depth
        OrgUnit.objects.filter(path__startswith=old_path).update(
            path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
            depth=F("depth") + shift,
        )
        OrgUnit.objects.filter(pk=locked.pk).update(parent=new_parent)
        # Queryset updates send no signal: drop this process's reference cache now, so the rest of this request
        # reads the moved tree (other processes see the token the table's trigger changed).
        policy_cache.forget()
        record(
            actor=actor, code="orgs.unit.moved", subject=locked,
            before={"parent": locked.parent_id, "path": old_path}, after={"parent": new_parent.pk, "path": new_path},
        )
    locked.refresh_from_db()
    return locked



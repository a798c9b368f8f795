"""Reading and changing policy profiles, and deadlines computed with the calendar and overrides."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from yishi.core.errors import InvalidInput, NotFound
from yishi.core.permissions import require

from . import cache, workdays
from .models import PolicyProfile, PolicyProfileVersion, WorkdayOverride
from .registry import PARAMETERS

SHIPPED_DIR = Path(__file__).resolve().parent / "profiles"
_MISSING = object()


def default_profile() -> PolicyProfile:
    profile = cache.cached("policy.default_profile", None, lambda: PolicyProfile.objects.filter(is_default=True).first())
    if profile is None:
        raise NotFound("没有默认的政策配置", "No default policy profile", code="no_policy_profile")
    return profile


def effective_profile(unit: Any = None) -> PolicyProfile:
    """The profile chosen by ``unit`` or its nearest ancestor, else the default profile. Cached per unit in-process
    (``yishi.policy.cache``): a profile, the tree or a unit's choice changing invalidates it everywhere."""
    with cache.pinned():
        if unit is None or unit.pk is None:
            return _chosen_profile(unit) or default_profile()
        chosen = cache.cached("policy.profile_of_unit", unit.pk, lambda: _chosen_profile(unit))
        return chosen or default_profile()


def _chosen_profile(unit: Any) -> PolicyProfile | None:
    """The profile chosen by ``unit`` or its nearest ancestor (as the tree stands in the database), or None."""
    if unit is None:
        return None
    from yishi.orgs.models import OrgUnit

    path = unit.path
    if unit.pk is not None:
        # The caller's copy may predate a move; the cache must hold what the tree says now.
        path = OrgUnit.objects.filter(pk=unit.pk).values_list("path", flat=True).first() or path
    ids = [int(p) for p in path.strip("/").split("/") if p] or [unit.pk]
    chosen = (
        OrgUnit.objects.filter(pk__in=ids, policy_profile__isnull=False)
        .select_related("policy_profile")
        .order_by("-depth")
        .first()
    )
    return chosen.policy_profile if chosen is not None else None


def policy_value(key: str, unit: Any = None, *, default: Any = _MISSING, profile: PolicyProfile | None = None) -> Any:
    """The value of parameter ``key`` for ``unit`` (or in ``profile``)."""
    if key not in PARAMETERS:
        raise LookupError(f"undeclared policy parameter {key!r}")
    try:
        chosen = profile or effective_profile(unit)
    except NotFound:
        if default is not _MISSING:
            return default
        raise
    if key in chosen.params:
        return chosen.params[key]
    if default is not _MISSING:
        return default
    raise InvalidInput(
        f"政策配置“{chosen.name}”缺少参数 {key}",
        f"Policy profile {chosen.code!r} lacks parameter {key}",
        code="policy_parameter_missing",
    )


def validate_params(params: dict[str, Any]) -> None:
    for key, value in params.items():
        param = PARAMETERS.get(key)
        if param is None:
            raise InvalidInput(f"未知参数 {key}", f"Unknown parameter {key}", field=f"params.{key}")
        problem = param.validate(value)
        if problem:
            raise InvalidInput(f"参数 {key} 无效：{problem}", f"Parameter {key} {problem}", field=f"params.{key}")


def profile_update(*, actor: Any, profile: PolicyProfile, params: dict[str, Any], note: str = "") -> PolicyProfile:
    """Replace a profile's parameters, bump its version, keep the history, audit the change. ``actor`` must hold
    ``policy.manage_profile`` (None: the system — migrations and management commands)."""
    from yishi.audit.services import record

    if actor is not None:
        require(actor, "policy.manage_profile")
    validate_params(params)
    with transaction.atomic():
        locked = PolicyProfile.objects.select_for_update().get(pk=profile.pk)
        before = dict(locked.params)
        if before == params:
            return locked
        locked.params = params
        locked.version += 1
        locked.save(update_fields=["params", "version", "updated_at"])
        PolicyProfileVersion.objects.create(
            profile=locked, version=locked.version, params=params, changed_by_label=str(actor or "system"), note=note
        )
        changed = sorted(k for k in set(before) | set(params) if before.get(k) != params.get(k))
        record(
            actor=actor,
            code="policy.profile.updated",
            subject=locked,
            before={k: before.get(k) for k in changed},
            after={k: params.get(k) for k in changed},
            reason=note,
        )
    return locked


def profile_copy(*, actor: Any, source: PolicyProfile, code: str, name: str) -> PolicyProfile:
    """A new profile starting from another one's parameters (how a city makes its own). Same permission as
    ``profile_update``."""
    from yishi.audit.services import record

    if actor is not None:
        require(actor, "policy.manage_profile")
    if PolicyProfile.objects.filter(code=code).exists():
        raise InvalidInput("代码已被使用", "Code already in use", field="code", code="duplicate")
    with transaction.atomic():
        profile = PolicyProfile.objects.create(code=code, name=name, params=dict(source.params))
        PolicyProfileVersion.objects.create(
            profile=profile, version=1, params=profile.params, changed_by_label=str(actor or "system"),
            note=f"copied from {source.code} v{source.version}",
        )
        record(actor=actor, code="policy.profile.copied", subject=profile, after={"source": source.code})
    return profile


def sync_shipped_profiles() -> None:
    """Create the shipped profiles and add parameters they gained; never overwrite an operator's values."""
    for path in sorted(SHIPPED_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        params = data["params"]
        validate_params(params)
        profile, created = PolicyProfile.objects.get_or_create(
            code=data["code"],
            defaults={
                "name": data["name"],
                "description": data.get("description", ""),
                "params": params,
                "shipped": True,
                "is_default": bool(data.get("default")) and not PolicyProfile.objects.filter(is_default=True).exists(),
            },
        )
        if created:
            PolicyProfileVersion.objects.create(
                profile=profile, version=1, params=params, changed_by_label="system", note="shipped"
            )
            continue
        missing = {k: v for k, v in params.items() if k not in profile.params}
        if missing:
            profile.params = {**profile.params, **missing}
            profile.version += 1
            profile.save(update_fields=["params", "version", "updated_at"])
            PolicyProfileVersion.objects.create(
                profile=profile, version=profile.version, params=profile.params, changed_by_label="system",
                note="shipped parameters added: " + ", ".join(sorted(missing))[:150],
            )


# --- calendar -------------------------------------------------------------------------------------------------

def workday_overrides() -> dict[date, bool]:
    """The operators' corrections to the calendar, cached in-process like the profiles."""
    return cache.cached("policy.workday_overrides", None, lambda: dict(WorkdayOverride.objects.values_list("date", "is_workday")))


def forget_workday_overrides() -> None:
    """Drop this process's cached reference data (other processes see the change through the generation token)."""
    cache.forget()


def limit_for(key: str, unit: Any = None, *, profile: PolicyProfile | None = None) -> workdays.Limit:
    return workdays.Limit.parse(policy_value(key, unit, profile=profile))


def compute_deadline(start: datetime, limit: workdays.Limit) -> datetime:
    # Working days are local calendar days: counted in UTC, a clock started at 07:30 in Beijing would start on
    # the previous (UTC) day.
    return workdays.deadline(timezone.localtime(start), limit, workday_overrides())


def compute_warning(start: datetime, due: datetime, unit: Any = None, *, profile: PolicyProfile | None = None) -> datetime:
    percent = policy_value("calendar.warning_percent", unit, profile=profile)
    return workdays.warning_time(start, due, int(percent))


def is_workday(day: date) -> bool:
    return workdays.is_workday(day, workday_overrides())

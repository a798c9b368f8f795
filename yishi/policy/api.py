from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from yishi.core.api_auth import PUBLIC, auth
from yishi.core.schemas import ERRORS
from yishi.orgs.models import OrgUnit
from yishi.orgs.selectors import org_unit_get

from . import services, workdays
from .models import PolicyProfile

router = Router(tags=["policy 政策配置与日历"])

# Deadlines are for real cases: far-off years would overflow the date type or meet local mean time offsets
# (Asia/Shanghai before 1901 is +08:05:43, which no RFC 3339 client can parse).
EARLIEST_YEAR, LATEST_YEAR = 1970, 2200


class ProfileOut(Schema):
    id: int
    code: str
    name: str
    description: str
    version: int
    is_default: bool
    params: dict[str, Any]


class DeadlineIn(Schema):
    start: datetime
    amount: int
    unit: workdays.LimitUnit
    org_unit_id: int | None = None


class DeadlineOut(Schema):
    start: datetime
    due: datetime
    warn_at: datetime


@router.get("/policy/profiles", response={200: list[ProfileOut], **ERRORS}, auth=auth("read"))
def list_profiles(request: HttpRequest):
    return PolicyProfile.objects.order_by("code")


@router.get("/policy/effective", response={200: ProfileOut, **ERRORS}, auth=auth("read"))
def effective(request: HttpRequest, org_unit_id: int | None = None):
    unit = org_unit_get(user=request.user, pk=org_unit_id) if org_unit_id is not None else None
    return services.effective_profile(unit)


@router.post("/calendar/deadline", response={200: DeadlineOut, **ERRORS}, auth=PUBLIC)
def compute_deadline(request: HttpRequest, payload: DeadlineIn):
    """Compute when a clock started at ``start`` runs out, with the working-day calendar and its overrides; the
    warning mark follows the policy profile of ``org_unit_id`` when given."""
    from yishi.core.errors import InvalidInput

    if payload.amount < 0 or payload.amount > 3650:
        raise InvalidInput("时限必须在 0 到 3650 之间", "amount must be between 0 and 3650", field="amount")
    if payload.start.tzinfo is None:
        raise InvalidInput("开始时间须带时区", "start must include a time zone", field="start")
    if not EARLIEST_YEAR <= payload.start.year <= LATEST_YEAR:
        raise InvalidInput(
            f"开始时间须在 {EARLIEST_YEAR} 至 {LATEST_YEAR} 年之间",
            f"start must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}", field="start",
        )
    unit = None
    if payload.org_unit_id is not None:
        unit = OrgUnit.objects.filter(pk=payload.org_unit_id, is_active=True).first()
        if unit is None:
            raise InvalidInput("组织单元不存在", "No such org unit", field="org_unit_id", code="unknown_org_unit")
    limit = workdays.Limit(payload.amount, payload.unit)
    due = services.compute_deadline(payload.start, limit)
    return {"start": payload.start, "due": due, "warn_at": services.compute_warning(payload.start, due, unit)}

"""Reads of places, always narrowed to what the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from yishi.core.permissions import get_scoped_or_404, restrict

from .models import HandlingUnit, OrgUnit, Station


def org_unit_list(*, user: Any, level: str | None = None, parent_id: int | None = None, q: str | None = None) -> QuerySet[OrgUnit]:
    qs = restrict(OrgUnit.objects.filter(is_active=True), user, "orgs.view_orgunit")
    if level:
        qs = qs.filter(level=level)
    if parent_id is not None:
        qs = qs.filter(parent_id=parent_id)
    if q:
        qs = qs.filter(name__icontains=q)
    return qs.order_by("path")


def org_unit_get(*, user: Any, pk: int) -> OrgUnit:
    return get_scoped_or_404(OrgUnit.objects.all(), user, "orgs.view_orgunit", pk=pk)


def station_list(*, user: Any, kind: str | None = None, org_unit_id: int | None = None, q: str | None = None) -> QuerySet[Station]:
    qs = restrict(Station.objects.filter(is_active=True).select_related("org_unit"), user, "orgs.view_station")
    if kind:
        qs = qs.filter(kind=kind)
    if org_unit_id is not None:
        unit = OrgUnit.objects.filter(pk=org_unit_id).first()
        qs = qs.filter(org_unit__path__startswith=unit.path) if unit else qs.none()
    if q:
        qs = qs.filter(name__icontains=q)
    return qs


def station_get(*, user: Any, pk: int) -> Station:
    qs = Station.objects.filter(is_active=True).select_related("org_unit").prefetch_related("members__user")
    return get_scoped_or_404(qs, user, "orgs.view_station", pk=pk)


def handling_unit_list(*, user: Any, org_unit_id: int | None = None, kind: str | None = None) -> QuerySet[HandlingUnit]:
    qs = restrict(HandlingUnit.objects.filter(is_active=True), user, "orgs.view_handlingunit")
    if org_unit_id is not None:
        qs = qs.filter(org_unit_id=org_unit_id)
    if kind:
        qs = qs.filter(kind=kind)
    return qs

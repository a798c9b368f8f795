from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema

from yishi.core.api_auth import PUBLIC, auth
from yishi.core.pagination import Page, paginate
from yishi.core.schemas import ERRORS, Id

from . import selectors
from .choices import OrgLevel, StationKind
from .schemas import HandlingUnitOut, OrgUnitOut, StationDetailOut, StationOut

router = Router(tags=["orgs 组织与阵地"])


class OrgUnitFilter(Schema):
    level: OrgLevel | None = None
    parent_id: Id | None = None
    q: str | None = None


class StationFilter(Schema):
    kind: StationKind | None = None
    org_unit_id: Id | None = None
    q: str | None = None


@router.get("/org-units", response={200: list[OrgUnitOut], **ERRORS}, auth=auth("read"))
@paginate(Page)
def list_org_units(request: HttpRequest, filters: Query[OrgUnitFilter]):
    return selectors.org_unit_list(user=request.user, level=filters.level, parent_id=filters.parent_id, q=filters.q)


@router.get("/org-units/{unit_id}", response={200: OrgUnitOut, **ERRORS}, auth=auth("read"))
def get_org_unit(request: HttpRequest, unit_id: Id):
    return selectors.org_unit_get(user=request.user, pk=unit_id)


@router.get("/handling-units", response={200: list[HandlingUnitOut], **ERRORS}, auth=auth("read"))
@paginate(Page)
def list_handling_units(request: HttpRequest, org_unit_id: Id | None = None):
    return selectors.handling_unit_list(user=request.user, org_unit_id=org_unit_id)


@router.get("/stations", response={200: list[StationOut], **ERRORS}, auth=PUBLIC)
@paginate(Page)
def list_stations(request: HttpRequest, filters: Query[StationFilter]):
    return selectors.station_list(user=request.user, kind=filters.kind, org_unit_id=filters.org_unit_id, q=filters.q)


@router.get("/stations/{station_id}", response={200: StationDetailOut, **ERRORS}, auth=PUBLIC)
def get_station(request: HttpRequest, station_id: Id):
    return selectors.station_get(user=request.user, pk=station_id)

from __future__ import annotations

from ninja import Field, Schema

from .models import Station


class OrgUnitOut(Schema):
    id: int
    name: str
    code: str
    level: str
    parent_id: int | None
    depth: int
    address: str


class HandlingUnitOut(Schema):
    id: int
    name: str
    code: str
    kind: str
    org_unit_id: int
    phone: str


class StationMemberOut(Schema):
    user_id: int
    name: str
    role: str


class StationOut(Schema):
    id: int
    name: str
    kind: str
    kind_label: str
    org_unit_id: int
    org_unit_name: str = Field(..., alias="org_unit.name")
    address: str
    opening_hours: str
    phone: str
    latitude: float | None
    longitude: float | None


    @staticmethod
    def resolve_kind_label(obj: Station) -> str:
        return str(obj.get_kind_display())


class StationDetailOut(StationOut):
    description: str
    members: list[StationMemberOut]

    @staticmethod
    def resolve_members(obj: Station) -> list[dict[str, object]]:
        return [{"user_id": m.user_id, "name": str(m.user), "role": m.role} for m in obj.members.all()]

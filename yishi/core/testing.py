"""Builders shared by the test suites of every app (a small district with two streets and their people)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection

from yishi.accounts.models import RoleAssignment, User
from yishi.orgs.models import HandlingUnit, OrgUnit, Station
from yishi.orgs.services import org_unit_create


@dataclass
class Tree:
    district: OrgUnit
    street_a: OrgUnit
    street_b: OrgUnit
    community_a1: OrgUnit
    community_a2: OrgUnit
    community_b1: OrgUnit
    grid_a1: OrgUnit
    unit_housing: HandlingUnit
    unit_water: HandlingUnit
    unit_street_a: HandlingUnit
    station_a1: Station
    station_b1: Station


def build_tree() -> Tree:
    district = org_unit_create(
        actor=None, name="江海区", code="D01", level="district",
        min_lat=22.50, max_lat=22.65, min_lng=113.05, max_lng=113.20,
    )
    street_a = org_unit_create(actor=None, name="外海街道", code="D01-S01", level="street", parent=district)
    street_b = org_unit_create(actor=None, name="礼乐街道", code="D01-S02", level="street", parent=district)
    c_a1 = org_unit_create(actor=None, name="直冲社区", code="D01-S01-C01", level="community", parent=street_a)
    c_a2 = org_unit_create(actor=None, name="麻园社区", code="D01-S01-C02", level="community", parent=street_a)
    c_b1 = org_unit_create(actor=None, name="威东社区", code="D01-S02-C01", level="community", parent=street_b)
    grid = org_unit_create(actor=None, name="直冲社区第1网格", code="D01-S01-C01-G01", level="grid", parent=c_a1)
    housing = HandlingUnit.objects.create(name="区住房和城乡建设局", code="HU-HOUSING", kind="department", org_unit=district)
    water = HandlingUnit.objects.create(name="江海供水有限公司", code="HU-WATER", kind="utility", org_unit=district)
    street_office = HandlingUnit.objects.create(name="外海街道办事处", code="HU-S01", kind="street_office", org_unit=street_a)
    st_a1 = Station.objects.create(name="直冲社区人大代表联络站", kind="deputy_liaison", org_unit=c_a1, address="直冲路1号")
    st_b1 = Station.objects.create(name="威东社区委员之家", kind="members_home", org_unit=c_b1, address="威东路8号")
    return Tree(district, street_a, street_b, c_a1, c_a2, c_b1, grid, housing, water, street_office, st_a1, st_b1)


_counter = {"n": 0}


def make_user(role: str | None = None, unit: OrgUnit | None = None, *, username: str | None = None,
              password: str = "pw-Yishi-2026", **extra: Any) -> User:
    _counter["n"] += 1
    name = username or f"user{_counter['n']}"
    user = User.objects.create_user(username=name, password=password, display_name=name)
    if role is not None and unit is not None:
        RoleAssignment.objects.create(user=user, role=role, org_unit=unit, **extra)
    return user


def race(*calls: Callable[[], Any], result: Callable[[Any], Any] = lambda value: value) -> list[Any]:
    """Run the calls at once (threads started together at a barrier, each on its own database connection, in real
    transactions: tests of row locks, PostgreSQL only). Each outcome is ``result`` of what the call returned, the
    code of the domain error it raised (``transition_not_allowed``…), or the repr of any other error, so that an
    unexpected one fails the test with its description."""
    from yishi.core.errors import YishiError

    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[i] = result(call())
        except YishiError as exc:
            outcomes[i] = exc.code
        except Exception as exc:  # any other error fails the test with its description
            outcomes[i] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes

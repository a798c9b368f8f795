"""``yishi demo``: what it loads, that it loads it once, that its people can sign in and the home page lists them."""

from __future__ import annotations

import re
import time
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpRequest
from django.test import Client, override_settings

from yishi.accounts.models import RoleAssignment, User
from yishi.audit.models import AuditEvent
from yishi.audit.services import verify_chain
from yishi.core.demo import DISTRICT_BOX, DISTRICT_CODE
from yishi.core.demo_accounts import DEMO_PASSWORD, FEATURED_LOGINS
from yishi.core.permissions import can, grants, has_role
from yishi.orgs.choices import HandlingUnitKind, StationKind
from yishi.orgs.models import Enterprise, HandlingUnit, OrgUnit, Sector, Station, StationMember

MODELS = [OrgUnit, Sector, Enterprise, HandlingUnit, Station, StationMember, User, RoleAssignment]


def load(*args: str) -> str:
    out = StringIO()
    # The appeals replay has its own tests (yishi/appeals/tests/test_demo_appeals.py); these test the core steps.
    call_command("demo", "--force", "--skip", "appeals", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture
def demo(db) -> OrgUnit:
    load()
    return OrgUnit.objects.get(code=DISTRICT_CODE)


def test_refuses_without_demo_mode(db):
    with pytest.raises(CommandError, match="YISHI_DEMO"):
        call_command("demo", stdout=StringIO())
    assert not OrgUnit.objects.exists()


@override_settings(YISHI_DEMO=True)
def test_loads_in_demo_mode_without_force(db):
    # CPU time of this process, not wall time: the budget must not fail because other jobs share the machine.
    started = time.process_time()
    call_command("demo", "--skip", "appeals", stdout=StringIO())
    assert time.process_time() - started < 10
    assert OrgUnit.objects.filter(code=DISTRICT_CODE).exists()


def test_tree_counts_and_paths(demo):
    units = OrgUnit.objects.subtree(demo)
    levels = Counter(units.values_list("level", flat=True))
    assert demo.name == "江海区" and demo.level == "district" and demo.parent is None
    assert (demo.min_lat, demo.max_lat, demo.min_lng, demo.max_lng) == DISTRICT_BOX
    assert levels["street"] == 5 and levels["community"] == 20
    for community in units.filter(level="community"):
        assert 2 <= community.children.filter(level="grid").count() <= 4
    assert levels["grid"] == units.filter(level="grid").count() >= 40
    for unit in units.select_related("parent"):
        expected = f"{unit.parent.path}{unit.pk}/" if unit.parent else f"/{unit.pk}/"
        assert unit.path == expected and unit.depth == unit.path.count("/") - 2
        if unit.parent:
            # Every box lies inside its parent's box.
            assert unit.parent.min_lat <= unit.min_lat < unit.max_lat <= unit.parent.max_lat
            assert unit.parent.min_lng <= unit.min_lng < unit.max_lng <= unit.parent.max_lng
    assert AuditEvent.objects.filter(code="orgs.unit.created").count() == units.count()


def test_places_around_the_tree(demo):
    assert Sector.objects.count() == 8
    kinds = Counter(Enterprise.objects.values_list("kind", flat=True))
    assert kinds["property_company"] >= 3 and kinds["owners_committee"] >= 3
    units = Counter(HandlingUnit.objects.values_list("kind", flat=True))
    assert units == {
        HandlingUnitKind.DEPARTMENT: 15, HandlingUnitKind.UTILITY: 4,
        HandlingUnitKind.STREET_OFFICE: 5, HandlingUnitKind.COMMUNITY_OFFICE: 20,
    }
    names = set(HandlingUnit.objects.values_list("name", flat=True))
    for fragment in ["住房和城乡建设局", "城市管理", "交通运输局", "生态环境局", "市场监督管理局", "公安局", "教育局",
                     "卫生健康局", "人力资源和社会保障局", "民政局", "水务局", "自然资源局", "供水", "供电", "燃气", "通信"]:
        assert any(fragment in name for name in names), fragment
    # Every street and community office is a handling unit attached to its own unit.
    for office in HandlingUnit.objects.filter(kind__in=["street_office", "community_office"]).select_related("org_unit"):
        assert office.org_unit.level == ("street" if office.kind == "street_office" else "community")


def test_stations_of_every_kind(demo):
    stations = Station.objects.select_related("org_unit", "sector")
    assert set(stations.values_list("kind", flat=True)) == set(StationKind.values)
    assert stations.filter(kind="consultation_room", org_unit__level="district", name__contains="委员议事厅").count() == 1
    assert stations.filter(kind="consultation_room", org_unit__level="street", name__contains="委员议事室").count() == 5
    assert stations.filter(kind="members_home", org_unit__level="community").count() >= 10
    medical = stations.get(kind="industry_liaison")
    assert medical.sector is not None and medical.sector.name == "医药卫生界"
    for station in stations:
        assert station.address and station.opening_hours and station.phone, station
        assert station.org_unit.contains_point(station.latitude, station.longitude), station
        assert station.members.exists(), station


def test_people_and_their_roles(demo):
    users = User.objects.filter(username__startswith="demo_")
    assert not User.objects.exclude(username__startswith="demo_").exists()
    roles = Counter(RoleAssignment.objects.values_list("role", flat=True))
    assert roles["platform_admin"] == 1 and roles["dispatcher"] == 2 and roles["district_staff"] == 2
    assert roles["street_staff"] == 5 and roles["community_staff"] == 20
    assert roles["grid_worker"] == OrgUnit.objects.filter(level="grid").count()
    assert roles["deputy"] == 12 and roles["cppcc_member"] == 12 and roles["resident"] == 30
    assert roles["party_approver"] == 3 and roles["expert"] == 4 and roles["evaluator"] == 1 and roles["volunteer"] == 6
    # A liaison for every handling unit; heads for several.
    assert set(RoleAssignment.objects.filter(role="unit_liaison").values_list("handling_unit", flat=True)) == set(
        HandlingUnit.objects.values_list("pk", flat=True)
    )
    assert roles["unit_head"] >= 5
    admin = users.get(username="demo_admin")
    assert admin.is_superuser and admin.is_staff
    assert set(users.filter(is_staff=True).values_list("username", flat=True)) == {"demo_admin", "demo_district1", "demo_district2"}
    for deputy in users.filter(roles__role="deputy"):
        assert deputy.bio and deputy.expertise
        assignment = deputy.roles.get(role="deputy")
        assert assignment.station is not None
        assert StationMember.objects.filter(user=deputy, station=assignment.station, role="deputy").exists()
    for member in users.filter(roles__role="cppcc_member"):
        assert member.roles.get(role="cppcc_member").sector is not None
        assert StationMember.objects.filter(user=member).exists()
    for resident in users.filter(roles__role="resident"):
        assert re.fullmatch(r"1380000\d{4}", resident.phone or "")
        assert resident.home_unit is not None and resident.home_unit.level == "grid"
    phones = [p for p in users.values_list("phone", flat=True) if p]
    assert all(p.startswith("1380000") for p in phones) and len(phones) == len(set(phones))


# One login of each kind: (username, role, level of the unit the role is scoped to).
LOGINS = [
    ("demo_admin", "platform_admin", "district"),
    ("demo_dispatcher", "dispatcher", "district"),
    ("demo_district1", "district_staff", "district"),
    ("demo_street1", "street_staff", "street"),
    ("demo_community1", "community_staff", "community"),
    ("demo_grid1", "grid_worker", "grid"),
    ("demo_unit_housing", "unit_liaison", "district"),
    ("demo_head_housing", "unit_head", "district"),
    ("demo_unit_water", "unit_liaison", "district"),
    ("demo_deputy1", "deputy", "street"),
    ("demo_deputy2", "deputy", "district"),
    ("demo_member1", "cppcc_member", "street"),
    ("demo_party1", "party_approver", "district"),
    ("demo_party3", "party_approver", "community"),
    ("demo_expert1", "expert", "district"),
    ("demo_evaluator", "evaluator", "district"),
    ("demo_volunteer1", "volunteer", "community"),
    ("demo_resident1", "resident", "community"),
]


def test_demo_users_log_in_with_their_roles(demo):
    # One load for all of them: the demo takes about a second.
    for username, role, level in LOGINS:
        client = Client()
        assert client.login(request=HttpRequest(), username=username, password=DEMO_PASSWORD), username
        user = User.objects.get(username=username)
        assert has_role(user, role) and any(g.role == role for g in grants(user)), username
        assert user.roles.get(role=role).org_unit.level == level, username
    assert {name for name, _role, _level in LOGINS} <= set(FEATURED_LOGINS)


def test_scopes_follow_the_tree(demo):
    street1 = User.objects.get(username="demo_street1")
    own, other = OrgUnit.objects.filter(level="street").order_by("code")[:2]
    assert can(street1, "orgs.view_orgunit", own) and not can(street1, "orgs.view_orgunit", other)
    housing = User.objects.get(username="demo_unit_housing").roles.get(role="unit_liaison")
    assert housing.handling_unit.name == "江海区住房和城乡建设局"


def test_staff_reach_the_admin(demo):
    client = Client()
    assert client.login(request=HttpRequest(), username="demo_admin", password=DEMO_PASSWORD)
    assert client.get("/admin/").status_code == 200
    resident = Client()
    assert resident.login(request=HttpRequest(), username="demo_resident1", password=DEMO_PASSWORD)
    assert resident.get("/admin/").status_code == 302


def test_running_twice_creates_nothing(demo):
    before, events = row_counts(), AuditEvent.objects.count()
    output = load()
    assert "nothing to do" in output
    assert row_counts() == before
    assert AuditEvent.objects.count() == events


def test_adds_only_what_is_missing(demo):
    before = row_counts()
    User.objects.get(username="demo_resident30").delete()
    Station.objects.get(kind="industry_liaison").members.all().delete()
    load()
    assert row_counts() == before


def test_reset_reloads_the_same_data_and_keeps_the_audit_trail(demo):
    before = row_counts()
    names = sorted(User.objects.values_list("username", "display_name", "phone"))
    events = AuditEvent.objects.count()
    output = load("--reset")
    assert "Deleted demo rows" in output
    assert row_counts() == before
    assert sorted(User.objects.values_list("username", "display_name", "phone")) == names
    assert AuditEvent.objects.count() > events
    assert AuditEvent.objects.filter(code="core.demo.reset").count() == 1
    assert verify_chain() == []


def test_reset_removes_others_roles_over_demo_places(demo):
    from yishi.core.testing import make_user

    outsider = make_user("street_staff", OrgUnit.objects.get(name="外海街道"), username="outsider")
    load("--reset")
    assert User.objects.filter(pk=outsider.pk).exists()
    assert not outsider.roles.exists()


def test_home_page_lists_demo_logins_in_demo_mode_only(demo):
    with override_settings(YISHI_DEMO=True):
        page = Client().get("/").content.decode()
    assert "demo_admin" in page and DEMO_PASSWORD in page
    # Featured logins come first, one per kind of user.
    positions = [page.index(f">{name}<") for name in FEATURED_LOGINS]
    assert positions == sorted(positions)
    with override_settings(YISHI_DEMO=False):
        page = Client().get("/").content.decode()
    assert "demo_admin" not in page and DEMO_PASSWORD not in page

"""The permission layer: nested scopes, several grants, admins, anonymous users and the policy switch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yishi.accounts.models import RoleAssignment, User
from yishi.core.errors import NotFound, PermissionDenied
from yishi.core.permissions import (
    _minimal_paths,
    can,
    define,
    forget_grants,
    get_rule,
    get_scoped_or_404,
    grants,
    has_role,
    is_platform_admin,
    require,
    restrict,
)
from yishi.core.testing import make_user
from yishi.core.tests.sample.models import SampleOrder
from yishi.orgs.models import OrgUnit
from yishi.policy.models import PolicyProfile
from yishi.policy.services import default_profile

VIEW = "orgs.view_orgunit"
MANAGE = "orgs.manage_orgunit"

# Test-only rules: an org-unit rule opened to anonymous visitors by the sample's policy switch, and a rule with an
# object-level check (only units whose code ends in an odd digit) and its matching queryset narrowing.
define("test.public_units", roles={"street_staff"}, scope="", anonymous_param="sample.public_orders")
define("test.placeless_public", roles={"street_staff"}, anonymous_param="sample.public_orders")
define(
    "test.odd_units", roles={"street_staff", "district_staff"}, scope="",
    check=lambda user, unit, matching: unit.code[-1] in "13579",
    narrow=lambda user, matching: _odd_code_q(),
)


def _odd_code_q():
    from django.db.models import Q

    q = Q(pk__in=[])
    for digit in "13579":
        q |= Q(code__endswith=digit)
    return q


def visible(user, action=VIEW, model=OrgUnit) -> set[int]:
    return set(restrict(model.objects.all(), user, action).values_list("pk", flat=True))


def all_units(tree) -> list[OrgUnit]:
    return [tree.district, tree.street_a, tree.street_b, tree.community_a1, tree.community_a2, tree.community_b1,
            tree.grid_a1]


# --- nested scopes ----------------------------------------------------------------------------------------------

def test_nested_scopes(tree, district_staff, street_a_staff):
    community = make_user("community_staff", tree.community_a1)
    assert visible(district_staff) == {u.pk for u in all_units(tree)}
    assert visible(street_a_staff) == {tree.street_a.pk, tree.community_a1.pk, tree.community_a2.pk, tree.grid_a1.pk}
    assert visible(community) == {tree.community_a1.pk, tree.grid_a1.pk}
    assert can(community, VIEW, tree.grid_a1)
    assert not can(community, VIEW, tree.street_a)  # scope goes down, never up
    assert not can(community, VIEW, tree.community_a2)  # nor sideways


def test_a_path_prefix_is_not_a_scope(tree):
    # "/1/2/" must not cover "/1/23/": paths end with a slash so that prefixes stop at node boundaries.
    for unit in OrgUnit.objects.all():
        assert unit.path.startswith("/") and unit.path.endswith("/")
    street_staff = make_user("street_staff", tree.street_a)
    for unit in OrgUnit.objects.all():
        expected = unit.path.startswith(tree.street_a.path)
        assert can(street_staff, VIEW, unit) is expected


def test_several_grants_add_up(tree):
    user = make_user("community_staff", tree.community_a1)
    RoleAssignment.objects.create(user=user, role="street_staff", org_unit=tree.street_b)
    # A second, nested grant changes nothing and must not duplicate rows.
    RoleAssignment.objects.create(user=user, role="grid_worker", org_unit=tree.grid_a1)
    expected = {tree.community_a1.pk, tree.grid_a1.pk, tree.street_b.pk, tree.community_b1.pk}
    assert visible(user) == expected
    assert restrict(OrgUnit.objects.all(), user, VIEW).count() == len(expected)
    assert {g.role for g in grants(user)} == {"community_staff", "street_staff", "grid_worker"}


def test_role_filter_applies_per_grant(tree):
    # Roles do not mix across grants: community staff over the whole district plus street staff of street B is not
    # a manager of street A.
    user = make_user("street_staff", tree.street_b)
    RoleAssignment.objects.create(user=user, role="community_staff", org_unit=tree.district)
    assert not can(user, MANAGE, tree.community_a1)
    assert can(user, VIEW, tree.community_a1)


def test_minimal_paths_drops_covered_paths():
    assert sorted(_minimal_paths(["/1/2/3/", "/1/2/", "/1/4/", "/1/2/", "/1/45/"])) == ["/1/2/", "/1/4/", "/1/45/"]


def test_scope_through_a_foreign_key(tree, street_a_staff):
    inside = SampleOrder.objects.create(title="a", org_unit=tree.grid_a1)
    outside = SampleOrder.objects.create(title="b", org_unit=tree.community_b1)
    assert visible(street_a_staff, "sample.view", SampleOrder) == {inside.pk}
    assert get_scoped_or_404(SampleOrder.objects.all(), street_a_staff, "sample.view", pk=inside.pk) == inside
    with pytest.raises(NotFound):
        get_scoped_or_404(SampleOrder.objects.all(), street_a_staff, "sample.view", pk=outside.pk)


def test_placeless_rule_needs_only_a_role(tree, resident):
    liaison = make_user("unit_liaison", tree.street_b)
    order = SampleOrder.objects.create(title="a", org_unit=tree.community_a1)
    assert can(liaison, "sample.comment", order)  # any liaison, wherever
    assert not can(resident, "sample.comment", order)
    assert visible(liaison, "sample.comment", SampleOrder) == {order.pk}


# --- get_scoped_or_404 and require -------------------------------------------------------------------------------

def test_missing_and_out_of_scope_look_the_same(tree, street_a_staff):
    qs = OrgUnit.objects.all()
    assert get_scoped_or_404(qs, street_a_staff, VIEW, pk=tree.grid_a1.pk) == tree.grid_a1
    errors = []
    for pk in (tree.community_b1.pk, 999_999, "not-a-number"):
        with pytest.raises(NotFound) as info:
            get_scoped_or_404(qs, street_a_staff, VIEW, pk=pk)
        errors.append(info.value.as_dict())
    assert errors[0] == errors[1] == errors[2]


def test_object_check_and_narrow(tree):
    staff = make_user("street_staff", tree.street_a)
    odd = OrgUnit.objects.filter(path__startswith=tree.street_a.path, code__regex=r"[13579]$")
    assert visible(staff, "test.odd_units") == set(odd.values_list("pk", flat=True))
    assert tree.community_a1.code.endswith("1") and tree.community_a2.code.endswith("2")
    assert get_scoped_or_404(OrgUnit.objects.all(), staff, "test.odd_units", pk=tree.community_a1.pk)
    with pytest.raises(NotFound):
        get_scoped_or_404(OrgUnit.objects.all(), staff, "test.odd_units", pk=tree.community_a2.pk)
    assert not can(staff, "test.odd_units", tree.community_a2)


def test_require_distinguishes_forbidden_from_invisible(tree):
    community = make_user("community_staff", tree.community_a1)
    require(make_user("district_staff", tree.district), MANAGE, tree.grid_a1, visible_action=VIEW)
    with pytest.raises(PermissionDenied):  # sees the unit, may not manage it
        require(community, MANAGE, tree.grid_a1, visible_action=VIEW)
    with pytest.raises(NotFound):  # does not even see it
        require(community, MANAGE, tree.community_b1, visible_action=VIEW)
    with pytest.raises(PermissionDenied):  # without a visibility rule the answer is "forbidden"
        require(community, MANAGE, tree.community_b1)
    with pytest.raises(PermissionDenied):
        require(AnonymousUser(), MANAGE)


def test_undefined_rule_is_a_programming_error():
    with pytest.raises(LookupError):
        get_rule("nope.nothing")
    with pytest.raises(LookupError):
        can(None, "nope.nothing")


# --- administrators ----------------------------------------------------------------------------------------------

def test_platform_admin_and_superuser_may_do_everything(tree, admin_user):
    platform_admin = make_user("platform_admin", tree.grid_a1)  # where the role is held does not matter
    everything = {u.pk for u in all_units(tree)}
    for user in (platform_admin, admin_user):
        assert is_platform_admin(user) and has_role(user, "dispatcher")
        assert visible(user) == everything
        assert visible(user, MANAGE) == everything
        assert can(user, MANAGE, tree.community_b1)
        assert can(user, "test.odd_units", tree.community_a2)  # even past an object check
        assert get_scoped_or_404(OrgUnit.objects.all(), user, MANAGE, pk=tree.community_b1.pk)


def test_staff_flag_alone_grants_nothing(tree):
    user = make_user()
    user.is_staff = True
    user.save()
    assert not is_platform_admin(user)
    assert visible(user) == set()


# --- anonymous users ---------------------------------------------------------------------------------------------

def test_anonymous_with_a_public_rule(tree):
    anonymous = AnonymousUser()
    assert can(anonymous, "orgs.view_station", tree.station_b1)
    assert visible(anonymous, "orgs.view_station", tree.station_a1.__class__) == {tree.station_a1.pk, tree.station_b1.pk}
    assert can(None, "orgs.view_station")


def test_anonymous_without_a_public_rule(tree):
    anonymous = AnonymousUser()
    assert not can(anonymous, VIEW, tree.district)
    assert visible(anonymous) == set()
    with pytest.raises(NotFound):
        get_scoped_or_404(OrgUnit.objects.all(), anonymous, VIEW, pk=tree.district.pk)


def _profile(code: str, on: bool | None) -> PolicyProfile:
    params = dict(default_profile().params)
    if on is not None:
        params["sample.public_orders"] = on
    return PolicyProfile.objects.create(code=code, name=code, params=params)


def _choose(unit: OrgUnit, profile: PolicyProfile | None) -> None:
    OrgUnit.objects.filter(pk=unit.pk).update(policy_profile=profile)
    unit.refresh_from_db()


def test_anonymous_param_follows_the_area_profile(tree):
    anonymous = AnonymousUser()
    _choose(tree.street_a, _profile("open", True))
    _choose(tree.community_a2, _profile("closed", False))
    inside = SampleOrder.objects.create(title="a", org_unit=tree.grid_a1)
    closed = SampleOrder.objects.create(title="b", org_unit=tree.community_a2)
    elsewhere = SampleOrder.objects.create(title="c", org_unit=tree.community_b1)

    assert can(anonymous, "sample.view_public", inside)
    assert not can(anonymous, "sample.view_public", closed)
    assert not can(anonymous, "sample.view_public", elsewhere)  # default profile: switch absent → off
    assert visible(anonymous, "sample.view_public", SampleOrder) == {inside.pk}
    assert get_scoped_or_404(SampleOrder.objects.all(), anonymous, "sample.view_public", pk=inside.pk) == inside
    with pytest.raises(NotFound):
        get_scoped_or_404(SampleOrder.objects.all(), anonymous, "sample.view_public", pk=closed.pk)
    # The switch is for anonymous visitors only; signed-in users still need a role.
    assert not can(make_user(), "sample.view_public", inside)


def test_anonymous_param_on_in_the_default_profile(tree):
    anonymous = AnonymousUser()
    profile = default_profile()
    profile.params = {**profile.params, "sample.public_orders": True}
    profile.save()
    _choose(tree.street_b, _profile("closed", False))
    _choose(tree.community_b1, _profile("reopened", True))
    expected = {u.pk for u in all_units(tree) if u.pk != tree.street_b.pk}
    assert visible(anonymous, "test.public_units") == expected
    assert can(anonymous, "test.placeless_public")
    assert visible(anonymous, "test.placeless_public") == {u.pk for u in all_units(tree)}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    default_on=st.booleans(),
    choices=st.lists(st.sampled_from([None, True, False, "no-key"]), min_size=7, max_size=7),
    roles=st.lists(
        st.tuples(st.sampled_from(["street_staff", "community_staff", "resident"]), st.integers(0, 6)), max_size=3
    ),
)
def test_can_and_restrict_agree(tree, default_on, choices, roles):
    """For any profile layout and any grants, ``restrict`` selects exactly the units ``can`` allows."""
    units = all_units(tree)
    profile = default_profile()
    profile.params = {**profile.params, "sample.public_orders": default_on}
    profile.save()
    OrgUnit.objects.update(policy_profile=None)
    for i, (unit, choice) in enumerate(zip(units, choices, strict=True)):
        if choice is not None:
            chosen = _profile(f"p-{i}-{PolicyProfile.objects.count()}", None if choice == "no-key" else choice)
            OrgUnit.objects.filter(pk=unit.pk).update(policy_profile=chosen)
    user = User.objects.create_user(username=f"prop{User.objects.count()}")
    for role, index in roles:
        RoleAssignment.objects.get_or_create(user=user, role=role, org_unit=units[index])
    fresh_units = list(OrgUnit.objects.all())
    for who in (AnonymousUser(), user):
        for action in ("test.public_units", VIEW, "test.odd_units"):
            allowed = {u.pk for u in fresh_units if can(who, action, u)}
            assert visible(who, action) == allowed, (who, action)


# --- which assignments count ------------------------------------------------------------------------------------

def test_expired_and_inactive_assignments_are_ignored(tree):
    today = timezone.localdate()
    expired = make_user("street_staff", tree.street_a, valid_until=today - timedelta(days=1))
    inactive = make_user("street_staff", tree.street_a, is_active=False)
    last_day = make_user("street_staff", tree.street_a, valid_until=today)
    future = make_user("street_staff", tree.street_a, valid_until=today + timedelta(days=30))
    for user in (expired, inactive):
        assert grants(user) == [] and visible(user) == set()
        assert not can(user, VIEW, tree.street_a)
    for user in (last_day, future):
        assert can(user, VIEW, tree.street_a)


def test_grants_are_loaded_once_per_user_object(tree, django_assert_num_queries):
    user = make_user("street_staff", tree.street_a)
    with django_assert_num_queries(2):  # the reference cache's generation and the grants
        for unit in all_units(tree):
            can(user, VIEW, unit)
        is_platform_admin(user)
        grants(user)
    # Another object for the same user (the next request) finds them in the reference cache of this process.
    other = User.objects.get(pk=user.pk)
    with django_assert_num_queries(1):  # the generation only
        assert grants(other) == grants(user)
    # A new role is not seen through the cached object (one request = one view of the roles)…
    RoleAssignment.objects.create(user=user, role="street_staff", org_unit=tree.street_b)
    assert not can(user, VIEW, tree.street_b)
    # …but is by a fresh object (the next request), and after forget_grants.
    assert can(User.objects.get(pk=user.pk), VIEW, tree.street_b)
    forget_grants(user)
    assert can(user, VIEW, tree.street_b)


def test_a_revocation_is_seen_within_the_same_request(tree):
    """Inside one pinned scope (a request), revoking a role through the service drops the cached grants."""
    from yishi.accounts.services import role_revoke
    from yishi.policy import cache as reference

    boss = make_user("district_staff", tree.district)
    user = make_user("street_staff", tree.street_a)
    with reference.pinned():
        assert can(User.objects.get(pk=user.pk), VIEW, tree.street_a)
        role_revoke(actor=boss, assignment=RoleAssignment.objects.get(user=user))
        assert not can(user, VIEW, tree.street_a)
        assert not can(User.objects.get(pk=user.pk), VIEW, tree.street_a)

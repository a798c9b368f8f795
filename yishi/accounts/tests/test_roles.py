"""Role assignment and revocation: who may hand out which role where, and the audit trail of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.test import override_settings
from django.utils import timezone

from yishi.accounts.models import RoleAssignment, User
from yishi.accounts.services import role_assign, role_revoke
from yishi.audit.services import events_for
from yishi.core.errors import InvalidInput, NotFound, PermissionDenied
from yishi.core.permissions import can, grants
from yishi.core.testing import make_user


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def test_street_staff_assigns_within_their_street(tree, street_a_staff):
    newcomer = make_user()
    assignment = role_assign(actor=street_a_staff, user=newcomer, role="community_staff", org_unit=tree.community_a1)
    assert assignment.is_active and assignment.org_unit == tree.community_a1
    assert can(fresh(newcomer), "orgs.view_orgunit", tree.grid_a1)
    event = events_for(newcomer).get(code="accounts.role.assigned")
    assert event.actor_id == street_a_staff.pk
    assert event.after == {"role": "community_staff", "org_unit": tree.community_a1.pk}


def test_assigning_updates_the_users_cached_grants(tree, street_a_staff):
    newcomer = make_user()
    assert grants(newcomer) == []
    role_assign(actor=street_a_staff, user=newcomer, role="community_staff", org_unit=tree.community_a1)
    assert [g.role for g in grants(newcomer)] == ["community_staff"]


@pytest.mark.parametrize("who,error", [
    ("street_b_staff", NotFound),  # street A's units do not exist for street B
    ("community_staff", PermissionDenied),  # sees the unit, may not manage people
    ("resident", NotFound),
])
def test_who_may_not_assign(tree, request, who, error):
    actor = request.getfixturevalue(who) if who != "community_staff" else make_user(
        "community_staff", tree.community_a1)
    newcomer = make_user()
    with pytest.raises(error):
        role_assign(actor=actor, user=newcomer, role="grid_worker", org_unit=tree.grid_a1)
    assert not RoleAssignment.objects.filter(user=newcomer).exists()
    assert not events_for(newcomer).exists()


def test_only_platform_admins_hand_out_platform_admin(tree, street_a_staff):
    # platform_admin is global whatever unit it is attached to: a street officer must not be able to mint one.
    newcomer = make_user()
    with pytest.raises(PermissionDenied):
        role_assign(actor=street_a_staff, user=newcomer, role="platform_admin", org_unit=tree.community_a1)
    with pytest.raises(PermissionDenied):
        role_assign(actor=street_a_staff, user=street_a_staff, role="platform_admin", org_unit=tree.street_a)
    assert not fresh(newcomer).roles.exists()
    admin = make_user("platform_admin", tree.district)
    role_assign(actor=admin, user=newcomer, role="platform_admin", org_unit=tree.district)
    assert fresh(newcomer).roles.filter(role="platform_admin").exists()


def test_unknown_roles_are_rejected(tree, street_a_staff):
    with pytest.raises(InvalidInput) as info:
        role_assign(actor=street_a_staff, user=make_user(), role="emperor", org_unit=tree.street_a)
    assert info.value.field == "role"


def test_system_may_assign(tree):
    newcomer = make_user()
    role_assign(actor=None, user=newcomer, role="district_staff", org_unit=tree.district)
    assert events_for(newcomer).get().actor_label == "system"


def test_revoke(tree, street_a_staff):
    newcomer = make_user()
    assignment = role_assign(actor=street_a_staff, user=newcomer, role="grid_worker", org_unit=tree.grid_a1)
    role_revoke(actor=street_a_staff, assignment=assignment, reason="调离")
    assert not RoleAssignment.objects.get(pk=assignment.pk).is_active
    assert grants(fresh(newcomer)) == []
    event = events_for(newcomer).get(code="accounts.role.revoked")
    assert event.before == {"role": "grid_worker", "org_unit": tree.grid_a1.pk} and event.reason == "调离"
    # Assigning again revives the same row.
    again = role_assign(actor=street_a_staff, user=newcomer, role="grid_worker", org_unit=tree.grid_a1)
    assert again.pk == assignment.pk and again.is_active
    assert RoleAssignment.objects.filter(user=newcomer).count() == 1


def test_revoke_outside_scope(tree, street_a_staff, street_b_staff):
    newcomer = make_user()
    assignment = role_assign(actor=street_a_staff, user=newcomer, role="grid_worker", org_unit=tree.grid_a1)
    with pytest.raises(NotFound):
        role_revoke(actor=street_b_staff, assignment=assignment)
    assert RoleAssignment.objects.get(pk=assignment.pk).is_active


def test_assigning_again_renews_an_expired_assignment(tree, street_a_staff):
    newcomer = make_user()
    yesterday = timezone.localdate() - timedelta(days=1)
    RoleAssignment.objects.create(user=newcomer, role="grid_worker", org_unit=tree.grid_a1, valid_until=yesterday)
    assert grants(fresh(newcomer)) == []
    next_year = timezone.localdate() + timedelta(days=365)
    role_assign(actor=street_a_staff, user=newcomer, role="grid_worker", org_unit=tree.grid_a1, valid_until=next_year)
    assert [g.role for g in grants(fresh(newcomer))] == ["grid_worker"]
    assert RoleAssignment.objects.get(user=newcomer).valid_until == next_year
    role_assign(actor=street_a_staff, user=newcomer, role="grid_worker", org_unit=tree.grid_a1)
    assert RoleAssignment.objects.get(user=newcomer).valid_until is None  # open-ended, as asked


def test_argon2_is_the_first_password_hasher_in_production_settings():
    import yishi.settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    with override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS):
        assert make_password("pw-Yishi-2026").startswith("argon2$argon2id$")


def test_street_staff_cannot_raise_themselves_or_peers(tree, street_a_staff):
    import pytest

    from yishi.accounts.services import role_assign
    from yishi.core.errors import PermissionDenied
    from yishi.core.testing import make_user

    other = make_user()
    for role, unit in [("district_staff", tree.street_a), ("street_staff", tree.street_a), ("dispatcher", tree.community_a1)]:
        with pytest.raises(PermissionDenied):
            role_assign(actor=street_a_staff, user=street_a_staff, role=role, org_unit=unit)
        with pytest.raises(PermissionDenied):
            role_assign(actor=street_a_staff, user=other, role=role, org_unit=unit)
    assignment = role_assign(actor=street_a_staff, user=other, role="community_staff", org_unit=tree.community_a1)
    assert assignment.is_active


def test_district_staff_may_grant_street_roles(tree, district_staff):
    from yishi.accounts.services import role_assign
    from yishi.core.testing import make_user

    assert role_assign(actor=district_staff, user=make_user(), role="street_staff", org_unit=tree.street_b).is_active

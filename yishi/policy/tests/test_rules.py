"""Who may change policy profiles: platform administrators and the system, through the service and the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from yishi.core.errors import PermissionDenied
from yishi.core.testing import make_user
from yishi.policy.models import PolicyProfile
from yishi.policy.services import default_profile, profile_copy, profile_update


def _edited(profile: PolicyProfile) -> dict:
    return {**profile.params, "calendar.warning_percent": 70}


def test_district_staff_may_not_edit_or_copy_a_profile(tree, district_staff):
    profile = default_profile()
    with pytest.raises(PermissionDenied):
        profile_update(actor=district_staff, profile=profile, params=_edited(profile))
    with pytest.raises(PermissionDenied):
        profile_copy(actor=district_staff, source=profile, code="mine", name="mine")
    profile.refresh_from_db()
    assert profile.params["calendar.warning_percent"] != 70
    assert not PolicyProfile.objects.filter(code="mine").exists()


def test_platform_admins_and_the_system_may(tree, admin_user):
    platform = make_user("platform_admin", tree.district)
    profile = default_profile()
    updated = profile_update(actor=platform, profile=profile, params=_edited(profile))
    assert updated.params["calendar.warning_percent"] == 70
    assert profile_copy(actor=admin_user, source=updated, code="copy-a", name="A").params == updated.params
    assert profile_copy(actor=None, source=updated, code="copy-b", name="B").code == "copy-b"


def test_admin_shows_profiles_read_only_to_staff_without_the_rule(tree, district_staff, make_client):
    """A staff account given the Django model permissions still cannot change a profile in the admin."""
    district_staff.is_staff = True
    district_staff.save(update_fields=["is_staff"])
    district_staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_policyprofile", "change_policyprofile"]))
    profile = default_profile()
    client = make_client(district_staff)
    url = f"/admin/policy/policyprofile/{profile.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and 'name="params"' not in page.content.decode()
    response = client.post(url, {"name": "改名", "params": "{}", "change_note": "x"})
    assert response.status_code == 403
    profile.refresh_from_db()
    assert profile.name != "改名"

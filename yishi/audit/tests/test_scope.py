"""Reading the audit trail: district staff see the events whose subject lies in their district; a subject
outside it answers 404; platform administrators see everything."""

from __future__ import annotations

import pytest

from yishi.appeals.testing import submit
from yishi.audit.models import AuditEvent
from yishi.conftest import client_for
from yishi.core.permissions import can, restrict
from yishi.core.testing import make_user
from yishi.orgs.services import org_unit_create
from yishi.policy.services import default_profile, profile_update


@pytest.fixture
def two_districts(world):
    """The world's district plus a second one with its own appeal, station and staff."""
    other = org_unit_create(actor=None, name="蓬江区", code="D02", level="district")
    street = org_unit_create(actor=None, name="白沙街道", code="D02-S01", level="street", parent=other)
    community = org_unit_create(actor=None, name="水南社区", code="D02-S01-C01", level="community", parent=street)
    other_staff = make_user("district_staff", other, username="other_district_staff")
    mine = submit(world, unit=world.tree.community_a1)
    theirs = submit(world, unit=community)
    return world, other, community, other_staff, mine, theirs


def _events(client, **params):
    response = client.get("/api/audit/events", params | {"page_size": 200})
    return response.status_code, response.json()


def _subjects(items):
    return {(e["subject_type"], e["subject_id"]) for e in items}


def test_district_staff_see_only_their_districts_events(two_districts):
    world, other, community, other_staff, mine, theirs = two_districts
    status, body = _events(client_for(world.district_staff))
    assert status == 200 and body["count"] < AuditEvent.objects.count() <= 200
    seen = _subjects(body["items"])
    assert ("appeals.appeal", str(mine.pk)) in seen
    assert ("appeals.appeal", str(theirs.pk)) not in seen
    assert ("orgs.orgunit", str(world.tree.district.pk)) in seen
    assert ("orgs.orgunit", str(other.pk)) not in seen and ("orgs.orgunit", str(community.pk)) not in seen
    # The other district's staff see the mirror image.
    seen = _subjects(_events(client_for(other_staff))[1]["items"])
    assert ("appeals.appeal", str(theirs.pk)) in seen and ("appeals.appeal", str(mine.pk)) not in seen
    assert ("orgs.orgunit", str(other.pk)) in seen and ("orgs.orgunit", str(world.tree.district.pk)) not in seen


def test_a_subject_outside_the_district_is_not_found(two_districts):
    world, _other, _community, _other_staff, mine, theirs = two_districts
    client = client_for(world.district_staff)
    status, body = _events(client, subject_type="appeals.appeal", subject_id=str(theirs.pk))
    assert status == 404 and body["code"] == "not_found"
    missing = _events(client, subject_type="appeals.appeal", subject_id="999999")
    assert missing[0] == 404 and missing[1] == body  # missing and forbidden answer alike
    status, body = _events(client, subject_type="appeals.appeal", subject_id=str(mine.pk))
    assert status == 200 and [e["code"] for e in body["items"]] == ["appeals.appeal.submitted"]


def test_street_staff_and_residents_have_no_audit_view(two_districts):
    world, *_ = two_districts
    assert _events(client_for(world.street_a_staff))[0] == 403
    assert _events(client_for(world.resident))[0] == 403


def test_shared_subjects_are_seen_by_every_viewer_and_undeclared_ones_by_admins_only(two_districts, admin_user):
    world, _other, _community, other_staff, _mine, theirs = two_districts
    profile = default_profile()
    profile_update(actor=None, profile=profile, params={**profile.params, "calendar.warning_percent": 70})
    from yishi.audit.services import record

    secret = record(actor=None, code="test.undeclared", subject=("test.thing", 1))
    for staff in (world.district_staff, other_staff):
        seen = _subjects(_events(client_for(staff))[1]["items"])
        assert ("policy.policyprofile", str(profile.pk)) in seen
        assert ("test.thing", "1") not in seen
        assert not can(staff, "audit.view", secret)
    _status, body = _events(client_for(admin_user))
    assert {("test.thing", "1"), ("appeals.appeal", str(theirs.pk))} <= _subjects(body["items"])
    assert body["count"] == AuditEvent.objects.count()


def test_can_matches_restrict(two_districts):
    world, _other, _community, other_staff, _mine, _theirs = two_districts
    for user in (world.district_staff, other_staff):
        visible = set(restrict(AuditEvent.objects.all(), user, "audit.view").values_list("pk", flat=True))
        assert visible  # each district has events of its own
        assert visible == {e.pk for e in AuditEvent.objects.all() if can(user, "audit.view", e)}

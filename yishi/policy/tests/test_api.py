"""The policy and calendar endpoints."""

from __future__ import annotations

import pytest
from django.test import Client

from yishi.orgs.models import OrgUnit
from yishi.policy.models import PolicyProfile
from yishi.policy.services import default_profile, profile_copy, profile_update

DEADLINE = "/api/calendar/deadline"


def post_deadline(client: Client, **body):
    return client.post(DEADLINE, body, content_type="application/json")


def test_deadline_is_public_and_uses_the_calendar(db):
    response = post_deadline(Client(), start="2025-09-30T10:00:00+08:00", amount=7, unit="working_days")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["due"].startswith("2025-10-16T10:00:00")
    assert body["warn_at"].startswith("2025-10-13T")  # 80 % of 16 days after the start


def test_deadline_warning_uses_the_profile_of_the_given_area(tree):
    strict = profile_copy(actor=None, source=default_profile(), code="strict", name="strict")
    profile_update(actor=None, profile=strict, params={**strict.params, "calendar.warning_percent": 50})
    OrgUnit.objects.filter(pk=tree.street_b.pk).update(policy_profile=strict)
    body = {"start": "2025-11-03T08:00:00+08:00", "amount": 10, "unit": "hours"}
    default = post_deadline(Client(), **body).json()
    assert default["warn_at"].startswith("2025-11-03T16:00:00")
    local = post_deadline(Client(), **body, org_unit_id=tree.community_b1.pk).json()
    assert local["warn_at"].startswith("2025-11-03T13:00:00")


@pytest.mark.parametrize("body,field", [
    ({"amount": 1, "unit": "hours"}, "start"),
    ({"start": "2025-01-01T00:00:00+08:00", "unit": "hours"}, "amount"),
    ({"start": "2025-01-01T00:00:00+08:00", "amount": 1}, "unit"),
    ({"start": "2025-01-01T00:00:00+08:00", "amount": 1, "unit": "weeks"}, "unit"),
    ({"start": "2025-01-01T00:00:00+08:00", "amount": "many", "unit": "hours"}, "amount"),
    ({"start": "2025-01-01T00:00:00+08:00", "amount": -1, "unit": "hours"}, "amount"),
    ({"start": "2025-01-01T00:00:00+08:00", "amount": 3651, "unit": "hours"}, "amount"),
    ({"start": "2025-01-01T00:00:00", "amount": 1, "unit": "hours"}, "start"),
    ({"start": "yesterday", "amount": 1, "unit": "hours"}, "start"),
    ({"start": "9999-12-31T20:00:00+08:00", "amount": 10, "unit": "calendar_days"}, "start"),
    ({"start": "9999-12-30T20:00:00+08:00", "amount": 5, "unit": "working_days"}, "start"),
    ({"start": "0074-10-24T08:59:14-11:41", "amount": 150, "unit": "working_days"}, "start"),
    ({"start": "1969-12-31T23:59:59+00:00", "amount": 1, "unit": "hours"}, "start"),
    ({"start": "2025-01-01T00:00:00+08:00", "amount": 1, "unit": "hours", "org_unit_id": 999999}, "org_unit_id"),
    ({"start": "2025-01-01T00:00:00+08:00", "amount": 1, "unit": "hours", "org_unit_id": "x"}, "org_unit_id"),
])
def test_deadline_bad_input_names_the_field(db, body, field):
    response = post_deadline(Client(), **body)
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["field"] == field


def test_profiles_need_a_signed_in_caller(tree, street_a_staff, make_client):
    assert Client().get("/api/policy/profiles").status_code == 401
    response = make_client(street_a_staff).get("/api/policy/profiles")
    assert response.status_code == 200
    assert {p["code"] for p in response.json()} == set(PolicyProfile.objects.values_list("code", flat=True))


def test_effective_profile_endpoint_respects_scope(tree, street_a_staff, make_client):
    province = PolicyProfile.objects.get(code="generic-province")
    OrgUnit.objects.filter(pk=tree.street_a.pk).update(policy_profile=province)
    client = make_client(street_a_staff)
    assert client.get("/api/policy/effective").json()["code"] == default_profile().code
    assert client.get(f"/api/policy/effective?org_unit_id={tree.grid_a1.pk}").json()["code"] == "generic-province"
    outside = client.get(f"/api/policy/effective?org_unit_id={tree.community_b1.pk}")
    assert outside.status_code == 404 and outside.json()["code"] == "not_found"

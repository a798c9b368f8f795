"""Intake reads profiles, org units, categories and routing rules from the in-process reference cache
(``yishi.policy.cache``): what an operator changes — through a service, the admin, or another process writing the
database directly — is what the very next submission and dispatch use."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yishi.appeals.catalogue import routing_rule_set
from yishi.appeals.models import Appeal, RoutingRule
from yishi.appeals.services import appeal_dispatch
from yishi.appeals.testing import submit
from yishi.core.errors import InvalidInput
from yishi.orgs.models import HandlingUnit, OrgUnit
from yishi.orgs.services import org_unit_move
from yishi.policy.models import PolicyProfile
from yishi.policy.services import default_profile, profile_copy, profile_update


def strict(**params: object) -> PolicyProfile:
    profile = profile_copy(actor=None, source=default_profile(), code="strict", name="严格")
    return profile_update(actor=None, profile=profile, params={**profile.params, **params})


def sql(statement: str, params: list[object]) -> None:
    """A write as another process makes it: no ORM, no signal in this process."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_submit_and_dispatch_read_the_reference_data_once(world):
    appeal_dispatch(actor=world.dispatcher, appeal=submit(world))  # fills the cache
    with CaptureQueriesContext(connection) as submitted:
        appeal = submit(world)
    with CaptureQueriesContext(connection) as dispatched:
        appeal_dispatch(actor=world.dispatcher, appeal=appeal)
    for ctx in (submitted, dispatched):
        sqls = [q["sql"] for q in ctx.captured_queries]
        assert sum("policy_policygeneration" in s for s in sqls) == 1, sqls  # the generation, once per service call
        for table in ("policy_policyprofile", "orgs_orgunit", "appeals_category", "appeals_routingrule"):
            assert not any(f'FROM "{table}"' in s for s in sqls), (table, sqls)
    # The generation, the row, the audit event (lock, insert, head), the managers, their preferences and their
    # notifications; then the generation, the locked row, the assignment, the unit's people, their preferences and
    # notifications, the update, the audit event. The test's transaction turns each service's own transaction into
    # one savepoint (SAVEPOINT + RELEASE); a savepoint of its own inside it would show as a second pair.
    for ctx, budget in ((submitted, 8), (dispatched, 10)):
        sqls = [q["sql"] for q in ctx.captured_queries]
        assert sum(s.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")) for s in sqls) == 2, sqls
        assert len(sqls) - 2 <= budget, "\n".join(s[:120] for s in sqls)


def test_a_profile_change_is_seen_by_the_next_submission(world):
    submit(world, title="标题" * 15)  # 30 characters: within the default 60
    profile = strict(**{"appeals.title_max_length": 20})
    sql("UPDATE orgs_orgunit SET policy_profile_id = %s WHERE id = %s", [profile.pk, world.tree.street_a.pk])
    with pytest.raises(InvalidInput) as err:
        submit(world, title="标题" * 15)
    assert err.value.field == "title"
    submit(world, title="标题" * 15, unit=world.tree.community_b1)  # another street: still the default
    profile_update(actor=None, profile=profile, params={**profile.params, "appeals.title_max_length": 40})
    submit(world, title="标题" * 15)


def test_a_profile_change_is_seen_by_the_next_dispatch(world):
    first = appeal_dispatch(actor=world.dispatcher, appeal=submit(world))
    assert first.accept_due_at is not None and first.policy_version.startswith("beijing-2021@")
    profile = strict(**{"appeals.limit.accept": {"amount": 2, "unit": "hours"}})
    sql("UPDATE orgs_orgunit SET policy_profile_id = %s WHERE id = %s", [profile.pk, world.tree.district.pk])
    second = appeal_dispatch(actor=world.dispatcher, appeal=submit(world))
    assert second.policy_version == f"strict@{profile.version}"
    assert second.accept_due_at is not None and second.dispatched_at is not None
    assert (second.accept_due_at - second.dispatched_at).total_seconds() == 2 * 3600


def test_moving_a_unit_is_seen_by_the_next_submission_and_dispatch(world):
    office_b = HandlingUnit.objects.create(name="礼乐街道办事处", code="HU-S02", kind="street_office", org_unit=world.tree.street_b)
    routing_rule_set(actor=None, category=world.cat_building, area=world.tree.street_b, lead_unit=office_b)
    profile = strict(**{"appeals.title_max_length": 20})
    OrgUnit.objects.filter(pk=world.tree.street_b.pk).update(policy_profile=profile)
    before = appeal_dispatch(actor=world.dispatcher, appeal=submit(world, unit=world.tree.community_a2))
    assert before.lead_unit == world.tree.unit_housing
    org_unit_move(actor=world.district_staff, unit=world.tree.community_a2, new_parent=world.tree.street_b)
    with pytest.raises(InvalidInput):
        submit(world, unit=world.tree.community_a2, title="标题" * 15)
    after = appeal_dispatch(actor=world.dispatcher, appeal=submit(world, unit=world.tree.community_a2))
    assert after.lead_unit == office_b
    assert after.policy_version == f"strict@{profile.version}"


def test_a_routing_rule_written_elsewhere_routes_the_next_dispatch(world):
    assert appeal_dispatch(actor=world.dispatcher, appeal=submit(world)).lead_unit == world.tree.unit_housing
    sql("INSERT INTO appeals_routingrule (category_id, area_id, lead_unit_id, is_active) VALUES (%s, %s, %s, %s)",
        [world.cat_lift.pk, world.tree.street_a.pk, world.tree.unit_street_a.pk, True])
    assert appeal_dispatch(actor=world.dispatcher, appeal=submit(world)).lead_unit == world.tree.unit_street_a
    rule = RoutingRule.objects.get(category=world.cat_lift, area=world.tree.street_a)
    sql("INSERT INTO appeals_routingrule_co_units (routingrule_id, handlingunit_id) VALUES (%s, %s)", [rule.pk, world.tree.unit_water.pk])
    appeal = appeal_dispatch(actor=world.dispatcher, appeal=submit(world))
    assert set(appeal.assignments.values_list("unit_id", "role")) == {(world.tree.unit_street_a.pk, "lead"), (world.tree.unit_water.pk, "co")}


def test_a_deactivated_lead_unit_or_category_is_seen_at_once(world):
    appeal_dispatch(actor=world.dispatcher, appeal=submit(world))
    sql("UPDATE orgs_handlingunit SET is_active = %s WHERE id = %s", [False, world.tree.unit_housing.pk])
    with pytest.raises(InvalidInput) as err:
        appeal_dispatch(actor=world.dispatcher, appeal=submit(world))
    assert err.value.code == "no_routing_rule"
    sql("UPDATE appeals_category SET is_active = %s WHERE id = %s", [False, world.cat_lift.pk])
    with pytest.raises(InvalidInput) as err:
        submit(world)
    assert err.value.field == "category"
    assert Appeal.objects.filter(state="received").count() == 1  # the one left undispatched, nothing half-written


def test_the_people_to_notify_come_from_cached_role_assignments(world):
    from yishi.accounts.models import RoleAssignment
    from yishi.appeals.services import managers_of, unit_users
    from yishi.core.testing import make_user

    unit = world.tree.community_a1
    assert managers_of(unit) == [world.community_staff]
    assert unit_users([world.tree.unit_housing.pk]) == [world.housing_liaison]
    assert unit_users([world.tree.unit_water.pk]) == [world.water_liaison] and managers_of(world.tree.grid_a1) == []
    # Known holders: one query for the (active) users; nobody holding the role: no query at all.
    with CaptureQueriesContext(connection) as ctx:
        managers_of(unit)
        unit_users([world.tree.unit_water.pk, None])
        assert managers_of(world.tree.grid_a1) == []
    sqls = [q["sql"] for q in ctx.captured_queries if "policy_policygeneration" not in q["sql"]]
    assert len(sqls) == 2 and not any("accounts_roleassignment" in s for s in sqls), "\n".join(s[:300] for s in sqls)
    # A role granted by another process, or revoked: the next lookup sees it.
    newcomer = make_user()
    sql("INSERT INTO accounts_roleassignment (user_id, role, org_unit_id, is_active, created_at) VALUES (%s, 'community_staff', %s, %s, CURRENT_TIMESTAMP)",
        [newcomer.pk, unit.pk, True])
    assert set(managers_of(unit)) == {world.community_staff, newcomer}
    sql("UPDATE accounts_roleassignment SET is_active = %s WHERE user_id = %s", [False, world.community_staff.pk])
    assert managers_of(unit) == [newcomer]
    # A deactivated person is not notified, though the role is cached.
    sql("UPDATE accounts_user SET is_active = %s WHERE id = %s", [False, newcomer.pk])
    assert managers_of(unit) == []
    assert RoleAssignment.objects.filter(user=newcomer).exists()


def test_grants_come_from_the_cache_and_follow_a_revocation(world):
    from yishi.accounts.models import User
    from yishi.core.permissions import can

    fresh = User.objects.get(pk=world.dispatcher.pk)  # a new request's user object
    assert can(fresh, "appeals.manage", submit(world))
    again = User.objects.get(pk=world.dispatcher.pk)
    with CaptureQueriesContext(connection) as ctx:
        assert can(again, "appeals.manage", submit(world))
    assert not any("accounts_roleassignment" in q["sql"] for q in ctx.captured_queries)
    sql("UPDATE accounts_roleassignment SET is_active = %s WHERE user_id = %s", [False, world.dispatcher.pk])
    assert not can(User.objects.get(pk=world.dispatcher.pk), "appeals.manage", submit(world))


def test_an_api_intake_reads_neither_the_token_nor_the_roles_again(world):
    """POST /api/appeals with a token: after the first request, the token, the caller's grants and the reference
    data come from the process; what remains is the generation, the appeal, the managers told of it (users,
    preferences, notifications) and the audit event."""
    import json

    from django.test import Client

    from yishi.accounts.services import token_create

    _, secret = token_create(actor=world.resident, user=world.resident, name="t", scopes=["write"])
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    body = {"nature": "complaint", "category": world.cat_lift.pk, "title": "电梯停运", "text": "3 号楼电梯停运两天",
            "org_unit": world.tree.community_a1.pk}
    for _ in range(2):
        with CaptureQueriesContext(connection) as ctx:
            response = client.post("/api/appeals", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 201, response.content
    sqls = [q["sql"] for q in ctx.captured_queries]
    for table in ("accounts_apitoken", "accounts_roleassignment", "orgs_orgunit", "appeals_category", "policy_policyprofile"):
        assert not any(f'"{table}"' in s or f" {table} " in s for s in sqls), (table, sqls)
    audit = sum("audit_audit" in s for s in sqls)
    assert len(sqls) - audit <= 7, "\n".join(s[:120] for s in sqls)

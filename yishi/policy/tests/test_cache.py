"""The in-process cache of reference data: the generation token moves with every change, whoever makes it, and
the next read — in this process or another — sees the change."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from yishi.orgs.models import OrgUnit
from yishi.orgs.services import org_unit_move
from yishi.policy import cache
from yishi.policy.models import PolicyProfile
from yishi.policy.services import (
    default_profile,
    effective_profile,
    policy_value,
    profile_copy,
    profile_update,
)


def token() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM policy_policygeneration WHERE id = 1")
        return int(cursor.fetchone()[0])


def strict_profile(code: str = "strict", percent: int = 50) -> PolicyProfile:
    profile = profile_copy(actor=None, source=default_profile(), code=code, name=code)
    return profile_update(actor=None, profile=profile, params={**profile.params, "calendar.warning_percent": percent})


WATCHED = ["policy_policyprofile", "policy_workdayoverride", "orgs_orgunit", "orgs_handlingunit", "appeals_category",
           "appeals_routingrule", "appeals_routingrule_co_units", "accounts_roleassignment"]


def test_every_watched_table_has_its_triggers(db):
    assert sorted(cache.watched_tables()) == sorted(WATCHED)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = 'yishi_policy_generation'")
            assert sorted(row[0] for row in cursor.fetchall()) == sorted(WATCHED)
        else:
            cursor.execute("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'yishi_gen_%'")
            assert sorted(row[0] for row in cursor.fetchall()) == sorted(t for t in WATCHED for _ in range(3))


def test_a_write_to_a_watched_table_moves_the_token(tree):
    before = token()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE orgs_handlingunit SET name = name WHERE id = %s", [tree.unit_water.pk])
    after = token()
    assert after != before
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_user SET last_login = NULL")  # not reference data
    assert token() == after


def test_a_lookup_in_a_pinned_scope_reads_the_token_once(tree):
    effective_profile(tree.community_a1)
    with cache.pinned(), CaptureQueriesContext(connection) as ctx:
        for _ in range(5):
            assert policy_value("calendar.warning_percent", tree.community_a1) == 80
            effective_profile(tree.community_b1)
            effective_profile(tree.community_b1)
    # The token once, then the one unit not seen yet (its path, then its chosen ancestor).
    assert len(ctx.captured_queries) == 3, [q["sql"] for q in ctx.captured_queries]
    with CaptureQueriesContext(connection) as ctx:
        effective_profile(tree.community_b1)
    assert len(ctx.captured_queries) == 1  # outside a scope: the token only


def test_a_profile_chosen_by_another_process_is_seen_at_once(tree):
    strict = strict_profile()
    assert policy_value("calendar.warning_percent", tree.community_b1) == 80  # cached
    # No ORM, no signal in this process: as if another process wrote it.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE orgs_orgunit SET policy_profile_id = %s WHERE id = %s", [strict.pk, tree.street_b.pk])
    assert policy_value("calendar.warning_percent", tree.community_b1) == 50
    assert policy_value("calendar.warning_percent", tree.community_a1) == 80


def test_a_profile_update_is_seen_by_the_next_read(tree):
    strict = strict_profile()
    OrgUnit.objects.filter(pk=tree.district.pk).update(policy_profile=strict)
    assert policy_value("calendar.warning_percent", tree.community_a1) == 50
    profile_update(actor=None, profile=strict, params={**strict.params, "calendar.warning_percent": 60})
    assert policy_value("calendar.warning_percent", tree.community_a1) == 60


def test_a_change_inside_a_pinned_scope_is_read_back_in_that_scope(tree):
    strict = strict_profile()
    with cache.pinned():
        assert policy_value("calendar.warning_percent", tree.community_a1) == 80
        tree.street_a.policy_profile = strict
        tree.street_a.save(update_fields=["policy_profile"])
        assert policy_value("calendar.warning_percent", tree.community_a1) == 50


def test_moving_a_unit_moves_its_profile(tree, district_staff):
    strict = strict_profile()
    OrgUnit.objects.filter(pk=tree.street_b.pk).update(policy_profile=strict)
    assert policy_value("calendar.warning_percent", tree.community_a2) == 80
    org_unit_move(actor=district_staff, unit=tree.community_a2, new_parent=tree.street_b)
    assert policy_value("calendar.warning_percent", tree.community_a2) == 50
    # The caller's stale copy (path from before the move) still gets what the tree says now.
    assert effective_profile(tree.community_a2) == strict


def test_a_rolled_back_change_leaves_no_trace(tree):
    strict = strict_profile()
    before = token()
    with pytest.raises(RuntimeError), transaction.atomic():
        OrgUnit.objects.filter(pk=tree.district.pk).update(policy_profile=strict)
        assert policy_value("calendar.warning_percent", tree.community_a1) == 50  # cached under the new token
        raise RuntimeError
    assert token() == before
    assert policy_value("calendar.warning_percent", tree.community_a1) == 80


def test_a_missing_generation_row_is_put_back(tree):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM policy_policygeneration")
    assert policy_value("calendar.warning_percent", tree.community_a1) == 80
    before = token()
    OrgUnit.objects.filter(pk=tree.street_a.pk).update(name="新名")
    assert token() != before


def test_install_triggers_is_idempotent(tree):
    cache.install_triggers()
    cache.install_triggers()
    before = token()
    OrgUnit.objects.filter(pk=tree.street_a.pk).update(name="新名")
    assert token() != before


def test_a_move_inside_a_pinned_scope_is_read_back_in_that_scope(tree, district_staff):
    strict = strict_profile()
    OrgUnit.objects.filter(pk=tree.street_b.pk).update(policy_profile=strict)
    with cache.pinned():
        assert policy_value("calendar.warning_percent", tree.community_a2) == 80
        org_unit_move(actor=district_staff, unit=tree.community_a2, new_parent=tree.street_b)
        assert policy_value("calendar.warning_percent", tree.community_a2) == 50


def test_a_request_reads_the_generation_once(tree, rf):
    def view(request):
        for unit in (tree.community_a1, tree.community_a2, tree.community_b1, tree.street_a):
            policy_value("calendar.warning_percent", unit)
        return "ok"

    middleware = cache.PinPerRequestMiddleware(view)
    with CaptureQueriesContext(connection) as ctx:
        assert middleware(rf.get("/")) == "ok"
    assert sum("policy_policygeneration" in q["sql"] for q in ctx.captured_queries) == 1

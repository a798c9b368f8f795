"""Policy profiles: shipped profiles, inheritance down the org tree, versioned changes, overrides of the calendar."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction

from yishi.audit.models import AuditEvent
from yishi.audit.services import events_for
from yishi.core.errors import InvalidInput, NotFound
from yishi.orgs.models import OrgUnit
from yishi.policy import services
from yishi.policy.models import PolicyProfile, PolicyProfileVersion, WorkdayOverride
from yishi.policy.services import (
    SHIPPED_DIR,
    default_profile,
    effective_profile,
    is_workday,
    policy_value,
    profile_copy,
    profile_update,
    sync_shipped_profiles,
)
from yishi.policy.workdays import Limit, LimitUnit

TZ = ZoneInfo("Asia/Shanghai")
SHIPPED = {json.loads(p.read_text(encoding="utf-8"))["code"]: json.loads(p.read_text(encoding="utf-8"))
           for p in SHIPPED_DIR.glob("*.json")}


def choose(unit: OrgUnit, profile: PolicyProfile | None) -> OrgUnit:
    OrgUnit.objects.filter(pk=unit.pk).update(policy_profile=profile)
    unit.refresh_from_db()
    return unit


# --- shipped profiles --------------------------------------------------------------------------------------------

def test_shipped_profiles_exist_after_migrate(db):
    assert {"beijing-2021", "generic-province"} <= set(SHIPPED)
    for code, data in SHIPPED.items():
        profile = PolicyProfile.objects.get(code=code)
        assert profile.shipped and profile.name == data["name"]
        assert profile.params == data["params"]
        assert profile.versions.filter(version=1).exists()
    assert default_profile().code == "beijing-2021"
    assert PolicyProfile.objects.filter(is_default=True).count() == 1


def test_at_most_one_default_profile(db):
    other = PolicyProfile.objects.get(code="generic-province")
    other.is_default = True
    with pytest.raises(IntegrityError), transaction.atomic():
        other.save()
    # Non-default profiles are unconstrained.
    PolicyProfile.objects.create(code="x1", name="x1")
    PolicyProfile.objects.create(code="x2", name="x2")


def test_shipped_parameters_are_all_declared_and_valid(db):
    from yishi.policy.registry import PARAMETERS

    for data in SHIPPED.values():
        services.validate_params(data["params"])
        assert set(data["params"]) <= set(PARAMETERS)


def test_sync_adds_new_keys_without_overwriting_edits(db):
    profile = PolicyProfile.objects.get(code="generic-province")
    edited = {k: v for k, v in profile.params.items() if k != "calendar.warning_percent"}
    edited["accounts.phone_code_ttl_minutes"] = 15
    profile = profile_update(actor=None, profile=profile, params=edited, note="local rules")
    version = profile.version

    sync_shipped_profiles()
    profile.refresh_from_db()
    assert profile.params["accounts.phone_code_ttl_minutes"] == 15  # the operator's value stays
    assert profile.params["calendar.warning_percent"] == SHIPPED["generic-province"]["params"]["calendar.warning_percent"]
    assert profile.version == version + 1
    latest = profile.versions.get(version=profile.version)
    assert latest.params == profile.params and "calendar.warning_percent" in latest.note

    sync_shipped_profiles()  # idempotent
    profile.refresh_from_db()
    assert profile.version == version + 1


def test_sync_keeps_the_operators_choice_of_default(db):
    PolicyProfile.objects.filter(is_default=True).update(is_default=False)
    PolicyProfile.objects.filter(code="generic-province").update(is_default=True)
    sync_shipped_profiles()
    assert default_profile().code == "generic-province"


# --- inheritance -------------------------------------------------------------------------------------------------

def test_effective_profile_is_inherited_down_the_tree(tree):
    province = PolicyProfile.objects.get(code="generic-province")
    local = profile_copy(actor=None, source=province, code="waihai", name="外海街道")
    choose(tree.street_a, province)
    assert effective_profile(tree.street_a) == province
    assert effective_profile(tree.community_a1) == province
    assert effective_profile(tree.grid_a1) == province
    assert effective_profile(tree.street_b) == default_profile()
    assert effective_profile(tree.community_b1) == default_profile()
    assert effective_profile(tree.district) == default_profile()
    assert effective_profile(None) == default_profile()
    # The nearest choice wins.
    choose(tree.community_a1, local)
    assert effective_profile(tree.grid_a1) == local
    assert effective_profile(tree.community_a2) == province
    assert policy_value("accounts.phone_code_ttl_minutes", tree.grid_a1) == province.params[
        "accounts.phone_code_ttl_minutes"]


def test_policy_value_errors(tree):
    with pytest.raises(LookupError):
        policy_value("nobody.declared.this")
    with pytest.raises(LookupError):
        policy_value("nobody.declared.this", default=1)  # a typo is never hidden by a default

    profile = default_profile()
    profile.params = {k: v for k, v in profile.params.items() if k != "calendar.warning_percent"}
    profile.save()
    with pytest.raises(InvalidInput) as info:
        policy_value("calendar.warning_percent", tree.grid_a1)
    assert info.value.code == "policy_parameter_missing"
    assert policy_value("calendar.warning_percent", default=75) == 75


def test_no_default_profile(db):
    PolicyProfile.objects.update(is_default=False)
    with pytest.raises(NotFound) as info:
        default_profile()
    assert info.value.code == "no_policy_profile"
    with pytest.raises(NotFound):
        policy_value("calendar.warning_percent")
    assert policy_value("calendar.warning_percent", default=80) == 80


# --- changes -----------------------------------------------------------------------------------------------------

def test_profile_update_versions_and_audits(db, admin_user):
    profile = default_profile()
    old = dict(profile.params)
    new = {**old, "calendar.warning_percent": 70}
    updated = profile_update(actor=admin_user, profile=profile, params=new, note="提前预警")
    assert updated.version == profile.version + 1
    assert PolicyProfile.objects.get(pk=profile.pk).params == new
    history = PolicyProfileVersion.objects.get(profile=profile, version=updated.version)
    assert history.params == new and history.note == "提前预警" and history.changed_by_label == str(admin_user)
    event = events_for(updated).get(code="policy.profile.updated")
    assert event.before == {"calendar.warning_percent": old["calendar.warning_percent"]}
    assert event.after == {"calendar.warning_percent": 70}
    assert event.actor_id == admin_user.pk and event.reason == "提前预警"

    # The same values again change nothing.
    again = profile_update(actor=admin_user, profile=updated, params=new)
    assert again.version == updated.version
    assert events_for(updated).count() == 1


@pytest.mark.parametrize("key,value", [
    ("calendar.warning_percent", 150),
    ("calendar.warning_percent", "80"),
    ("calendar.warning_percent", True),
    ("accounts.phone_code_per_hour", 2.5),
    ("accounts.phone_code_per_hour", None),
    ("sample.public_orders", "yes"),
    ("no.such.parameter", 1),
])
def test_profile_update_rejects_invalid_params_naming_the_field(db, key, value):
    profile = default_profile()
    with pytest.raises(InvalidInput) as info:
        profile_update(actor=None, profile=profile, params={**profile.params, key: value})
    assert info.value.field == f"params.{key}"
    fresh = PolicyProfile.objects.get(pk=profile.pk)
    assert fresh.version == profile.version and fresh.params == profile.params
    assert not AuditEvent.objects.filter(code="policy.profile.updated").exists()


def test_profile_copy(db, admin_user):
    source = PolicyProfile.objects.get(code="generic-province")
    copy = profile_copy(actor=admin_user, source=source, code="jiangmen", name="江门市")
    assert copy.params == source.params and copy.version == 1
    assert not copy.is_default and not copy.shipped
    assert copy.versions.get(version=1).note == f"copied from {source.code} v{source.version}"
    assert events_for(copy).get(code="policy.profile.copied").after == {"source": source.code}
    # Editing the copy leaves the source alone.
    profile_update(actor=admin_user, profile=copy, params={**copy.params, "calendar.warning_percent": 60})
    assert PolicyProfile.objects.get(pk=source.pk).params == source.params
    with pytest.raises(InvalidInput) as info:
        profile_copy(actor=admin_user, source=source, code="jiangmen", name="again")
    assert info.value.field == "code"


# --- calendar through the database -------------------------------------------------------------------------------

def test_workday_override_changes_are_picked_up(db):
    day = date(2025, 10, 9)  # an ordinary Thursday after National Day
    assert is_workday(day)
    override = WorkdayOverride.objects.create(date=day, is_workday=False, note="台风停工")
    assert not is_workday(day)
    override.is_workday = True
    override.save()
    assert is_workday(day)
    WorkdayOverride.objects.create(date=date(2025, 10, 3), is_workday=True)
    assert is_workday(date(2025, 10, 3))
    override.delete()
    WorkdayOverride.objects.filter(date=date(2025, 10, 3)).get().delete()
    assert not is_workday(date(2025, 10, 3))


def test_workday_override_written_by_another_process_is_seen(db):
    day = date(2025, 10, 9)
    assert is_workday(day)  # cached in this process
    # Another process (or the shell) writes: no signal here, only the table's trigger moves the generation token.
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO policy_workdayoverride (date, is_workday, note) VALUES (%s, %s, '')", [day, False])
    assert not is_workday(day)


def test_deadline_and_warning_follow_the_area_profile(tree):
    start = datetime(2025, 9, 30, 10, tzinfo=TZ)
    due = services.compute_deadline(start, Limit(7, LimitUnit.WORKING_DAYS))
    assert due == datetime(2025, 10, 16, 10, tzinfo=TZ)
    strict = profile_copy(actor=None, source=default_profile(), code="strict", name="strict")
    profile_update(actor=None, profile=strict, params={**strict.params, "calendar.warning_percent": 50})
    choose(tree.street_b, strict)
    assert services.compute_warning(start, due, tree.community_b1) == start + (due - start) / 2
    assert services.compute_warning(start, due, tree.community_a1) == start + (due - start) * 0.8
    with pytest.raises(ValueError):
        services.limit_for("calendar.warning_percent")  # a percent is not a limit


def test_overrides_feed_the_deadline(db):
    start = datetime(2025, 10, 9, 9, tzinfo=TZ)
    WorkdayOverride.objects.create(date=date(2025, 10, 10), is_workday=False)
    assert services.compute_deadline(start, Limit(1, LimitUnit.WORKING_DAYS)) == start + timedelta(days=2)

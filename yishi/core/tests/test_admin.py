"""The admin: every model is registered and its pages load; writes go through the services."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from yishi.accounts.models import ApiToken, RoleAssignment
from yishi.accounts.services import token_create
from yishi.audit.models import AuditEvent
from yishi.audit.services import verify_chain
from yishi.orgs.models import OrgUnit
from yishi.policy.models import PolicyProfile, PolicyProfileVersion

YISHI_APPS = ("orgs", "accounts", "audit", "policy", "notifications")


@pytest.fixture
def admin_client(admin_user, make_client):
    return make_client(admin_user)


def test_every_model_of_the_core_apps_is_registered():
    from django.apps import apps

    missing = [
        model._meta.label
        for label in YISHI_APPS
        for model in apps.get_app_config(label).get_models()
        if model not in admin.site._registry
    ]
    assert missing == []


def test_admin_index_loads_for_superuser(tree, admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert "议事 Yishi 管理后台" in response.content.decode()


def test_admin_refuses_non_staff(tree, resident, make_client):
    response = make_client(resident).get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("label", YISHI_APPS)
def test_changelists_and_forms_load(label, tree, admin_user, admin_client):
    token_create(actor=admin_user, user=admin_user, name="t", scopes=["read"])
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != label:
            continue
        info = (model._meta.app_label, model._meta.model_name)
        response = admin_client.get(reverse("admin:{}_{}_changelist".format(*info)) + "?q=a")
        assert response.status_code == 200, model
        obj = model_admin.get_queryset(_request(admin_user)).first()
        if obj is not None:
            response = admin_client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
            assert response.status_code == 200, model
        if model_admin.has_add_permission(_request(admin_user)):
            assert admin_client.get(reverse("admin:{}_{}_add".format(*info))).status_code == 200, model


def _request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_org_unit_add_form_creates_unit_with_path_and_audit(tree, admin_client):
    response = admin_client.post(
        "/admin/orgs/orgunit/add/",
        {"name": "新建社区", "code": "D01-S01-C09", "level": "community", "parent": tree.street_a.pk, "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    unit = OrgUnit.objects.get(code="D01-S01-C09")
    assert unit.path == f"{tree.street_a.path}{unit.pk}/"
    assert unit.depth == tree.street_a.depth + 1
    assert AuditEvent.objects.filter(code="orgs.unit.created", subject_id=str(unit.pk)).exists()
    assert verify_chain() == []


def test_org_unit_add_form_rejects_duplicate_code(tree, admin_client):
    response = admin_client.post(
        "/admin/orgs/orgunit/add/", {"name": "重复", "code": tree.street_a.code, "level": "street", "parent": tree.district.pk}
    )
    assert response.status_code == 200
    assert OrgUnit.objects.filter(name="重复").count() == 0


def test_org_unit_change_of_parent_moves_the_subtree(tree, admin_client):
    url = f"/admin/orgs/orgunit/{tree.community_a1.pk}/change/"
    data = {"name": tree.community_a1.name, "code": tree.community_a1.code, "level": "community", "parent": tree.street_b.pk, "is_active": "on"}
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    tree.grid_a1.refresh_from_db()
    assert tree.grid_a1.path == f"{tree.street_b.path}{tree.community_a1.pk}/{tree.grid_a1.pk}/"
    assert AuditEvent.objects.filter(code="orgs.unit.moved").exists()


def test_org_unit_cannot_move_below_itself(tree, admin_client):
    url = f"/admin/orgs/orgunit/{tree.street_a.pk}/change/"
    data = {"name": tree.street_a.name, "code": tree.street_a.code, "level": "street", "parent": tree.grid_a1.pk, "is_active": "on"}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "不能移动到自身的下级" in response.content.decode()
    tree.street_a.refresh_from_db()
    assert tree.street_a.parent_id == tree.district.pk


def test_audit_events_are_read_only(tree, admin_client):
    event = AuditEvent.objects.first()
    assert admin_client.get("/admin/audit/auditevent/add/").status_code == 403
    assert admin_client.post(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    response = admin_client.post(f"/admin/audit/auditevent/{event.pk}/change/", {"code": "x"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.code == "orgs.unit.created"


def test_policy_profile_edit_goes_through_profile_update(db, admin_client):
    profile = PolicyProfile.objects.get(is_default=True)
    params = dict(profile.params)
    params["accounts.phone_code_per_hour"] = params["accounts.phone_code_per_hour"] + 1
    import json

    response = admin_client.post(
        f"/admin/policy/policyprofile/{profile.pk}/change/",
        {
            "name": profile.name, "description": profile.description, "is_default": "on",
            "params": json.dumps(params, ensure_ascii=False), "change_note": "每小时多发一次",
            "versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    updated = PolicyProfile.objects.get(pk=profile.pk)
    assert updated.version == profile.version + 1
    assert updated.params == params
    version = PolicyProfileVersion.objects.get(profile=profile, version=updated.version)
    assert version.note == "每小时多发一次" and version.changed_by_label == "root"
    event = AuditEvent.objects.get(code="policy.profile.updated")
    assert event.after == {"accounts.phone_code_per_hour": params["accounts.phone_code_per_hour"]}


def test_policy_profile_rejects_invalid_params(db, admin_client):
    profile = PolicyProfile.objects.get(is_default=True)
    response = admin_client.post(
        f"/admin/policy/policyprofile/{profile.pk}/change/",
        {"name": profile.name, "is_default": "on", "params": '{"accounts.phone_code_per_hour": "many"}',
         "versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0"},
    )
    assert response.status_code == 200
    assert "must be an integer" in response.content.decode()
    assert PolicyProfile.objects.get(pk=profile.pk).version == profile.version


def test_policy_profile_copy_action(db, admin_client):
    profile = PolicyProfile.objects.get(is_default=True)
    response = admin_client.post(
        "/admin/policy/policyprofile/", {"action": "copy_profiles", "_selected_action": [profile.pk]}
    )
    assert response.status_code == 302
    copy = PolicyProfile.objects.get(code=f"{profile.code}-copy")
    assert copy.params == profile.params and not copy.is_default
    assert AuditEvent.objects.filter(code="policy.profile.copied", subject_id=str(copy.pk)).exists()


def test_policy_profiles_cannot_be_added_or_deleted_here(db, admin_client):
    profile = PolicyProfile.objects.get(is_default=True)
    assert admin_client.get("/admin/policy/policyprofile/add/").status_code == 403
    assert admin_client.post(f"/admin/policy/policyprofile/{profile.pk}/delete/").status_code == 403


def test_api_token_revoke_action(tree, admin_user, admin_client):
    token, _secret = token_create(actor=admin_user, user=admin_user, name="机器", scopes=["read"])
    assert admin_client.post(f"/admin/accounts/apitoken/{token.pk}/change/", {"name": "x"}).status_code == 403
    response = admin_client.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.name == "机器"
    assert AuditEvent.objects.filter(code="accounts.token.revoked", subject_id=str(token.pk)).exists()
    assert ApiToken.objects.count() == 1


def _user_form(user, roles):
    data = {
        "username": user.username, "display_name": user.display_name, "phone": user.phone or "",
        "email": "", "first_name": "", "last_name": "", "bio": "", "expertise": "", "is_active": "on",
        "last_login_0": "", "last_login_1": "", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
        "roles-TOTAL_FORMS": str(len(roles)), "roles-INITIAL_FORMS": str(sum(1 for r in roles if r.get("id"))),
        "roles-MIN_NUM_FORMS": "0", "roles-MAX_NUM_FORMS": "1000",
    }
    for i, role in enumerate(roles):
        for key, value in role.items():
            data[f"roles-{i}-{key}"] = value
        data[f"roles-{i}-user"] = user.pk
    return data


def test_role_assignment_inline_goes_through_role_assign_and_revoke(tree, admin_client):
    from yishi.core.testing import make_user

    user = make_user(username="new_staff")
    url = f"/admin/accounts/user/{user.pk}/change/"
    role = {"role": "community_staff", "org_unit": tree.community_a1.pk, "is_active": "on"}
    response = admin_client.post(url, _user_form(user, [role]))
    assert response.status_code == 302, response.content.decode()[:3000]
    assignment = RoleAssignment.objects.get(user=user)
    assert assignment.is_active and assignment.org_unit == tree.community_a1
    assert AuditEvent.objects.filter(code="accounts.role.assigned", subject_id=str(user.pk)).exists()

    revoked = {"id": assignment.pk, "role": "community_staff", "org_unit": tree.community_a1.pk}
    response = admin_client.post(url, _user_form(user, [revoked]))
    assert response.status_code == 302, response.content.decode()[:3000]
    assignment.refresh_from_db()
    assert not assignment.is_active
    assert AuditEvent.objects.filter(code="accounts.role.revoked", subject_id=str(user.pk)).exists()


def test_role_assignment_inline_change_of_place_replaces_the_grant(tree, admin_client):
    from yishi.core.testing import make_user

    user = make_user("community_staff", tree.community_a1, username="mover")
    old = RoleAssignment.objects.get(user=user)
    moved = {"id": old.pk, "role": "community_staff", "org_unit": tree.community_a2.pk, "is_active": "on"}
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/", _user_form(user, [moved]))
    assert response.status_code == 302, response.content.decode()[:3000]
    old.refresh_from_db()
    assert not old.is_active and old.org_unit == tree.community_a1
    assert RoleAssignment.objects.get(user=user, is_active=True).org_unit == tree.community_a2

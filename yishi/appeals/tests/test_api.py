"""The appeals REST API beyond the transitions: lists and filters, detail, timeline, unit queue, public tracking,
callback and reopen links, the public board, categories, micro-wishes, token scopes and the OpenAPI document."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from yishi.appeals import services
from yishi.appeals.choices import AppealState as S
from yishi.appeals.models import Appeal, MicroWish, ReopenRequest
from yishi.appeals.testing import drive_to, submit
from yishi.appeals.workflow import appeal_workflow
from yishi.conftest import client_for
from yishi.core.testing import make_user
from yishi.policy.services import default_profile, profile_update

BEIJING = timezone.get_fixed_timezone(8 * 60)


def post_json(client: Client, url: str, data: dict | None = None, **headers):
    return client.post(url, data=json.dumps(data or {}), content_type="application/json", headers=headers)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


# --- OpenAPI ----------------------------------------------------------------------------------------------------


def test_openapi_document_generates_with_every_action(db):
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200, response.content[:500]
    spec = response.json()
    paths = spec["paths"]
    for name in appeal_workflow.transitions:
        operation = paths[f"/api/appeals/{{appeal_id}}/actions/{name}"]["post"]
        assert operation["operationId"] == f"appeal_{name}"
        assert {"200", "403", "404", "409"} <= set(operation["responses"])
    for path in [
        "/api/appeals", "/api/appeals/with-photos", "/api/appeals/on-behalf", "/api/appeals/{appeal_id}",
        "/api/appeals/{appeal_id}/timeline", "/api/units/queue", "/api/appeals/track/{tracking_code}",
        "/api/appeals/callback/{token}", "/api/appeals/reopen-request/{token}", "/api/appeals/board",
        "/api/categories", "/api/wishes", "/api/wishes/{wish_id}/adopt",
    ]:
        assert path in paths, path
    # Each action has its own input schema (or none); the trailing-slash twins stay out of the document.
    assert not any(p.endswith("/") for p in paths)
    header = paths["/api/appeals"]["post"]["parameters"][0]
    assert header["in"] == "header" and header["name"] == "Idempotency-Key"
    assert "multipart/form-data" in paths["/api/appeals/with-photos"]["post"]["requestBody"]["content"]


# --- list and filters -------------------------------------------------------------------------------------------


def test_list_is_scoped(world):
    a1 = submit(world)
    b1 = submit(world, unit=world.tree.community_b1, actor=make_user())
    assert set(ids(client_for(world.street_a_staff).get("/api/appeals"))) == {a1.pk}
    assert set(ids(client_for(world.street_b_staff).get("/api/appeals"))) == {b1.pk}
    assert set(ids(client_for(world.district_staff).get("/api/appeals"))) == {a1.pk, b1.pk}
    assert set(ids(client_for(world.resident).get("/api/appeals"))) == {a1.pk}
    assert ids(client_for(world.housing_liaison).get("/api/appeals")) == []
    services.appeal_dispatch(actor=world.dispatcher, appeal=a1)
    assert ids(client_for(world.housing_liaison).get("/api/appeals")) == [a1.pk]
    assert Client().get("/api/appeals").status_code == 401


def test_list_filters(world):
    lift = drive_to(world, S.IN_PROGRESS)
    water = submit(world, category=world.cat_water, nature="help", title="停水三天")
    services.appeal_dispatch(actor=world.dispatcher, appeal=water)
    b1 = submit(world, unit=world.tree.community_b1, nature="consult", title="咨询养老补贴")
    entered = services.appeal_submit(
        actor=world.street_a_staff, on_behalf=True, channel="phone",
        data=services.AppealInput(nature="suggest", category_id=world.cat_lift.pk, title="建议增设路灯", text="路口太暗",
                                  org_unit_id=world.tree.community_a2.pk, contact_phone="13700137000"),
    )
    client = client_for(world.district_staff)

    def q(**params):
        return set(ids(client.get("/api/appeals", params)))

    assert q(state="in_progress") == {lift.pk}
    assert q(category_id=world.cat_building.pk) == {lift.pk, b1.pk, entered.pk}  # the subtree of the top level
    assert q(category_id=world.cat_water.pk) == {water.pk}
    assert q(org_unit_id=world.tree.street_b.pk) == {b1.pk}
    assert q(org_unit_id=world.tree.community_a2.pk) == {entered.pk}
    assert q(unit_id=world.tree.unit_water.pk) == {water.pk}
    assert q(nature="consult") == {b1.pk}
    assert q(channel="phone") == {entered.pk}
    assert q(q="停水") == {water.pk}
    assert q(q=lift.tracking_code) == {lift.pk}
    assert q(supervised="true") == set()
    services.appeal_supervise(actor=world.street_a_staff, appeal=lift, note="请加快")
    assert q(supervised="true") == {lift.pk}
    today = timezone.localdate()
    assert q(received_from=today.isoformat(), received_to=today.isoformat()) == {lift.pk, water.pk, b1.pk, entered.pk}
    assert q(received_to=(today - timedelta(days=1)).isoformat()) == set()
    assert q(org_unit_id=999999) == set()
    bad = client.get("/api/appeals", {"state": "lost"})
    assert bad.status_code == 422 and bad.json()["field"] == "state"


def test_list_overdue_and_at_risk_marks(world):
    start = datetime(2024, 9, 30, 10, 0, tzinfo=BEIJING)  # a Monday; general limit 7 calendar days
    with time_machine.travel(start, tick=False):
        slow = drive_to(world, S.ACCEPTED)
        water = submit(world, category=world.cat_water)  # utility: 24 hours
        services.appeal_dispatch(actor=world.dispatcher, appeal=water)
    client = client_for(world.dispatcher)
    with time_machine.travel(start + timedelta(hours=20), tick=False):  # past 80 % of the 24 h
        items = {i["id"]: i for i in client.get("/api/appeals").json()["items"]}
        assert items[water.pk]["deadline_status"] == "at_risk" and items[slow.pk]["deadline_status"] == "ok"
        assert set(ids(client.get("/api/appeals", {"at_risk": "true"}))) == {water.pk}
        assert set(ids(client.get("/api/appeals", {"overdue": "true"}))) == set()
    with time_machine.travel(start + timedelta(days=2), tick=False):
        items = {i["id"]: i for i in client.get("/api/appeals").json()["items"]}
        assert items[water.pk]["deadline_status"] == "overdue"
        assert set(ids(client.get("/api/appeals", {"overdue": "true"}))) == {water.pk}
        assert set(ids(client.get("/api/appeals", {"overdue": "false"}))) == {slow.pk}


def test_list_is_paginated(world):
    for _ in range(3):
        submit(world)
    page = client_for(world.dispatcher).get("/api/appeals", {"page": 2, "page_size": 2}).json()
    assert page["count"] == 3 and page["pages"] == 2 and page["page"] == 2 and len(page["items"]) == 1


# --- detail and timeline ----------------------------------------------------------------------------------------


def test_detail_shows_handling_records_requests_and_callbacks(world):
    appeal = drive_to(world, S.IN_PROGRESS)
    services.appeal_request_extension(actor=world.housing_liaison, appeal=appeal, working_days=2, reason="需协调")
    detail = client_for(world.housing_liaison).get(f"/api/appeals/{appeal.pk}").json()
    assert detail["state"] == "in_progress" and detail["lead_unit_name"] == world.tree.unit_housing.name
    assert [a["role"] for a in detail["assignments"]] == ["lead"]
    assert [n["kind"] for n in detail["notes"]] == ["contact"]
    assert [(r["status"], r["working_days"]) for r in detail["extension_requests"]] == [("pending", 2)]
    assert {a["name"] for a in detail["actions"]} == {"progress", "contact", "co_report", "submit_reply", "request_extension"}
    assert detail["contact_phone"] == "13800138001"
    manager_view = client_for(world.community_staff).get(f"/api/appeals/{appeal.pk}").json()
    assert {"approve_extension", "refuse_extension", "merge", "escalate"} <= {a["name"] for a in manager_view["actions"]}
    replied = drive_to(world, S.REPLIED)
    services.appeal_callback(actor=world.dispatcher, appeal=replied, resolution="partial", satisfaction="basic")
    detail = client_for(world.dispatcher).get(f"/api/appeals/{replied.pk}").json()
    assert [(c["resolution"], c["satisfaction"], c["by_link"]) for c in detail["callbacks"]] == [("partial", "basic", False)]


def test_detail_outside_scope_or_missing_is_not_found(world):
    appeal = submit(world)
    for user in (world.street_b_staff, world.water_liaison, make_user()):
        response = client_for(user).get(f"/api/appeals/{appeal.pk}")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert client_for(world.dispatcher).get("/api/appeals/999999").status_code == 404
    assert client_for(world.street_b_staff).get(f"/api/appeals/{appeal.pk}/timeline").status_code == 404


def test_timeline_lists_every_step_with_its_actor(world):
    appeal = drive_to(world, S.REPLY_SUBMITTED)
    events = client_for(world.community_staff).get(f"/api/appeals/{appeal.pk}/timeline").json()
    assert [e["code"] for e in events] == [
        "appeals.appeal.submitted", "appeals.appeal.dispatch", "appeals.appeal.accept",
        "appeals.appeal.contact", "appeals.appeal.submit_reply",
    ]
    dispatch = events[1]
    assert dispatch["actor_id"] == world.dispatcher.pk
    assert dispatch["before"]["state"] == "received" and dispatch["after"]["state"] == "dispatched"
    assert dispatch["after"]["due_at"] and dispatch["after"]["lead_unit"] == world.tree.unit_housing.pk


# --- unit queue -------------------------------------------------------------------------------------------------


def test_unit_queue_sorted_by_deadline_with_marks(world):
    start = datetime(2024, 9, 30, 10, 0, tzinfo=BEIJING)
    with time_machine.travel(start, tick=False):
        general = drive_to(world, S.DISPATCHED)
        complex_ = submit(world)
        services.appeal_triage(actor=world.dispatcher, appeal=complex_, urgency="complex")
        services.appeal_dispatch(actor=world.dispatcher, appeal=complex_)
        urgent = submit(world)
        services.appeal_triage(actor=world.dispatcher, appeal=urgent, urgency="urgent")
        services.appeal_dispatch(actor=world.dispatcher, appeal=urgent)
        water = submit(world, category=world.cat_water)
        services.appeal_dispatch(actor=world.dispatcher, appeal=water)
        submit(world)  # not dispatched: not in any queue
    with time_machine.travel(start + timedelta(hours=3), tick=False):
        items = client_for(world.housing_liaison).get("/api/units/queue").json()["items"]
        assert [i["id"] for i in items] == [urgent.pk, general.pk, complex_.pk]
        assert [i["deadline_status"] for i in items] == ["overdue", "ok", "ok"]
        assert [i["id"] for i in client_for(world.water_liaison).get("/api/units/queue").json()["items"]] == [water.pk]
        assert client_for(world.community_staff).get("/api/units/queue").json()["items"] == []
        mine = client_for(world.housing_liaison).get("/api/units/queue", {"unit_id": world.tree.unit_water.pk})
        assert mine.json()["items"] == []  # a unit the caller does not belong to gives nothing


# --- public tracking, callback and reopen links -----------------------------------------------------------------


def test_tracking_is_masked_and_names_no_staff(world):
    appeal = submit(world, text="我住3号楼2单元501室，电话13812345678，电梯不通", contact_name="张三丰")
    appeal = services.appeal_dispatch(actor=world.dispatcher, appeal=appeal)
    response = Client().get(f"/api/appeals/track/{appeal.tracking_code.lower()}")
    assert response.status_code == 200, response.content
    data = response.json()
    raw = response.content.decode()
    assert "13812345678" not in raw and "501" not in raw and "张三丰" not in raw
    assert "138****5678" in data["text"]
    assert [s["state"] for s in data["steps"]] == ["received", "dispatched"]
    assert world.dispatcher.username not in raw and str(world.dispatcher) not in raw
    assert data["lead_unit_name"] == world.tree.unit_housing.name
    assert Client().get("/api/appeals/track/YS000000ABCDEF").status_code == 404
    assert Client().get("/api/appeals/track/not-a-code").status_code == 404


def test_callback_by_link(world):
    appeal = drive_to(world, S.IN_PROGRESS)
    url = f"/api/appeals/callback/{appeal.callback_token}"
    early = post_json(Client(), url, {"resolution": "resolved", "satisfaction": "satisfied"})
    assert early.status_code == 409 and early.json()["code"] == "transition_not_allowed"
    appeal = drive_to(world, S.REPLIED)
    url = f"/api/appeals/callback/{appeal.callback_token}"
    bad = post_json(Client(), url, {"resolution": "maybe", "satisfaction": "satisfied"})
    assert bad.status_code == 422 and bad.json()["field"] == "resolution"
    response = post_json(Client(), url, {"resolution": "resolved", "satisfaction": "satisfied", "comment": "谢谢"})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "closed"
    appeal.refresh_from_db()
    assert appeal.callbacks.get().by_link is True and appeal.satisfaction == "satisfied"
    again = post_json(Client(), url, {"resolution": "resolved", "satisfaction": "satisfied"})
    assert again.status_code == 409
    assert post_json(Client(), "/api/appeals/callback/nope", {"resolution": "resolved", "satisfaction": "basic"}).status_code == 404


def test_reopen_request_by_link(world):
    dispatched = drive_to(world, S.DISPATCHED)
    early = post_json(Client(), f"/api/appeals/reopen-request/{dispatched.callback_token}", {"reason": "没解决"})
    assert early.status_code == 409
    appeal = drive_to(world, S.CLOSED)
    url = f"/api/appeals/reopen-request/{appeal.callback_token}"
    blank = post_json(Client(), url, {"reason": "  "})
    assert blank.status_code == 400 and blank.json()["field"] == "reason"
    response = post_json(Client(), url, {"reason": "电梯还是没装"})
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"
    assert post_json(Client(), url, {"reason": "再次申请"}).json()["code"] == "reopen_pending"
    detail = client_for(world.dispatcher).get(f"/api/appeals/{appeal.pk}").json()
    assert [r["status"] for r in detail["reopen_requests"]] == ["pending"]
    reopened = post_json(client_for(world.dispatcher), f"/api/appeals/{appeal.pk}/actions/reopen", {"reason": "群众申请"})
    assert reopened.status_code == 200 and reopened.json()["state"] == "dispatched"
    assert ReopenRequest.objects.get(appeal=appeal).status == "approved"


def test_reopen_request_window(world):
    start = datetime(2024, 9, 2, 10, 0, tzinfo=BEIJING)
    with time_machine.travel(start, tick=False):
        appeal = drive_to(world, S.CLOSED)
    with time_machine.travel(start + timedelta(days=16), tick=False):
        late = post_json(Client(), f"/api/appeals/reopen-request/{appeal.callback_token}", {"reason": "还没解决"})
    assert late.status_code == 409 and late.json()["code"] == "reopen_window_passed"


# --- public board -----------------------------------------------------------------------------------------------


def test_board_masks_personal_data(world):
    shown = submit(world, text="3号楼502室漏水，请联系13812345678", contact_name="王小明")
    rejected = submit(world)
    services.appeal_reject(actor=world.dispatcher, appeal=rejected, reason="重复")
    elsewhere = submit(world, unit=world.tree.community_b1, actor=make_user())
    response = Client().get("/api/appeals/board")
    assert response.status_code == 200
    items = {i["id"]: i for i in response.json()["items"]}
    assert set(items) == {shown.pk, elsewhere.pk}
    raw = response.content.decode()
    assert "13812345678" not in raw and "502" not in raw and "王小明" not in raw
    assert items[shown.pk]["submitter"] == "王**"
    assert set(ids(Client().get("/api/appeals/board", {"org_unit_id": world.tree.street_a.pk}))) == {shown.pk}
    assert Client().get("/api/appeals/board", {"org_unit_id": 999999}).status_code == 404


def test_board_follows_the_profile_switch(world):
    submit(world)
    profile = default_profile()
    profile_update(actor=None, profile=profile, params={**profile.params, "appeals.public_board": False})
    response = Client().get("/api/appeals/board")
    assert response.status_code == 404 and response.json()["code"] == "board_closed"


# --- categories -------------------------------------------------------------------------------------------------


def test_categories_tree(world):
    tree = Client().get("/api/categories").json()
    top = next(c for c in tree if c["code"] == "C01")
    assert top["children"][0]["code"] == "C0101"
    assert top["children"][0]["children"][0]["name"] == "老旧小区加装电梯"
    water = next(c for c in tree if c["code"] == "C02")
    assert water["children"][0]["default_urgency"] == "utility"


# --- micro-wishes -----------------------------------------------------------------------------------------------


def test_wish_lifecycle(world):
    client = client_for(world.resident)
    created = post_json(client, "/api/wishes", {"title": "楼道装扶手", "text": "老人上下楼不便", "org_unit": world.tree.community_a1.pk})
    assert created.status_code == 201, created.content
    wish_id = created.json()["id"]
    assert created.json()["state"] == "open"
    listed = Client().get("/api/wishes", {"org_unit_id": world.tree.street_a.pk})
    assert ids(listed) == [wish_id]
    assert ids(Client().get("/api/wishes", {"org_unit_id": world.tree.street_b.pk})) == []
    outsider = make_user("deputy", world.tree.community_b1)
    assert post_json(client_for(outsider), f"/api/wishes/{wish_id}/adopt").status_code == 403
    assert post_json(client_for(world.community_staff), f"/api/wishes/{wish_id}/adopt").status_code == 403
    deputy = make_user("deputy", world.tree.street_a)
    adopted = post_json(client_for(deputy), f"/api/wishes/{wish_id}/adopt")
    assert adopted.status_code == 200 and adopted.json()["state"] == "adopted"
    again = post_json(client_for(make_user("volunteer", world.tree.community_a1)), f"/api/wishes/{wish_id}/adopt")
    assert again.status_code == 409 and again.json()["code"] == "transition_not_allowed"
    assert post_json(client, f"/api/wishes/{wish_id}/withdraw").status_code == 409
    assert post_json(client, f"/api/wishes/{wish_id}/fulfil", {"note": "已安装"}).status_code == 403
    blank = post_json(client_for(deputy), f"/api/wishes/{wish_id}/fulfil", {"note": " "})
    assert blank.status_code == 400 and blank.json()["field"] == "note"
    done = post_json(client_for(deputy), f"/api/wishes/{wish_id}/fulfil", {"note": "已安装扶手"})
    assert done.status_code == 200 and done.json()["state"] == "fulfilled"
    assert MicroWish.objects.get(pk=wish_id).adopter == deputy


def test_wish_withdraw_and_bad_input(world):
    client = client_for(world.resident)
    empty = post_json(client, "/api/wishes", {"title": "", "text": "x", "org_unit": world.tree.community_a1.pk})
    assert empty.status_code == 400 and empty.json()["field"] == "title"
    unknown = post_json(client, "/api/wishes", {"title": "t", "text": "x", "org_unit": 999999})
    assert unknown.status_code == 400 and unknown.json()["field"] == "org_unit"
    assert post_json(Client(), "/api/wishes", {"title": "t", "text": "x", "org_unit": world.tree.community_a1.pk}).status_code == 401
    wish_id = post_json(client, "/api/wishes", {"title": "t", "text": "x", "org_unit": world.tree.community_a1.pk}).json()["id"]
    assert post_json(client_for(make_user()), f"/api/wishes/{wish_id}/withdraw").status_code == 404
    assert post_json(client, f"/api/wishes/{wish_id}/withdraw").json()["state"] == "withdrawn"
    assert post_json(client, "/api/wishes/999999/adopt").status_code == 404


# --- tokens and language ----------------------------------------------------------------------------------------


def _bearer(user, scopes) -> dict[str, str]:
    from yishi.accounts.services import token_create

    return {"Authorization": f"Bearer {token_create(actor=user, user=user, name='t', scopes=scopes)[1]}"}


def test_reads_need_read_and_writes_need_write(world):
    appeal = submit(world)
    read = _bearer(world.dispatcher, ["read"])
    assert Client().get(f"/api/appeals/{appeal.pk}", headers=read).status_code == 200
    refused = post_json(Client(), f"/api/appeals/{appeal.pk}/actions/dispatch", {}, **read)
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    write = _bearer(world.dispatcher, ["write"])
    assert post_json(Client(), f"/api/appeals/{appeal.pk}/actions/dispatch", {}, **write).status_code == 200
    assert Client().get("/api/appeals", headers={"Authorization": "Bearer ysk_wrong"}).status_code == 401


def test_errors_speak_english_when_asked(world):
    appeal = drive_to(world, S.RECEIVED)
    response = post_json(
        client_for(world.housing_liaison), f"/api/appeals/{appeal.pk}/actions/accept", {}, **{"Accept-Language": "en"}
    )
    assert response.status_code == 404 and response.json()["message"] == "Not found"


@pytest.mark.parametrize("state", [s.value for s in S])
def test_detail_serialises_in_every_state(world, state):
    appeal = drive_to(world, state)
    response = client_for(world.district_staff).get(f"/api/appeals/{appeal.pk}")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == state
    assert Client().get(f"/api/appeals/track/{appeal.tracking_code}").status_code == 200
    assert Appeal.objects.filter(pk=appeal.pk).exists()


def test_responses_conform_to_the_openapi_document(world):
    """Bodies (successes and errors) validate against the schemas the OpenAPI document declares for them."""
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    spec = Client().get("/api/openapi.json").json()

    def check(path: str, method: str, response) -> None:
        declared = spec["paths"][path][method]["responses"][str(response.status_code)]
        schema = declared["content"]["application/json"]["schema"]
        validator = jsonschema_rs.validator_for({**schema, "components": spec["components"]})
        errors = [str(e) for e in validator.iter_errors(response.json())]
        assert errors == [], (path, response.status_code, errors[:3])

    appeals = {state: drive_to(world, state) for state in (S.IN_PROGRESS, S.REPLIED, S.MERGED)}
    replied = appeals[S.REPLIED]
    services.appeal_callback(actor=world.dispatcher, appeal=replied, resolution="partial", satisfaction="basic")
    services.appeal_request_reopen_by_link(token=replied.callback_token, reason="还有问题")
    staff = client_for(world.district_staff)
    for appeal in appeals.values():
        check("/api/appeals/{appeal_id}", "get", staff.get(f"/api/appeals/{appeal.pk}"))
        check("/api/appeals/{appeal_id}/timeline", "get", staff.get(f"/api/appeals/{appeal.pk}/timeline"))
        check("/api/appeals/track/{tracking_code}", "get", Client().get(f"/api/appeals/track/{appeal.tracking_code}"))
    check("/api/appeals", "get", staff.get("/api/appeals"))
    check("/api/appeals", "get", staff.get("/api/appeals", {"state": "nope"}))
    check("/api/units/queue", "get", client_for(world.housing_liaison).get("/api/units/queue"))
    check("/api/appeals/board", "get", Client().get("/api/appeals/board"))
    check("/api/categories", "get", Client().get("/api/categories"))
    check("/api/appeals/{appeal_id}", "get", client_for(world.street_b_staff).get(f"/api/appeals/{replied.pk}"))
    conflict = post_json(staff, f"/api/appeals/{replied.pk}/actions/dispatch", {})
    assert conflict.status_code == 409
    check("/api/appeals/{appeal_id}/actions/dispatch", "post", conflict)
    done = post_json(client_for(world.housing_liaison), f"/api/appeals/{appeals[S.IN_PROGRESS].pk}/actions/progress", {"text": "进行中"})
    check("/api/appeals/{appeal_id}/actions/progress", "post", done)
    created = post_json(client_for(world.resident), "/api/appeals", {
        "nature": "help", "category": world.cat_water.pk, "title": "停水", "text": "停水", "org_unit": world.tree.community_a1.pk,
    })
    check("/api/appeals", "post", created)
    bad = post_json(client_for(world.resident), "/api/appeals", {
        "nature": "help", "category": world.cat_water.pk, "title": "停水", "text": "", "org_unit": world.tree.community_a1.pk,
    })
    check("/api/appeals", "post", bad)
    wish = post_json(client_for(world.resident), "/api/wishes", {"title": "扶手", "text": "装扶手", "org_unit": world.tree.community_a1.pk})
    check("/api/wishes", "post", wish)
    check("/api/wishes", "get", Client().get("/api/wishes"))


@pytest.mark.parametrize(
    ("url", "who"),
    [("/api/appeals", "district_staff"), ("/api/units/queue", "housing_liaison"), ("/api/appeals/board", None)],
)
def test_lists_have_a_query_budget(world, django_assert_max_num_queries, url, who):
    """A page of 20 costs the same few queries as a page of 1 (no query per row)."""
    for _ in range(20):
        services.appeal_dispatch(actor=world.dispatcher, appeal=submit(world))
    client = client_for(getattr(world, who)) if who else Client()
    client.get(url)  # warm the session and caches
    with django_assert_max_num_queries(8):
        response = client.get(url, {"page_size": 20})
    assert len(response.json()["items"]) == 20

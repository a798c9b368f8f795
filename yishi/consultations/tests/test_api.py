"""The consultations REST API: the OpenAPI document, scope (outside = 404), the error shape, every loop action as
``POST /consultations/topics/{id}/actions/{verb}`` and the records of each step, token scopes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from yishi.conftest import client_for
from yishi.consultations import services
from yishi.consultations.choices import TopicState as S
from yishi.consultations.models import Topic
from yishi.consultations.testing import drive_topic, fresh
from yishi.consultations.workflow import topic_workflow
from yishi.core.testing import make_user

BASE = "/api/consultations"


def post(client: Client, url: str, data: dict | None = None, **headers: Any):
    return client.post(url, data=json.dumps(data or {}), content_type="application/json", headers=headers)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def bearer(user, *scopes: str) -> dict[str, str]:
    from yishi.accounts.services import token_create

    return {"Authorization": f"Bearer {token_create(actor=user, user=user, name='t', scopes=list(scopes))[1]}"}


def test_openapi_lists_every_action_and_record_endpoint(db):
    spec = Client().get("/api/openapi.json").json()
    paths = spec["paths"]
    for name in topic_workflow.transitions:
        operation = paths[f"{BASE}/topics/{{topic_id}}/actions/{name}"]["post"]
        assert operation["operationId"] == f"topic_{name}"
        assert {"200", "403", "404", "409"} <= set(operation["responses"])
    for path in ["/rooms", "/rooms/{room_id}", "/rooms/{room_id}/members", "/catalogue", "/talents", "/topics",
                 "/topics/from-appeals", "/topics/{topic_id}", "/topics/{topic_id}/timeline", "/topics/{topic_id}/support",
                 "/topics/{topic_id}/representativeness", "/topics/{topic_id}/participants",
                 "/topics/{topic_id}/participants/{participant_id}", "/topics/{topic_id}/research",
                 "/topics/{topic_id}/research/{research_id}/approve", "/topics/{topic_id}/research/{research_id}/reject",
                 "/topics/{topic_id}/opinions", "/topics/{topic_id}/opinions/from-motions", "/topics/{topic_id}/responsibilities",
                 "/topics/{topic_id}/responsibilities/{responsibility_id}/unit", "/topics/{topic_id}/effects",
                 "/topics/{topic_id}/satisfaction", "/topics/{topic_id}/evaluations", "/failures"]:
        assert BASE + path in paths, path
    assert not any(p.endswith("/") for p in paths)


# --- reads and scope ----------------------------------------------------------------------------------------------


def test_rooms_and_catalogue_are_public(cw):
    services.catalogue_item_create(actor=cw.district_staff, org_unit=cw.tree.district, title="道路照明")
    rooms = Client().get(f"{BASE}/rooms").json()
    assert rooms["count"] == 5
    by_name = {r["name"]: r for r in rooms["items"]}
    assert by_name[cw.home.name]["chair_id"] == cw.chair.pk and by_name[cw.home.name]["parent_id"] == cw.street_room.pk
    assert [r["name"] for r in Client().get(f"{BASE}/rooms", {"level": "district"}).json()["items"]] == [cw.hall.name]
    detail = Client().get(f"{BASE}/rooms/{cw.home.pk}").json()
    assert {m["user_id"]: m["role"] for m in detail["members"]} == {cw.chair.pk: "chair", cw.member.pk: "member"}
    assert Client().get(f"{BASE}/rooms/999999").status_code == 404
    assert [i["title"] for i in Client().get(f"{BASE}/catalogue", {"org_unit_id": cw.tree.grid_a1.pk}).json()["items"]] == ["道路照明"]


def test_topics_outside_scope_do_not_exist(cw):
    topic = drive_topic(cw, S.APPROVED)
    other = drive_topic(cw, S.APPROVED, room=cw.home_b, with_appeal=False)
    for user in (cw.community_staff, cw.street_a_staff, cw.party_a1, cw.resident, cw.member, cw.aw.resident):
        assert ids(client_for(user).get(f"{BASE}/topics")) == [topic.pk], user
        assert client_for(user).get(f"{BASE}/topics/{topic.pk}").status_code == 200
    assert set(ids(client_for(cw.district_staff).get(f"{BASE}/topics"))) == {topic.pk, other.pk}
    for user in (cw.community_b_staff, cw.street_b_staff, cw.party_b1, cw.outsider, make_user()):
        client = client_for(user)
        assert topic.pk not in ids(client.get(f"{BASE}/topics"))
        for url in (f"{BASE}/topics/{topic.pk}", f"{BASE}/topics/{topic.pk}/timeline", f"{BASE}/topics/{topic.pk}/representativeness"):
            response = client.get(url)
            assert response.status_code == 404 and response.json()["code"] == "not_found", (user, url)
        for url, data in [(f"{BASE}/topics/{topic.pk}/actions/start_research", {}),
                          (f"{BASE}/topics/{topic.pk}/participants", {"kind": "expert", "name": "x"}),
                          (f"{BASE}/topics/{topic.pk}/support", {})]:
            assert post(client, url, data).status_code == 404, (user, url)
    assert Client().get(f"{BASE}/topics").status_code == 401
    assert post(Client(), f"{BASE}/topics/{topic.pk}/actions/approve").status_code == 401


def test_detail_lists_the_actions_the_caller_may_run_now(cw):
    topic = drive_topic(cw, S.PROPOSED)
    party = client_for(cw.party_a1).get(f"{BASE}/topics/{topic.pk}").json()
    assert {a["name"] for a in party["actions"]} == {"approve", "decline"}
    assert next(a for a in party["actions"] if a["name"] == "decline")["requires_reason"] is True
    assert client_for(cw.community_staff).get(f"{BASE}/topics/{topic.pk}").json()["actions"] == []
    researching = drive_topic(cw, S.RESEARCHING)
    staff = client_for(cw.community_staff).get(f"{BASE}/topics/{researching.pk}").json()
    assert {a["name"] for a in staff["actions"]} == {"escalate"}  # call_meeting waits for approved research
    assert staff["representativeness"]["missing"] and {p["kind"] for p in staff["participants"]} == {
        "cppcc_member", "resident_rep", "department"}
    assert staff["failures"] == {"no_decision": False, "not_done": False, "regressed": False}


def test_list_filters(cw):
    stuck = drive_topic(cw, S.NO_DECISION)
    proposed = drive_topic(cw, S.PROPOSED, title="楼道灯")
    hall = drive_topic(cw, S.APPROVED, room=cw.hall)
    client = client_for(cw.district_staff)

    def q(**params):
        return set(ids(client.get(f"{BASE}/topics", params)))

    assert q(state="no_decision") == {stuck.pk}
    assert q(failure="no_decision") == {stuck.pk}
    assert q(level="district") == {hall.pk}
    assert q(room_id=cw.home.pk) == {stuck.pk, proposed.pk}
    assert q(q="楼道") == {proposed.pk}
    assert q(source="party") == {stuck.pk, proposed.pk, hall.pk}
    bad = client.get(f"{BASE}/topics", {"failure": "lazy"})
    assert bad.status_code == 422 and bad.json()["field"] == "failure"


# --- creation ---------------------------------------------------------------------------------------------------


def test_propose_support_and_the_error_shape(cw):
    resident = client_for(cw.resident)
    created = post(resident, f"{BASE}/topics", {"room": cw.home.pk, "source": "residents", "title": "楼道灯不亮",
                                                "description": "3 号楼楼道灯坏了一个月。"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["state"] == "proposed" and body["proposer_name"] == "王小明" and body["source"] == "residents"
    outside = post(client_for(cw.outsider), f"{BASE}/topics", {"room": cw.home.pk, "source": "residents", "title": "x",
                                                              "description": "y", "proposer_name": "李四"})
    assert outside.status_code == 403 and outside.json()["code"] == "outside_area"
    empty = post(resident, f"{BASE}/topics", {"room": cw.home.pk, "source": "residents", "title": " ", "description": "y"})
    assert empty.status_code == 400 and empty.json() == {"code": "required", "message": empty.json()["message"], "field": "title"}
    wrong = post(resident, f"{BASE}/topics", {"room": cw.home.pk, "source": "appeals", "title": "x", "description": "y"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "source"
    assert post(resident, f"{BASE}/topics", {"room": 999999, "source": "residents", "title": "x", "description": "y"}).status_code == 404
    neighbour = make_user()
    neighbour.home_unit = cw.tree.grid_a1
    neighbour.save()
    url = f"{BASE}/topics/{body['id']}/support"
    assert post(client_for(neighbour), url).json() == {"supporters": 1}
    again = post(client_for(neighbour), url)
    assert again.status_code == 409 and again.json()["code"] == "already_supported"
    assert post(client_for(cw.outsider), url).status_code == 404


def test_topic_from_appeals(cw):
    from yishi.appeals.testing import submit

    appeal = submit(cw.aw)
    client = client_for(cw.community_staff)
    created = post(client, f"{BASE}/topics/from-appeals", {"room": cw.home.pk, "appeals": [appeal.pk], "title": "电梯"})
    assert created.status_code == 201 and [a["id"] for a in created.json()["appeals"]] == [appeal.pk]
    assert created.json()["source"] == "appeals"
    empty = post(client, f"{BASE}/topics/from-appeals", {"room": cw.home.pk, "appeals": [], "title": "x"})
    assert empty.status_code == 422 and empty.json()["field"] == "appeals"
    unknown = post(client, f"{BASE}/topics/from-appeals", {"room": cw.home.pk, "appeals": [999999], "title": "x"})
    assert unknown.status_code == 400 and unknown.json()["field"] == "appeals"


# --- the whole loop through the API -------------------------------------------------------------------------------


def test_the_whole_loop_through_the_api(cw):
    staff, party = client_for(cw.community_staff), client_for(cw.party_a1)
    topic = post(staff, f"{BASE}/topics", {"room": cw.home.pk, "source": "party", "title": "路灯", "description": "不亮"}).json()
    t = f"{BASE}/topics/{topic['id']}"

    def ok(client: Client, url: str, data: dict | None = None, status: int = 200) -> dict:
        response = post(client, url, data)
        assert response.status_code == status, (url, response.content)
        return response.json() if response.content else {}

    declined = post(party, f"{t}/actions/decline", {"reason": ""})
    assert declined.status_code == 400 and declined.json()["field"] == "reason"
    assert ok(party, f"{t}/actions/approve", {"note": "同意"})["state"] == "approved"
    gate = post(staff, f"{t}/actions/start_research")
    assert gate.status_code == 409 and gate.json()["code"] == "no_participants"
    participant = ok(staff, f"{t}/participants", {"kind": "cppcc_member", "user": cw.member.pk}, 201)
    ok(staff, f"{t}/participants", {"kind": "expert", "talent": cw.expert.pk}, 201)
    ok(staff, f"{t}/participants", {"kind": "department", "handling_unit": cw.tree.unit_housing.pk, "can_vote": False}, 201)
    extra = ok(staff, f"{t}/participants", {"kind": "stakeholder", "name": "商户代表"}, 201)
    assert client_for(cw.community_staff).delete(f"{t}/participants/{extra['id']}").status_code == 204
    assert participant["kind_label"] == "政协委员"
    assert ok(staff, f"{t}/actions/start_research/")["state"] == "researching"  # the trailing-slash twin
    gate = post(staff, f"{t}/actions/call_meeting")
    assert gate.status_code == 409 and gate.json()["code"] == "no_approved_research"
    research = ok(client_for(cw.member), f"{t}/research", {"kind": "site_visit", "title": "走访", "text": "夜间走访"}, 201)
    own = post(client_for(cw.member), f"{t}/research/{research['id']}/approve")
    assert own.status_code == 403
    assert ok(party, f"{t}/research/{research['id']}/approve", {"note": "可以"})["state"] == "approved"
    assert ok(staff, f"{t}/actions/call_meeting", {})["state"] == "meeting"
    assert ok(staff, f"{t}/actions/record_decision", {"reason": "形成意见"})["state"] == "decided"
    opinion = ok(staff, f"{t}/opinions", {"text": "修复路灯", "rationale": "出行安全"}, 201)
    assert opinion["number"] == 1
    nothing = post(staff, f"{t}/opinions/from-motions")
    assert nothing.status_code == 409 and nothing.json()["code"] == "no_passed_motions"
    wrong_level = post(staff, f"{t}/actions/submit_results", {"results_sent_to": cw.tree.street_b.pk})
    assert wrong_level.status_code == 400 and wrong_level.json()["field"] == "results_sent_to"
    assert ok(staff, f"{t}/actions/submit_results", {"results_sent_to": cw.tree.street_a.pk})["state"] == "submitted"
    task = ok(staff, f"{t}/responsibilities", {"opinion_item": opinion["id"], "task": "修复路灯"}, 201)
    assert task["handling_unit_id"] is None and task["working_days"] == 15 and task["appeal"] is None
    gate = post(staff, f"{t}/actions/start_implementation")
    assert gate.status_code == 409 and gate.json()["code"] == "responsibility_without_unit"
    task = ok(staff, f"{t}/responsibilities/{task['id']}/unit", {"handling_unit": cw.tree.unit_housing.pk})
    detail = ok(staff, f"{t}/actions/start_implementation")
    [item] = detail["responsibilities"]
    assert item["appeal"]["state"] == "dispatched" and item["appeal"]["due_at"] and item["handling_unit_name"] == cw.tree.unit_housing.name
    gate = post(staff, f"{t}/actions/start_evaluation")
    assert gate.status_code == 409 and gate.json()["code"] == "no_effects"
    ok(staff, f"{t}/effects", {"text": "已修复", "evidence": "照片", "responsibility": task["id"]}, 201)
    assert ok(staff, f"{t}/actions/start_evaluation")["state"] == "evaluating"
    assert ok(client_for(cw.member), f"{t}/satisfaction", {"score": 5, "comment": "好"}, 201)["is_participant"] is True
    bad = post(client_for(cw.member), f"{t}/satisfaction", {"score": 5})
    assert bad.status_code == 409
    evaluation = post(client_for(cw.evaluator), f"{t}/evaluations", {"organisation": "评估中心", "score": 120, "report": "好"})
    assert evaluation.status_code == 400 and evaluation.json()["field"] == "score"
    ok(client_for(cw.evaluator), f"{t}/evaluations", {"organisation": "评估中心", "score": 90, "report": "落实到位"}, 201)
    closed = ok(staff, f"{t}/actions/close", {"final_rating": 5})
    assert closed["state"] == "closed" and closed["final_rating"] == 5 and closed["actions"] == []
    timeline = client_for(cw.community_staff).get(f"{t}/timeline").json()
    codes = [e["code"] for e in timeline]
    assert codes[0] == "consultations.topic.proposed" and codes[-1] == "consultations.topic.close"
    assert {"consultations.participant.invited", "consultations.research.approved", "consultations.opinion.added",
            "consultations.responsibility.dispatched", "consultations.effect.added", "consultations.satisfaction.responded",
            "consultations.evaluation.added"} <= set(codes)


@pytest.mark.parametrize("verb,payload", [
    ("approve", {}), ("decline", {"reason": "x"}), ("start_research", {}), ("call_meeting", {}),
    ("record_decision", {}), ("record_no_decision", {"reason": "x"}), ("submit_results", {"results_sent_to": 1}),
    ("start_implementation", {}), ("start_evaluation", {}), ("close", {"final_rating": 3}), ("escalate", {"reason": "x"}),
])
def test_each_action_refuses_the_wrong_state_with_409(cw, verb, payload):
    topic = drive_topic(cw, S.CLOSED)
    response = post(client_for(cw.party_a1 if verb in ("approve", "decline") else cw.community_staff),
                    f"{BASE}/topics/{topic.pk}/actions/{verb}", payload)
    assert response.status_code == 409 and response.json()["code"] == "transition_not_allowed"
    assert fresh(topic).state == S.CLOSED


def test_escalate_through_the_api_answers_the_old_topic_and_links_the_new(cw):
    topic = drive_topic(cw, S.APPROVED)
    body = post(client_for(cw.community_staff), f"{BASE}/topics/{topic.pk}/actions/escalate", {"reason": "社区无法协调"}).json()
    assert body["state"] == "escalated" and len(body["escalated_to_ids"]) == 1
    up = Topic.objects.get(pk=body["escalated_to_ids"][0])
    assert up.room == cw.street_room
    assert client_for(cw.street_a_staff).get(f"{BASE}/topics/{up.pk}").json()["escalated_from_id"] == topic.pk
    # who sent it up follows it (as its proposer) without acting on it there; others below do not see it
    assert client_for(cw.community_staff).get(f"{BASE}/topics/{up.pk}").json()["actions"] == []
    assert client_for(make_user("community_staff", cw.tree.community_a2)).get(f"{BASE}/topics/{up.pk}").status_code == 404


# --- platform writes, talents, failure counts, tokens ----------------------------------------------------------------


def test_rooms_members_catalogue_and_talents(cw):
    staff = client_for(cw.street_a_staff)
    room = post(staff, f"{BASE}/rooms", {"name": "麻园社区委员之家", "level": "community", "org_unit": cw.tree.community_a2.pk,
                                        "parent": cw.street_room.pk})
    assert room.status_code == 201 and room.json()["parent_id"] == cw.street_room.pk
    far = post(staff, f"{BASE}/rooms", {"name": "x", "level": "community", "org_unit": cw.tree.community_b1.pk})
    assert far.status_code == 403
    member = post(staff, f"{BASE}/rooms/{room.json()['id']}/members", {"user": cw.member.pk, "role": "chair"})
    assert member.status_code == 200 and member.json()["role"] == "chair"
    item = post(staff, f"{BASE}/catalogue", {"org_unit": cw.tree.street_a.pk, "title": "停车"})
    assert item.status_code == 201
    talent = post(staff, f"{BASE}/talents", {"name": "周工", "expertise": "停车规划", "org_unit": cw.tree.street_a.pk})
    assert talent.status_code == 201
    found = staff.get(f"{BASE}/talents", {"q": "停车"}).json()
    assert [t["name"] for t in found["items"]] == ["周工"]
    assert client_for(cw.resident).get(f"{BASE}/talents").json()["count"] == 0


def test_failure_counts_endpoint(cw):
    drive_topic(cw, S.NO_DECISION)
    body = client_for(cw.district_staff).get(f"{BASE}/failures").json()
    assert body["total"]["no_decision"] == 1 and body["levels"][0]["level"] == "community"
    assert body["rooms"][0]["room_id"] == cw.home.pk
    assert client_for(cw.street_b_staff).get(f"{BASE}/failures").json()["rooms"] == []


def test_tokens_need_the_write_scope_to_act(cw):
    topic = drive_topic(cw, S.PROPOSED)
    reader = Client()
    read = bearer(cw.party_a1, "read")
    assert reader.get(f"{BASE}/topics/{topic.pk}", headers=read).status_code == 200
    refused = post(reader, f"{BASE}/topics/{topic.pk}/actions/approve", {}, **read)
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    assert post(reader, f"{BASE}/topics/{topic.pk}/actions/approve", {}, **bearer(cw.party_a1, "write")).status_code == 200


def test_call_meeting_with_its_details_schedules_the_online_room(cw):
    pytest.importorskip("yishi.consultations.meetings")
    from datetime import timedelta

    from django.utils import timezone

    topic = drive_topic(cw, S.RESEARCHING)
    research = services.research_add(actor=cw.member, topic=topic, kind="note", title="调研", text="走访")
    services.research_approve(actor=cw.party_a1, topic=topic, research_id=research.pk)
    client = client_for(cw.community_staff)
    url = f"{BASE}/topics/{topic.pk}/actions/call_meeting"
    too_soon = post(client, url, {"mode": "online", "starts_at": timezone.now().isoformat(), "agenda": "议程"})
    assert too_soon.status_code == 400 and too_soon.json()["field"] == "starts_at"
    starts = timezone.now() + timedelta(days=3)
    body = post(client, url, {"mode": "online", "starts_at": starts.isoformat(), "agenda": "一、通报；二、协商"}).json()
    assert body["state"] == "meeting" and len(body["meetings"]) == 1
    assert body["meetings"][0]["url"] == f"/consultations/meetings/{body['meetings'][0]['id']}/"

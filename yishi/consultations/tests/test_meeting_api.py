"""The meeting API: the live state with its ETag, every action as ``POST /api/meetings/{id}/actions/{verb}``, and
the error answers ``{code, message, field}`` (403 inside the room's sight, 404 outside it, 409 for rule breaches,
422 for malformed input)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from yishi.conftest import client_for
from yishi.consultations import meetings as svc
from yishi.consultations.choices import TopicState
from yishi.consultations.meeting_testing import T0
from yishi.consultations.models import Meeting


@pytest.fixture
def motion(mw, opened):
    return svc.motion_open(actor=mw.chair, meeting=opened, title="同意在3号楼北侧加装电梯")


def post(user, meeting, verb: str, body: dict | None = None, *, slash: bool = False):
    url = f"/api/meetings/{meeting.pk}/actions/{verb}" + ("/" if slash else "")
    client = client_for(user) if user is not None else Client()
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def error(response) -> tuple[int, str, str | None]:
    body = response.json()
    return response.status_code, body["code"], body.get("field")


# --- calling a meeting --------------------------------------------------------------------------------------------


def test_schedule_answers_201_and_moves_the_topic(mw, time_machine):
    time_machine.move_to(T0, tick=False)
    body = {"topic": mw.topic.pk, "mode": "online", "starts_at": "2026-03-04T19:00:00+08:00", "agenda": "讨论加装电梯方案"}
    response = client_for(mw.staff).post("/api/meetings", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["state"], data["mode"], data["warnings"]) == ("scheduled", "online", [])
    mw.topic.refresh_from_db()
    assert mw.topic.state == TopicState.MEETING
    later = client_for(mw.staff).post("/api/meetings", data=json.dumps({**body, "starts_at": "2026-03-20T19:00:00+08:00"}),
                                      content_type="application/json")
    assert error(later)[:2] == (409, "meeting_live")  # the topic already has its meeting ahead


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"mode": "phone"}, 422, "mode"),
        ({"starts_at": "next week"}, 422, "starts_at"),
        ({"starts_at": "2026-03-03T19:00:00+08:00"}, 400, "starts_at"),
        ({"agenda": ""}, 400, "agenda"),
        ({"agenda": "x\u0000"}, 422, "agenda"),
        ({"topic": 0}, 422, "topic"),
    ],
)
def test_schedule_names_the_bad_field(mw, time_machine, change, status, field):
    time_machine.move_to(T0, tick=False)
    body = {"topic": mw.topic.pk, "mode": "online", "starts_at": "2026-03-04T19:00:00+08:00", "agenda": "议程", **change}
    response = client_for(mw.staff).post("/api/meetings", data=json.dumps(body), content_type="application/json")
    assert (response.status_code, response.json()["field"]) == (status, field)
    assert not Meeting.objects.exists()


def test_schedule_needs_staff_and_a_session_or_token(mw):
    body = {"topic": mw.topic.pk, "mode": "online", "starts_at": (timezone.now() + timedelta(days=3)).isoformat(), "agenda": "议程"}
    response = client_for(mw.voters[0]).post("/api/meetings", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 403
    assert Client().post("/api/meetings", data=json.dumps(body), content_type="application/json").status_code == 401


# --- reading: scoped, and the live state with its ETag ---------------------------------------------------------------


def test_meetings_are_seen_by_those_who_may_follow_them(mw, scheduled):
    for user in (mw.chair, mw.voters[0], mw.staff, mw.resident, mw.member):
        assert client_for(user).get(f"/api/meetings/{scheduled.pk}").status_code == 200
        listed = client_for(user).get("/api/meetings", {"topic_id": mw.topic.pk}).json()
        assert [m["id"] for m in listed["items"]] == [scheduled.pk]
    for user in (mw.outsider, mw.outsider_staff):
        response = client_for(user).get(f"/api/meetings/{scheduled.pk}/state")
        assert error(response) == (404, "not_found", None)
        assert client_for(user).get("/api/meetings").json()["count"] == 0
    assert Client().get(f"/api/meetings/{scheduled.pk}/state").status_code == 401
    assert client_for(mw.chair).get("/api/meetings/999999").status_code == 404


def test_state_carries_an_etag_and_answers_304_while_unchanged(mw, opened):
    client = client_for(mw.voters[0])
    first = client.get(f"/api/meetings/{opened.pk}/state")
    assert first.status_code == 200 and first["Cache-Control"] == "private, no-cache"
    etag = first["ETag"]
    again = client.get(f"/api/meetings/{opened.pk}/state", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    other = client_for(mw.voters[1]).get(f"/api/meetings/{opened.pk}/state", HTTP_IF_NONE_MATCH=etag)
    assert other.status_code == 200  # another person sees other buttons: another tag
    svc.motion_open(actor=mw.chair, meeting=opened, title="北侧方案")
    changed = client.get(f"/api/meetings/{opened.pk}/state", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    state = changed.json()
    assert state["motion"]["title"] == "北侧方案" and state["can"]["request_floor"] is True
    assert state["version"] > first.json()["version"]
    assert state["rules"] == {
        "notice_min_days": 2, "notice_max_days": 3, "quorum_percent": 50, "speech_seconds": 120,
        "speeches_per_motion": 2, "pass_percent": 50,
    }


# --- the error answers -------------------------------------------------------------------------------------------------


def test_not_chair_is_403_inside_and_404_outside(mw, opened, motion):
    for verb, body in (
        ("open_motion", {"title": "我的动议"}), ("open_vote", {"motion": motion.pk}), ("close_vote", {"motion": motion.pk}),
        ("record_consensus", {"motion": motion.pk, "note": "共识"}), ("close", None),
    ):
        assert error(post(mw.voters[0], opened, verb, body)) == (403, "not_chair", None), verb
        assert error(post(mw.staff, opened, verb, body))[:2] == (403, "not_chair"), verb
        assert error(post(mw.outsider, opened, verb, body)) == (404, "not_found", None), verb
    assert post(None, opened, "open_motion", {"title": "x"}).status_code == 401


def test_vote_twice_and_after_closing_are_409(mw, opened, motion):
    post(mw.chair, opened, "open_vote", {"motion": motion.pk})
    first = post(mw.voters[0], opened, "cast_vote", {"motion": motion.pk, "choice": "yes"})
    assert first.status_code == 200 and first.json()["me"]["vote"] == "yes"
    assert error(post(mw.voters[0], opened, "cast_vote", {"motion": motion.pk, "choice": "no"}))[:2] == (409, "already_voted")
    closed = post(mw.chair, opened, "close_vote", {"motion": motion.pk})
    assert closed.json()["motions"][0]["outcome"] == "passed"  # 1 yes of 1 vote cast
    assert error(post(mw.voters[1], opened, "cast_vote", {"motion": motion.pk, "choice": "yes"}))[:2] == (409, "voting_closed")
    assert error(post(mw.resident, opened, "cast_vote", {"motion": motion.pk, "choice": "yes"}))[:2] == (403, "not_a_participant")


def test_the_floor_without_a_stance_is_422_on_stance(mw, opened, motion):
    for body in ({"motion": motion.pk}, {"motion": motion.pk, "stance": ""}, {"motion": motion.pk, "stance": "maybe"}):
        response = post(mw.voters[0], opened, "request_floor", body)
        assert (response.status_code, response.json()["field"]) == (422, "stance")


def test_over_the_speech_count_is_409_speech_limit(mw, opened, motion):
    for _ in range(2):
        state = post(mw.voters[0], opened, "request_floor", {"motion": motion.pk, "stance": "for"}).json()
        request_id = state["motion"]["queue"][0]["id"]
        assert state["motion"]["queue"][0]["stance_label"] == "赞成"
        granted = post(mw.chair, opened, "grant_floor", {"floor_request": request_id}).json()
        assert granted["motion"]["speaker"]["seconds_left"] == 120
        post(mw.voters[0], opened, "end_speech", {"floor_request": request_id, "text": "我支持"})
    response = post(mw.voters[0], opened, "request_floor", {"motion": motion.pk, "stance": "for"})
    assert error(response)[:2] == (409, "speech_limit")


def test_unknown_objects_and_bad_bodies(mw, opened, motion):
    assert error(post(mw.voters[0], opened, "request_floor", {"motion": 999_999, "stance": "for"})) == (404, "not_found", "motion")
    assert error(post(mw.chair, opened, "grant_floor", {"floor_request": 999_999})) == (404, "not_found", "floor_request")
    assert error(post(mw.chair, opened, "record_consensus", {"motion": motion.pk}))[::2] == (422, "note")
    assert error(post(mw.chair, opened, "record_consensus", {"motion": motion.pk, "note": " "})) == (400, "required", "note")
    bad = client_for(mw.chair).post(f"/api/meetings/{opened.pk}/actions/open_vote", data="{", content_type="application/json")
    assert bad.status_code == 400 and bad.json()["field"] == "body"
    assert client_for(mw.chair).post("/api/meetings/999999/actions/close").status_code == 404


# --- a whole meeting through the API ---------------------------------------------------------------------------------


def test_a_meeting_from_check_in_to_approved_minutes(mw, scheduled, time_machine):
    for user in mw.voters[:3]:
        assert post(user, scheduled, "check_in", slash=True).json()["me"]["present"] is True
    assert post(mw.resident, scheduled, "write_opinion", {"text": "请保障施工期间老人出行"}).status_code == 200
    assert post(mw.chair, scheduled, "open", {}).json()["meeting"]["state"] == "open"
    state = post(mw.chair, scheduled, "open_motion", {"title": "同意北侧加装", "text": "费用按楼层分摊"}).json()
    motion_id = state["motion"]["id"]
    stances = {0: "for", 1: "against"}
    for i, stance in stances.items():
        state = post(mw.voters[i], scheduled, "request_floor", {"motion": motion_id, "stance": stance}).json()
    queue = state["motion"]["queue"]
    assert [(q["name"], q["stance"]) for q in queue] == [("李明", "for"), ("王芳", "against")]
    for q in queue:
        post(mw.chair, scheduled, "grant_floor", {"floor_request": q["id"]})
        time_machine.shift(timedelta(seconds=60))
        voter = mw.voters[0] if q["name"] == "李明" else mw.voters[1]
        post(voter, scheduled, "end_speech", {"floor_request": q["id"], "text": f"{q['name']}的发言"})
    post(mw.chair, scheduled, "open_vote", {"motion": motion_id})
    for user, choice in zip(mw.voters[:3], ["yes", "yes", "abstain"], strict=True):
        assert post(user, scheduled, "cast_vote", {"motion": motion_id, "choice": choice}).status_code == 200
    result = post(mw.chair, scheduled, "close_vote", {"motion": motion_id}).json()["motions"][0]
    assert (result["yes"], result["no"], result["abstain"], result["outcome"]) == (2, 0, 1, "passed")
    closed = post(mw.chair, scheduled, "close").json()
    assert closed["meeting"]["state"] == "closed" and closed["can"]["approve_minutes"] is True
    mw.topic.refresh_from_db()
    assert mw.topic.state == TopicState.DECIDED
    minutes = client_for(mw.voters[0]).get(f"/api/meetings/{scheduled.pk}/minutes").json()
    assert minutes["approved"] is False and "1. 李明【赞成】" in minutes["text"] and "王芳的发言" in minutes["text"]
    approved = post(mw.chair, scheduled, "approve_minutes", {}).json()
    assert approved["meeting"]["minutes_approved"] is True
    minutes = client_for(mw.resident).get(f"/api/meetings/{scheduled.pk}/minutes").json()
    assert minutes["approved"] is True and minutes["approved_by"] == "主持人老周"
    opinions = client_for(mw.voters[0]).get(f"/api/meetings/{scheduled.pk}/opinions").json()
    assert [(o["author"], o["text"]) for o in opinions] == [("居民小林", "请保障施工期间老人出行")]
    assert error(post(mw.chair, scheduled, "approve_minutes", {}))[:2] == (409, "minutes_approved")


def test_a_read_token_cannot_act(mw, opened):
    from yishi.accounts.services import token_create

    _, secret = token_create(actor=mw.chair, user=mw.chair, name="只读", scopes=["read"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert Client().get(f"/api/meetings/{opened.pk}/state", **headers).status_code == 200
    response = Client().post(f"/api/meetings/{opened.pk}/actions/open_motion", data=json.dumps({"title": "x"}),
                             content_type="application/json", **headers)
    assert response.status_code == 403 and response.json()["code"] == "insufficient_scope"


def test_the_openapi_document_lists_the_room(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for verb in ("open_motion", "request_floor", "grant_floor", "end_speech", "open_vote", "cast_vote", "close_vote",
                 "record_consensus", "close", "approve_minutes"):
        assert f"/api/meetings/{{meeting_id}}/actions/{verb}" in paths
    assert "/api/meetings/{meeting_id}/state" in paths

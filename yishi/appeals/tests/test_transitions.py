"""Every transition of the appeal lifecycle, through its API endpoint ``POST /api/appeals/{id}/actions/{verb}``.

The table below is the specification (DOMAIN §2). For each transition:

* from every state (each built by ``drive_to`` through the real services), its performer gets 200 and the target
  state when the state allows it, else 409 ``transition_not_allowed`` (or 404 when the performer is a unit that
  cannot see the appeal in that state: it was never dispatched to it);
* in an allowed state, every role entitled to it succeeds; the same role outside the scope (another street's
  staff, a unit not assigned) gets 404; a role that sees the appeal but lacks the right gets 403; anonymous 401.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from yishi.appeals import services
from yishi.appeals.choices import AppealState as S
from yishi.appeals.models import Appeal
from yishi.appeals.testing import drive_to, submit
from yishi.appeals.workflow import appeal_workflow
from yishi.audit.models import AuditEvent
from yishi.conftest import client_for
from yishi.core.testing import make_user

STATES = [s.value for s in S]

# transition → (allowed source states, target state or None to stay, performer kind)
SPEC: dict[str, tuple[set[str], str | None, str]] = {
    "triage": ({S.RECEIVED}, None, "manager"),
    "reject": ({S.RECEIVED}, S.REJECTED, "manager"),
    "answer": ({S.RECEIVED}, S.REPLIED, "manager"),
    "dispatch": ({S.RECEIVED}, S.DISPATCHED, "manager"),
    "accept": ({S.DISPATCHED}, S.ACCEPTED, "unit"),
    "request_return": ({S.DISPATCHED, S.ACCEPTED}, S.RETURN_REQUESTED, "unit"),
    "approve_return": ({S.RETURN_REQUESTED}, S.DISPATCHED, "manager"),
    # drive_to asks for the return from "dispatched", so refusing it goes back there.
    "refuse_return": ({S.RETURN_REQUESTED}, S.DISPATCHED, "manager"),
    "contact": ({S.ACCEPTED, S.IN_PROGRESS}, S.IN_PROGRESS, "unit"),
    "progress": ({S.ACCEPTED, S.IN_PROGRESS}, None, "unit"),
    "co_report": ({S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS}, None, "co"),
    "request_extension": ({S.ACCEPTED, S.IN_PROGRESS}, None, "unit"),
    "approve_extension": ({S.ACCEPTED, S.IN_PROGRESS, S.REPLY_SUBMITTED}, None, "manager"),
    "refuse_extension": ({S.ACCEPTED, S.IN_PROGRESS, S.REPLY_SUBMITTED}, None, "manager"),
    "submit_reply": ({S.ACCEPTED, S.IN_PROGRESS}, S.REPLY_SUBMITTED, "unit"),
    "approve_reply": ({S.REPLY_SUBMITTED}, S.REPLIED, "manager"),
    "return_reply": ({S.REPLY_SUBMITTED}, S.IN_PROGRESS, "manager"),
    # A "partly resolved" answer keeps the appeal waiting for close or reopen.
    "callback": ({S.REPLIED}, None, "manager"),
    "close": ({S.REPLIED}, S.CLOSED, "manager"),
    "reopen": ({S.REPLIED, S.CLOSED}, S.DISPATCHED, "manager"),
    "archive": ({S.CLOSED, S.REJECTED, S.DUPLICATE, S.MERGED}, S.ARCHIVED, "manager"),
    "escalate": ({S.RECEIVED, S.DISPATCHED, S.RETURN_REQUESTED, S.ACCEPTED, S.IN_PROGRESS}, S.RECEIVED, "manager"),
    "merge": ({S.RECEIVED, S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS}, S.MERGED, "manager"),
    "mark_duplicate": ({S.RECEIVED, S.DISPATCHED}, S.DUPLICATE, "manager"),
    "supervise": ({S.DISPATCHED, S.RETURN_REQUESTED, S.ACCEPTED, S.IN_PROGRESS, S.REPLY_SUBMITTED}, None, "supervisor"),
}

# States in which the lead (and co-) unit has an assignment, hence sees the appeal.
UNIT_SEES = {S.DISPATCHED, S.RETURN_REQUESTED, S.ACCEPTED, S.IN_PROGRESS, S.REPLY_SUBMITTED, S.REPLIED, S.CLOSED, S.ARCHIVED}

# performer kind → (roles that succeed, same roles outside the scope → 404, roles in scope without the right → 403)
ROLES = {
    "manager": (
        ["community_staff", "street_a_staff", "district_staff", "dispatcher"],
        ["community_b1_staff", "street_b_staff"],
        ["resident", "deputy_a1"],
    ),
    "unit": (["housing_liaison", "housing_head"], ["water_liaison", "street_office_liaison"], ["community_staff", "resident"]),
    "co": (["water_liaison"], ["street_office_liaison"], ["community_staff", "resident"]),
    "supervisor": (["street_a_staff", "district_staff", "dispatcher"], ["street_b_staff"], ["community_staff", "resident", "deputy_a1"]),
}


def test_spec_matches_declared_workflow():
    declared = {t.name: (set(t.source), t.target) for t in appeal_workflow.transitions.values()}
    assert set(declared) == set(SPEC)
    for name, (sources, target, _kind) in SPEC.items():
        assert declared[name][0] == {str(s) for s in sources}, name
        if name != "refuse_return":  # its target is the state the return was asked from, set by the service
            assert declared[name][1] == (str(target) if target else None), name


def actor(world, key: str):
    """People of the appeals world, plus a few made on demand."""
    tree = world.tree
    made = {
        "community_b1_staff": lambda: make_user("community_staff", tree.community_b1),
        "deputy_a1": lambda: make_user("deputy", tree.community_a1),
        "housing_head": lambda: make_user("unit_head", tree.district, handling_unit=tree.unit_housing),
    }
    if key in made:
        return made[key]()
    return getattr(world, key)


def build(world, name: str, state: str) -> tuple[Appeal, dict[str, Any]]:
    """An appeal in ``state`` ready for ``name`` (prerequisites made), and the action's payload."""
    extra: dict[str, Any] = {}
    if name == "co_report":
        # The routing rule names the water company as co-unit, so every dispatch gives it an assignment.
        rule = world.cat_building.routing_rules.get()
        rule.co_units.add(world.tree.unit_water)
    if name == "mark_duplicate":
        extra["original"] = submit(world, title="同一件事第一次反映")
    if name == "merge":
        extra["into"] = submit(world, actor=make_user(), title="另一位群众反映的同一部电梯")
    if name in ("approve_extension", "refuse_extension") and state == S.REPLY_SUBMITTED:
        appeal = drive_to(world, S.IN_PROGRESS, manager=world.community_staff)
        services.appeal_request_extension(actor=world.housing_liaison, appeal=appeal, working_days=3, reason="需协调物业")
        appeal = services.appeal_submit_reply(actor=world.housing_liaison, appeal=appeal, text="已完成")
    else:
        appeal = drive_to(world, state, manager=world.community_staff)
        if name in ("approve_extension", "refuse_extension") and state in (S.ACCEPTED, S.IN_PROGRESS):
            services.appeal_request_extension(actor=world.housing_liaison, appeal=appeal, working_days=3, reason="需协调物业")
    return Appeal.objects.get(pk=appeal.pk), payload(world, name, extra)


def payload(world, name: str, extra: dict[str, Any]) -> dict[str, Any] | None:
    text = {"text": "已与群众电话沟通，约定周三现场查看"}
    reason = {"reason": "理由：详见说明"}
    return {
        "triage": {"urgency": "urgent", "nature": "help"},
        "reject": reason,
        "answer": {"text": "根据政策，加装电梯补贴标准为每台 20 万元"},
        "dispatch": {},
        "accept": None,
        "request_return": {"reason": "加装电梯审批属街道职责", "basis": "区政府三定方案第三条"},
        "approve_return": {"lead_unit": world.tree.unit_street_a.pk, "note": "改派街道"},
        "refuse_return": reason,
        "contact": text,
        "progress": text,
        "co_report": {"text": "供水管线迁改方案已出"},
        "request_extension": {"working_days": 3, "reason": "需协调物业和业主"},
        "approve_extension": {"note": "同意"},
        "refuse_extension": reason,
        "submit_reply": {"text": "电梯已开工"},
        "approve_reply": None,
        "return_reply": reason,
        "callback": {"resolution": "partial", "satisfaction": "basic", "comment": "还差一部分"},
        "close": {"note": ""},
        "reopen": reason,
        "archive": None,
        "escalate": {"reason": "社区无法协调，需街道出面"},
        "merge": {"into": extra["into"].pk} if "into" in extra else {"into": 0},
        "mark_duplicate": {"original": extra["original"].pk} if "original" in extra else {"original": 0},
        "supervise": {"note": "请加快办理"},
    }[name]


def act(user, appeal_id: int, name: str, body: dict[str, Any] | None, *, slash: bool = False):
    client = client_for(user) if user is not None else Client()
    url = f"/api/appeals/{appeal_id}/actions/{name}" + ("/" if slash else "")
    if body is None:
        return client.post(url)
    return client.post(url, data=json.dumps(body), content_type="application/json")


def performer(world, kind: str):
    return actor(world, ROLES[kind][0][0])


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("name", list(SPEC))
def test_transition_from_every_state(world, name, state):
    sources, target, kind = SPEC[name]
    appeal, body = build(world, name, state)
    events_before = AuditEvent.objects.filter(code=f"appeals.appeal.{name}").count()
    response = act(performer(world, kind), appeal.pk, name, body)
    appeal.refresh_from_db()
    if state in sources:
        assert response.status_code == 200, response.content
        expected = target or state
        assert appeal.state == expected
        assert response.json()["state"] == expected
        assert AuditEvent.objects.filter(code=f"appeals.appeal.{name}").count() == events_before + 1
        return
    if kind in ("unit", "co") and state not in UNIT_SEES:
        assert response.status_code == 404, response.content
    else:
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "transition_not_allowed"
        assert response.json()["state"] == state
    assert appeal.state == state
    assert AuditEvent.objects.filter(code=f"appeals.appeal.{name}").count() == events_before


def _allowed_state(name: str) -> str:
    return sorted(SPEC[name][0], key=STATES.index)[0]


@pytest.mark.parametrize(
    ("name", "who"), [(name, who) for name, (_s, _t, kind) in SPEC.items() for who in ROLES[kind][0]]
)
def test_entitled_roles_succeed(world, name, who):
    appeal, body = build(world, name, _allowed_state(name))
    response = act(actor(world, who), appeal.pk, name, body)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("name", list(SPEC))
def test_others_are_refused_by_scope_and_right(world, name):
    kind = SPEC[name][2]
    _entitled, outside, without_right = ROLES[kind]
    state = _allowed_state(name)
    appeal, body = build(world, name, state)
    for who in outside:
        response = act(actor(world, who), appeal.pk, name, body)
        assert response.status_code == 404, (who, response.content)
        assert response.json()["code"] == "not_found"
    for who in without_right:
        response = act(actor(world, who), appeal.pk, name, body)
        assert response.status_code == 403, (who, response.content)
        assert response.json()["code"] == "permission_denied"
    assert act(None, appeal.pk, name, body).status_code == 401
    appeal.refresh_from_db()
    assert appeal.state == state
    # And the one entitled performer still can (the refusals changed nothing), also with Wagtail's trailing slash.
    response = act(performer(world, kind), appeal.pk, name, body, slash=True)
    assert response.status_code == 200, response.content


def test_available_actions_match_what_succeeds(world):
    """The detail's ``actions`` lists exactly the verbs the caller may run now."""
    appeal = drive_to(world, S.DISPATCHED, manager=world.community_staff)
    for user, expected in [
        (world.housing_liaison, {"accept", "request_return", "co_report"}),
        (world.community_staff, {"escalate", "merge", "mark_duplicate"}),
        (world.street_a_staff, {"escalate", "merge", "mark_duplicate", "supervise"}),
        (world.resident, set()),
    ]:
        response = client_for(user).get(f"/api/appeals/{appeal.pk}")
        assert response.status_code == 200
        assert {a["name"] for a in response.json()["actions"]} == expected, user
    assert client_for(world.street_b_staff).get(f"/api/appeals/{appeal.pk}").status_code == 404
    assert client_for(world.water_liaison).get(f"/api/appeals/{appeal.pk}").status_code == 404


def test_unknown_verb_is_not_found(world):
    appeal = drive_to(world, S.RECEIVED)
    response = act(world.community_staff, appeal.pk, "teleport", {})
    assert response.status_code == 404


@pytest.mark.parametrize("name", [n for n, (_s, _t, _k) in SPEC.items() if appeal_workflow.get(n).requires_reason])
def test_blank_reason_names_the_field(world, name):
    appeal, body = build(world, name, _allowed_state(name))
    body = {**(body or {}), "reason": "   "}
    response = act(performer(world, SPEC[name][2]), appeal.pk, name, body)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "reason"

"""The less travelled paths of the lifecycle: merge, duplicates, reopen, escalation up the tree, return review."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from yishi.appeals import services
from yishi.appeals.choices import AppealState as S
from yishi.appeals.models import Appeal, Assignment, ReturnRequest
from yishi.appeals.testing import drive_to, second_resident, submit
from yishi.audit.models import AuditEvent
from yishi.conftest import client_for
from yishi.core.errors import Conflict, InvalidInput, PermissionDenied, TransitionNotAllowed
from yishi.notifications.models import Notification
from yishi.notifications.sms import outbox

BJ = timezone.get_fixed_timezone(8 * 60)


def act(user, appeal, verb: str, body: dict | None = None):
    url = f"/api/appeals/{appeal.pk}/actions/{verb}"
    client = client_for(user)
    return client.post(url) if body is None else client.post(url, data=json.dumps(body), content_type="application/json")


def on_behalf(world, phone: str, **kw) -> Appeal:
    data = services.AppealInput(
        nature="complaint", category_id=world.cat_lift.pk, title=kw.pop("title", "电梯"), text="同一部电梯停运",
        org_unit_id=world.tree.community_a1.pk, contact_phone=phone, contact_name="老李",
    )
    return services.appeal_submit(actor=world.community_staff, data=data, channel="phone", on_behalf=True)


# --- merge ------------------------------------------------------------------------------------------------------


def test_merged_children_get_the_reply_and_call_back_by_link(world, django_capture_on_commit_callbacks):
    parent = submit(world, title="3号楼电梯停运")
    neighbour = second_resident()
    child = submit(world, actor=neighbour, title="电梯又坏了")
    caller = on_behalf(world, "13700137009")
    for c in (child, caller):
        response = act(world.community_staff, c, "merge", {"into": parent.pk, "reason": "同一部电梯"})
        assert response.status_code == 200, response.content
        assert response.json()["state"] == "merged" and response.json()["merged_into_id"] == parent.pk
    assert set(Appeal.objects.filter(counted=True).values_list("pk", flat=True)) == {parent.pk}
    detail = client_for(world.community_staff).get(f"/api/appeals/{parent.pk}").json()
    assert detail["merged_children_ids"] == sorted([child.pk, caller.pk])

    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        appeal = drive_to_reply(world, parent)
    assert appeal.state == S.REPLIED
    for c in (child, caller):
        c.refresh_from_db()
        assert c.state == S.REPLIED and c.reply_text == appeal.reply_text and c.replied_at == appeal.replied_at
        assert AuditEvent.objects.filter(code="appeals.appeal.reply_propagated", subject_id=str(c.pk)).exists()
    replied_to = set(Notification.objects.filter(kind="appeals.replied").values_list("recipient_id", flat=True))
    assert replied_to == {world.resident.pk, neighbour.pk}
    texts = [text for phone, text in outbox if phone == "13700137009"]
    assert texts and caller.tracking_code in texts[-1] and caller.callback_token in texts[-1]

    # Each resident judges the reply for their own appeal.
    response = client_for(neighbour).post(
        f"/api/appeals/callback/{child.callback_token}",
        data=json.dumps({"resolution": "resolved", "satisfaction": "satisfied"}), content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["state"] == "closed"
    services.appeal_callback_by_link(token=caller.callback_token, resolution="unresolved", satisfaction="unsatisfied")
    parent.refresh_from_db()
    child.refresh_from_db()
    caller.refresh_from_db()
    assert (parent.state, child.state, caller.state) == (S.REPLIED, S.CLOSED, S.REPLIED)
    assert child.counted is False and caller.counted is False


def drive_to_reply(world, appeal: Appeal) -> Appeal:
    appeal = services.appeal_dispatch(actor=world.dispatcher, appeal=appeal)
    appeal = services.appeal_accept(actor=world.housing_liaison, appeal=appeal)
    appeal = services.appeal_submit_reply(actor=world.housing_liaison, appeal=appeal, text="电梯已修复并年检")
    return services.appeal_approve_reply(actor=world.dispatcher, appeal=appeal)


def test_merged_child_follows_its_parent_and_cannot_be_handled_alone(world):
    parent = drive_to(world, S.ACCEPTED)
    child = submit(world, actor=second_resident())
    child = services.appeal_merge(actor=world.dispatcher, appeal=child, into_id=parent.pk)
    assert child.lead_unit == parent.lead_unit and child.due_at == parent.due_at
    response = act(world.dispatcher, child, "dispatch", {})
    assert response.status_code == 409
    assert act(world.dispatcher, child, "archive").status_code == 200


@pytest.mark.parametrize(
    ("target_state", "code"), [(S.CLOSED, "target_not_open"), (S.MERGED, "target_not_open"), (S.REJECTED, "target_not_open")]
)
def test_merge_target_must_be_open(world, target_state, code):
    target = drive_to(world, target_state)
    appeal = submit(world)
    response = act(world.dispatcher, appeal, "merge", {"into": target.pk})
    assert response.status_code == 400 and response.json()["field"] == "into" and response.json()["code"] == code


def test_merge_refusals_name_the_target(world):
    appeal = submit(world)
    assert act(world.dispatcher, appeal, "merge", {"into": appeal.pk}).json()["code"] == "same_appeal"
    assert act(world.dispatcher, appeal, "merge", {"into": 999999}).json()["field"] == "into"
    elsewhere = submit(world, unit=world.tree.community_b1, actor=second_resident())
    response = act(world.community_staff, appeal, "merge", {"into": elsewhere.pk})  # not visible to community A1
    assert response.status_code == 400 and response.json()["field"] == "into"
    parent = submit(world)
    services.appeal_merge(actor=world.dispatcher, appeal=submit(world, actor=second_resident()), into_id=parent.pk)
    response = act(world.dispatcher, parent, "merge", {"into": appeal.pk})
    assert response.status_code == 409 and response.json()["code"] == "has_children"
    assert Appeal.objects.get(pk=appeal.pk).state == S.RECEIVED


# --- duplicates -------------------------------------------------------------------------------------------------


def test_duplicate_of_the_same_resident_is_not_counted(world):
    first = submit(world)
    again = submit(world, title="电梯的事再反映一次")
    response = act(world.community_staff, again, "mark_duplicate", {"original": first.pk})
    assert response.status_code == 200, response.content
    again.refresh_from_db()
    assert again.state == S.DUPLICATE and again.duplicate_of == first and again.counted is False
    assert Appeal.objects.get(pk=first.pk).counted is True


def test_duplicate_recognised_by_phone_for_staff_entries(world):
    first = submit(world)  # the resident's own phone is 13800138001
    by_phone = on_behalf(world, "13800138001")
    assert services.appeal_mark_duplicate(actor=world.dispatcher, appeal=by_phone, original_id=first.pk).state == S.DUPLICATE


def test_duplicate_needs_the_same_resident(world):
    first = submit(world)
    other = submit(world, actor=second_resident())
    response = act(world.community_staff, other, "mark_duplicate", {"original": first.pk})
    assert response.status_code == 400
    assert response.json()["field"] == "original" and response.json()["code"] == "not_same_resident"
    anonymous = services.appeal_submit(actor=None, data=services.AppealInput(
        nature="complaint", category_id=world.cat_lift.pk, title="匿名", text="匿名反映", org_unit_id=world.tree.community_a1.pk,
    ))
    with pytest.raises(InvalidInput):
        services.appeal_mark_duplicate(actor=world.dispatcher, appeal=anonymous, original_id=first.pk)


def test_duplicate_only_within_the_window(world):
    start = datetime(2024, 9, 2, 10, 0, tzinfo=BJ)
    with time_machine.travel(start, tick=False):
        first = submit(world)
    with time_machine.travel(start + timedelta(days=31), tick=False):
        late = submit(world)
        response = act(world.dispatcher, late, "mark_duplicate", {"original": first.pk})
    assert response.status_code == 400 and response.json()["code"] == "outside_window"
    with time_machine.travel(start + timedelta(days=29), tick=False):
        within = submit(world)
        assert act(world.dispatcher, within, "mark_duplicate", {"original": first.pk}).status_code == 200


def test_duplicate_candidates_selector(world):
    from yishi.appeals.selectors import duplicate_candidates

    first = submit(world)
    submit(world, actor=second_resident())
    again = submit(world)
    assert list(duplicate_candidates(again, 30)) == [first]


# --- reopen -----------------------------------------------------------------------------------------------------


def test_unresolved_callback_then_reopen_through_the_api(world):
    appeal = drive_to(world, S.REPLIED)
    response = client_for(world.resident).post(
        f"/api/appeals/callback/{appeal.callback_token}",
        data=json.dumps({"resolution": "unresolved", "satisfaction": "unsatisfied", "comment": "根本没来"}),
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["state"] == "replied"
    assert Notification.objects.filter(kind="appeals.unresolved", recipient=world.community_staff).exists()
    blank = act(world.dispatcher, appeal, "reopen", {"reason": ""})
    assert blank.status_code == 400 and blank.json()["field"] == "reason"
    response = act(world.dispatcher, appeal, "reopen", {"reason": "群众反映未解决", "lead_unit": world.tree.unit_street_a.pk})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["state"] == "dispatched" and data["reopen_count"] == 1 and data["lead_unit_id"] == world.tree.unit_street_a.pk
    assert data["resolution"] == "" and data["replied_at"] is None
    # The new unit handles it to a second reply; the old one no longer can.
    assert act(world.housing_liaison, appeal, "accept").status_code == 403
    assert act(world.street_office_liaison, appeal, "accept").status_code == 200


def test_staff_callback_resolved_closes_and_closed_can_be_reopened(world):
    appeal = drive_to(world, S.REPLIED)
    response = act(world.community_staff, appeal, "callback", {"resolution": "resolved", "satisfaction": "basic"})
    assert response.json()["state"] == "closed"
    response = act(world.community_staff, appeal, "reopen", {"reason": "复查发现问题反复"})
    assert response.status_code == 200 and response.json()["reopen_count"] == 1
    appeal = Appeal.objects.get(pk=appeal.pk)
    appeal = services.appeal_accept(actor=world.housing_liaison, appeal=appeal)
    appeal = services.appeal_submit_reply(actor=world.housing_liaison, appeal=appeal, text="再次修复")
    appeal = services.appeal_approve_reply(actor=world.dispatcher, appeal=appeal)
    appeal = services.appeal_callback(actor=world.dispatcher, appeal=appeal, resolution="unresolved", satisfaction="unsatisfied")
    appeal = services.appeal_reopen(actor=world.dispatcher, appeal=appeal, reason="仍未解决")
    assert appeal.reopen_count == 2


def test_close_after_partial_callback_refuses_pending_reopen_request(world):
    appeal = drive_to(world, S.REPLIED)
    services.appeal_callback(actor=world.dispatcher, appeal=appeal, resolution="partial", satisfaction="basic")
    request = services.appeal_request_reopen_by_link(token=appeal.callback_token, reason="只解决了一半")
    appeal = services.appeal_close(actor=world.dispatcher, appeal=appeal, note="剩余部分不属于职责范围")
    request.refresh_from_db()
    assert appeal.state == S.CLOSED and request.status == "refused"


def test_answer_at_once_goes_to_callback(world):
    appeal = submit(world, nature="consult")
    response = act(world.community_staff, appeal, "answer", {"text": "补贴政策见区住建局网站"})
    assert response.status_code == 200 and response.json()["state"] == "replied"
    assert response.json()["closed_on_time"] is True
    blank = act(world.community_staff, submit(world), "answer", {"text": " "})
    assert blank.status_code == 400 and blank.json()["field"] == "text"
    closed = services.appeal_callback_by_link(token=appeal.callback_token, resolution="resolved", satisfaction="satisfied")
    assert closed.state == S.CLOSED


# --- escalation -------------------------------------------------------------------------------------------------


def test_escalation_community_to_street_to_district(world):
    appeal = submit(world)
    assert appeal.handling_level == world.tree.community_a1
    response = act(world.community_staff, appeal, "escalate", {"reason": "涉及多个社区，需街道协调"})
    assert response.status_code == 200, response.content
    assert response.json()["handling_level_id"] == world.tree.street_a.pk and response.json()["escalation_count"] == 1
    assert Notification.objects.filter(kind="appeals.escalated", recipient=world.street_a_staff).exists()
    # The community no longer triages it (it still sees it); the street does.
    assert act(world.community_staff, appeal, "dispatch", {}).status_code == 403
    assert client_for(world.community_staff).get(f"/api/appeals/{appeal.pk}").status_code == 200
    response = act(world.street_a_staff, appeal, "escalate", {"reason": "需区级部门统筹"})
    assert response.status_code == 200 and response.json()["handling_level_id"] == world.tree.district.pk
    # After escalation to the district, street staff lose dispatch rights.
    refused = act(world.street_a_staff, appeal, "dispatch", {})
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert act(world.street_a_staff, appeal, "reject", {"reason": "x"}).status_code == 403
    assert client_for(world.street_a_staff).get(f"/api/appeals/{appeal.pk}").status_code == 200
    assert act(world.district_staff, appeal, "dispatch", {}).status_code == 200
    top = act(world.district_staff, appeal, "escalate", {"reason": "再上报"})
    assert top.status_code == 409 and top.json()["code"] == "no_higher_level"


def test_escalating_a_dispatched_appeal_takes_it_from_the_unit(world):
    appeal = drive_to(world, S.ACCEPTED, manager=world.community_staff)
    appeal = services.appeal_escalate(actor=world.community_staff, appeal=appeal, reason="单位无法解决")
    assert appeal.state == S.RECEIVED and appeal.lead_unit is None
    assert appeal.due_at is None and appeal.accept_due_at is None and appeal.accepted_at is None
    assert not Assignment.objects.filter(appeal=appeal, status__in=["pending", "accepted"]).exists()
    with pytest.raises(PermissionDenied):
        services.appeal_progress(actor=world.housing_liaison, appeal=appeal, text="继续办理")
    with pytest.raises(PermissionDenied):
        services.appeal_dispatch(actor=world.community_staff, appeal=appeal)
    services.appeal_dispatch(actor=world.street_a_staff, appeal=appeal, lead_unit_id=world.tree.unit_street_a.pk)


def test_escalation_refuses_pending_return(world):
    appeal = drive_to(world, S.RETURN_REQUESTED)
    services.appeal_escalate(actor=world.community_staff, appeal=appeal, reason="职责不清，首接负责上交街道")
    assert ReturnRequest.objects.get(appeal=appeal).status == "refused"


# --- return review ----------------------------------------------------------------------------------------------


def test_return_needs_a_cited_basis(world):
    appeal = drive_to(world, S.DISPATCHED)
    response = act(world.housing_liaison, appeal, "request_return", {"reason": "不归我们管", "basis": " "})
    assert response.status_code == 400 and response.json()["field"] == "basis"
    missing = act(world.housing_liaison, appeal, "request_return", {"reason": "不归我们管"})
    assert missing.status_code == 422 and missing.json()["field"] == "basis"


def test_refused_return_keeps_the_unit_in_the_state_it_had(world):
    appeal = drive_to(world, S.ACCEPTED)
    due = appeal.due_at
    appeal = services.appeal_request_return(actor=world.housing_liaison, appeal=appeal, reason="非本单位", basis="三定方案")
    assert appeal.state == S.RETURN_REQUESTED and appeal.return_count == 1
    appeal = services.appeal_refuse_return(actor=world.dispatcher, appeal=appeal, reason="属于住建职责")
    assert appeal.state == S.ACCEPTED and appeal.due_at == due
    assert Notification.objects.filter(kind="appeals.return_refused", recipient=world.housing_liaison).exists()


def test_approved_return_redispatches_elsewhere(world):
    appeal = drive_to(world, S.RETURN_REQUESTED)
    same = act(world.dispatcher, appeal, "approve_return", {"lead_unit": world.tree.unit_housing.pk})
    assert same.status_code == 400 and same.json()["code"] == "same_unit"
    response = act(world.dispatcher, appeal, "approve_return", {"lead_unit": world.tree.unit_water.pk, "note": "改派供水"})
    assert response.status_code == 200 and response.json()["lead_unit_id"] == world.tree.unit_water.pk
    statuses = {a["unit_id"]: a["status"] for a in response.json()["assignments"]}
    assert statuses == {world.tree.unit_housing.pk: "returned", world.tree.unit_water.pk: "pending"}
    assert act(world.housing_liaison, appeal, "accept").status_code == 403  # still sees it, no longer handles it
    assert act(world.water_liaison, appeal, "accept").status_code == 200


def test_dispatch_with_co_units_and_without_a_rule(world):
    appeal = submit(world)
    response = act(world.dispatcher, appeal, "dispatch", {"lead_unit": world.tree.unit_housing.pk, "co_units": [world.tree.unit_water.pk]})
    assert response.status_code == 200
    assert sorted(a["role"] for a in response.json()["assignments"]) == ["co", "lead"]
    report = act(world.water_liaison, appeal, "co_report", {"text": "管线迁改已完成"})
    assert report.status_code == 200 and report.json()["notes"][-1]["kind"] == "co_report"
    assert act(world.water_liaison, appeal, "accept").status_code == 403  # a co-unit does not sign for the lead
    from yishi.appeals.catalogue import category_create

    orphan = submit(world, category=category_create(actor=None, code="C09", name="其他"))
    response = act(world.dispatcher, orphan, "dispatch", {})
    assert response.status_code == 400 and response.json()["code"] == "no_routing_rule" and response.json()["field"] == "lead_unit"
    unknown = act(world.dispatcher, orphan, "dispatch", {"lead_unit": world.tree.unit_housing.pk, "co_units": [999999]})
    assert unknown.status_code == 400 and unknown.json()["field"] == "co_units"


def test_supervision_flags_and_clears_on_reply(world):
    appeal = drive_to(world, S.IN_PROGRESS)
    response = act(world.street_a_staff, appeal, "supervise", {"note": "群众多次来电，请加快"})
    assert response.status_code == 200 and response.json()["supervised"] is True
    assert [f["kind"] for f in response.json()["supervision_flags"]] == ["manual"]
    assert Notification.objects.filter(kind="appeals.supervised", recipient=world.housing_liaison).exists()
    blank = act(world.street_a_staff, appeal, "supervise", {"note": " "})
    assert blank.status_code == 400 and blank.json()["field"] == "note"
    appeal = services.appeal_submit_reply(actor=world.housing_liaison, appeal=appeal, text="已办结")
    appeal = services.appeal_approve_reply(actor=world.dispatcher, appeal=appeal)
    assert appeal.supervised is False
    assert appeal.supervision_flags.filter(resolved_at__isnull=True).count() == 0


def test_returned_reply_goes_back_to_the_unit(world):
    appeal = drive_to(world, S.REPLY_SUBMITTED)
    appeal = services.appeal_return_reply(actor=world.dispatcher, appeal=appeal, reason="未附现场照片")
    assert appeal.state == S.IN_PROGRESS
    with pytest.raises(TransitionNotAllowed):
        services.appeal_approve_reply(actor=world.dispatcher, appeal=appeal)
    with pytest.raises(Conflict):
        services.appeal_approve_extension(actor=world.dispatcher, appeal=appeal)

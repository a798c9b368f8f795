"""Deadlines on frozen time, from the policy profile of the appeal's area and the working-day calendar.

Beijing 2021 (the default profile): sign within 1 working day; urgent 2 h, utilities 24 h, general 7 calendar
days, complex 15; first contact within 24 h. The generic-province profile: consult 3 working days, complaint 13.
National Day 2024: 1–7 October are holidays, Sunday 29 September and Saturday 12 October are working days.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from yishi.appeals import services
from yishi.appeals.catalogue import category_create
from yishi.appeals.choices import AppealState as S
from yishi.appeals.models import ExtensionRequest
from yishi.appeals.testing import drive_to, submit
from yishi.conftest import client_for
from yishi.core.errors import Conflict, InvalidInput
from yishi.policy.models import PolicyProfile

BJ = timezone.get_fixed_timezone(8 * 60)
MONDAY = datetime(2024, 9, 30, 10, 0, tzinfo=BJ)  # the last working day before the holiday


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ)


def dispatched(world, *, urgency: str | None = None, **submit_kw):
    appeal = submit(world, **submit_kw)
    if urgency:
        services.appeal_triage(actor=world.dispatcher, appeal=appeal, urgency=urgency)
    return services.appeal_dispatch(actor=world.dispatcher, appeal=appeal)


def use_profile(world, code: str) -> None:
    world.tree.district.policy_profile = PolicyProfile.objects.get(code=code)
    world.tree.district.save(update_fields=["policy_profile"])


@time_machine.travel(MONDAY, tick=False)
@pytest.mark.parametrize(
    ("urgency", "due"),
    [
        ("urgent", at(2024, 9, 30, 12, 0)),
        ("utility", at(2024, 10, 1, 10, 0)),
        ("general", at(2024, 10, 7, 10, 0)),
        ("complex", at(2024, 10, 15, 10, 0)),
    ],
)
def test_beijing_limits_by_urgency(world, urgency, due):
    appeal = dispatched(world, urgency=urgency)
    assert appeal.dispatched_at == MONDAY
    assert appeal.due_at == due
    # Sign within one working day: the holiday week does not count.
    assert appeal.accept_due_at == at(2024, 10, 8, 10, 0)
    assert appeal.contact_due_at == at(2024, 10, 1, 10, 0)
    # The at-risk mark at 80 % of the allowed time.
    assert appeal.warn_at == MONDAY + (due - MONDAY) * 0.8
    assert appeal.policy_version.startswith("beijing-2021@")


@time_machine.travel(MONDAY, tick=False)
def test_utility_category_defaults_to_24_hours(world):
    appeal = dispatched(world, category=world.cat_water)
    assert appeal.urgency == "utility" and appeal.due_at == at(2024, 10, 1, 10, 0)
    assert appeal.lead_unit == world.tree.unit_water


@time_machine.travel(MONDAY, tick=False)
def test_fast_lane_takes_two_working_days(world):
    micro = category_create(actor=None, code="C03", name="民生微实事", fast_lane=True)
    appeal = submit(world, category=micro)
    appeal = services.appeal_dispatch(actor=world.dispatcher, appeal=appeal, lead_unit_id=world.tree.unit_street_a.pk)
    assert appeal.fast_lane is True and appeal.due_at == at(2024, 10, 9, 10, 0)


def test_clock_started_early_in_the_morning_counts_local_days(world):
    """07:30 in Beijing is still the previous day (a holiday) in UTC; the calendar must count Beijing days."""
    with time_machine.travel(at(2024, 10, 8, 7, 30), tick=False):
        appeal = dispatched(world)
    assert appeal.accept_due_at == at(2024, 10, 9, 7, 30)


def test_clock_started_on_a_holiday_runs_from_the_next_working_day(world):
    with time_machine.travel(at(2024, 10, 3, 15, 0), tick=False):
        appeal = dispatched(world)
    assert appeal.accept_due_at == at(2024, 10, 9, 0, 0)  # the end of 8 October, the first working day
    assert appeal.due_at == at(2024, 10, 10, 15, 0)  # calendar days ignore holidays


@time_machine.travel(MONDAY, tick=False)
@pytest.mark.parametrize(
    ("nature", "due"),
    [
        ("consult", at(2024, 10, 10, 10, 0)),  # 3 working days: 8, 9, 10 October
        ("complaint", at(2024, 10, 23, 10, 0)),  # 13 working days, Saturday 12 October included
        ("help", at(2024, 10, 12, 10, 0)),  # 5 working days, the adjusted Saturday the fifth
    ],
)
def test_generic_province_limits_by_nature(world, nature, due):
    use_profile(world, "generic-province")
    appeal = dispatched(world, nature=nature)
    assert appeal.due_at == due
    assert appeal.accept_due_at == at(2024, 10, 8, 10, 0)
    assert appeal.contact_due_at == at(2024, 10, 9, 10, 0)  # first contact within 2 working days
    assert appeal.policy_version.startswith("generic-province@")


@time_machine.travel(MONDAY, tick=False)
def test_generic_province_urgent_still_two_hours(world):
    use_profile(world, "generic-province")
    assert dispatched(world, urgency="urgent", nature="complaint").due_at == at(2024, 9, 30, 12, 0)


@time_machine.travel(MONDAY, tick=False)
def test_profile_of_the_nearest_area_wins(world):
    world.tree.street_b.policy_profile = PolicyProfile.objects.get(code="generic-province")
    world.tree.street_b.save(update_fields=["policy_profile"])
    a = dispatched(world, nature="consult")
    b = dispatched(world, nature="consult", unit=world.tree.community_b1)
    assert a.due_at == at(2024, 10, 7, 10, 0) and b.due_at == at(2024, 10, 10, 10, 0)


# --- signing and contact on time --------------------------------------------------------------------------------


def test_signing_late_is_recorded(world):
    with time_machine.travel(MONDAY, tick=False):
        on_time = dispatched(world)
        late = dispatched(world)
    with time_machine.travel(at(2024, 10, 8, 9, 0), tick=False):
        on_time = services.appeal_accept(actor=world.housing_liaison, appeal=on_time)
        on_time = services.appeal_contact(actor=world.housing_liaison, appeal=on_time, text="电话联系")
    with time_machine.travel(at(2024, 10, 8, 10, 1), tick=False):
        late = services.appeal_accept(actor=world.housing_liaison, appeal=late)
    assert on_time.accepted_on_time is True and late.accepted_on_time is False
    assert on_time.contacted_on_time is False  # contact was due on 1 October


# --- extensions -------------------------------------------------------------------------------------------------


def test_extension_moves_the_deadline_by_working_days_across_the_holiday(world):
    with time_machine.travel(at(2024, 9, 23, 10, 0), tick=False):
        appeal = drive_to(world, S.ACCEPTED)
    assert appeal.due_at == MONDAY
    with time_machine.travel(at(2024, 9, 29, 16, 0), tick=False):  # an adjusted working Sunday, before the deadline
        response = client_for(world.housing_liaison).post(
            f"/api/appeals/{appeal.pk}/actions/request_extension",
            data=json.dumps({"working_days": 3, "reason": "需协调业主签字"}), content_type="application/json",
        )
        assert response.status_code == 200, response.content
        response = client_for(world.community_staff).post(
            f"/api/appeals/{appeal.pk}/actions/approve_extension",
            data=json.dumps({"note": "同意"}), content_type="application/json",
        )
        assert response.status_code == 200, response.content
    appeal.refresh_from_db()
    assert appeal.due_at == at(2024, 10, 10, 10, 0)  # 8, 9, 10 October
    assert appeal.warn_at == at(2024, 9, 23, 10, 0) + (appeal.due_at - at(2024, 9, 23, 10, 0)) * 0.8
    assert appeal.extension_count == 1
    request = ExtensionRequest.objects.get(appeal=appeal)
    assert request.status == "approved" and request.old_due_at == MONDAY and request.new_due_at == appeal.due_at


def test_extension_of_a_deadline_falling_early_in_the_morning(world):
    with time_machine.travel(at(2024, 9, 30, 7, 30), tick=False):
        appeal = dispatched(world, urgency="complex")  # due 15 October 07:30 (UTC: the 14th, a working day too)
        appeal = services.appeal_accept(actor=world.housing_liaison, appeal=appeal)
    with time_machine.travel(at(2024, 10, 11, 9, 0), tick=False):
        services.appeal_request_extension(actor=world.housing_liaison, appeal=appeal, working_days=1, reason="等待材料")
        appeal = services.appeal_approve_extension(actor=world.dispatcher, appeal=appeal)
    assert appeal.due_at == at(2024, 10, 16, 7, 30)


def test_overdue_appeal_cannot_ask_for_an_extension(world):
    with time_machine.travel(MONDAY, tick=False):
        appeal = drive_to(world, S.IN_PROGRESS)
    with time_machine.travel(at(2024, 10, 7, 10, 1), tick=False):
        response = client_for(world.housing_liaison).post(
            f"/api/appeals/{appeal.pk}/actions/request_extension",
            data=json.dumps({"working_days": 2, "reason": "来不及"}), content_type="application/json",
        )
    assert response.status_code == 409 and response.json()["code"] == "deadline_passed"
    assert not ExtensionRequest.objects.exists()


@time_machine.travel(MONDAY, tick=False)
def test_extension_limits(world):
    appeal = drive_to(world, S.IN_PROGRESS)
    with pytest.raises(InvalidInput) as exc:
        services.appeal_request_extension(actor=world.housing_liaison, appeal=appeal, working_days=16, reason="太久")
    assert exc.value.field == "working_days"
    services.appeal_request_extension(actor=world.housing_liaison, appeal=appeal, working_days=2, reason="需协调")
    with pytest.raises(Conflict) as exc:
        services.appeal_request_extension(actor=world.housing_liaison, appeal=appeal, working_days=2, reason="再来")
    assert exc.value.code == "extension_pending"
    services.appeal_approve_extension(actor=world.dispatcher, appeal=appeal)
    with pytest.raises(Conflict) as exc:  # the Beijing profile allows one extension
        services.appeal_request_extension(actor=world.housing_liaison, appeal=appeal, working_days=2, reason="又要延期")
    assert exc.value.code == "extension_limit"


@time_machine.travel(MONDAY, tick=False)
def test_refused_extension_keeps_the_deadline(world):
    appeal = drive_to(world, S.IN_PROGRESS)
    services.appeal_request_extension(actor=world.housing_liaison, appeal=appeal, working_days=2, reason="需协调")
    appeal = services.appeal_refuse_extension(actor=world.dispatcher, appeal=appeal, reason="可以按期办完")
    assert appeal.due_at == at(2024, 10, 7, 10, 0) and appeal.extension_count == 0
    assert ExtensionRequest.objects.get(appeal=appeal).status == "refused"
    with pytest.raises(Conflict) as exc:
        services.appeal_approve_extension(actor=world.dispatcher, appeal=appeal)
    assert exc.value.code == "no_pending_request"


# --- replies against the deadline, reopen restarts the clocks ---------------------------------------------------


def test_reply_after_the_deadline_is_not_on_time(world):
    with time_machine.travel(MONDAY, tick=False):
        on_time = drive_to(world, S.REPLY_SUBMITTED)
        late = drive_to(world, S.REPLY_SUBMITTED)
        on_time = services.appeal_approve_reply(actor=world.dispatcher, appeal=on_time)
    with time_machine.travel(at(2024, 10, 7, 10, 1), tick=False):
        late = services.appeal_approve_reply(actor=world.dispatcher, appeal=late)
    assert on_time.closed_on_time is True and late.closed_on_time is False


def test_reopen_restarts_the_clocks(world):
    with time_machine.travel(MONDAY, tick=False):
        appeal = drive_to(world, S.REPLIED)
        appeal = services.appeal_callback_by_link(token=appeal.callback_token, resolution="unresolved", satisfaction="unsatisfied")
        assert appeal.state == S.REPLIED and appeal.resolution == "unresolved"
    reopened_at = at(2024, 10, 9, 14, 0)
    with time_machine.travel(reopened_at, tick=False):
        appeal = services.appeal_reopen(actor=world.dispatcher, appeal=appeal, reason="群众反映未解决")
    assert appeal.state == S.DISPATCHED and appeal.reopen_count == 1
    assert appeal.dispatched_at == reopened_at
    assert appeal.due_at == reopened_at + timedelta(days=7)
    assert appeal.accept_due_at == at(2024, 10, 10, 14, 0)
    assert appeal.accepted_at is None and appeal.replied_at is None and appeal.resolution == ""
    live = appeal.assignments.exclude(status="cancelled")
    assert [(a.unit_id, a.status) for a in live] == [(world.tree.unit_housing.pk, "pending")]

"""The supervision sweep (督办) on frozen time, its command and its task.

The main appeal is dispatched on Thursday 26 March 2026 at 09:00 to the housing bureau, a general matter with
7 days to go (Beijing profile): due Thursday 2 April 09:00, warning (80 %) on Tuesday 31 March 23:24. The
Qingming holiday runs from Saturday 4 to Monday 6 April, so the 5th working day after the deadline is Friday
10 April (3, 7, 8, 9, 10 April), not Tuesday 7 April.
"""

from __future__ import annotations

from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from yishi.appeals import services as s
from yishi.appeals.choices import AppealState, SupervisionKind
from yishi.appeals.models import Appeal, Callback, SupervisionFlag
from yishi.appeals.testing import submit
from yishi.audit.models import AuditEvent
from yishi.core.testing import make_user
from yishi.notifications.models import Notification

TZ = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def clock():
    with time_machine.travel(at(3, 26), tick=False) as traveller:
        yield traveller


def dispatched(world, place=None, *, accept: bool = True) -> Appeal:
    appeal = submit(world, unit=place)
    appeal = s.appeal_dispatch(actor=world.district_staff, appeal=appeal, lead_unit_id=world.tree.unit_housing.pk)
    if accept:
        appeal = s.appeal_accept(actor=world.housing_liaison, appeal=appeal)
    return appeal


def replied(world, clock, when: datetime, place=None) -> Appeal:
    clock.move_to(when)
    appeal = dispatched(world, place)
    appeal = s.appeal_contact(actor=world.housing_liaison, appeal=appeal, text="已联系")
    s.appeal_submit_reply(actor=world.housing_liaison, appeal=appeal, text="已处理")
    return s.appeal_approve_reply(actor=world.district_staff, appeal=appeal)


def sweep(clock, when: datetime) -> tuple[int, int, int, int]:
    clock.move_to(when)
    r = s.supervision_sweep()
    return r.reminders, r.urges, r.escalations, r.auto_closed


def flags(appeal: Appeal, kind: str) -> int:
    return SupervisionFlag.objects.filter(appeal=appeal, kind=kind).count()


def told(user, kind: str) -> int:
    return Notification.objects.filter(recipient=user, kind=kind).count()


def test_the_story_dates(world, clock):
    appeal = dispatched(world)
    assert appeal.due_at == at(4, 2) and appeal.warn_at == at(3, 31, 23, 24)


def test_reminder_after_the_warning_time_once(world, clock):
    appeal = dispatched(world)
    assert sweep(clock, at(3, 31, 23, 0)) == (0, 0, 0, 0)
    assert sweep(clock, at(3, 31, 23, 30)) == (1, 0, 0, 0)
    assert flags(appeal, SupervisionKind.REMINDER) == 1
    assert told(world.housing_liaison, "appeals.reminder") == 1
    assert sweep(clock, at(4, 1)) == (0, 0, 0, 0)
    assert sweep(clock, at(4, 2, 8)) == (0, 0, 0, 0)
    assert flags(appeal, SupervisionKind.REMINDER) == 1 and told(world.housing_liaison, "appeals.reminder") == 1
    assert AuditEvent.objects.filter(code="appeals.appeal.reminder", subject_id=str(appeal.pk)).count() == 1


def test_urge_after_the_deadline_once(world, clock):
    appeal = dispatched(world)
    # At the deadline itself a reply would still be on time.
    assert sweep(clock, at(4, 2)) == (1, 0, 0, 0)
    assert sweep(clock, at(4, 2, 9, 1)) == (0, 1, 0, 0)
    assert flags(appeal, SupervisionKind.URGE) == 1
    # The unit and the dispatching level (the community that owns the appeal) are told.
    assert told(world.housing_liaison, "appeals.urge") == 1
    assert told(world.community_staff, "appeals.urge") == 1
    assert told(world.street_a_staff, "appeals.urge") == 0
    for when in (at(4, 2, 10), at(4, 3), at(4, 8)):
        assert sweep(clock, when) == (0, 0, 0, 0)
    assert flags(appeal, SupervisionKind.URGE) == 1 and told(world.housing_liaison, "appeals.urge") == 1


def test_escalation_after_five_working_days_across_the_holiday(world, clock):
    appeal = dispatched(world)
    assert sweep(clock, at(4, 3)) == (0, 1, 0, 0)
    # Tuesday 7 April is five calendar days on, but only two working days.
    assert sweep(clock, at(4, 7, 10)) == (0, 0, 0, 0)
    assert sweep(clock, at(4, 9, 23, 59)) == (0, 0, 0, 0)
    assert sweep(clock, at(4, 10, 0, 0)) == (0, 0, 1, 0)
    appeal.refresh_from_db()
    assert appeal.supervised is True
    assert flags(appeal, SupervisionKind.ESCALATION) == 1
    # The level above the handling level (the street) and the unit are told; not the other street.
    assert told(world.street_a_staff, "appeals.escalation") == 1
    assert told(world.housing_liaison, "appeals.escalation") == 1
    assert told(world.street_b_staff, "appeals.escalation") == 0
    for when in (at(4, 10, 1), at(4, 13), at(4, 30)):
        assert sweep(clock, when) == (0, 0, 0, 0)
    assert flags(appeal, SupervisionKind.ESCALATION) == 1 and told(world.street_a_staff, "appeals.escalation") == 1


def test_a_calendar_override_moves_the_escalation(world, clock):
    from yishi.policy.models import WorkdayOverride

    appeal = dispatched(world)
    # Declare Saturday 4 April a working day (调休): the fifth working day after the deadline is then 9 April.
    WorkdayOverride.objects.create(date=at(4, 4).date(), is_workday=True)
    assert sweep(clock, at(4, 8, 23)) == (0, 1, 0, 0)
    assert sweep(clock, at(4, 9, 0, 1)) == (0, 0, 1, 0)
    assert flags(appeal, SupervisionKind.ESCALATION) == 1


def test_escalation_follows_the_profile_of_the_area(world, clock):
    from yishi.policy.services import default_profile, profile_copy, profile_update

    quick = profile_copy(actor=None, source=default_profile(), code="quick", name="两个工作日升级")
    profile_update(actor=None, profile=quick, params={**quick.params, "appeals.supervision.escalate_after_working_days": 2})
    world.tree.street_b.policy_profile = quick
    world.tree.street_b.save(update_fields=["policy_profile"])
    in_a = dispatched(world)
    in_b = dispatched(world, world.tree.community_b1)
    # Two working days after 2 April: 3 and 7 April.
    assert sweep(clock, at(4, 6, 23)) == (0, 2, 0, 0)
    assert sweep(clock, at(4, 7, 0, 1)) == (0, 0, 1, 0)
    assert flags(in_b, SupervisionKind.ESCALATION) == 1 and flags(in_a, SupervisionKind.ESCALATION) == 0
    assert sweep(clock, at(4, 10, 0, 1)) == (0, 0, 1, 0)
    assert flags(in_a, SupervisionKind.ESCALATION) == 1


def test_an_extension_gives_a_new_deadline_and_new_flags(world, clock):
    appeal = dispatched(world)
    assert sweep(clock, at(4, 1)) == (1, 0, 0, 0)
    s.appeal_request_extension(actor=world.housing_liaison, appeal=appeal, working_days=3, reason="需协调施工单位")
    appeal = s.appeal_approve_extension(actor=world.district_staff, appeal=appeal)
    assert appeal.due_at == at(4, 8)  # 3, 7 and 8 April
    assert sweep(clock, at(4, 2, 10)) == (0, 0, 0, 0)
    assert sweep(clock, at(4, 8, 8)) == (1, 0, 0, 0)
    assert sweep(clock, at(4, 8, 10)) == (0, 1, 0, 0)
    assert flags(appeal, SupervisionKind.REMINDER) == 2 and flags(appeal, SupervisionKind.URGE) == 1


def test_the_reply_ends_the_supervision(world, clock):
    appeal = dispatched(world)
    appeal = s.appeal_contact(actor=world.housing_liaison, appeal=appeal, text="已联系")
    assert sweep(clock, at(4, 10)) == (0, 1, 1, 0)
    s.appeal_submit_reply(actor=world.housing_liaison, appeal=appeal, text="已处理")
    appeal = s.appeal_approve_reply(actor=world.district_staff, appeal=appeal)
    assert appeal.supervised is False
    assert not SupervisionFlag.objects.filter(appeal=appeal, resolved_at__isnull=True).exists()
    assert sweep(clock, at(4, 11)) == (0, 0, 0, 0)


def test_no_callback_within_the_window_closes_as_no_answer(world, clock):
    # Replied on Friday 3 April 10:00; three working days after the holiday: Thursday 9 April 10:00.
    silent = replied(world, clock, at(4, 3, 10))
    answered = replied(world, clock, at(4, 3, 10))
    clock.move_to(at(4, 3, 11))
    s.appeal_callback(actor=world.district_staff, appeal=answered, resolution="partial", satisfaction="basic")
    assert sweep(clock, at(4, 9, 9, 59)) == (0, 0, 0, 0)
    assert sweep(clock, at(4, 9, 10)) == (0, 0, 0, 1)
    silent.refresh_from_db()
    assert (silent.state, silent.satisfaction, silent.resolution, silent.closed_at) == (AppealState.CLOSED, "no_answer", "", at(4, 9, 10))
    assert list(silent.callbacks.values_list("satisfaction", "resolution")) == [("no_answer", "")]
    assert AuditEvent.objects.filter(code="appeals.appeal.closed_no_answer", subject_id=str(silent.pk)).count() == 1
    # A partial answer waits for the manager's decision (close or reopen).
    answered.refresh_from_db()
    assert answered.state == AppealState.REPLIED
    assert sweep(clock, at(4, 20)) == (0, 0, 0, 0)
    assert Callback.objects.filter(appeal=silent).count() == 1


def test_a_reopened_appeal_is_closed_after_its_new_callback_window(world, clock):
    appeal = replied(world, clock, at(3, 26))
    clock.move_to(at(3, 26, 12))
    s.appeal_callback(actor=world.district_staff, appeal=appeal, resolution="unresolved", satisfaction="unsatisfied")
    clock.move_to(at(3, 26, 13))
    s.appeal_reopen(actor=world.district_staff, appeal=appeal, reason="问题仍未解决")
    s.appeal_accept(actor=world.housing_liaison, appeal=appeal)
    s.appeal_contact(actor=world.housing_liaison, appeal=appeal, text="再次联系")
    clock.move_to(at(3, 27, 10))
    s.appeal_submit_reply(actor=world.housing_liaison, appeal=appeal, text="已彻底处理")
    s.appeal_approve_reply(actor=world.district_staff, appeal=appeal)
    # The callback of the first reply does not answer the second one: three working days later it closes.
    assert sweep(clock, at(4, 1, 9, 59)) == (0, 0, 0, 0)
    assert sweep(clock, at(4, 1, 10)) == (0, 0, 0, 1)
    appeal.refresh_from_db()
    assert appeal.state == AppealState.CLOSED and appeal.satisfaction == "no_answer"


def test_appeals_not_being_handled_are_untouched(world, clock):
    received = submit(world)
    rejected = s.appeal_reject(actor=world.district_staff, appeal=submit(world), reason="不属于受理范围")
    parent = dispatched(world)
    other = make_user()
    other.phone = "13900139000"
    other.save(update_fields=["phone"])
    merged = s.appeal_merge(actor=world.district_staff, appeal=submit(world, actor=other), into_id=parent.pk)
    duplicate = s.appeal_mark_duplicate(actor=world.district_staff, appeal=dispatched(world, accept=False), original_id=parent.pk)
    waiting = dispatched(world)
    s.appeal_contact(actor=world.housing_liaison, appeal=waiting, text="已联系")
    waiting = s.appeal_submit_reply(actor=world.housing_liaison, appeal=waiting, text="答复待审")
    closed = dispatched(world)
    s.appeal_contact(actor=world.housing_liaison, appeal=closed, text="已联系")
    s.appeal_submit_reply(actor=world.housing_liaison, appeal=closed, text="已处理")
    s.appeal_approve_reply(actor=world.district_staff, appeal=closed)
    closed = s.appeal_callback(actor=world.district_staff, appeal=closed, resolution="resolved", satisfaction="satisfied")
    untouched = [received, rejected, merged, duplicate, waiting, closed]
    assert merged.due_at == parent.due_at and duplicate.due_at is not None and waiting.due_at is not None
    before = {a.pk: (a.state, a.supervised) for a in untouched}

    # Only the parent is being handled: one reminder, one 催办, one escalation over the whole month.
    totals = [sweep(clock, when) for when in (at(4, 1), at(4, 3), at(4, 13), at(4, 30))]
    assert [sum(t[i] for t in totals) for i in range(4)] == [1, 1, 1, 0]
    assert not SupervisionFlag.objects.filter(appeal__in=untouched).exists()
    for appeal in untouched:
        appeal.refresh_from_db()
        assert (appeal.state, appeal.supervised) == before[appeal.pk]


def test_a_quiet_sweep_costs_the_same_whatever_the_number_of_overdue_appeals(world, clock):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from yishi.policy.services import forget_workday_overrides

    def quiet_sweep_queries(n: int) -> int:
        clock.move_to(at(3, 26))
        for _ in range(n):
            dispatched(world, accept=False)
        sweep(clock, at(4, 13))  # raises every flag
        forget_workday_overrides()
        with CaptureQueriesContext(connection) as ctx:
            assert sweep(clock, at(4, 14)) == (0, 0, 0, 0)
        return len(ctx.captured_queries)

    # The reference cache's generation, calendar overrides, profiles, the units choosing one; per kind: the
    # candidates by chunk and their flags.
    first = quiet_sweep_queries(3)
    assert quiet_sweep_queries(30) == first == 12


# --- the command and the task -------------------------------------------------------------------------------------


def test_command_runs_once_and_prints_the_counts(world, clock):
    dispatched(world)
    clock.move_to(at(4, 10))
    out = StringIO()
    call_command("appeals_sweep", stdout=out)
    assert out.getvalue().strip() == "2026-04-10 09:00:00 reminders=0 urges=1 escalations=1 auto_closed=0"


def test_command_loops_every_n_seconds(world, clock, monkeypatch):
    from yishi.appeals.management.commands import appeals_sweep

    dispatched(world)
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        clock.move_to(at(4, 10))

    monkeypatch.setattr(appeals_sweep.time, "sleep", nap)
    clock.move_to(at(4, 2, 12))
    out = StringIO()
    call_command("appeals_sweep", "--every", "60", "--count", "2", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert lines == [
        "2026-04-02 12:00:00 reminders=0 urges=1 escalations=0 auto_closed=0",
        "2026-04-10 09:00:00 reminders=0 urges=0 escalations=1 auto_closed=0",
    ]
    assert len(naps) == 1 and 59 <= naps[0] <= 60


def test_command_keeps_looping_after_a_failed_run(world, clock, monkeypatch):
    from yishi.appeals.management.commands import appeals_sweep

    calls = {"n": 0}

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database restarting")
        return s.SweepResult()

    monkeypatch.setattr(appeals_sweep, "supervision_sweep", flaky)
    monkeypatch.setattr(appeals_sweep.time, "sleep", lambda seconds: None)
    out, err = StringIO(), StringIO()
    call_command("appeals_sweep", "--every", "1", "--count", "2", stdout=out, stderr=err)
    assert "sweep failed: RuntimeError('database restarting')" in err.getvalue()
    assert out.getvalue().count("reminders=0") == 1


@pytest.mark.parametrize("args", [["--every", "0"], ["--every", "-5"], ["--every", "10", "--count", "-1"]])
def test_command_rejects_bad_arguments(db, args):
    with pytest.raises(CommandError):
        call_command("appeals_sweep", *args, stdout=StringIO())


def test_task_runs_the_sweep(world, clock):
    from yishi.appeals.tasks import run_supervision_sweep

    dispatched(world)
    clock.move_to(at(4, 10))
    result = run_supervision_sweep.enqueue()
    assert result.return_value == {"reminders": 0, "urges": 1, "escalations": 1, "auto_closed": 0}

"""智能派单: with ``appeals.auto_dispatch`` on in the area's profile, a submission that a routing rule matches is
dispatched in its own transaction exactly as a separate dispatch by rule would leave it; off, or without a rule, it
stays received for the community's triage."""

from __future__ import annotations

from datetime import datetime

import time_machine
from django.utils import timezone

from yishi.appeals import services
from yishi.appeals.catalogue import category_create
from yishi.appeals.choices import AppealState
from yishi.appeals.models import Appeal, Assignment
from yishi.appeals.testing import submit
from yishi.audit.models import AuditEvent
from yishi.notifications.models import Notification
from yishi.policy.services import default_profile, profile_update

BJ = timezone.get_fixed_timezone(8 * 60)
CLOCK_FIELDS = ["state", "lead_unit_id", "dispatched_at", "accept_due_at", "contact_due_at", "due_at", "warn_at", "policy_version",
                "accepted_at", "first_contact_at"]


def auto_dispatch(on: bool) -> None:
    profile = default_profile()
    profile_update(actor=None, profile=profile, params={**profile.params, "appeals.auto_dispatch": on})


def clocks(appeal: Appeal) -> dict:
    fresh = Appeal.objects.get(pk=appeal.pk)
    values = {name: getattr(fresh, name) for name in CLOCK_FIELDS}
    values["policy_version"] = values["policy_version"].split("@")[0]  # turning the flag on made a new version
    return values


def assignments(appeal: Appeal) -> list[tuple]:
    return sorted(Assignment.objects.filter(appeal=appeal).values_list("unit_id", "role", "status", "accept_due_at", "by_rule"))


def events(appeal: Appeal) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(subject_type="appeals.appeal", subject_id=str(appeal.pk)).order_by("seq"))


def test_shipped_profiles_declare_the_flag_off(db):
    # Off in both: the shipped parameters reach existing installations on their next migrate
    # (``sync_shipped_profiles``), and an area that triages today must not start dispatching unasked.
    from yishi.policy.models import PolicyProfile

    assert PolicyProfile.objects.get(code="beijing-2021").params["appeals.auto_dispatch"] is False
    assert PolicyProfile.objects.get(code="generic-province").params["appeals.auto_dispatch"] is False


def test_on_dispatches_at_intake_exactly_as_a_separate_dispatch(world):
    # A Friday afternoon, so the working-day calendar matters to every deadline.
    with time_machine.travel(datetime(2026, 4, 3, 16, 30, tzinfo=BJ), tick=False):
        auto_dispatch(False)
        by_hand = services.appeal_dispatch(actor=world.dispatcher, appeal=submit(world))
        auto_dispatch(True)
        Notification.objects.all().delete()
        auto = submit(world)
    assert auto.state == AppealState.DISPATCHED and auto.lead_unit_id == world.tree.unit_housing.pk
    assert clocks(auto) == clocks(by_hand)
    assert assignments(auto) == assignments(by_hand)
    assert Assignment.objects.get(appeal=auto).dispatched_by is None  # the rule's, not a person's
    mine, theirs = events(auto), events(by_hand)
    assert [e.code for e in mine] == [e.code for e in theirs] == ["appeals.appeal.submitted", "appeals.appeal.dispatch"]
    assert mine[1].actor_id is None and theirs[1].actor_id == world.dispatcher.pk
    assert mine[1].before == theirs[1].before and mine[1].after == theirs[1].after
    assert mine[0].after["state"] == AppealState.RECEIVED
    # The unit's people hear of it as they would of a dispatch, and the community's managers of the new appeal.
    kinds = set(Notification.objects.values_list("recipient_id", "kind"))
    assert {(world.housing_liaison.pk, "appeals.dispatched"), (world.community_staff.pk, "appeals.received")} <= kinds


def test_off_leaves_it_received(world):
    auto_dispatch(False)
    appeal = submit(world)
    assert Appeal.objects.get(pk=appeal.pk).state == AppealState.RECEIVED
    assert not Assignment.objects.filter(appeal=appeal).exists()
    assert [e.code for e in events(appeal)] == ["appeals.appeal.submitted"]


def test_without_a_rule_it_stays_received(world):
    auto_dispatch(True)
    unrouted = category_create(actor=None, code="C09", name="其他")
    appeal = submit(world, category=unrouted)
    assert Appeal.objects.get(pk=appeal.pk).state == AppealState.RECEIVED
    assert not Assignment.objects.filter(appeal=appeal).exists()
    assert [e.code for e in events(appeal)] == ["appeals.appeal.submitted"]


def test_the_chain_head_is_taken_last(world):
    """Everything an auto-dispatched submission reads or writes happens before it locks the audit chain's head,
    which it then holds only for its two events until the commit."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    auto_dispatch(True)
    submit(world)  # fills the reference cache
    with CaptureQueriesContext(connection) as ctx:
        appeal = submit(world)
    assert appeal.state == AppealState.DISPATCHED
    sqls = [q["sql"] for q in ctx.captured_queries]
    first = next(i for i, s in enumerate(sqls) if "audit_auditchainhead" in s)
    assert any("accounts_user" in s for s in sqls[:first]) and any("appeals_assignment" in s for s in sqls[:first])
    rest = [s for s in sqls[first:] if not s.startswith(("RELEASE", "COMMIT"))]
    assert all("audit_audit" in s for s in rest), "\n".join(s[:120] for s in rest)

"""A month of appeals driven through the real services on frozen time, for the tests of the numbers and of the
statistics page (imported by them; not a test module itself).

The month is March 2026 (Beijing profile: sign within 1 working day, first contact within 24 h, general matters
7 days, utilities 24 h, callback window 3 working days). "Now" is Friday 20 March, 12:00. The appeals:

=====  =================  ======  ==================================================================
name   place              unit    story
=====  =================  ======  ==================================================================
a1     community A1       housing on time everywhere; callback 解决/满意; merged child a7 joins it
a2     community A1       housing accepted and contacted late; callback 部分解决/基本满意; duplicate a8
a3     community A1       housing contacted late, replied late; callback 未解决/不满意
a4     community A1       housing on time; no callback → closed "no answer" by the sweep
a5     community A1       water   returned by housing, re-dispatched to water; callback 解决/基本满意
a6     community A1       housing callback 未解决 → reopened → on time again; callback 解决/满意
a9     community A1       housing accepted, never contacted, overdue now
a10    grid A1 (street A) housing dispatched on a Saturday, accepted, never contacted, at risk now
a11    community B1       housing on time everywhere; callback 解决/满意
a12    community B1       water   utility (24 h), replied late; callback 部分解决/不满意
a13    community A1       —       rejected (不予受理)
a15    community A2       housing dispatched an hour ago: nothing due yet
a14    community A1       housing February: on time everywhere; callback 解决/满意
a7/a8                             merged child / duplicate: never counted
=====  =================  ======  ==================================================================
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from yishi.appeals import services as s
from yishi.appeals.choices import AppealState
from yishi.appeals.models import Appeal
from yishi.appeals.stats import Period
from yishi.appeals.testing import submit
from yishi.core.testing import make_user
from yishi.policy.services import default_profile, profile_update

TZ = ZoneInfo("Asia/Shanghai")
MARCH = Period.month(date(2026, 3, 1))


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


NOW = at(3, 20, 12)


def set_param(key: str, value) -> None:
    """Set a parameter of the default profile (e.g. the dashboard's staleness tolerance)."""
    profile = default_profile()
    profile_update(actor=None, profile=profile, params={**profile.params, key: value})


def liaison(world, unit):
    return {
        world.tree.unit_housing.pk: world.housing_liaison,
        world.tree.unit_water.pk: world.water_liaison,
        world.tree.unit_street_a.pk: world.street_office_liaison,
    }[unit.pk]


def drive(world, clock, *, start: datetime, unit=None, place=None, category=None, actor=None,
          accept: float | None = 1, contact: float | None = 2, reply: float | None = 24,
          callback: tuple[str, str] | None = None):
    """Submit at ``start``, dispatch to ``unit``, then accept, contact, reply (approved at once) and record the
    callback so many hours after the dispatch (None: the step does not happen)."""
    unit = unit or world.tree.unit_housing
    clock.move_to(start)
    appeal = submit(world, unit=place, category=category, actor=actor)
    appeal = s.appeal_dispatch(actor=world.district_staff, appeal=appeal, lead_unit_id=unit.pk)
    handler = liaison(world, unit)
    if accept is not None:
        clock.move_to(start + timedelta(hours=accept))
        appeal = s.appeal_accept(actor=handler, appeal=appeal)
    if contact is not None:
        clock.move_to(start + timedelta(hours=contact))
        appeal = s.appeal_contact(actor=handler, appeal=appeal, text="已电话联系群众")
    if reply is not None:
        clock.move_to(start + timedelta(hours=reply))
        appeal = s.appeal_submit_reply(actor=handler, appeal=appeal, text="已处理完毕")
        appeal = s.appeal_approve_reply(actor=world.district_staff, appeal=appeal)
    if callback is not None:
        clock.move_to(start + timedelta(hours=(reply or 0) + 1))
        appeal = s.appeal_callback(actor=world.district_staff, appeal=appeal, resolution=callback[0], satisfaction=callback[1])
    return appeal


def build_month(world, clock) -> dict[str, Appeal]:
    """Build the month described in the module doc, leave the clock at ``NOW``; returns the appeals by name."""
    t = world.tree
    water = t.unit_water
    d0 = at(3, 2)
    a: dict[str, Appeal] = {}

    # a1, with a7 merged into it while it is being handled.
    a["a1"] = drive(world, clock, start=d0, reply=None)
    clock.move_to(d0 + timedelta(hours=3))
    other = make_user()
    other.phone = "13900139000"
    other.save(update_fields=["phone"])
    a["a7"] = submit(world, actor=other)
    a["a7"] = s.appeal_merge(actor=world.district_staff, appeal=a["a7"], into_id=a["a1"].pk)
    clock.move_to(d0 + timedelta(hours=48))
    s.appeal_submit_reply(actor=world.housing_liaison, appeal=a["a1"], text="已处理")
    a["a1"] = s.appeal_approve_reply(actor=world.district_staff, appeal=a["a1"])
    clock.move_to(d0 + timedelta(hours=49))
    a["a1"] = s.appeal_callback(actor=world.district_staff, appeal=a["a1"], resolution="resolved", satisfaction="satisfied")
    # The merged child's resident got the reply and answers the callback too; it must not count.
    a["a7"] = s.appeal_callback_by_link(token=a["a7"].callback_token, resolution="unresolved", satisfaction="unsatisfied")

    a["a2"] = drive(world, clock, start=d0, accept=30, contact=31, reply=72, callback=("partial", "basic"))
    clock.move_to(at(3, 6))
    a["a8"] = submit(world)  # the same resident about the same matter: a duplicate of a2
    a["a8"] = s.appeal_mark_duplicate(actor=world.district_staff, appeal=a["a8"], original_id=a["a2"].pk)

    a["a3"] = drive(world, clock, start=d0, accept=1, contact=26, reply=8 * 24, callback=("unresolved", "unsatisfied"))
    a["a4"] = drive(world, clock, start=d0, reply=24)

    # a5: housing returns it, the dispatcher re-dispatches it to the water company.
    a["a5"] = drive(world, clock, start=d0, accept=None, contact=None, reply=None)
    clock.move_to(d0 + timedelta(hours=1))
    s.appeal_request_return(actor=world.housing_liaison, appeal=a["a5"], reason="不属于本单位职责", basis="三定方案")
    clock.move_to(d0 + timedelta(hours=2))
    s.appeal_approve_return(actor=world.district_staff, appeal=a["a5"], lead_unit_id=water.pk)
    clock.move_to(d0 + timedelta(hours=3))
    s.appeal_accept(actor=world.water_liaison, appeal=a["a5"])
    clock.move_to(d0 + timedelta(hours=4))
    s.appeal_contact(actor=world.water_liaison, appeal=a["a5"], text="已联系")
    clock.move_to(d0 + timedelta(hours=24))
    s.appeal_submit_reply(actor=world.water_liaison, appeal=a["a5"], text="已修复")
    s.appeal_approve_reply(actor=world.district_staff, appeal=a["a5"])
    clock.move_to(d0 + timedelta(hours=25))
    a["a5"] = s.appeal_callback(actor=world.district_staff, appeal=a["a5"], resolution="resolved", satisfaction="basic")

    # a6: unresolved, reopened to the same unit, then handled on time.
    a["a6"] = drive(world, clock, start=d0, callback=("unresolved", "unsatisfied"))
    clock.move_to(d0 + timedelta(hours=26))
    s.appeal_reopen(actor=world.district_staff, appeal=a["a6"], reason="群众反映问题仍未解决")
    clock.move_to(d0 + timedelta(hours=27))
    s.appeal_accept(actor=world.housing_liaison, appeal=a["a6"])
    clock.move_to(d0 + timedelta(hours=28))
    s.appeal_contact(actor=world.housing_liaison, appeal=a["a6"], text="再次联系")
    clock.move_to(d0 + timedelta(hours=48))
    s.appeal_submit_reply(actor=world.housing_liaison, appeal=a["a6"], text="已彻底解决")
    s.appeal_approve_reply(actor=world.district_staff, appeal=a["a6"])
    clock.move_to(d0 + timedelta(hours=49))
    a["a6"] = s.appeal_callback(actor=world.district_staff, appeal=a["a6"], resolution="resolved", satisfaction="satisfied")

    a["a9"] = drive(world, clock, start=d0, contact=None, reply=None)
    a["a10"] = drive(world, clock, start=at(3, 14), place=t.grid_a1, accept=49, contact=None, reply=None)
    a["a11"] = drive(world, clock, start=d0, place=t.community_b1, callback=("resolved", "satisfied"))
    a["a12"] = drive(world, clock, start=d0, place=t.community_b1, unit=water, category=world.cat_water,
                     reply=30, callback=("partial", "unsatisfied"))
    clock.move_to(d0)
    a["a13"] = s.appeal_reject(actor=world.district_staff, appeal=submit(world), reason="不属于受理范围")
    a["a15"] = drive(world, clock, start=NOW - timedelta(hours=1), place=t.community_a2, accept=None, contact=None, reply=None)
    a["a14"] = drive(world, clock, start=at(2, 3), callback=("resolved", "satisfied"))

    clock.move_to(NOW)
    swept = s.supervision_sweep()
    assert swept.auto_closed == 1  # a4, closed "no answer"
    for key, appeal in a.items():
        appeal.refresh_from_db()
        a[key] = appeal
    assert a["a4"].state == AppealState.CLOSED and a["a4"].satisfaction == "no_answer"
    return a


# The figures of every counted appeal of March (the a-names above).
MARCH_TOTAL = {
    "volume": 12,
    "response_due": 10, "responded_on_time": 6,
    "accept_due": 10, "accepted_on_time": 9,
    "valid_callbacks": 7, "resolved": 4, "satisfied": 5, "no_answer": 1,
    "dispatched": 11, "returned": 1,
    "replied": 8, "reopened": 1,
    "closure_due": 9, "closed_on_time": 6,
    "overdue_now": 1, "at_risk_now": 1,
}

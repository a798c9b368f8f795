"""The main path of an appeal from submission to closure, through the services."""

from yishi.appeals import services as s
from yishi.appeals.choices import AppealState
from yishi.appeals.testing import submit


def test_full_cycle(world):
    a = submit(world)
    assert a.state == AppealState.RECEIVED and a.tracking_code.startswith("YS")
    a = s.appeal_dispatch(actor=world.community_staff, appeal=a)
    assert a.state == AppealState.DISPATCHED and a.lead_unit == world.tree.unit_housing
    assert a.due_at and a.accept_due_at and a.warn_at
    a = s.appeal_accept(actor=world.housing_liaison, appeal=a)
    a = s.appeal_contact(actor=world.housing_liaison, appeal=a, text="已电话联系")
    a = s.appeal_submit_reply(actor=world.housing_liaison, appeal=a, text="已安排施工队进场")
    a = s.appeal_approve_reply(actor=world.community_staff, appeal=a)
    assert a.state == AppealState.REPLIED and a.closed_on_time is True
    a = s.appeal_callback_by_link(token=a.callback_token, resolution="resolved", satisfaction="satisfied")
    assert a.state == AppealState.CLOSED


def test_link_callback_only_once_per_reply(world):
    import pytest

    from yishi.core.errors import Conflict

    a = submit(world)
    a = s.appeal_dispatch(actor=world.community_staff, appeal=a)
    a = s.appeal_accept(actor=world.housing_liaison, appeal=a)
    a = s.appeal_submit_reply(actor=world.housing_liaison, appeal=a, text="已处理")
    a = s.appeal_approve_reply(actor=world.community_staff, appeal=a)
    a = s.appeal_callback_by_link(token=a.callback_token, resolution="partial", satisfaction="basic")
    assert a.state == AppealState.REPLIED
    with pytest.raises(Conflict) as exc:
        s.appeal_callback_by_link(token=a.callback_token, resolution="resolved", satisfaction="satisfied")
    assert exc.value.code == "already_rated"
    a.refresh_from_db()
    assert a.resolution == "partial" and a.callbacks.count() == 1

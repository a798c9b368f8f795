"""Actions on one meeting at the same moment (two tabs, two phones): the meeting row lock serves them in turn and the
database constraints hold the line (PostgreSQL only: SQLite locks the whole file).

Threads start together at a barrier, each on its own database connection, in real transactions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from yishi.audit.services import verify_chain
from yishi.consultations import meetings as svc
from yishi.consultations.meeting_testing import build_meeting_world, open_meeting, schedule
from yishi.consultations.models import FloorRequest, Motion, Vote
from yishi.core.testing import race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def race_ok(*calls: Callable[[], Any]) -> list[Any]:
    """``race`` with "ok" for a call that went through (what the service returned does not matter here)."""
    return race(*calls, result=lambda _: "ok")


@pytest.fixture
def room(tree):
    mw = build_meeting_world(tree)
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=3), tick=True):
        meeting = schedule(mw, starts_at=now - timedelta(hours=1))
    return mw, open_meeting(mw, meeting)


def test_two_tabs_open_a_motion_at_once(room):
    mw, meeting = room
    outcomes = race_ok(
        lambda: svc.motion_open(actor=mw.chair, meeting=meeting, title="北侧方案"),
        lambda: svc.motion_open(actor=mw.chair, meeting=meeting, title="南侧方案"),
    )
    assert sorted(outcomes) == ["motion_live", "ok"]
    assert Motion.objects.filter(meeting=meeting).count() == 1


def test_a_double_tap_casts_one_vote(room):
    mw, meeting = room
    motion = svc.motion_open(actor=mw.chair, meeting=meeting, title="北侧方案")
    svc.vote_open(actor=mw.chair, meeting=meeting, motion=motion)
    outcomes = race_ok(
        lambda: svc.vote_cast(actor=mw.voters[0], meeting=meeting, motion=motion, choice="yes"),
        lambda: svc.vote_cast(actor=mw.voters[0], meeting=meeting, motion=motion, choice="no"),
    )
    assert sorted(outcomes) == ["already_voted", "ok"]
    assert Vote.objects.filter(motion=motion).count() == 1


def test_two_grants_at_once_give_the_floor_to_one_speaker(room):
    mw, meeting = room
    motion = svc.motion_open(actor=mw.chair, meeting=meeting, title="北侧方案")
    a = svc.floor_request(actor=mw.voters[0], meeting=meeting, motion=motion, stance="for")
    b = svc.floor_request(actor=mw.voters[1], meeting=meeting, motion=motion, stance="against")
    outcomes = race_ok(
        lambda: svc.floor_grant(actor=mw.chair, meeting=meeting, request=a),
        lambda: svc.floor_grant(actor=mw.chair, meeting=meeting, request=b),
    )
    assert sorted(outcomes) == ["ok", "speaker_on_floor"]
    assert FloorRequest.objects.filter(motion=motion, state="speaking").count() == 1


def test_votes_racing_the_close_are_counted_or_refused_never_lost(room):
    mw, meeting = room
    motion = svc.motion_open(actor=mw.chair, meeting=meeting, title="北侧方案")
    svc.vote_open(actor=mw.chair, meeting=meeting, motion=motion)
    outcomes = race_ok(
        lambda: svc.vote_close(actor=mw.chair, meeting=meeting, motion=motion),
        *[lambda u=u: svc.vote_cast(actor=u, meeting=meeting, motion=motion, choice="yes") for u in mw.voters],
    )
    assert outcomes[0] == "ok" and set(outcomes[1:]) <= {"ok", "voting_closed"}
    motion.refresh_from_db()
    assert motion.yes == outcomes[1:].count("ok") == Vote.objects.filter(motion=motion).count()
    assert verify_chain() == []

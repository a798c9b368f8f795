"""Fixtures of the consultations tests: the three-level platform on the test tree (see ``testing.py``) and a
meeting world with its meeting called and opened on the meeting tests' clock (see ``meeting_testing.py``)."""

from __future__ import annotations

import pytest

from yishi.consultations.meeting_testing import (
    START,
    T0,
    MeetingWorld,
    build_meeting_world,
    open_meeting,
    schedule,
)
from yishi.consultations.models import Meeting
from yishi.consultations.testing import ConsultWorld, build_consult_world


@pytest.fixture
def cw(tree) -> ConsultWorld:
    return build_consult_world(tree)


@pytest.fixture
def mw(tree) -> MeetingWorld:
    return build_meeting_world(tree)


@pytest.fixture
def scheduled(mw, time_machine) -> Meeting:
    """A meeting called at ``T0`` for ``START``; the clock stands at ``START``."""
    time_machine.move_to(T0, tick=False)
    meeting = schedule(mw, starts_at=START)
    time_machine.move_to(START, tick=False)
    return meeting


@pytest.fixture
def opened(mw, scheduled) -> Meeting:
    """The scheduled meeting, every voter checked in and the chair having opened it."""
    return open_meeting(mw, scheduled)

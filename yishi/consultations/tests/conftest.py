"""Fixtures of the consultations tests: the three-level platform on the test tree (see ``testing.py``)."""

from __future__ import annotations

import pytest

from yishi.consultations.testing import ConsultWorld, build_consult_world


@pytest.fixture
def cw(tree) -> ConsultWorld:
    return build_consult_world(tree)

"""Fixtures for every app's tests: a small district (two streets) and people holding roles in it."""

from __future__ import annotations

import pytest
from django.test import Client

from yishi.core.testing import Tree, build_tree, make_user


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: throttle counters and cached workday overrides live there and
    would otherwise leak from one test (or one rolled-back transaction) into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tree(db) -> Tree:
    return build_tree()


@pytest.fixture
def district_staff(tree):
    return make_user("district_staff", tree.district, username="district_staff")


@pytest.fixture
def street_a_staff(tree):
    return make_user("street_staff", tree.street_a, username="street_a_staff")


@pytest.fixture
def street_b_staff(tree):
    return make_user("street_staff", tree.street_b, username="street_b_staff")


@pytest.fixture
def resident(tree):
    user = make_user("resident", tree.community_a1, username="resident")
    user.phone = "13800138000"
    user.save(update_fields=["phone"])
    return user


@pytest.fixture
def admin_user(db):
    from yishi.accounts.models import User

    return User.objects.create_superuser(username="root", password="pw-Yishi-2026", email="root@example.org")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def make_client():
    return client_for


# --- appeals ---------------------------------------------------------------------------------------------------


@pytest.fixture
def world(tree):
    from yishi.appeals.testing import build_world

    return build_world(tree)


# --- browser tests (see yishi/conftest_browser.py) ----------------------------------------------------------------
from yishi.conftest_browser import browser, new_page, pytest_runtest_makereport, screenshot  # noqa: E402, F401

# --- end browser tests ------------------------------------------------------------------------------------------------


# --- browser tests: retried ------------------------------------------------------------------------------------


def pytest_collection_modifyitems(config, items):
    """Browser journeys follow other browsers by polling; on a loaded two-core CI machine a poll can miss its window.
    They are retried (twice) so that timing noise does not fail a run; a real failure fails all three tries."""
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.flaky(reruns=2, reruns_delay=2))

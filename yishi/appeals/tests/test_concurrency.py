"""Concurrent actions on one appeal: row locks make exactly one win (PostgreSQL only: SQLite locks the whole file).

Threads start together at a barrier, each on its own database connection, in real transactions.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client

from yishi.appeals import services
from yishi.appeals.choices import AppealState as S
from yishi.appeals.models import Appeal, Assignment, Callback
from yishi.appeals.testing import drive_to
from yishi.audit.models import AuditEvent
from yishi.audit.services import verify_chain
from yishi.conftest import client_for
from yishi.core.testing import make_user, race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def test_two_liaisons_of_one_unit_accept_at_once(world):
    appeal = drive_to(world, S.DISPATCHED)
    colleague = make_user("unit_liaison", world.tree.district, handling_unit=world.tree.unit_housing)
    outcomes = race(
        lambda: services.appeal_accept(actor=world.housing_liaison, appeal=appeal.pk).state,
        lambda: services.appeal_accept(actor=colleague, appeal=appeal.pk).state,
    )
    assert sorted(outcomes) == ["accepted", "transition_not_allowed"]
    appeal.refresh_from_db()
    assert appeal.state == S.ACCEPTED and appeal.accepted_at is not None
    assert Assignment.objects.get(appeal=appeal).status == "accepted"
    assert AuditEvent.objects.filter(code="appeals.appeal.accept", subject_id=str(appeal.pk)).count() == 1
    assert verify_chain() == []


def test_two_dispatchers_dispatch_at_once(world):
    appeal = drive_to(world, S.RECEIVED)
    other = make_user("dispatcher", world.tree.district)
    outcomes = race(
        lambda: services.appeal_dispatch(actor=world.dispatcher, appeal=appeal.pk).state,
        lambda: services.appeal_dispatch(actor=other, appeal=appeal.pk, lead_unit_id=world.tree.unit_water.pk).state,
    )
    assert sorted(outcomes) == ["dispatched", "transition_not_allowed"]
    assert Assignment.objects.filter(appeal=appeal, role="lead").count() == 1
    assert AuditEvent.objects.filter(code="appeals.appeal.dispatch", subject_id=str(appeal.pk)).count() == 1


def test_accept_races_escalation(world):
    appeal = drive_to(world, S.DISPATCHED)
    outcomes = race(
        lambda: services.appeal_accept(actor=world.housing_liaison, appeal=appeal.pk).state,
        lambda: services.appeal_escalate(actor=world.community_staff, appeal=appeal.pk, reason="上报街道").state,
    )
    appeal.refresh_from_db()
    # Either order is consistent: accepted then escalated (received), or escalated then the accept refused.
    assert appeal.state == S.RECEIVED and appeal.lead_unit_id is None
    assert "received" in outcomes
    assert not Assignment.objects.filter(appeal=appeal, status__in=["pending", "accepted"]).exists()


def test_two_callbacks_by_link_at_once(world):
    appeal = drive_to(world, S.REPLIED)
    outcomes = race(
        lambda: services.appeal_callback_by_link(token=appeal.callback_token, resolution="resolved", satisfaction="satisfied").state,
        lambda: services.appeal_callback_by_link(token=appeal.callback_token, resolution="resolved", satisfaction="basic").state,
    )
    assert sorted(outcomes) == ["closed", "transition_not_allowed"]
    assert Callback.objects.filter(appeal=appeal).count() == 1


def test_same_idempotency_key_at_once_creates_one_appeal(world):
    def send():
        data = services.AppealInput(
            nature="complaint", category_id=world.cat_lift.pk, title="电梯", text="电梯停运",
            org_unit_id=world.tree.community_a1.pk,
        )
        appeal = services.appeal_submit(actor=world.resident, data=data, idempotency_key="retry-42")
        return appeal.pk

    outcomes = race(send, send, send, send)
    assert len(set(outcomes)) == 1 and isinstance(outcomes[0], int), outcomes
    assert Appeal.objects.filter(idempotency_key="retry-42").count() == 1


def test_same_idempotency_key_at_once_through_the_api(world):
    body = json.dumps({
        "nature": "help", "category": world.cat_water.pk, "title": "停水", "text": "整栋楼停水",
        "org_unit": world.tree.community_a1.pk,
    })

    def send(client: Client):
        response = client.post("/api/appeals", data=body, content_type="application/json", headers={"Idempotency-Key": "api-7"})
        return response.status_code, response.json().get("id")

    clients = [client_for(world.resident) for _ in range(3)] + [Client()]
    outcomes = race(*[lambda c=c: send(c) for c in clients])
    # The resident's three sessions share their key; the anonymous caller's same key is its own appeal.
    assert sorted(code for code, _ in outcomes) == [200, 200, 201, 201], outcomes
    assert len({pk for _, pk in outcomes[:3]}) == 1 and outcomes[3][1] != outcomes[0][1]
    assert Appeal.objects.count() == 2

"""The audit chain: appends, verification, tamper detection, append-only rows, request ids."""

from __future__ import annotations

import threading
from itertools import pairwise

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yishi.audit.models import AuditChainHead, AuditEvent
from yishi.audit.services import GENESIS, compute_hash, events_for, record, snapshot, verify_chain
from yishi.core.testing import build_tree, make_user
from yishi.core.tests.sample.models import SampleOrder


def write_events(n: int, actor=None) -> list[AuditEvent]:
    return [
        record(actor=actor, code="test.thing.done", subject=("test.thing", i), before={"n": i}, after={"n": i + 1},
               reason=f"第{i}次")
        for i in range(n)
    ]


def ids_in(problems) -> set[int | None]:
    return {p.event_id for p in problems}


def test_chain_intact_after_many_records(db):
    user = make_user()
    events = write_events(300, actor=user)
    assert verify_chain() == []
    assert verify_chain(batch_size=7) == []
    assert [e.seq for e in events] == list(range(1, 301))
    assert events[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in pairwise(events))
    head = AuditChainHead.objects.get(pk=1)
    assert (head.last_seq, head.last_hash) == (300, events[-1].hash)
    assert events[5].actor_id == user.pk and events[5].actor_label == str(user)
    call_command("audit", "verify")


def test_system_actor_and_subject_forms(tree):
    event = record(actor=None, code="test.system", subject=tree.grid_a1)
    assert event.actor_id is None and event.actor_label == "system"
    assert (event.subject_type, event.subject_id) == ("orgs.orgunit", str(tree.grid_a1.pk))
    bare = record(actor=None, code="test.nothing")
    assert (bare.subject_type, bare.subject_id) == ("", "")
    assert list(events_for(tree.grid_a1)) == list(AuditEvent.objects.filter(subject_id=str(tree.grid_a1.pk),
                                                                          subject_type="orgs.orgunit"))


def test_snapshot_stores_plain_json(tree):
    order = SampleOrder.objects.create(title="t", org_unit=tree.grid_a1)
    data = snapshot(order, ["state", "org_unit", "updated_at"])
    assert data["state"] == "draft" and data["org_unit"] == tree.grid_a1.pk
    assert isinstance(data["updated_at"], str)
    event = record(actor=None, code="test.snap", subject=order, after=data)
    event.refresh_from_db()
    assert event.after == data
    assert verify_chain() == []


@pytest.mark.parametrize("column,value", [
    ("reason", "改过的理由"), ("code", "test.other"), ("actor_label", "someone else"), ("after", '{"n": 99}'),
    ("at", "2020-01-01 00:00:00"),
])
def test_an_edited_row_is_reported(db, capsys, column, value):
    events = write_events(10)
    victim = events[4]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE audit_auditevent SET {column} = %s WHERE id = %s", [value, victim.id])
    problems = verify_chain()
    assert ids_in(problems) == {victim.id}
    assert "edited" in problems[0].problem

    with pytest.raises(CommandError, match="audit chain broken"):
        call_command("audit", "verify")
    assert f"TAMPERED row id={victim.id}" in capsys.readouterr().err


def test_an_edited_row_with_recomputed_hash_breaks_the_next_link(db):
    # A forger who also recomputes the row's hash is caught by the next row's prev_hash.
    events = write_events(5)
    victim = AuditEvent.objects.get(pk=events[2].id)
    victim.reason = "forged"
    forged_hash = compute_hash(victim, victim.prev_hash)
    AuditEvent.objects.filter(pk=victim.pk).update(reason="forged", hash=forged_hash)
    assert ids_in(verify_chain()) == {events[3].id}


def test_a_deleted_middle_row_is_reported(db, capsys):
    events = write_events(10)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[4].id])
    problems = verify_chain()
    assert ids_in(problems) == {events[5].id}
    assert {p.problem for p in problems} >= {"prev_hash does not match the previous row"}
    assert any("sequence gap" in p.problem for p in problems)
    with pytest.raises(CommandError):
        call_command("audit", "verify")
    assert f"TAMPERED row id={events[5].id}" in capsys.readouterr().err


def test_a_deleted_tail_row_is_reported(db, capsys):
    events = write_events(10)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[-1].id])
    problems = verify_chain()
    assert len(problems) == 1 and problems[0].event_id is None
    assert "seq 10" in problems[0].problem and "last row is 9" in problems[0].problem
    with pytest.raises(CommandError):
        call_command("audit", "verify")
    assert "TAMPERED seq=10" in capsys.readouterr().err


def test_an_inserted_row_is_reported(db):
    events = write_events(3)
    fake = AuditEvent(seq=4, at=events[-1].at, actor_label="x", code="fake", prev_hash=GENESIS, hash="0" * 64)
    fake.save()
    problems = verify_chain()
    assert fake.id in ids_in(problems)


def test_command_reports_an_intact_chain(db, capsys):
    write_events(3)
    call_command("audit", "verify")
    assert "audit chain intact: 3 events" in capsys.readouterr().out


def test_rows_are_append_only(db):
    event = write_events(1)[0]
    event.reason = "changed"
    with pytest.raises(RuntimeError, match="append-only"):
        event.save()
    with pytest.raises(RuntimeError, match="append-only"):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).reason == "第0次"
    assert verify_chain() == []


def test_events_survive_deletion_of_their_subject(tree):
    order = SampleOrder.objects.create(title="t", org_unit=tree.grid_a1)
    record(actor=None, code="sample.order.created", subject=order)
    ref = ("sample.sampleorder", order.pk)
    order.delete()
    assert events_for(ref).count() == 1
    # The same for an org unit deleted after its creation was recorded by the service.
    grid_ref = ("orgs.orgunit", tree.grid_a1.pk)
    assert events_for(grid_ref).count() == 1
    tree.grid_a1.delete()
    assert events_for(grid_ref).count() == 1
    assert verify_chain() == []


def test_rolled_back_events_leave_no_gap(db):
    write_events(2)
    with pytest.raises(RuntimeError), transaction.atomic():
        write_events(3)
        raise RuntimeError("rollback")
    write_events(2)
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == [1, 2, 3, 4]
    assert verify_chain() == []


# Text a database can store (PostgreSQL refuses NUL; UTF-8 has no lone surrogates).
storable_text = st.characters(codec="utf-8", exclude_characters="\x00")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(storable_text),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(storable_text, max_size=8), children, max_size=4),
    max_leaves=10,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.dictionaries(st.text(storable_text, max_size=5), json_values, max_size=4), after=json_values,
       reason=st.text(storable_text, max_size=50))
def test_any_json_round_trips_through_the_database_with_its_hash(db, before, after, reason):
    """What the database gives back must hash to what was written, on SQLite (JSON text) and PostgreSQL (jsonb)."""
    event = record(actor=None, code="test.json", before=before, after=after if isinstance(after, dict) else {"v": after},
                   reason=reason)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert compute_hash(stored, stored.prev_hash) == stored.hash


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_concurrent_writers_keep_one_chain():
    build_tree()
    barrier = threading.Barrier(4)
    errors: list[str] = []

    def writer(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            for i in range(10):
                with transaction.atomic():
                    record(actor=None, code="test.concurrent", subject=("writer", n), after={"i": i})
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert AuditEvent.objects.filter(code="test.concurrent").count() == 40
    assert verify_chain() == []


def test_request_id_lands_in_events_of_the_request(tree, street_a_staff, make_client):
    client = make_client(street_a_staff)
    response = client.post("/api/tokens", {"name": "ci", "scopes": ["read"]}, content_type="application/json",
                           headers={"X-Request-Id": "req-7f3a.ci_1"})
    assert response.status_code == 201
    assert response["X-Request-Id"] == "req-7f3a.ci_1"
    event = AuditEvent.objects.get(code="accounts.token.created")
    assert event.request_id == "req-7f3a.ci_1"
    assert verify_chain() == []


@pytest.mark.parametrize("incoming", ["", "has spaces", "x" * 65, "semi;colon", "换行"])
def test_a_missing_or_unsafe_request_id_is_replaced(tree, street_a_staff, make_client, incoming):
    client = make_client(street_a_staff)
    headers = {"X-Request-Id": incoming} if incoming else {}
    response = client.post("/api/tokens", {"name": "ci", "scopes": ["read"]}, content_type="application/json",
                           headers=headers)
    rid = response["X-Request-Id"]
    assert rid != incoming and len(rid) == 32 and int(rid, 16) >= 0
    assert AuditEvent.objects.get(code="accounts.token.created").request_id == rid


def test_events_outside_a_request_have_no_request_id(db):
    assert write_events(1)[0].request_id == ""

"""``record_many``: a batch of events appended under one lock makes the same chain as single appends."""

from __future__ import annotations

from itertools import pairwise

import pytest
from django.core.management import call_command
from django.db import transaction

from yishi.audit.models import AuditChainHead, AuditEvent
from yishi.audit.services import GENESIS, PendingEvent, compute_hash, record, record_many, verify_chain
from yishi.core.testing import make_user


def pending(n: int, start: int = 0) -> list[PendingEvent]:
    return [
        PendingEvent(code="test.thing.done", subject=("test.thing", i), before={"n": i}, after={"n": i + 1, "名": "值"}, reason=f"第{i}次")
        for i in range(start, start + n)
    ]


def test_a_batch_continues_the_chain_between_single_appends(db):
    user = make_user()
    record(actor=user, code="test.before")
    batch = record_many(actor=user, events=pending(2500), batch_size=700)
    after = record(actor=None, code="test.after")
    assert [e.seq for e in batch] == list(range(2, 2502)) and after.seq == 2502
    stored = list(AuditEvent.objects.order_by("seq"))
    assert stored[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in pairwise(stored))
    assert all(compute_hash(e, e.prev_hash) == e.hash for e in stored)  # as read back from the database
    assert stored[1].actor_id == user.pk and stored[1].actor_label == str(user)
    assert (stored[5].subject_type, stored[5].subject_id, stored[5].after) == ("test.thing", "4", {"n": 5, "名": "值"})
    head = AuditChainHead.objects.get(pk=1)
    assert (head.last_seq, head.last_hash) == (2502, after.hash)
    assert verify_chain() == []
    call_command("audit", "verify")


def test_the_first_append_ever_may_be_a_batch(db):
    events = record_many(actor=None, events=pending(3))
    assert [e.seq for e in events] == [1, 2, 3] and events[0].prev_hash == GENESIS
    assert events[0].actor_id is None and events[0].actor_label == "system"
    assert verify_chain() == []


def test_an_empty_batch_writes_nothing(db):
    assert record_many(actor=None, events=[]) == []
    assert not AuditEvent.objects.exists()


def test_a_rolled_back_batch_leaves_no_gap(db):
    record_many(actor=None, events=pending(5))
    with pytest.raises(RuntimeError), transaction.atomic():
        record_many(actor=None, events=pending(50, start=5))
        raise RuntimeError("the bulk job failed after auditing")
    record_many(actor=None, events=pending(5, start=55))
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, 11))
    assert verify_chain() == []


def test_an_edited_row_of_a_batch_is_reported(db):
    events = record_many(actor=None, events=pending(10))
    AuditEvent.objects.filter(pk=events[4].pk).update(after={"n": 999})
    assert [p.seq for p in verify_chain()] == [5]

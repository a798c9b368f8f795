"""``bulk_insert``: rows come back as written, with their primary keys, whatever the text holds."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from yishi.audit.models import AuditEvent
from yishi.core.bulk import bulk_insert
from yishi.core.tests.sample.models import SampleOrder

TITLES = ["普通标题", "tab\there", "line\nbreak\r\nand back\\slash", "quote \" and , comma", "\\N", "", "emoji 🚒 and ０１２"]


def test_rows_come_back_as_written_with_their_keys(tree):
    orders = [SampleOrder(title=title, note=f"第{i}条", org_unit=tree.grid_a1) for i, title in enumerate(TITLES)]
    inserted = bulk_insert(orders)
    assert all(o.pk is not None and not o._state.adding for o in inserted)
    stored = {o.pk: o for o in SampleOrder.objects.all()}
    assert [stored[o.pk].title for o in orders] == TITLES
    assert [stored[o.pk].note for o in orders] == [f"第{i}条" for i in range(len(TITLES))]
    assert all(stored[o.pk].updated_at is not None and stored[o.pk].state == "draft" for o in orders)  # pre_save, defaults
    assert SampleOrder.objects.create(title="after", org_unit=tree.grid_a1).pk > max(o.pk for o in orders)


def test_auto_now_stamps_are_the_call_s_time_on_the_instances_and_the_rows(tree):
    from django.utils import timezone

    before = timezone.now()
    orders = bulk_insert([SampleOrder(title=f"t{i}", org_unit=tree.grid_a1) for i in range(3)])
    after = timezone.now()
    assert all(before <= o.updated_at <= after for o in orders)  # set on the instances, as pre_save would
    stored = {o.pk: o.updated_at for o in SampleOrder.objects.filter(pk__in=[o.pk for o in orders])}
    assert [stored[o.pk] for o in orders] == [o.updated_at for o in orders]
    if connection.vendor == "postgresql":  # COPY: one stamp per call (bulk_create draws one per row)
        assert len({o.updated_at for o in orders}) == 1


def test_json_and_nulls(db):
    from django.utils import timezone

    rows = [AuditEvent(seq=i + 1, at=timezone.now(), actor_label="system", code="test.bulk", before=None,
                       after={"n": i, "text": "a\tb\nc", "nested": [1, 2.5, None]}, prev_hash="0" * 64, hash=str(i))
            for i in range(3)]
    bulk_insert(rows)
    stored = list(AuditEvent.objects.order_by("seq"))
    assert [e.after for e in stored] == [{"n": i, "text": "a\tb\nc", "nested": [1, 2.5, None]} for i in range(3)]
    assert all(e.before is None and e.actor_id is None for e in stored)


def test_a_violated_constraint_is_django_s_integrity_error(db):
    from django.utils import timezone

    def event() -> AuditEvent:
        return AuditEvent(seq=10**9, at=timezone.now(), actor_label="system", code="x", prev_hash="", hash="")

    bulk_insert([event()])
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert([event()])
    assert AuditEvent.objects.filter(seq=10**9).count() == 1


def test_nothing_to_insert(db):
    assert list(bulk_insert([])) == []


def test_build_makes_what_the_keyword_constructor_makes(tree):
    from yishi.core.bulk import build
    from yishi.notifications.models import SmsMessage

    built = build(SampleOrder, {"title": "t", "org_unit_id": tree.grid_a1.pk})
    made = SampleOrder(title="t", org_unit_id=tree.grid_a1.pk)
    assert built.__dict__.keys() == made.__dict__.keys() - {"_state"} | {"_state"}
    assert {k: v for k, v in built.__dict__.items() if k != "_state"} == {k: v for k, v in made.__dict__.items() if k != "_state"}
    assert built._state.adding and built.pk is None
    assert build(SmsMessage, {"phone": "13800138000"}).text == SmsMessage(phone="13800138000").text == ""
    with pytest.raises(TypeError, match="org_unit"):
        build(SampleOrder, {"title": "t", "org_unit": tree.grid_a1})  # attnames only

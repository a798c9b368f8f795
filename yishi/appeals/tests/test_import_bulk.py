"""The bulk path of the hotline import: large files in groups, the audit chain intact, nothing imported twice, bad
lines reported among thousands of good ones, appeals identical to the ones intake makes, one message per level,
receipts texted after the commit, and the row-by-row fallback when a group cannot be written."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.utils import timezone

from yishi.appeals import imports
from yishi.appeals.choices import Channel, ImportStatus
from yishi.appeals.imports import Resolver, import_batch_create, import_batch_run, row_input
from yishi.appeals.models import Appeal
from yishi.appeals.services import appeal_dispatch, appeal_submit
from yishi.audit.models import AuditEvent
from yishi.audit.services import verify_chain
from yishi.notifications.models import Notification, SmsMessage

HEADER = ["工单编号", "来电时间", "诉求性质", "分类编码", "标题", "诉求内容", "所在社区", "地址", "联系人", "联系电话", "紧急程度"]
PLACES = ["直冲社区", "麻园社区", "D01-S01-C01-G01", ""]  # by name, by name, a grid by code, the area itself
NATURES = ["咨询", "求助", "投诉", "举报", "建议"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def record(i, **values):
    base = {
        "工单编号": f"BULK{i:05d}", "来电时间": f"2026-01-{1 + i % 28:02d} {8 + i % 10:02d}:{i % 60:02d}:00",
        "诉求性质": NATURES[i % 5], "分类编码": "C0201" if i % 3 == 0 else "C010101", "标题": f"第{i}号工单",
        "诉求内容": f"第{i}号工单的诉求内容：楼道灯坏了，\n请尽快修理。", "所在社区": PLACES[i % 4], "地址": f"直冲路{i}号",
        "联系人": "陈女士", "联系电话": f"138{i:08d}" if i % 2 else "", "紧急程度": "紧急" if i % 7 == 0 else "",
    }
    base.update(values)
    return [base[h] for h in HEADER]


def csv_bytes(rows):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def run(world, content):
    batch = import_batch_create(actor=world.district_staff, upload=ContentFile(content, name="bulk.csv"),
                                org_unit_id=world.tree.district.pk, enqueue=False)
    return import_batch_run(batch_id=batch.pk)


def submitted_events():
    return AuditEvent.objects.filter(code="appeals.appeal.submitted")


def test_a_2000_row_file_imports_completely_and_again_adds_nothing(world):
    content = csv_bytes([record(i) for i in range(2000)])
    batch = run(world, content)
    assert batch.status == ImportStatus.DONE, batch.errors
    assert (batch.total, batch.processed, batch.created, batch.skipped, batch.failed) == (2000, 2000, 2000, 0, 0)
    appeals = Appeal.objects.filter(channel=Channel.HOTLINE_IMPORT)
    assert appeals.count() == 2000
    assert len(set(appeals.values_list("tracking_code", flat=True))) == 2000
    events = submitted_events()
    assert sorted(int(pk) for pk in events.values_list("subject_id", flat=True)) == sorted(appeals.values_list("pk", flat=True))
    assert set(events.values_list("actor_id", flat=True)) == {world.district_staff.pk}
    assert verify_chain() == []

    again = run(world, content)
    assert (again.total, again.created, again.skipped, again.failed) == (2000, 0, 2000, 0)
    assert Appeal.objects.count() == 2000 and submitted_events().count() == 2000
    assert verify_chain() == []


def test_bad_lines_among_many_are_reported_by_line_and_field(world, monkeypatch):
    monkeypatch.setattr(imports, "COMMIT_EVERY", 300)  # the bad rows fall into different groups
    rows = [record(i) for i in range(1200)]  # each record spans two lines: its text has a line break
    rows[10] = record(10, 联系电话="12345")              # line 22
    rows[299] = record(299, 分类编码="NOPE")            # line 600, the last row of the first group
    rows[300] = record(300, 来电时间="昨天上午")        # line 602, the first row of the second group
    rows[640] = record(640, 诉求内容="")                # line 1282, one line only
    rows[700] = record(3)                               # record number 3 again, already imported from the file
    rows[901] = record(901, 标题="控制\x07字符")         # line 1803
    rows[1199] = record(1199, 所在社区="威东社区")        # the other street's community, in the district
    batch = run(world, csv_bytes(rows))
    assert batch.status == ImportStatus.DONE
    assert [(e["line"], e["field"], e["code"]) for e in batch.errors] == [
        (22, "联系电话", "invalid_phone"),
        (600, "分类编码/分类名称", "unknown_category"),
        (602, "来电时间", "bad_datetime"),
        (1282, "诉求内容", "required"),
        (1803, "标题", "invalid_characters"),
    ]
    assert (batch.total, batch.processed, batch.created, batch.skipped, batch.failed) == (1200, 1200, 1194, 1, 5)
    assert not Appeal.objects.filter(external_ref__in=["BULK00010", "BULK00299", "BULK00300", "BULK00640", "BULK00901"]).exists()
    assert Appeal.objects.get(external_ref="BULK01199").org_unit == world.tree.community_b1
    assert submitted_events().count() == 1194 and verify_chain() == []


FIELDS_OF_THE_CALL = {"id", "tracking_code", "callback_token", "external_ref", "created_at", "updated_at"}


def _fields(appeal):
    return {f.attname: getattr(appeal, f.attname) for f in Appeal._meta.concrete_fields if f.attname not in FIELDS_OF_THE_CALL}


@time_machine.travel(datetime(2026, 2, 10, 2, 0, tzinfo=UTC), tick=False)
@pytest.mark.parametrize("i", [0, 1, 2, 7, 14])
def test_an_imported_appeal_is_the_one_intake_makes_and_gets_the_same_deadlines(world, i):
    """The bulk path against ``appeal_submit`` for the same row: every stored field, the audit event, and — once
    both are dispatched — every deadline the policy profile gives."""
    values = dict(zip([imports.COLUMNS[h] for h in HEADER], record(i), strict=True))
    batch = run(world, csv_bytes([record(i)]))
    assert batch.created == 1, batch.errors
    bulk = Appeal.objects.get(external_ref=f"BULK{i:05d}")
    data = row_input(values | {"external_ref": "SINGLE"}, Resolver(world.tree.district), timezone.now())
    single = appeal_submit(actor=world.district_staff, data=data, channel=Channel.HOTLINE_IMPORT, on_behalf=True)
    single.refresh_from_db()
    assert _fields(bulk) == _fields(single)
    assert bulk.tracking_code.startswith(f"YS{timezone.localtime(bulk.received_at):%y%m%d}") and len(bulk.tracking_code) == 14

    def event(appeal):
        found = AuditEvent.objects.get(code="appeals.appeal.submitted", subject_id=str(appeal.pk))
        return found.actor_id, found.subject_type, {k: v for k, v in found.after.items() if k != "tracking_code"}

    assert event(bulk) == event(single)
    for appeal in (bulk, single):
        appeal_dispatch(actor=world.dispatcher, appeal=appeal, lead_unit_id=world.tree.unit_housing.pk)
    bulk.refresh_from_db()
    single.refresh_from_db()
    deadlines = ["dispatched_at", "accept_due_at", "contact_due_at", "due_at", "warn_at", "policy_version"]
    assert {f: getattr(bulk, f) for f in deadlines} == {f: getattr(single, f) for f in deadlines}
    assert bulk.due_at is not None and bulk.due_at > timezone.now()
    assert verify_chain() == []


def test_managers_get_one_message_per_import_and_callers_their_codes(world, django_capture_on_commit_callbacks):
    rows = [record(i, 所在社区="直冲社区") for i in range(30)]
    with django_capture_on_commit_callbacks(execute=True):
        batch = run(world, csv_bytes(rows))
    assert batch.created == 30
    messages = Notification.objects.filter(recipient=world.community_staff, kind="appeals.received")
    assert messages.count() == 1
    message = messages.get()
    assert "30" in message.title and "bulk.csv" in message.body
    assert message.url == f"/appeals/?area={world.tree.community_a1.pk}&state=received"
    texts = {m.phone: m.text for m in SmsMessage.objects.all()}
    callers = {a.contact_phone: a.tracking_code for a in Appeal.objects.exclude(contact_phone="")}
    assert len(callers) == 15 and set(texts) == set(callers)
    assert all(code in texts[phone] for phone, code in callers.items())


def test_a_group_that_cannot_be_written_is_imported_row_by_row(world, monkeypatch):
    """Another import takes a record number between this group's check and its INSERT: the group is rolled back
    and imported one row at a time, which skips that row and keeps the others."""
    checked = imports._Intake.appeal

    def meanwhile(intake, values):
        appeal = checked(intake, values)
        if values["external_ref"] == "BULK00011":  # the group's rows are checked; another import takes number 5
            other = dict(zip([imports.COLUMNS[h] for h in HEADER], record(5, 所在社区="直冲社区"), strict=True))
            appeal_submit(actor=world.district_staff, data=row_input(other, Resolver(world.tree.district), timezone.now()),
                          channel=Channel.HOTLINE_IMPORT, on_behalf=True)
        return appeal

    monkeypatch.setattr(imports._Intake, "appeal", meanwhile)
    batch = run(world, csv_bytes([record(i, 所在社区="直冲社区") for i in range(12)] + [record(12, 联系电话="1")]))
    assert (batch.total, batch.created, batch.skipped, batch.failed) == (13, 11, 1, 1)
    assert [(e["line"], e["code"]) for e in batch.errors] == [(26, "invalid_phone")]
    assert Appeal.objects.filter(channel=Channel.HOTLINE_IMPORT).count() == 12
    assert submitted_events().count() == 12 and verify_chain() == []


def test_places_outside_the_area_and_the_profile_lengths_are_checked_per_row(world):
    """A street officer imports into their street: a place in the other street is refused; a title longer than the
    profile allows is refused with the profile's number."""
    rows = [record(1, 所在社区="直冲社区"), record(2, 所在社区="威东社区"), record(3, 所在社区="直冲社区", 标题="长" * 61)]
    batch = import_batch_create(actor=world.street_a_staff, upload=ContentFile(csv_bytes(rows), name="s.csv"),
                                org_unit_id=world.tree.street_a.pk, enqueue=False)
    batch = import_batch_run(batch_id=batch.pk)
    assert batch.created == 1
    assert [(e["line"], e["field"], e["code"]) for e in batch.errors] == [(4, "所在社区", "unknown_org_unit"), (6, "标题", "too_long")]
    assert "60" in batch.errors[1]["reason"]


def test_received_times_and_months_follow_the_local_calendar(world):
    batch = run(world, csv_bytes([record(1, 来电时间="2026-02-01 00:30")]))
    assert batch.created == 1
    appeal = Appeal.objects.get()
    assert timezone.localtime(appeal.received_at).replace(tzinfo=None) == datetime(2026, 2, 1, 0, 30)
    assert appeal.month.isoformat() == "2026-02-01"  # 2026-01-31 16:30 UTC counts in February, Beijing time


def test_the_profile_in_force_at_each_place_sets_its_lengths(world):
    """A street that chose its own profile (titles of at most 20 characters) is read as ``appeal_submit`` reads it:
    a 30-character title is refused there, and accepted in the other street."""
    from yishi.policy.services import default_profile, profile_copy, profile_update

    strict = profile_copy(actor=None, source=default_profile(), code="strict-titles", name="短标题")
    profile_update(actor=None, profile=strict, params={**strict.params, "appeals.title_max_length": 20})
    world.tree.street_a.policy_profile = strict
    world.tree.street_a.save(update_fields=["policy_profile"])
    title = "标" * 30
    rows = [record(1, 所在社区="直冲社区", 标题=title), record(2, 所在社区="威东社区", 标题=title)]
    batch = run(world, csv_bytes(rows))
    assert [(e["line"], e["field"], e["code"]) for e in batch.errors] == [(2, "标题", "too_long")]
    assert "20" in batch.errors[0]["reason"]
    assert list(Appeal.objects.values_list("external_ref", flat=True)) == ["BULK00002"]
    values = dict(zip([imports.COLUMNS[h] for h in HEADER], record(1, 所在社区="直冲社区", 标题=title), strict=True))
    with pytest.raises(imports.InvalidInput, match="20"):  # what the single path says of the same row
        appeal_submit(actor=world.district_staff, data=row_input(values, Resolver(world.tree.district), timezone.now()),
                      channel=Channel.HOTLINE_IMPORT, on_behalf=True)

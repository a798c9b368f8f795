"""Hotline import: CSV (UTF-8, BOM, GB18030) and .xlsx files; bad rows reported by line and field while good rows
are kept; nothing imported twice; progress counters; the command; the upload → progress → report pages."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from yishi.appeals import imports
from yishi.appeals.catalogue import category_create
from yishi.appeals.choices import Channel, ImportStatus
from yishi.appeals.imports import SAMPLE_FILE, import_batch_create, import_batch_run
from yishi.appeals.models import Appeal, ImportBatch
from yishi.conftest import client_for
from yishi.core.errors import InvalidInput, NotFound, PermissionDenied
from yishi.core.testing import make_user

HEADER = ["工单编号", "来电时间", "诉求性质", "分类编码", "标题", "诉求内容", "所在社区", "地址", "联系人", "联系电话", "紧急程度"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def staff(world):
    return world.district_staff


@pytest.fixture
def sample_catalogue(world):
    """The categories the sample file names (codes of the shipped catalogue), under one test branch."""
    top = category_create(actor=None, code="S", name="示例")
    with SAMPLE_FILE.open(encoding="utf-8-sig") as handle:
        pairs = {(row["分类编码"], row["分类名称"]) for row in csv.DictReader(handle)}
    for code, name in sorted(pairs):
        category_create(actor=None, code=code, name=name, parent=top)


def csv_bytes(rows, header=HEADER, encoding="utf-8"):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def row(ref, **values):
    base = {
        "工单编号": ref, "来电时间": "2026-01-05 09:30", "诉求性质": "投诉", "分类编码": "C010101",
        "标题": "加装电梯进展慢", "诉求内容": "3 号楼加装电梯半年没开工", "所在社区": "直冲社区", "地址": "直冲路 1 号",
        "联系人": "陈女士", "联系电话": "13800138101", "紧急程度": "",
    }
    base.update(values)
    return [base[h] for h in HEADER]


def run(staff, content, name="hotline.csv", unit=None):
    unit = unit or staff.roles.first().org_unit
    batch = import_batch_create(actor=staff, upload=ContentFile(content, name=name), org_unit_id=unit.pk, enqueue=False)
    return import_batch_run(batch_id=batch.pk)


def report(batch):
    return [(e["line"], e["field"], e["code"]) for e in batch.errors]


# --- formats -------------------------------------------------------------------------------------------------------


def test_sample_file_imports_every_row(world, staff, sample_catalogue):
    batch = run(staff, SAMPLE_FILE.read_bytes(), name="hotline-sample.csv")
    assert batch.status == ImportStatus.DONE and batch.finished_at
    assert (batch.total, batch.processed, batch.created, batch.skipped, batch.failed) == (20, 20, 20, 0, 0)
    assert batch.errors == []
    appeal = Appeal.objects.get(external_ref="RX20260106002")
    assert appeal.channel == Channel.HOTLINE_IMPORT
    assert appeal.entered_by == staff and appeal.submitter is None
    assert appeal.org_unit == world.tree.community_b1  # 威东社区, by name
    assert appeal.urgency == "urgent" and appeal.nature == "help"
    assert appeal.contact_name == "林先生" and appeal.contact_phone == "13800138112"
    assert timezone.localtime(appeal.received_at).replace(tzinfo=None) == datetime(2026, 1, 6, 8, 47)
    assert appeal.month.isoformat() == "2026-01-01"
    assert Appeal.objects.get(external_ref="RX20260105003").urgency == "general"  # empty: the category default


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings(world, staff, encoding):
    content = csv_bytes([row("E1", 诉求内容="供水管道漏水，麻烦派人维修"), row("E2", 所在社区="麻园社区")], encoding=encoding)
    batch = run(staff, content)
    assert (batch.created, batch.failed) == (2, 0), batch.errors
    assert Appeal.objects.get(external_ref="E1").text == "供水管道漏水，麻烦派人维修"
    assert Appeal.objects.get(external_ref="E2").org_unit == world.tree.community_a2


def test_xlsx_made_at_run_time(world, staff):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["2026年1月热线工单导出"])  # a title row above the header
    sheet.append(HEADER)
    sheet.append([20260105001, datetime(2026, 1, 5, 9, 30), "求助", "C0201", "停水", "小区停水一上午", "D01-S01-C01", "", "李先生", 13800138102, "水电气热"])
    sheet.append(["X2", "2026/01/05 10:00", "咨询", "C010101", "", "加装电梯补贴标准是多少", "麻园社区", "", "", "", ""])
    sheet.append([None] * len(HEADER))  # an empty row is not a record
    sheet.append(["X3", "2026-01-05", "咨询", "NOPE", "", "分类写错的一行", "麻园社区", "", "", "", ""])
    buffer = io.BytesIO()
    book.save(buffer)

    batch = run(staff, buffer.getvalue(), name="热线.xlsx")
    assert batch.status == ImportStatus.DONE
    assert (batch.total, batch.created, batch.failed) == (3, 2, 1)
    assert report(batch) == [(6, "分类编码/分类名称", "unknown_category")]  # the sheet's row number
    first = Appeal.objects.get(external_ref="20260105001")  # numbers read back as the digits typed
    assert first.contact_phone == "13800138102" and first.urgency == "utility"
    assert first.org_unit == world.tree.community_a1  # by code
    assert Appeal.objects.get(external_ref="X2").title == "加装电梯补贴标准是多少"  # no title: the text's start


# --- bad rows --------------------------------------------------------------------------------------------------------


def test_bad_rows_are_reported_by_line_and_field_while_good_rows_are_kept(world, staff):
    rows = [
        row("G1"),                                             # line 2
        row("B1", 分类编码="NOPE"),                             # line 3
        row("B2", 诉求内容=""),                                 # line 4
        row("B3", 联系电话="12345"),                             # line 5
        row("B4", 所在社区="不存在社区"),                        # line 6
        row("B5", 来电时间="昨天上午"),                          # line 7
        row("G2", 诉求内容="第一行\n第二行\n第三行"),            # lines 8–10: one record over three lines
        row("B6", 来电时间="2099-01-01 10:00"),                  # line 11
        row("B7", 诉求性质="抱怨"),                              # line 12
        row("", 标题="没有编号"),                                # line 13
        row("B8", 紧急程度="很急"),                              # line 14
        row("G3", 所在社区="直冲社区第1网格", 诉求性质="建议"),  # line 15
        row("B9", 诉求内容="长" * 5000),                         # line 16
    ]
    batch = run(staff, csv_bytes(rows))
    assert batch.status == ImportStatus.DONE
    assert (batch.total, batch.processed, batch.created, batch.failed) == (13, 13, 3, 10)
    assert report(batch) == [
        (3, "分类编码/分类名称", "unknown_category"),
        (4, "诉求内容", "required"),
        (5, "联系电话", "invalid_phone"),
        (6, "所在社区", "unknown_org_unit"),
        (7, "来电时间", "bad_datetime"),
        (11, "来电时间", "future_datetime"),
        (12, "诉求性质", "unknown_nature"),
        (13, "工单编号", "required"),
        (14, "紧急程度", "unknown_urgency"),
        (16, "诉求内容", "too_long"),
    ]
    assert batch.errors[2]["reason"] == "请输入11位手机号码" and batch.errors[2]["external_ref"] == "B3"
    assert batch.errors[2]["reason_en"]
    assert set(Appeal.objects.values_list("external_ref", flat=True)) == {"G1", "G2", "G3"}
    assert Appeal.objects.get(external_ref="G3").org_unit == world.tree.grid_a1


def test_community_outside_the_batch_area_is_refused(world):
    street_staff = world.street_a_staff
    batch = run(street_staff, csv_bytes([row("A1"), row("A2", 所在社区="威东社区")]), unit=world.tree.street_a)
    assert batch.created == 1
    assert report(batch) == [(3, "所在社区", "unknown_org_unit")]


def test_category_by_name_or_path(world, staff):
    header = [h if h != "分类编码" else "分类名称" for h in HEADER]
    rows = [row("N1", 分类编码="老旧小区加装电梯"), row("N2", 分类编码="城乡建设/住房保障/老旧小区加装电梯"), row("N3", 分类编码="不存在")]
    batch = run(staff, csv_bytes(rows, header=header))
    assert batch.created == 2
    assert Appeal.objects.get(external_ref="N2").category == world.cat_lift
    assert report(batch) == [(4, "分类编码/分类名称", "unknown_category")]


def test_missing_columns_fail_the_file(world, staff):
    header = [h for h in HEADER if h != "诉求内容"]
    batch = run(staff, csv_bytes([], header=header))
    assert batch.status == ImportStatus.FAILED
    assert batch.failed == 0 and batch.total == 0
    assert "诉求内容" in batch.errors[0]["reason"] and batch.errors[0]["code"] == "missing_columns"


def test_a_file_that_is_not_a_workbook_fails(world, staff):
    batch = run(staff, b"this is not a zip file", name="broken.xlsx")
    assert batch.status == ImportStatus.FAILED and batch.errors[0]["code"] == "bad_xlsx"
    assert not Appeal.objects.exists()


# --- nothing twice -----------------------------------------------------------------------------------------------------


def test_importing_the_same_file_twice_creates_nothing_twice(world, staff, sample_catalogue):
    content = SAMPLE_FILE.read_bytes()
    first = run(staff, content)
    second = run(staff, content)
    assert first.created == 20
    assert (second.created, second.skipped, second.failed) == (0, 20, 0)
    assert first.sha256 == second.sha256
    assert Appeal.objects.count() == 20


def test_overlapping_files_and_repeated_rows(world, staff):
    run(staff, csv_bytes([row("O1"), row("O2")]))
    batch = run(staff, csv_bytes([row("O2"), row("O3"), row("O3")]))
    assert (batch.created, batch.skipped) == (1, 2)
    assert sorted(Appeal.objects.values_list("external_ref", flat=True)) == ["O1", "O2", "O3"]


def test_a_batch_runs_once(world, staff):
    batch = run(staff, csv_bytes([row("R1")]))
    assert import_batch_run(batch_id=batch.pk) is None
    assert Appeal.objects.count() == 1


# --- progress --------------------------------------------------------------------------------------------------------


def test_progress_is_saved_every_n_rows(world, staff, monkeypatch):
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 2)
    monkeypatch.setattr(imports, "COMMIT_EVERY", 1)
    rows = [row("P1"), row("P2", 分类编码="NOPE"), row("P3"), row("P1"), row("P5")]
    batch = import_batch_create(actor=staff, upload=ContentFile(csv_bytes(rows), name="p.csv"), org_unit_id=world.tree.district.pk, enqueue=False)
    assert (batch.status, batch.total, batch.processed) == (ImportStatus.PENDING, 0, 0)
    seen = []

    def snapshot(current):
        stored = ImportBatch.objects.get(pk=current.pk)  # what a polling page reads
        seen.append((stored.status, stored.total, stored.processed, stored.created, stored.skipped, stored.failed))

    import_batch_run(batch_id=batch.pk, on_progress=snapshot)
    assert seen == [
        (ImportStatus.RUNNING, 5, 2, 1, 0, 1),
        (ImportStatus.RUNNING, 5, 4, 2, 1, 1),
        (ImportStatus.DONE, 5, 5, 3, 1, 1),
    ]


def test_the_task_runs_on_commit(world, staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        batch = import_batch_create(actor=staff, upload=ContentFile(csv_bytes([row("T1")]), name="t.csv"), org_unit_id=world.tree.district.pk)
    batch.refresh_from_db()
    assert batch.status == ImportStatus.DONE and batch.created == 1


# --- who may import, and what --------------------------------------------------------------------------------------


def test_upload_checks(world, staff):
    def create(actor, name="a.csv", content=b"x", unit=None):
        return import_batch_create(actor=actor, upload=ContentFile(content, name=name), org_unit_id=(unit or world.tree.district).pk, enqueue=False)

    with pytest.raises(InvalidInput) as bad:
        create(staff, name="a.txt")
    assert bad.value.field == "file"
    with pytest.raises(InvalidInput, match="xlsx"):
        create(staff, name="old.xls")
    with pytest.raises(InvalidInput):
        create(staff, content=b"")
    with pytest.raises(NotFound):
        create(world.resident)  # outside every scope: the area is not even visible
    with pytest.raises(PermissionDenied):
        create(world.grid_worker, unit=world.tree.grid_a1)  # may enter appeals there, but not import files
    with pytest.raises(NotFound):
        create(world.street_b_staff, unit=world.tree.street_a)
    assert not ImportBatch.objects.exists()


# --- the command -----------------------------------------------------------------------------------------------------


def test_command(world, staff, sample_catalogue):
    out, err = StringIO(), StringIO()
    call_command("import_appeals", str(SAMPLE_FILE), org_unit="D01", user=staff.username, stdout=out, stderr=err)
    assert "20 created" in out.getvalue()
    call_command("import_appeals", str(SAMPLE_FILE), org_unit="D01", user=staff.username, stdout=out, stderr=err)
    assert "0 created, 20 skipped" in out.getvalue()
    assert Appeal.objects.count() == 20


def test_command_reports_bad_rows_and_bad_arguments(world, staff, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes([row("C1"), row("C2", 联系电话="12")], encoding="gb18030"))
    err = StringIO()
    call_command("import_appeals", str(path), org_unit="D01", user=staff.username, stdout=StringIO(), stderr=err)
    assert "line 3, 联系电话" in err.getvalue()
    with pytest.raises(CommandError, match="org unit"):
        call_command("import_appeals", str(path), org_unit="NOPE", user=staff.username)
    with pytest.raises(CommandError, match="user"):
        call_command("import_appeals", str(path), org_unit="D01", user="nobody")
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_appeals", str(tmp_path / "missing.csv"), org_unit="D01", user=staff.username)
    with pytest.raises(CommandError, match="file"):
        call_command("import_appeals", str(path), org_unit="D01", user=world.resident.username)


# --- pages -------------------------------------------------------------------------------------------------------------


def test_page_flow_upload_progress_report(world, staff, django_capture_on_commit_callbacks):
    client = client_for(staff)
    response = client.get("/appeals/import/")
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.content.decode()

    upload = SimpleUploadedFile("hotline.csv", csv_bytes([row("W1"), row("W2", 联系电话="999")]), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/appeals/import/", {"file": upload, "org_unit": world.tree.district.pk})
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/appeals/import/{batch.pk}/"

    page = client.get(f"/appeals/import/{batch.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and "<html" in html
    assert 'id="import-errors"' in html and "联系电话" in html and "请输入11位手机号码" in html
    assert "<td>3</td>" in html  # the bad row's line
    assert 'hx-trigger="every 1s"' not in html  # done: polling stops

    fragment = client.get(f"/appeals/import/{batch.pk}/", headers={"HX-Request": "true"})
    assert "<html" not in fragment.content.decode() and 'id="import-status"' in fragment.content.decode()

    listing = client.get("/appeals/import/").content.decode()
    assert "hotline.csv" in listing


def test_progress_page_polls_while_running(world, staff):
    batch = import_batch_create(actor=staff, upload=ContentFile(csv_bytes([row("Q1")]), name="q.csv"), org_unit_id=world.tree.district.pk, enqueue=False)
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportStatus.RUNNING, total=10, processed=4)
    fragment = client_for(staff).get(f"/appeals/import/{batch.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in fragment and f'hx-get="/appeals/import/{batch.pk}/"' in fragment
    assert 'value="40"' in fragment and "4 / 10" in fragment


def test_upload_form_errors(world, staff):
    client = client_for(staff)
    response = client.post("/appeals/import/", {"file": SimpleUploadedFile("a.txt", b"x"), "org_unit": world.tree.district.pk})
    assert response.status_code == 200
    assert "仅支持 CSV 与 Excel" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_import_pages_permissions(world, staff):
    batch = run(staff, csv_bytes([row("V1")]))
    assert client_for(world.resident).get("/appeals/import/").status_code == 403
    assert client_for(world.street_a_staff).get(f"/appeals/import/{batch.pk}/").status_code == 404  # district batch
    assert client_for(world.street_a_staff).get("/appeals/import/").status_code == 200
    assert client_for(staff).get("/appeals/import/999999/").status_code == 404
    assert client_for(staff).get("/appeals/import/sample.csv").status_code == 200
    assert client_for(make_user()).get("/appeals/import/").status_code == 403  # signed in, no role
    assert Client().get("/appeals/import/").status_code == 302  # to the sign-in page


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-01-05 09:30", datetime(2026, 1, 5, 9, 30)),  # the common form (read by fromisoformat)
    ("2026-01-05 09:30:15", datetime(2026, 1, 5, 9, 30, 15)),
    ("2026-1-5 9:30", datetime(2026, 1, 5, 9, 30)),  # one-digit fields: the formats
    ("2026年01月05日 09:30", datetime(2026, 1, 5, 9, 30)),
    ("2026-01-05", datetime(2026, 1, 5)),
    ("２０２６-01-05 09:30", datetime(2026, 1, 5, 9, 30)),  # full-width digits: the formats read them
    ("2026-13-05 09:30", None),
])
def test_call_time_forms(text, expected):
    from yishi.appeals.imports import parse_received_at

    now = timezone.make_aware(datetime(2026, 6, 1))
    if expected is None:
        with pytest.raises(InvalidInput) as caught:
            parse_received_at(text, now)
        assert caught.value.field == "received_at"
        return
    assert timezone.localtime(parse_received_at(text, now)).replace(tzinfo=None) == expected

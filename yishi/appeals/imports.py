"""Hotline import (热线工单导入): a CSV or Excel export of 12345 hotline records becomes appeals.

Each row goes through ``services.appeal_submit`` (channel ``hotline_import``, entered on the caller's behalf by the
staff member who uploaded the file, ``external_ref`` = 工单编号, ``received_at`` = 来电时间) in its own transaction,
so a bad row is reported with its line and reason while the good rows are kept, and a row whose 工单编号 was
imported before is skipped: importing the same file, or overlapping exports, twice creates nothing twice.

Progress is written to the ``ImportBatch`` row every ``PROGRESS_EVERY`` rows so a page can poll it. The file
format is described in docs/import-format.md; a sample is yishi/appeals/fixtures/hotline-sample.csv.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from django.core.files.base import File
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from yishi.audit.services import record
from yishi.core.errors import Conflict, InvalidInput, NotFound, YishiError
from yishi.core.permissions import can, require, restrict
from yishi.orgs.models import OrgUnit

from .choices import Channel, ImportStatus, Nature, Urgency
from .models import Appeal, Category, ImportBatch
from .services import AppealInput, appeal_submit

logger = logging.getLogger(__name__)

SAMPLE_FILE = Path(__file__).resolve().parent / "fixtures" / "hotline-sample.csv"
EXTENSIONS = (".csv", ".xlsx")
MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 100_000
PROGRESS_EVERY = 100
# Rows are committed in small groups, each row in its own savepoint: a commit per row makes a large file slow on
# SQLite (one disk sync each), one transaction per file would hide the progress and hold the locks for minutes.
COMMIT_EVERY = 20
MAX_REPORTED_ERRORS = 1000  # the report lists the first ones; ``failed`` counts them all
HEADER_SEARCH_ROWS = 10  # an export may start with a title row or two above the header

# Column headers (and the names exports commonly use for them) → our keys.
COLUMNS = {
    "工单编号": "external_ref",
    "来电时间": "received_at",
    "诉求性质": "nature",
    "分类编码": "category_code",
    "分类名称": "category_name",
    "标题": "title",
    "诉求内容": "text",
    "所在社区": "community",
    "地址": "address",
    "联系人": "contact_name",
    "联系电话": "contact_phone",
    "紧急程度": "urgency",
}
ALIASES = {
    "工单号": "工单编号", "编号": "工单编号",
    "受理时间": "来电时间", "来电日期": "来电时间",
    "性质": "诉求性质", "类型": "诉求性质",
    "分类代码": "分类编码", "分类": "分类名称",
    "内容": "诉求内容", "诉求描述": "诉求内容",
    "社区": "所在社区", "所属社区": "所在社区",
    "诉求地址": "地址", "事发地址": "地址",
    "姓名": "联系人", "来电人": "联系人",
    "电话": "联系电话", "手机": "联系电话", "来电号码": "联系电话",
    "紧急度": "紧急程度",
}
REQUIRED = ("工单编号", "来电时间", "诉求性质", "诉求内容")
# Where a service's complaint about a field points in the file.
COLUMN_OF = {
    "external_ref": "工单编号",
    "received_at": "来电时间",
    "nature": "诉求性质",
    "category": "分类编码/分类名称",
    "title": "标题",
    "text": "诉求内容",
    "org_unit": "所在社区",
    "address": "地址",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "urgency": "紧急程度",
}
NATURES = {"咨询": Nature.CONSULT, "求助": Nature.HELP, "投诉": Nature.COMPLAINT, "举报": Nature.REPORT, "建议": Nature.SUGGEST}
URGENCIES = {
    "紧急": Urgency.URGENT, "特急": Urgency.URGENT, "加急": Urgency.URGENT,
    "水电气热": Urgency.UTILITY, "一般": Urgency.GENERAL, "普通": Urgency.GENERAL,
    "疑难复杂": Urgency.COMPLEX, "复杂": Urgency.COMPLEX, "疑难": Urgency.COMPLEX,
}
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日%H:%M", "%Y%m%d%H%M%S",
)
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d")
_CATEGORY_PATH = re.compile(r"\s*(?:/|›|>|＞|-{1,2}>)\s*")


def _bad(column: str, zh: str, en: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(zh, en, field=column, code=code)


# --- reading the file ---------------------------------------------------------------------------------------

def _decode(raw: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes) or GB18030 (what Chinese Excel saves "CSV" as)."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise _bad("file", "无法识别文件编码，请另存为 UTF-8 或 GB18030 编码的 CSV", "Unknown encoding: save the CSV as UTF-8 or GB18030", "bad_encoding") from exc


def _csv_lines(raw: bytes) -> Iterator[tuple[int, list[Any]]]:
    """(line, cells) where line is the physical line a record starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(_decode(raw), newline=""))
    previous = 0
    try:
        for cells in reader:
            yield previous + 1, cells
            previous = reader.line_num
    except csv.Error as exc:
        raise _bad("file", f"第 {previous + 1} 行 CSV 格式有误：{exc}", f"Line {previous + 1}: malformed CSV: {exc}", "bad_csv") from exc


def _xlsx_lines(raw: bytes) -> Iterator[tuple[int, list[Any]]]:
    """(row number, values) of the first worksheet, streamed (openpyxl read-only mode)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors for files that are not workbooks
        raise _bad("file", "不是有效的 Excel（.xlsx）文件", "Not a valid Excel (.xlsx) file", "bad_xlsx") from exc
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(values)
    finally:
        book.close()


def _cell(value: Any) -> Any:
    """A cell as text (dates stay dates). Excel stores long digit strings such as phones as numbers."""
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header_name(value: Any) -> str:
    name = re.sub(r"\s+", "", str(value or "")).lstrip("\ufeff").rstrip("*＊")
    name = re.sub(r"[（(][^）)]*[）)]$", "", name)  # "工单编号（必填）"
    return ALIASES.get(name, name)


@dataclass
class Table:
    """The data rows of an uploaded file: ``columns`` maps cell positions to our keys."""

    raw: bytes
    kind: str  # "csv" | "xlsx"
    header_line: int = 0
    columns: dict[int, str] = field(default_factory=dict)

    def lines(self) -> Iterator[tuple[int, list[Any]]]:
        return _csv_lines(self.raw) if self.kind == "csv" else _xlsx_lines(self.raw)

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line, {key: value}) for every non-empty row below the header."""
        for line, cells in self.lines():
            if line <= self.header_line:
                continue
            values = {key: _cell(cells[i]) if i < len(cells) else "" for i, key in self.columns.items()}
            if any(v != "" for v in values.values()):
                yield line, values


def open_table(raw: bytes, name: str) -> Table:
    """Find the header row and check the required columns are there."""
    kind = "xlsx" if name.lower().endswith(".xlsx") else "csv"
    table = Table(raw=raw, kind=kind)
    for line, cells in table.lines():
        names = [_header_name(c) for c in cells]
        if any(n in COLUMNS for n in names):
            table.header_line = line
            table.columns = {i: COLUMNS[n] for i, n in enumerate(names) if n in COLUMNS}
            break
        if line >= HEADER_SEARCH_ROWS:
            break
    present = {n for n, key in COLUMNS.items() if key in table.columns.values()}
    missing = [n for n in REQUIRED if n not in present]
    if not table.header_line:
        missing = list(REQUIRED)
    if not present & {"分类编码", "分类名称"}:
        missing.append("分类编码或分类名称")
    if missing:
        raise _bad(
            "file", f"缺少必需的列：{'、'.join(missing)}（见导入格式说明）",
            f"Missing required columns: {', '.join(missing)} (see the import format)", "missing_columns",
        )
    return table


# --- one row → one appeal input -------------------------------------------------------------------------------

def parse_received_at(value: Any, now: datetime) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    else:
        text = re.sub(r"\s+", " ", str(value)).strip()
        found: datetime | None = None
        for fmt in DATETIME_FORMATS + DATE_FORMATS:
            try:
                found = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if found is None:
            try:
                found = datetime.fromisoformat(text)
            except ValueError:
                raise _bad("received_at", f"来电时间“{text}”无法识别，请写成 2026-01-05 09:30 这样的格式",
                           f"Cannot read the call time {text!r}; write it like 2026-01-05 09:30", "bad_datetime") from None
        parsed = found
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    if parsed > now + timedelta(minutes=10):
        raise _bad("received_at", "来电时间晚于当前时间", "The call time is in the future", "future_datetime")
    return parsed


class Resolver:
    """Looks up categories and communities once per batch; the community must lie within the batch's area."""

    def __init__(self, scope: OrgUnit) -> None:
        self.scope = scope
        self._categories: dict[tuple[str, str], int] = {}
        self._units: dict[str, int] = {}

    def category(self, code: str, name: str) -> int:
        key = (code, name)
        if key not in self._categories:
            self._categories[key] = self._find_category(code, name)
        return self._categories[key]

    @staticmethod
    def _find_category(code: str, name: str) -> int:
        if code:
            found = Category.objects.filter(code=code, is_active=True).values_list("pk", flat=True).first()
            if found is None:
                raise _bad("category", f"分类编码“{code}”不存在", f"Unknown category code {code!r}", "unknown_category")
            return found
        if not name:
            raise _bad("category", "请填写分类编码或分类名称", "Give the category code or name", "required")
        parts = [p for p in _CATEGORY_PATH.split(name) if p]
        candidates = [c for c in Category.objects.filter(name=parts[-1], is_active=True).select_related("parent__parent")
                      if _names(c)[-len(parts):] == parts]
        if not candidates:
            raise _bad("category", f"分类“{name}”不存在", f"Unknown category {name!r}", "unknown_category")
        if len(candidates) > 1:
            raise _bad("category", f"分类名称“{name}”不唯一，请填写分类编码或完整路径（如 一级/二级/三级）",
                       f"Category name {name!r} is ambiguous; give the code or the full path", "ambiguous_category")
        return candidates[0].pk

    def org_unit(self, value: str) -> int:
        if not value:
            return self.scope.pk
        if value not in self._units:
            self._units[value] = self._find_unit(value)
        return self._units[value]

    def _find_unit(self, value: str) -> int:
        inside = OrgUnit.objects.filter(path__startswith=self.scope.path, is_active=True)
        by_code = inside.filter(code=value).values_list("pk", flat=True).first()
        if by_code is not None:
            return by_code
        by_name = list(inside.filter(name=value).values_list("pk", flat=True)[:2])
        if len(by_name) == 1:
            return by_name[0]
        if by_name:
            raise _bad("org_unit", f"“{value}”有重名，请填写社区代码", f"{value!r} is ambiguous; give the community code", "ambiguous_org_unit")
        raise _bad("org_unit", f"社区“{value}”不存在或不在{self.scope.name}范围内",
                   f"Community {value!r} is unknown or outside {self.scope.name}", "unknown_org_unit")


def _names(category: Category) -> list[str]:
    names = []
    node: Category | None = category
    while node is not None:
        names.append(node.name)
        node = node.parent
    return list(reversed(names))


def row_input(values: dict[str, Any], resolver: Resolver, now: datetime) -> AppealInput:
    """Read one row into what ``appeal_submit`` takes; bad cells raise InvalidInput naming the field."""
    external_ref = str(values.get("external_ref", ""))
    if not external_ref:
        raise _bad("external_ref", "缺少工单编号", "The record number is missing", "required")
    if len(external_ref) > 80:
        raise _bad("external_ref", "工单编号超过 80 个字符", "The record number is longer than 80 characters", "too_long")
    received_at = values.get("received_at")
    if received_at in ("", None):
        raise _bad("received_at", "缺少来电时间", "The call time is missing", "required")
    received = parse_received_at(received_at, now)
    nature_text = str(values.get("nature", ""))
    nature = NATURES.get(nature_text) or (nature_text if nature_text in Nature.values else None)
    if nature is None:
        raise _bad("nature", f"诉求性质“{nature_text}”无效，应为咨询、求助、投诉、举报或建议之一",
                   f"Unknown nature {nature_text!r}: use 咨询, 求助, 投诉, 举报 or 建议", "unknown_nature")
    urgency_text = str(values.get("urgency", ""))
    urgency = URGENCIES.get(urgency_text) or (urgency_text if urgency_text in Urgency.values else None)
    if urgency_text and urgency is None:
        raise _bad("urgency", f"紧急程度“{urgency_text}”无效，应为紧急、水电气热、一般或疑难复杂",
                   f"Unknown urgency {urgency_text!r}", "unknown_urgency")
    category_id = resolver.category(str(values.get("category_code", "")), str(values.get("category_name", "")))
    org_unit_id = resolver.org_unit(str(values.get("community", "")))
    text = str(values.get("text", ""))
    if not text:
        raise _bad("text", "缺少诉求内容", "The text of the request is missing", "required")
    title = str(values.get("title", "")) or (text.splitlines()[0][:30] if text else "")
    return AppealInput(
        nature=nature,
        category_id=category_id,
        title=title,
        text=text,
        org_unit_id=org_unit_id,
        address=str(values.get("address", "")),
        contact_name=str(values.get("contact_name", "")),
        contact_phone=str(values.get("contact_phone", "")),
        urgency=urgency,
        external_ref=external_ref,
        received_at=received,
    )


# --- batches ----------------------------------------------------------------------------------------------------

def import_batch_create(*, actor: Any, upload: File, org_unit_id: int, enqueue: bool = True) -> ImportBatch:
    """Store an uploaded hotline file as a pending batch for ``org_unit_id`` (rows may name communities within it)
    and, with ``enqueue``, start the import task once the batch is committed."""
    unit = OrgUnit.objects.filter(pk=org_unit_id, is_active=True).first()
    if unit is None:
        raise _bad("org_unit", "请选择导入范围", "Choose the area", "unknown_org_unit")
    require(actor, "appeals.import", unit, visible_action="orgs.view_orgunit")
    name = Path(upload.name or "").name
    if not name.lower().endswith(EXTENSIONS):
        hint = "，.xls 请另存为 .xlsx" if name.lower().endswith(".xls") else ""
        raise _bad("file", f"仅支持 CSV 与 Excel（.xlsx）文件{hint}", "Only CSV and Excel (.xlsx) files", "bad_file_type")
    size = upload.size or 0
    if size == 0:
        raise _bad("file", "文件是空的", "The file is empty", "empty_file")
    if size > MAX_BYTES:
        raise _bad("file", f"文件不能超过 {MAX_BYTES // 1024 // 1024} MB", "The file is too large", "file_too_large")
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    with transaction.atomic():
        batch = ImportBatch(name=name[:200], sha256=digest.hexdigest(), org_unit=unit, created_by=actor)
        batch.file.save(name, upload, save=False)
        batch.save()
        record(actor=actor, code="appeals.import.created", subject=batch, after={"name": batch.name, "org_unit": unit.pk, "sha256": batch.sha256})
        if enqueue:
            from .tasks import import_appeals

            batch_id = batch.pk
            transaction.on_commit(lambda: import_appeals.enqueue(batch_id))
    return batch


@dataclass
class _Progress:
    processed: int = 0
    created: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, line: int, exc: YishiError, external_ref: str = "", *, row: bool = True) -> None:
        """Report a bad row (``row``) or a problem with the whole file."""
        self.failed += int(row)
        if len(self.errors) < MAX_REPORTED_ERRORS:
            column = exc.field if exc.field not in (None, "file") else ""
            self.errors.append({
                "line": line,
                "field": COLUMN_OF.get(exc.field or "", column),
                "code": exc.code,
                "reason": exc.message_zh,
                "reason_en": exc.message_en,
                "external_ref": external_ref,
            })

    def fields(self) -> dict[str, Any]:
        return {"processed": self.processed, "created": self.created, "skipped": self.skipped, "failed": self.failed, "errors": self.errors}


def _import_row(actor: Any, values: dict[str, Any], resolver: Resolver, now: datetime) -> bool:
    """Create the appeal of one row in its own savepoint; False when its 工单编号 was imported before (skipped)."""
    ref = str(values.get("external_ref", ""))
    try:
        with transaction.atomic():
            if ref and Appeal.objects.filter(channel=Channel.HOTLINE_IMPORT, external_ref=ref).exists():
                return False
            appeal_submit(actor=actor, data=row_input(values, resolver, now), channel=Channel.HOTLINE_IMPORT, on_behalf=True)
    except Conflict as exc:
        if exc.code == "duplicate_external_ref":  # another import took it between our check and the insert
            return False
        raise
    return True


def _run_row(batch: ImportBatch, line: int, values: dict[str, Any], resolver: Resolver, now: datetime, progress: _Progress) -> None:
    ref = str(values.get("external_ref", ""))
    try:
        if _import_row(batch.created_by, values, resolver, now):
            progress.created += 1
        else:
            progress.skipped += 1
    except YishiError as exc:
        progress.fail(line, exc, ref)
    except Exception:  # a bug must not lose the rest of the file: the row (rolled back) is reported and logged
        logger.exception("hotline import %s: line %s failed", batch.pk, line)
        progress.fail(line, InvalidInput("系统错误，请联系管理员", "Internal error, contact the administrators", code="internal_error"), ref)
    progress.processed += 1


def import_batch_run(*, batch_id: int, on_progress: Callable[[ImportBatch], None] | None = None) -> ImportBatch | None:
    """Import the rows of a pending batch (the task's body). Returns None when the batch was not pending (another
    worker took it, or it already ran), so a retried task does nothing twice."""
    if not ImportBatch.objects.filter(pk=batch_id, status=ImportStatus.PENDING).update(status=ImportStatus.RUNNING):
        return None
    batch = ImportBatch.objects.select_related("org_unit", "created_by").get(pk=batch_id)
    progress = _Progress()
    header_line = 1
    try:
        with batch.file.open("rb") as stored:
            raw = stored.read()
        table = open_table(raw, batch.name)
        header_line = table.header_line
        total = sum(1 for _ in table.rows())
        if total > MAX_ROWS:
            raise _bad("file", f"一次最多导入 {MAX_ROWS} 行，请拆分文件", f"At most {MAX_ROWS} rows per file", "too_many_rows")
        ImportBatch.objects.filter(pk=batch_id).update(total=total)
        batch.total = total
        resolver = Resolver(batch.org_unit)
        now = timezone.now()
        rows = table.rows()
        while chunk := list(islice(rows, COMMIT_EVERY)):
            saved = progress.processed // PROGRESS_EVERY
            with transaction.atomic():
                for line, values in chunk:
                    _run_row(batch, line, values, resolver, now, progress)
                if progress.processed // PROGRESS_EVERY > saved:
                    ImportBatch.objects.filter(pk=batch_id).update(**progress.fields())
            if progress.processed // PROGRESS_EVERY > saved and on_progress is not None:
                batch.refresh_from_db()
                on_progress(batch)
        status = ImportStatus.DONE
    except YishiError as exc:
        progress.fail(header_line, exc, row=False)  # the file itself: read before any row is imported
        status = ImportStatus.FAILED
    finished = timezone.now()
    with transaction.atomic():
        ImportBatch.objects.filter(pk=batch_id).update(status=status, finished_at=finished, **progress.fields())
        batch.refresh_from_db()
        record(actor=batch.created_by, code=f"appeals.import.{'finished' if status == ImportStatus.DONE else 'failed'}", subject=batch,
               after={k: v for k, v in progress.fields().items() if k != "errors"} | {"total": batch.total})
    if on_progress is not None:
        on_progress(batch)
    return batch


# --- reads ------------------------------------------------------------------------------------------------------

def importable_units(*, user: Any) -> QuerySet[OrgUnit]:
    """Areas the user may import into (districts, streets, communities within their scope)."""
    units = OrgUnit.objects.filter(is_active=True, level__in=["district", "street", "community"])
    return restrict(units, user, "appeals.import").order_by("path")


def import_batch_list(*, user: Any) -> QuerySet[ImportBatch]:
    return ImportBatch.objects.filter(org_unit__in=importable_units(user=user)).select_related("org_unit", "created_by")


def import_batch_get(*, user: Any, pk: int) -> ImportBatch:
    """A batch of an area the user may import into; otherwise (or when missing) NotFound."""
    batch = ImportBatch.objects.select_related("org_unit", "created_by").filter(pk=pk).first()
    if batch is None or not can(user, "appeals.import", batch.org_unit):
        raise NotFound()
    return batch

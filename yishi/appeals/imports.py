"""Hotline import (热线工单导入): a CSV or Excel export of 12345 hotline records becomes appeals.

Each row becomes the appeal ``services.appeal_submit`` would make of it (channel ``hotline_import``, entered on the
caller's behalf by the staff member who uploaded the file, ``external_ref`` = 工单编号, ``received_at`` = 来电时间),
with the same checks, tracking code, audit event and receipt text, but written in bulk: rows are read in groups of
``COMMIT_EVERY``, places, categories and permissions are looked up once per import, and each group's good rows go
in with one INSERT and one append to the audit chain (``_Intake``). A bad row is reported with its line, column and
reason while the good rows are kept; a row whose 工单编号 was imported before is skipped, so importing the same
file, or overlapping exports, twice creates nothing twice. The managers of each triaging level get one message
per import. Should a group's bulk write fail, its rows go one by one through ``appeal_submit`` instead.

Progress is written to the ``ImportBatch`` row at the end of each group that passed a multiple of
``PROGRESS_EVERY`` rows, so a page can poll it. The file format is described in docs/import-format.md; a sample is
yishi/appeals/fixtures/hotline-sample.csv.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

from django.core.files.base import File
from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from yishi.audit.services import PendingEvent, record, record_many
from yishi.core.bulk import build, bulk_insert
from yishi.core.errors import Conflict, InvalidInput, NotFound, YishiError
from yishi.core.permissions import can, require, restrict
from yishi.notifications.services import notify
from yishi.notifications.tasks import send_texts
from yishi.orgs.models import OrgUnit
from yishi.policy.services import policy_value

from .choices import Channel, ImportStatus, Nature, Urgency
from .models import Appeal, Category, ImportBatch
from .services import (
    AppealInput,
    _area_profiles,
    _handling_level_for,
    _Located,
    _new_tracking_code,
    appeal_submit,
    check_appeal_fields,
    managers_of,
    refuse_control_characters,
)

logger = logging.getLogger(__name__)

SAMPLE_FILE = Path(__file__).resolve().parent / "fixtures" / "hotline-sample.csv"
EXTENSIONS = (".csv", ".xlsx")
MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 100_000
PROGRESS_EVERY = 100
# Rows are checked and written in groups, one transaction each: one INSERT of appeals and one append to the audit
# chain per group instead of per row, while a group is small enough to show progress every fraction of a second
# and to hold the audit chain's lock only briefly. One transaction per file would hide the progress and hold that
# lock for minutes.
COMMIT_EVERY = 1000
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
_NATURE_CODES, _URGENCY_CODES = frozenset(Nature.values), frozenset(Urgency.values)  # the codes themselves are accepted too
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日%H:%M", "%Y%m%d%H%M%S",
)
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d")
# "2026-01-05 09:30[:15]" with two-digit fields: ``fromisoformat`` reads it as the first two formats do.
_ISO_MINUTES = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?", re.ASCII)
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

    def count(self) -> int:
        """How many rows ``rows`` yields, without reading their cells."""
        positions = list(self.columns)
        return sum(
            1 for line, cells in self.lines()
            if line > self.header_line and any(_cell(cells[i]) != "" for i in positions if i < len(cells))
        )

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
        if _ISO_MINUTES.fullmatch(text):  # the common form, read as its formats read it at a tenth of the cost
            try:
                found = datetime.fromisoformat(text)
            except ValueError:
                found = None
        for fmt in () if found is not None else DATETIME_FORMATS + DATE_FORMATS:
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
    """Finds categories and places for the rows of one batch. The catalogue and the active units inside the batch's
    area (where every row's place must lie) are read once, on first use, so a file costs two queries whatever its
    length."""

    def __init__(self, scope: OrgUnit) -> None:
        self.scope = scope
        self._catalogue: dict[int, _CatalogueEntry] | None = None
        self._by_code: dict[str, int] = {}
        self._by_name: dict[str, list[int]] = {}
        self._categories: dict[tuple[str, str], int] = {}
        self._inside: dict[int, OrgUnit] | None = None
        self._units_by_code: dict[str, int] = {}
        self._units_by_name: dict[str, list[int]] = {}
        self._units: dict[str, int] = {}

    def category(self, code: str, name: str) -> int:
        key = (code, name)
        if key not in self._categories:
            self._categories[key] = self._find_category(code, name)
        return self._categories[key]

    def category_entry(self, pk: int) -> _CatalogueEntry:
        """The catalogue's row for a category this resolver found."""
        return self._load_catalogue()[pk]

    def _load_catalogue(self) -> dict[int, _CatalogueEntry]:
        if self._catalogue is None:
            rows = Category.objects.values_list("pk", "code", "name", "parent_id", "is_active", "default_urgency", "fast_lane")
            self._catalogue = {row[0]: _CatalogueEntry(*row) for row in rows}
            for entry in self._catalogue.values():
                if entry.is_active:
                    self._by_code[entry.code] = entry.pk
                    self._by_name.setdefault(entry.name, []).append(entry.pk)
        return self._catalogue

    def _names(self, pk: int) -> list[str]:
        """The names from the top of the catalogue down to category ``pk``."""
        catalogue, names = self._load_catalogue(), []
        node: int | None = pk
        while node is not None:
            names.append(catalogue[node].name)
            node = catalogue[node].parent_id
        return list(reversed(names))

    def _find_category(self, code: str, name: str) -> int:
        self._load_catalogue()
        if code:
            found = self._by_code.get(code)
            if found is None:
                raise _bad("category", f"分类编码“{code}”不存在", f"Unknown category code {code!r}", "unknown_category")
            return found
        if not name:
            raise _bad("category", "请填写分类编码或分类名称", "Give the category code or name", "required")
        parts = [p for p in _CATEGORY_PATH.split(name) if p]
        candidates = [pk for pk in self._by_name.get(parts[-1], []) if self._names(pk)[-len(parts):] == parts]
        if not candidates:
            raise _bad("category", f"分类“{name}”不存在", f"Unknown category {name!r}", "unknown_category")
        if len(candidates) > 1:
            raise _bad("category", f"分类名称“{name}”不唯一，请填写分类编码或完整路径（如 一级/二级/三级）",
                       f"Category name {name!r} is ambiguous; give the code or the full path", "ambiguous_category")
        return candidates[0]

    def unit(self, pk: int) -> OrgUnit:
        """An active unit inside the area (the area itself included) this resolver found."""
        return self._load_units()[pk]

    def _load_units(self) -> dict[int, OrgUnit]:
        if self._inside is None:
            inside = list(OrgUnit.objects.filter(path__startswith=self.scope.path, is_active=True))
            for unit in inside:
                self._units_by_code[unit.code] = unit.pk
                self._units_by_name.setdefault(unit.name, []).append(unit.pk)
            self._inside = {unit.pk: unit for unit in inside}
            self._inside.setdefault(self.scope.pk, self.scope)  # rows without a place belong to the area itself
        return self._inside

    def org_unit(self, value: str) -> int:
        if not value:
            return self.scope.pk
        if value not in self._units:
            self._units[value] = self._find_unit(value)
        return self._units[value]

    def _find_unit(self, value: str) -> int:
        self._load_units()
        by_code = self._units_by_code.get(value)
        if by_code is not None:
            return by_code
        by_name = self._units_by_name.get(value, [])
        if len(by_name) == 1:
            return by_name[0]
        if by_name:
            raise _bad("org_unit", f"“{value}”有重名，请填写社区代码", f"{value!r} is ambiguous; give the community code", "ambiguous_org_unit")
        raise _bad("org_unit", f"社区“{value}”不存在或不在{self.scope.name}范围内",
                   f"Community {value!r} is unknown or outside {self.scope.name}", "unknown_org_unit")


class _CatalogueEntry(NamedTuple):
    pk: int
    code: str
    name: str
    parent_id: int | None
    is_active: bool
    default_urgency: str
    fast_lane: bool


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
    nature = NATURES.get(nature_text) or (nature_text if nature_text in _NATURE_CODES else None)
    if nature is None:
        raise _bad("nature", f"诉求性质“{nature_text}”无效，应为咨询、求助、投诉、举报或建议之一",
                   f"Unknown nature {nature_text!r}: use 咨询, 求助, 投诉, 举报 or 建议", "unknown_nature")
    urgency_text = str(values.get("urgency", ""))
    urgency = URGENCIES.get(urgency_text) or (urgency_text if urgency_text in _URGENCY_CODES else None)
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
    """Create the appeal of one row through ``appeal_submit`` in its own savepoint; False when its 工单编号 was
    imported before (skipped). The path of a group whose bulk insert failed (see ``_import_group``)."""
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
        progress.fail(line, _INTERNAL_ERROR, ref)
    progress.processed += 1


_INTERNAL_ERROR = InvalidInput("系统错误，请联系管理员", "Internal error, contact the administrators", code="internal_error")


@dataclass
class _Place:
    """What intake looks up for a place, once per import: the level that triages there, the profile's lengths, and
    whether the importing staff member may enter appeals there (``denied`` is the error to report if not)."""

    unit: OrgUnit
    handling_level_id: int
    max_title: int
    max_text: int
    denied: YishiError | None


class _Intake:
    """The bulk form of ``appeal_submit(channel=hotline_import, on_behalf=True)`` for the rows of one import.

    Places, categories, the policy profiles' lengths and permissions are looked up once per import, each row is
    checked by the same field checks as ``appeal_submit`` (``check_appeal_fields``), and a group of rows is written
    with one INSERT of appeals, one append of their ``appeals.appeal.submitted`` events to the audit chain
    (``record_many``) and one batch of receipt texts (a task) after the commit. The appeals are the ones
    ``appeal_submit`` makes (tests compare them field by field); the managers of each triaging level get one
    message per import instead of one per appeal.
    """

    def __init__(self, batch: ImportBatch, now: datetime) -> None:
        self.batch = batch
        self.actor = batch.created_by
        self.resolver = Resolver(batch.org_unit)
        self.now = now
        self.tz = timezone.get_current_timezone()  # ``localtime`` looks it up again for every row
        self.created_per_level: Counter[int] = Counter()
        self._places: dict[int, _Place] = {}
        self._profiles: tuple[Any, list[tuple[str, Any]]] | None = None

    def _profile_at(self, unit: OrgUnit) -> Any:
        """The policy profile in force at ``unit`` (what ``effective_profile`` answers), from one read per import."""
        if self._profiles is None:
            self._profiles = _area_profiles()
        default, choosers = self._profiles
        return next((profile for path, profile in choosers if unit.path.startswith(path)), default)

    def place(self, unit_id: int) -> _Place:
        if unit_id not in self._places:
            unit = self.resolver.unit(unit_id)
            denied: YishiError | None = None
            try:
                require(self.actor, "appeals.enter", _Located(unit))
            except YishiError as exc:
                denied = exc
            profile = self._profile_at(unit)
            self._places[unit_id] = _Place(
                unit=unit, handling_level_id=_handling_level_for(unit).pk,
                max_title=int(policy_value("appeals.title_max_length", profile=profile)),
                max_text=int(policy_value("appeals.text_max_length", profile=profile)), denied=denied,
            )
        return self._places[unit_id]

    def appeal(self, values: dict[str, Any]) -> Appeal:
        """The unsaved appeal of one row, checked as ``appeal_submit`` checks it; bad cells raise naming the field."""
        data = row_input(values, self.resolver, self.now)
        refuse_control_characters(data)
        assert data.category_id is not None and data.org_unit_id is not None  # the resolver gave both
        place = self.place(data.org_unit_id)
        check_appeal_fields(data, place.unit, max_title=place.max_title, max_text=place.max_text)
        if place.denied is not None:
            raise place.denied
        category = self.resolver.category_entry(data.category_id)
        received_at = data.received_at or self.now
        return build(Appeal, {
            "external_ref": data.external_ref, "channel": Channel.HOTLINE_IMPORT, "nature": data.nature,
            "category_id": data.category_id, "urgency": data.urgency or category.default_urgency, "fast_lane": category.fast_lane,
            "title": data.title, "text": data.text, "org_unit_id": data.org_unit_id, "handling_level_id": place.handling_level_id,
            "address": data.address or "", "entered_by_id": getattr(self.actor, "pk", None), "contact_name": data.contact_name or "",
            "contact_phone": data.contact_phone or "", "received_at": received_at,
            "month": received_at.astimezone(self.tz).date().replace(day=1), "tracking_code": _new_tracking_code(received_at),
            "callback_token": secrets.token_urlsafe(24),
        })

    def save(self, appeals: list[Appeal]) -> None:
        """Insert a group of checked appeals with their audit events; the receipts are texted by a task after the commit."""
        _unique_tracking_codes(appeals)
        bulk_insert(appeals)
        record_many(actor=self.actor, events=[
            PendingEvent(code="appeals.appeal.submitted", subject=a, after={
                "state": a.state, "channel": a.channel, "category": a.category_id, "org_unit": a.org_unit_id,
                "tracking_code": a.tracking_code,
            })
            for a in appeals
        ])
        texts = [[a.contact_phone, f"【议事】您的诉求已受理，查询码 {a.tracking_code}。"] for a in appeals if a.contact_phone and a.consent_contact]
        if texts:
            transaction.on_commit(lambda: send_texts.enqueue(texts))

    def notify_managers(self) -> None:
        """One message per triaging level to its managers: how many appeals this import brought them."""
        levels = OrgUnit.objects.in_bulk(list(self.created_per_level))
        for level_id, count in sorted(self.created_per_level.items()):
            notify(
                recipients=managers_of(levels[level_id]), kind="appeals.received",
                title=f"热线导入新诉求 {count} 件：{levels[level_id].name}",
                body=f"导入文件“{self.batch.name}”中有 {count} 件诉求由{levels[level_id].name}受理，请及时分拨。",
                url=f"{reverse('appeals:list')}?area={level_id}&state=received",
            )


def _unique_tracking_codes(appeals: list[Appeal]) -> None:
    """Draw again the few tracking codes that collide with each other or with stored appeals (the single path
    retries its INSERT instead)."""
    for _attempt in range(5):
        codes = [a.tracking_code for a in appeals]
        taken = set(Appeal.objects.filter(tracking_code__in=codes).values_list("tracking_code", flat=True))
        seen: set[str] = set()
        clashes = 0
        for appeal in appeals:
            if appeal.tracking_code in taken or appeal.tracking_code in seen:
                appeal.tracking_code = _new_tracking_code(appeal.received_at)
                clashes += 1
            seen.add(appeal.tracking_code)
        if not clashes:
            return


def _import_group(intake: _Intake, group: list[tuple[int, dict[str, Any]]], progress: _Progress) -> None:
    """Import a group of rows (inside the caller's transaction): rows imported before are skipped, bad rows reported,
    the good ones saved together. Should the bulk write fail (an import running at the same time took a record
    number, or a value the checks let through), the group is rolled back and its good rows go one by one through
    ``appeal_submit``, which reports the row at fault and keeps the others."""
    refs = [str(values.get("external_ref", "")) for _line, values in group]
    imported = set(Appeal.objects.filter(channel=Channel.HOTLINE_IMPORT, external_ref__in=[r for r in refs if r])
                   .values_list("external_ref", flat=True))
    good: list[tuple[int, dict[str, Any], Appeal]] = []
    for (line, values), ref in zip(group, refs, strict=True):
        progress.processed += 1
        if ref and ref in imported:
            progress.skipped += 1
            continue
        try:
            appeal = intake.appeal(values)
        except YishiError as exc:
            progress.fail(line, exc, ref)
            continue
        except Exception:  # a bug must not lose the rest of the file: the row is reported and logged
            logger.exception("hotline import %s: line %s failed", intake.batch.pk, line)
            progress.fail(line, _INTERNAL_ERROR, ref)
            continue
        imported.add(ref)  # the same record number further down the file is skipped
        good.append((line, values, appeal))
    if not good:
        return
    appeals = [appeal for _line, _values, appeal in good]
    try:
        with transaction.atomic():
            intake.save(appeals)
    except DatabaseError:
        logger.warning("hotline import %s: bulk write of %d rows failed, importing them one by one", intake.batch.pk, len(good), exc_info=True)
        progress.processed -= len(good)
        for line, values, _appeal in good:
            _run_row(intake.batch, line, values, intake.resolver, intake.now, progress)
        return
    progress.created += len(appeals)
    intake.created_per_level.update(a.handling_level_id for a in appeals)


def import_batch_run(*, batch_id: int, on_progress: Callable[[ImportBatch], None] | None = None) -> ImportBatch | None:
    """Import the rows of a pending batch (the task's body). Returns None when the batch was not pending (another
    worker took it, or it already ran), so a retried task does nothing twice.

    Rows are imported in groups of ``COMMIT_EVERY``, each group in one transaction together with the progress it
    makes; the managers' digest and the batch's own audit event are written at the end."""
    if not ImportBatch.objects.filter(pk=batch_id, status=ImportStatus.PENDING).update(status=ImportStatus.RUNNING):
        return None
    batch = ImportBatch.objects.select_related("org_unit", "created_by").get(pk=batch_id)
    progress = _Progress()
    header_line = 1
    intake = _Intake(batch, timezone.now())
    try:
        with batch.file.open("rb") as stored:
            raw = stored.read()
        table = open_table(raw, batch.name)
        header_line = table.header_line
        total = table.count()
        if total > MAX_ROWS:
            raise _bad("file", f"一次最多导入 {MAX_ROWS} 行，请拆分文件", f"At most {MAX_ROWS} rows per file", "too_many_rows")
        ImportBatch.objects.filter(pk=batch_id).update(total=total)
        batch.total = total
        rows = table.rows()
        while group := list(islice(rows, COMMIT_EVERY)):
            saved = progress.processed // PROGRESS_EVERY
            with transaction.atomic():
                _import_group(intake, group, progress)
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
        intake.notify_managers()
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

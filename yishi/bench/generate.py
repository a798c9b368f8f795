"""``yishi bench generate``: a realistic data set of a given size.

A city's org tree (districts → streets → communities), handling units, the category catalogue, and appeals spread
over 24 months in every state with replies and callbacks. Rows go in through PostgreSQL COPY (or batched
executemany on SQLite), never through the ORM one by one, so 10 million appeals take minutes.
"""

from __future__ import annotations

import io
import random
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from yishi.appeals.choices import AppealState as S
from yishi.appeals.models import Appeal, Category
from yishi.orgs.models import HandlingUnit, OrgUnit

from .textgen import TextSource

_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
DEPARTMENTS = ["住房和城乡建设局", "城市管理和综合执法局", "交通运输局", "生态环境分局", "市场监督管理局", "教育局",
               "卫生健康局", "人力资源和社会保障局", "民政局", "水务局", "自然资源分局", "公安分局"]
UTILITIES = ["供水有限公司", "供电局", "燃气有限公司", "通信分公司"]


@dataclass
class CityShape:
    districts: int = 4
    streets: int = 5
    communities: int = 6


@dataclass
class GenerateResult:
    appeals: int
    seconds: float
    communities: int
    units: int
    used_corpus: bool

    @property
    def rate(self) -> float:
        return self.appeals / self.seconds if self.seconds else 0.0


def _code(n: int, width: int = 6) -> str:
    chars = []
    for _ in range(width):
        n, r = divmod(n, 32)
        chars.append(_ALPHABET[r])
    return "".join(reversed(chars))


def _bulk_units(specs: list[dict[str, Any]], parent_paths: dict[int, tuple[str, int]]) -> list[OrgUnit]:
    units = OrgUnit.objects.bulk_create([OrgUnit(**spec) for spec in specs], batch_size=2000)
    if any(u.pk is None for u in units):  # backends that don't return ids
        codes = [u.code for u in units]
        units = list(OrgUnit.objects.filter(code__in=codes).order_by("id"))
    for unit in units:
        parent_path, parent_depth = parent_paths.get(unit.parent_id or 0, ("/", -1))
        unit.path = f"{parent_path}{unit.pk}/"
        unit.depth = parent_depth + 1
    OrgUnit.objects.bulk_update(units, ["path", "depth"], batch_size=2000)
    return units


def build_city(shape: CityShape, prefix: str = "B") -> tuple[list[OrgUnit], dict[int, list[int]]]:
    """The tree and units. Returns the communities and, per community id, the handling unit ids serving it."""
    with transaction.atomic():
        city = _bulk_units([{"name": "基准市", "code": f"{prefix}", "level": "city"}], {})[0]
        districts = _bulk_units(
            [{"name": f"第{d + 1}区", "code": f"{prefix}-D{d:02d}", "level": "district", "parent_id": city.pk,
              "min_lat": 20.0, "max_lat": 25.0, "min_lng": 110.0, "max_lng": 116.0} for d in range(shape.districts)],
            {city.pk: (city.path, city.depth)},
        )
        streets = _bulk_units(
            [{"name": f"{d.name}第{s + 1}街道", "code": f"{d.code}-S{s:02d}", "level": "street", "parent_id": d.pk}
             for d in districts for s in range(shape.streets)],
            {d.pk: (d.path, d.depth) for d in districts},
        )
        communities = _bulk_units(
            [{"name": f"{st.name}第{c + 1}社区", "code": f"{st.code}-C{c:02d}", "level": "community", "parent_id": st.pk}
             for st in streets for c in range(shape.communities)],
            {st.pk: (st.path, st.depth) for st in streets},
        )
        unit_rows = []
        for d in districts:
            unit_rows += [HandlingUnit(name=f"{d.name}{n}", code=f"{d.code}-U{i:02d}", kind="department", org_unit=d) for i, n in enumerate(DEPARTMENTS)]
            unit_rows += [HandlingUnit(name=f"{d.name}{n}", code=f"{d.code}-P{i:02d}", kind="utility", org_unit=d) for i, n in enumerate(UTILITIES)]
        unit_rows += [HandlingUnit(name=f"{st.name}办事处", code=f"{st.code}-O", kind="street_office", org_unit=st) for st in streets]
        HandlingUnit.objects.bulk_create(unit_rows, batch_size=2000)
    by_org: dict[int, list[int]] = {}
    for unit_id, org_id in HandlingUnit.objects.filter(code__startswith=f"{prefix}-").values_list("id", "org_unit_id"):
        by_org.setdefault(org_id, []).append(unit_id)
    serving: dict[int, list[int]] = {}
    for c in communities:
        ancestors = c.ancestor_ids
        serving[c.pk] = [u for a in ancestors for u in by_org.get(a, [])]
    return communities, serving


def ensure_categories() -> list[tuple[int, str, str]]:
    """Leaf categories (id, urgency, nature-ish) — the shipped catalogue when loaded, else a generated one."""
    if not Category.objects.exists():
        try:
            from yishi.appeals.catalogue import load_catalogue  # shipped with the appeals demo

            load_catalogue()
        except (ImportError, TypeError, FileNotFoundError):
            from yishi.appeals.catalogue import category_create

            for i in range(15):
                top = category_create(actor=None, code=f"BC{i:02d}", name=f"一级分类{i + 1}")
                for j in range(4):
                    mid = category_create(actor=None, code=f"BC{i:02d}{j:02d}", name=f"二级分类{i + 1}-{j + 1}", parent=top)
                    for k in range(3):
                        category_create(actor=None, code=f"BC{i:02d}{j:02d}{k:02d}", name=f"三级分类{i + 1}-{j + 1}-{k + 1}", parent=mid)
    leaves = Category.objects.filter(children__isnull=True, is_active=True).values_list("id", "default_urgency", "code")
    return list(leaves)


# State mix by age: old appeals are mostly closed or archived; recent ones spread over the open states.
_OLD_STATES = [(S.ARCHIVED, 45), (S.CLOSED, 38), (S.REJECTED, 3), (S.MERGED, 3), (S.DUPLICATE, 2), (S.REPLIED, 4), (S.IN_PROGRESS, 2), (S.ACCEPTED, 1), (S.DISPATCHED, 1), (S.REPLY_SUBMITTED, 1)]
_NEW_STATES = [(S.RECEIVED, 8), (S.DISPATCHED, 14), (S.RETURN_REQUESTED, 2), (S.ACCEPTED, 14), (S.IN_PROGRESS, 20), (S.REPLY_SUBMITTED, 6), (S.REPLIED, 12), (S.CLOSED, 18), (S.REJECTED, 2), (S.MERGED, 2), (S.DUPLICATE, 2)]
_NATURES = [("consult", 25), ("help", 20), ("complaint", 35), ("report", 8), ("suggest", 12)]
_CHANNELS = [("web", 40), ("phone", 35), ("walk_in", 8), ("grid_visit", 10), ("station", 4), ("hotline_import", 3)]
_RESOLUTIONS = [("resolved", 70), ("partial", 18), ("unresolved", 12)]
_SATISFACTION = [("satisfied", 62), ("basic", 22), ("unsatisfied", 10), ("no_answer", 6)]


def _weighted(rng: random.Random, table: Sequence[tuple[str, int]]) -> Callable[[], str]:
    values = [v for v, _ in table]
    weights = [w for _, w in table]
    return lambda: rng.choices(values, weights)[0]


def appeal_rows(n: int, communities: list[OrgUnit], serving: dict[int, list[int]], categories: list[tuple[int, str, str]],
                *, seed: int = 42, months: int = 24, now: datetime | None = None, offset: int = 0) -> Iterator[dict[str, Any]]:
    """Yield ``n`` appeal rows (field attname → value) spread over ``months`` months before ``now``."""
    rng = random.Random(seed)
    text = TextSource(seed)
    now = now or timezone.now()
    span = timedelta(days=30 * months).total_seconds()
    old_state, new_state = _weighted(rng, _OLD_STATES), _weighted(rng, _NEW_STATES)
    nature, channel = _weighted(rng, _NATURES), _weighted(rng, _CHANNELS)
    resolution, satisfaction = _weighted(rng, _RESOLUTIONS), _weighted(rng, _SATISFACTION)
    for i in range(n):
        idx = offset + i
        received = now - timedelta(seconds=span * (1 - (i / max(n, 1))) ** 1.3 + rng.random() * 60)
        community = communities[rng.randrange(len(communities))]
        cat_id, urgency, _ = categories[rng.randrange(len(categories))]
        age_days = (now - received).days
        state = old_state() if age_days > 20 else new_state()
        title, body = text.pick()
        row: dict[str, Any] = {
            "tracking_code": f"YS{timezone.localtime(received):%y%m%d}{_code(idx)}",
            "channel": channel(), "nature": nature(), "category_id": cat_id, "urgency": urgency or "general",
            "title": title[:120], "text": body, "org_unit_id": community.pk, "handling_level_id": community.pk,
            "contact_name": "", "contact_phone": f"13{rng.randrange(10**9):09d}", "state": state,
            "received_at": received, "month": timezone.localtime(received).date().replace(day=1),
            "callback_token": f"b{idx:x}-{secrets.token_hex(4)}", "created_at": received, "updated_at": received,
            "policy_version": "beijing-2021@1",
        }
        if state != S.RECEIVED and state != S.REJECTED:
            units = serving[community.pk]
            row["lead_unit_id"] = units[rng.randrange(len(units))]
            row["dispatched_at"] = received + timedelta(minutes=rng.randint(5, 600))
            row["accept_due_at"] = row["dispatched_at"] + timedelta(days=1)
            row["contact_due_at"] = row["dispatched_at"] + timedelta(days=1)
            row["due_at"] = row["dispatched_at"] + timedelta(days=7)
            row["warn_at"] = row["dispatched_at"] + timedelta(days=5, hours=14)
            if state not in (S.DISPATCHED, S.RETURN_REQUESTED):
                row["accepted_at"] = row["dispatched_at"] + timedelta(hours=rng.randint(1, 30))
                row["accepted_on_time"] = row["accepted_at"] <= row["accept_due_at"]
                row["first_contact_at"] = row["accepted_at"] + timedelta(hours=rng.randint(1, 30))
                row["contacted_on_time"] = row["first_contact_at"] <= row["contact_due_at"]
            row["return_count"] = 1 if (state == S.RETURN_REQUESTED or rng.random() < 0.04) else 0
        if state in (S.REPLIED, S.CLOSED, S.ARCHIVED):
            row["replied_at"] = row["dispatched_at"] + timedelta(days=rng.uniform(0.5, 9))
            row["closed_on_time"] = row["replied_at"] <= row["due_at"]
            row["reply_text"] = "经核查，已安排相关单位处理，问题已整改完毕。"
            row["reopen_count"] = 1 if rng.random() < 0.03 else 0
            if state != S.REPLIED:
                row["satisfaction"] = satisfaction()
                row["resolution"] = "" if row["satisfaction"] == "no_answer" else resolution()
                row["closed_at"] = row["replied_at"] + timedelta(days=rng.uniform(0.2, 3))
            if state == S.ARCHIVED:
                row["archived_at"] = row["closed_at"] + timedelta(days=rng.uniform(1, 10))
        if state in (S.MERGED, S.DUPLICATE):
            row["counted"] = False
        if state == S.REJECTED:
            row["reject_reason"] = "不属于受理范围"
            row["closed_at"] = received + timedelta(hours=2)
        yield row


def _columns() -> list[tuple[str, Any]]:
    """(column, default) for every concrete column of the appeal table except the id."""
    cols: list[tuple[str, Any]] = []
    for f in Appeal._meta.concrete_fields:
        if f.primary_key:
            continue
        default = f.get_default() if f.has_default() else (None if f.null else "")
        cols.append((str(f.column), default))
    return cols


def _pg_text(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if any(c in text for c in "\\\t\n\r"):
        text = text.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ").replace("\r", " ")
    return text


def to_records(rows: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Column names and value lists for rows given by field attname (missing fields take their defaults)."""
    cols = _columns()
    names = [c for c, _ in cols]
    defaults = dict(cols)
    attmap = {f.attname: str(f.column) for f in Appeal._meta.concrete_fields}
    records: list[list[Any]] = []
    for row in rows:
        merged = dict(defaults)
        for key, value in row.items():
            merged[attmap.get(key, key)] = value
        records.append([merged[c] for c in names])
    return names, records


def insert_statement(names: list[str]) -> str:
    placeholders = ", ".join(["%s"] * len(names))
    return f"INSERT INTO {Appeal._meta.db_table} ({', '.join(names)}) VALUES ({placeholders})"


def insert_rows(rows: Iterator[dict[str, Any]], *, batch: int = 20000, progress: Callable[[int], None] | None = None) -> int:
    """Write appeal rows with COPY (PostgreSQL) or executemany (SQLite). Returns the count."""
    total = 0
    vendor = connection.vendor
    buffer: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal total
        if not buffer:
            return
        names, records = to_records(buffer)
        with transaction.atomic(), connection.cursor() as cursor:
            if vendor == "postgresql":
                out = io.StringIO()
                for rec in records:
                    out.write("\t".join(_pg_text(v) for v in rec))
                    out.write("\n")
                with cursor.cursor.copy(f"COPY {Appeal._meta.db_table} ({', '.join(names)}) FROM STDIN") as copy:
                    copy.write(out.getvalue())
            else:
                cursor.executemany(insert_statement(names), records)
        total += len(buffer)
        buffer.clear()
        if progress:
            progress(total)

    for row in rows:
        buffer.append(row)
        if len(buffer) >= batch:
            flush()
    flush()
    return total


def generate(n: int, shape: CityShape | None = None, *, seed: int = 42, progress: Callable[[int], None] | None = None) -> GenerateResult:
    """Build the city (once) and add ``n`` appeals."""
    shape = shape or CityShape()
    started = time.perf_counter()
    if OrgUnit.objects.filter(code="B").exists():
        communities = list(OrgUnit.objects.filter(code__startswith="B-", level="community"))
        serving: dict[int, list[int]] = {}
        by_org: dict[int, list[int]] = {}
        for unit_id, org_id in HandlingUnit.objects.filter(code__startswith="B-").values_list("id", "org_unit_id"):
            by_org.setdefault(org_id, []).append(unit_id)
        for c in communities:
            serving[c.pk] = [u for a in c.ancestor_ids for u in by_org.get(a, [])]
    else:
        communities, serving = build_city(shape)
    categories = ensure_categories()
    offset = Appeal.objects.filter(tracking_code__startswith="YS").count()
    text = TextSource(seed)
    rows = appeal_rows(n, communities, serving, categories, seed=seed + offset, offset=offset)
    count = insert_rows(rows, progress=progress)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Appeal._meta.db_table}")
    return GenerateResult(count, time.perf_counter() - started, len(communities), sum(len(v) for v in serving.values()), text.uses_corpus)

"""``yishi bench generate``: a realistic data set of a given size.

A city's org tree (districts → streets → communities), handling units, the category catalogue, and appeals spread
over 24 months in every state with replies and callbacks. Rows go in through one PostgreSQL COPY (or batched
executemany on SQLite), never through the ORM: worker processes render chunks of rows as COPY text from tables
drawn once (texts, weighted choices, formatted days and times of day), the parent streams them to the database, and
a big load drops the table's secondary indexes and rebuilds them at the end (docs/benchmarks.md has the figures).
"""

from __future__ import annotations

import itertools
import os
import random
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, connections, transaction

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
    index_seconds: float = 0.0  # of ``seconds``: rebuilding the indexes after the load

    @property
    def rate(self) -> float:
        return self.appeals / self.seconds if self.seconds else 0.0


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


def _table(weights: Sequence[tuple[str, int]]) -> list[str]:
    """A weighted choice as a flat table: ``table[int(random() * len(table))]`` is one draw, no bisect, no call."""
    return [value for value, weight in weights for _ in range(weight)]


@dataclass
class _Plan:
    """Everything a worker needs to render a chunk of rows: plain data, shared with forked workers, never the ORM."""

    names: list[str]
    base: list[Any]
    communities: list[tuple[Any, list[Any]]]  # ids as text for COPY
    categories: list[tuple[Any, str]]
    texts: list[tuple[Any, Any]]
    n: int
    offset: int
    seed: int
    now: int  # epoch seconds
    months: int
    pg: bool
    tz_name: str


_PLAN: _Plan | None = None  # set in the parent before the worker pool forks
_CLOCK: tuple[_Plan, _Clock] | None = None  # the plan's clock, built once per process


class _Clock:
    """Epoch seconds → the column text of a timestamp and the local (site time zone) day, via per-day tables: the
    generator formats about ten timestamps a row, and ``datetime.isoformat`` would be a third of its time."""

    def __init__(self, plan: _Plan) -> None:
        from zoneinfo import ZoneInfo

        self.zone = ZoneInfo(plan.tz_name)
        span = 30 * plan.months * 86400
        self.day0 = (plan.now - span) // 86400 - 2
        days = span // 86400 + 90  # replies and archives of recent appeals may lie a few weeks ahead
        epoch = datetime(1970, 1, 1)
        self.days = [(epoch + timedelta(days=self.day0 + d)).strftime("%Y-%m-%d ") for d in range(days)]
        self.tod = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
        self.suffix = "+00" if plan.pg else ""
        self.local_ymd = [(epoch + timedelta(days=self.day0 + d)).strftime("%y%m%d") for d in range(days)]
        self.local_month = [(epoch + timedelta(days=self.day0 + d)).strftime("%Y-%m-01") for d in range(days)]
        self._offsets: dict[int, int] = {}

    def ts(self, t: float) -> str:
        d, r = divmod(int(t), 86400)
        return self.days[d - self.day0] + self.tod[r] + self.suffix

    def local_day(self, t: float) -> int:
        hour = int(t) // 3600
        off = self._offsets.get(hour)
        if off is None:
            delta = datetime.fromtimestamp(hour * 3600, self.zone).utcoffset()
            off = self._offsets[hour] = int(delta.total_seconds()) if delta else 0
        return (int(t) + off) // 86400 - self.day0


_CODE2 = [a + b for a in _ALPHABET for b in _ALPHABET]


def _render_chunk(start: int, count: int) -> str | list[tuple[Any, ...]]:
    """Rows ``start``..``start+count`` of the plan: COPY text (PostgreSQL) or value tuples (SQLite). Each chunk has
    its own seeded generator, so the data set is the same whatever the number of workers."""
    plan = _PLAN
    assert plan is not None
    rng = random.Random(plan.seed * 1_000_003 + start)
    rnd = rng.random
    global _CLOCK
    if _CLOCK is None or _CLOCK[0] is not plan:
        _CLOCK = (plan, _Clock(plan))
    clock = _CLOCK[1]
    ts, local_day, local_ymd, local_month = clock.ts, clock.local_day, clock.local_ymd, clock.local_month
    null, true, false = ("\\N", "t", "f") if plan.pg else (None, 1, 0)
    col = {name: i for i, name in enumerate(plan.names)}
    (I_CODE, I_CHANNEL, I_NATURE, I_CAT, I_URG, I_TITLE, I_TEXT, I_ORG, I_LEVEL, I_PHONE, I_STATE, I_RECV, I_MONTH,
     I_TOKEN, I_CREATED, I_UPDATED, I_POLICY, I_LEAD, I_DISP, I_ACC_DUE, I_CON_DUE, I_DUE, I_WARN, I_ACC, I_ACC_OK,
     I_CON, I_CON_OK, I_RETURNS, I_REPLIED, I_CLOSED_OK, I_REPLY, I_REOPENS, I_SAT, I_RES, I_CLOSED, I_ARCH,
     I_COUNTED, I_REJECT) = (col[c] for c in (
        "tracking_code", "channel", "nature", "category_id", "urgency", "title", "text", "org_unit_id",
        "handling_level_id", "contact_phone", "state", "received_at", "month", "callback_token", "created_at",
        "updated_at", "policy_version", "lead_unit_id", "dispatched_at", "accept_due_at", "contact_due_at", "due_at",
        "warn_at", "accepted_at", "accepted_on_time", "first_contact_at", "contacted_on_time", "return_count",
        "replied_at", "closed_on_time", "reply_text", "reopen_count", "satisfaction", "resolution", "closed_at",
        "archived_at", "counted", "reject_reason"))
    old_states, new_states = _table(_OLD_STATES), _table(_NEW_STATES)
    natures, channels = _table(_NATURES), _table(_CHANNELS)
    resolutions, satisfactions = _table(_RESOLUTIONS), _table(_SATISFACTION)
    communities, categories, texts = plan.communities, plan.categories, plan.texts
    n_old, n_new, n_nat, n_chan = len(old_states), len(new_states), len(natures), len(channels)
    n_res, n_sat, n_comm, n_cat, n_text = len(resolutions), len(satisfactions), len(communities), len(categories), len(texts)
    base: list[Any] = [null if v is None else (true if v is True else false if v is False else v) for v in plan.base]
    if plan.pg:
        base = [v if isinstance(v, str) else str(v) for v in base]
    base[I_POLICY] = "beijing-2021@1"
    zero = "0" if plan.pg else 0
    one = "1" if plan.pg else 1
    span = 30 * plan.months * 86400
    n, now, offset = max(plan.n, 1), plan.now, plan.offset
    handling_open = (S.DISPATCHED, S.RETURN_REQUESTED)
    replied_states = (S.REPLIED, S.CLOSED, S.ARCHIVED)
    lines: list[str] = []
    tuples: list[tuple[Any, ...]] = []
    for i in range(start - offset, start - offset + count):
        idx = offset + i
        rec = base.copy()
        received = now - span * (1 - i / n) ** 1.3 - rnd() * 60
        day = local_day(received)
        community, units = communities[int(rnd() * n_comm)]
        cat_id, urgency = categories[int(rnd() * n_cat)]
        state = old_states[int(rnd() * n_old)] if now - received > 20 * 86400 else new_states[int(rnd() * n_new)]
        title, body = texts[int(rnd() * n_text)]
        recv = ts(received)
        rec[I_CODE] = f"YS{local_ymd[day]}{_CODE2[(idx >> 20) & 1023]}{_CODE2[(idx >> 10) & 1023]}{_CODE2[idx & 1023]}"
        rec[I_CHANNEL] = channels[int(rnd() * n_chan)]
        rec[I_NATURE] = natures[int(rnd() * n_nat)]
        rec[I_CAT] = cat_id
        rec[I_URG] = urgency
        rec[I_TITLE] = title
        rec[I_TEXT] = body
        rec[I_ORG] = rec[I_LEVEL] = community
        rec[I_PHONE] = f"13{int(rnd() * 1e9):09d}"
        rec[I_STATE] = state
        rec[I_RECV] = rec[I_CREATED] = rec[I_UPDATED] = recv
        rec[I_MONTH] = local_month[day]
        rec[I_TOKEN] = f"b{idx:x}-{rng.getrandbits(32):08x}"
        if state != S.RECEIVED and state != S.REJECTED:
            rec[I_LEAD] = units[int(rnd() * len(units))]
            dispatched = received + 300 + int(rnd() * 35700)
            accept_due = dispatched + 86400
            due = dispatched + 7 * 86400
            rec[I_DISP] = ts(dispatched)
            rec[I_ACC_DUE] = rec[I_CON_DUE] = ts(accept_due)
            rec[I_DUE] = ts(due)
            rec[I_WARN] = ts(dispatched + 5 * 86400 + 14 * 3600)
            if state not in handling_open:
                accepted = dispatched + 3600 * (1 + int(rnd() * 30))
                contacted = accepted + 3600 * (1 + int(rnd() * 30))
                rec[I_ACC] = ts(accepted)
                rec[I_ACC_OK] = true if accepted <= accept_due else false
                rec[I_CON] = ts(contacted)
                rec[I_CON_OK] = true if contacted <= accept_due else false
            rec[I_RETURNS] = one if (state == S.RETURN_REQUESTED or rnd() < 0.04) else zero
            if state in replied_states:
                replied = dispatched + 86400 * (0.5 + rnd() * 8.5)
                rec[I_REPLIED] = ts(replied)
                rec[I_CLOSED_OK] = true if replied <= due else false
                rec[I_REPLY] = "经核查，已安排相关单位处理，问题已整改完毕。"
                rec[I_REOPENS] = one if rnd() < 0.03 else zero
                if state != S.REPLIED:
                    satisfaction = satisfactions[int(rnd() * n_sat)]
                    rec[I_SAT] = satisfaction
                    rec[I_RES] = "" if satisfaction == "no_answer" else resolutions[int(rnd() * n_res)]
                    closed = replied + 86400 * (0.2 + rnd() * 2.8)
                    rec[I_CLOSED] = ts(closed)
                    if state == S.ARCHIVED:
                        rec[I_ARCH] = ts(closed + 86400 * (1 + rnd() * 9))
        elif state == S.REJECTED:
            rec[I_REJECT] = "不属于受理范围"
            rec[I_CLOSED] = ts(received + 7200)
        if state == S.MERGED or state == S.DUPLICATE:
            rec[I_COUNTED] = false
        if plan.pg:
            lines.append("\t".join(rec))
        else:
            tuples.append(tuple(rec))
    if plan.pg:
        lines.append("")
        return "\n".join(lines)
    return tuples


def _text_pool(seed: int, pg: bool, size: int = 20000) -> list[tuple[Any, Any]]:
    """Titles and texts drawn once (corpus and templates in TextSource's mix), escaped for COPY: rows pick from it."""
    source = TextSource(seed)
    pool = []
    for _ in range(size):
        title, body = source.pick()
        pool.append((_pg_text(title[:120]), _pg_text(body)) if pg else (title[:120], body))
    return pool


def _plan(n: int, offset: int, communities: list[OrgUnit], serving: dict[int, list[int]],
          categories: list[tuple[int, str, str]], seed: int, months: int = 24) -> _Plan:
    from django.conf import settings

    pg = connection.vendor == "postgresql"
    cols = _columns()
    key: Callable[[int], Any] = str if pg else int
    return _Plan(
        names=[c for c, _ in cols],
        base=[_pg_text(v) if pg and v is not None and not isinstance(v, bool) else v for _, v in cols],
        communities=[(key(c.pk), [key(u) for u in serving[c.pk]]) for c in communities],
        categories=[(key(cat_id), urgency or "general") for cat_id, urgency, _ in categories],
        texts=_text_pool(seed, pg), n=n, offset=offset, seed=seed, now=int(time.time()), months=months, pg=pg,
        tz_name=settings.TIME_ZONE,
    )


def _chunks(plan: _Plan, workers: int, size: int = 20000) -> Iterator[tuple[int, str | list[tuple[Any, ...]]]]:
    """(rows, rendered chunk) in order; with workers > 1 the chunks are rendered by forked processes, at most two per
    worker ahead of the writer (the database is the slower side on a small machine, and memory must stay flat)."""
    global _PLAN
    _PLAN = plan
    starts = [(s, min(size, plan.offset + plan.n - s)) for s in range(plan.offset, plan.offset + plan.n, size)]
    if workers <= 1 or len(starts) < 2:
        for start, count in starts:
            yield count, _render_chunk(start, count)
        return
    import multiprocessing

    pending: deque[Any] = deque()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        todo = iter(starts)
        for start, count in itertools.islice(todo, workers * 2):
            pending.append((count, pool.apply_async(_render_chunk, (start, count))))
        while pending:
            count, result = pending.popleft()
            yield count, result.get()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append((nxt[1], pool.apply_async(_render_chunk, nxt)))


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


def _secondary_ddl(cursor: Any, table: str) -> tuple[list[str], list[str]]:
    """(drop, create) statements for every index of ``table`` but its primary key, and on PostgreSQL its unique and
    foreign-key constraints too. A big load goes in without them and they are rebuilt once, sorted, in the same
    transaction: several times faster than maintaining twenty b-trees and checking the foreign keys row by row.
    (SQLite's column UNIQUE constraints live in the table definition and stay.)"""
    if connection.vendor == "sqlite":
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL", [table])
        indexes = cursor.fetchall()
        return [f'DROP INDEX "{name}"' for name, _ in indexes], [sql for _, sql in indexes]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('u', 'f')",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
        [table],
    )
    indexes = cursor.fetchall()
    drop = [f'ALTER TABLE {table} DROP CONSTRAINT "{name}"' for name, _ in constraints]
    drop += [f'DROP INDEX "{name}"' for name, _ in indexes]
    create = [definition for _, definition in indexes]
    create += [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for name, definition in constraints]
    return drop, create


def insert_plan(plan: _Plan, *, workers: int = 1, rebuild_indexes: bool = False,
                progress: Callable[[int], None] | None = None) -> tuple[int, float]:
    """Write the plan's rows: one COPY (PostgreSQL) or batched executemany (SQLite), in one transaction. With
    ``rebuild_indexes`` the table's secondary indexes (and PostgreSQL's constraints) are dropped for the load and
    built again before the commit, so a failure leaves the table as it was. Returns the rows and the seconds spent
    rebuilding."""
    table = Appeal._meta.db_table
    total, rebuilt = 0, 0.0
    if workers > 1:
        connections.close_all()  # forked workers must not share the parent's database socket
    chunks = _chunks(plan, workers)
    with transaction.atomic(), connection.cursor() as cursor:
        create: list[str] = []
        if rebuild_indexes:
            if plan.pg:
                cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
                # Rows written earlier in the same transaction (the tests' city) leave deferred foreign-key checks
                # pending, and PostgreSQL alters no table while such checks wait: run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            drop, create = _secondary_ddl(cursor, table)
            for statement in drop:
                cursor.execute(statement)
        if plan.pg:
            with cursor.cursor.copy(f"COPY {table} ({', '.join(plan.names)}) FROM STDIN") as copy:
                for count, chunk in chunks:
                    copy.write(chunk)
                    total += count
                    if progress:
                        progress(total)
        else:
            sql = insert_statement(plan.names)
            for count, chunk in chunks:
                cursor.executemany(sql, chunk)
                total += count
                if progress:
                    progress(total)
        rebuilt = time.perf_counter()
        for statement in create:
            cursor.execute(statement)
        rebuilt = time.perf_counter() - rebuilt
    return total, rebuilt


def generate(n: int, shape: CityShape | None = None, *, seed: int = 42, workers: int | None = None,
             rebuild_indexes: bool | None = None, progress: Callable[[int], None] | None = None) -> GenerateResult:
    """Build the city (once) and add ``n`` appeals. ``workers`` processes render the rows (default: the CPU count, at
    most 4); ``rebuild_indexes`` defaults to on for loads of 200,000 rows or more."""
    shape = shape or CityShape()
    started = time.perf_counter()
    if OrgUnit.objects.filter(code="B").exists():
        communities = list(OrgUnit.objects.filter(code__startswith="B-", level="community").order_by("pk"))
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
    plan = _plan(n, offset, communities, serving, categories, seed)
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    if rebuild_indexes is None:
        rebuild_indexes = n >= 200_000
    count, rebuilt = insert_plan(plan, workers=workers, rebuild_indexes=rebuild_indexes, progress=progress)
    with connection.cursor() as cursor:
        if plan.pg and not connection.in_atomic_block:  # statistics, and the visibility map for index-only scans
            cursor.execute(f"VACUUM (ANALYZE) {Appeal._meta.db_table}")
        elif plan.pg:  # VACUUM cannot run inside a transaction (the tests')
            cursor.execute(f"ANALYZE {Appeal._meta.db_table}")
        else:  # without statistics SQLite reads a whole district to sort it rather than walk the time index
            cursor.execute("ANALYZE")
    return GenerateResult(count, time.perf_counter() - started, len(communities), sum(len(v) for v in serving.values()),
                          bool(TextSource(seed).uses_corpus), rebuilt)

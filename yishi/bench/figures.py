"""The measured figures of ``yishi bench run``. Each returns samples; the runner takes median, min and max."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext


@dataclass
class Figure:
    name: str
    unit: str
    target: str
    samples: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)
    reference_name: str = ""
    note: str = ""
    higher_is_better: bool = True
    # Failed requests or operations seen while measuring (the smoke run fails on any).
    errors: int = 0

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def ratio(self) -> float | None:
        if not self.samples or not self.reference:
            return None
        ref = statistics.median(self.reference)
        if not ref:
            return None
        mine = statistics.median(self.samples)
        return mine / ref if self.higher_is_better else ref / mine if mine else None


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


class BenchContext:
    """Users and inputs the figures share, made once per run inside the benchmark database."""

    def __init__(self) -> None:
        from yishi.accounts.models import RoleAssignment, User
        from yishi.orgs.models import OrgUnit

        self.district = OrgUnit.objects.filter(level="district").order_by("path").first()
        self.communities = list(OrgUnit.objects.filter(level="community", path__startswith=self.district.path).values_list("pk", flat=True)[:200]) if self.district else []
        self.staff, _ = User.objects.get_or_create(username="bench_staff", defaults={"display_name": "基准测试调度员"})
        self.resident, _ = User.objects.get_or_create(username="bench_resident", defaults={"display_name": "基准测试居民", "phone": "13900000000"})
        if self.district is not None:
            RoleAssignment.objects.get_or_create(user=self.staff, role="dispatcher", org_unit=self.district, handling_unit=None)
            RoleAssignment.objects.get_or_create(user=self.staff, role="district_staff", org_unit=self.district, handling_unit=None)


AUTO_DISPATCH_PROFILE = "bench-auto-dispatch"


@contextmanager
def auto_dispatch(ctx: BenchContext) -> Iterator[None]:
    """The bench district under a copy of its own profile with ``appeals.auto_dispatch`` on (智能派单: a matching
    routing rule dispatches at intake, in the submission's transaction), restored afterwards. Same deadlines, so
    the figure measures the intake a hotline-style area runs."""
    from yishi.orgs.models import OrgUnit
    from yishi.policy.models import PolicyProfile
    from yishi.policy.services import effective_profile, profile_copy, profile_update

    if ctx.district is None:
        yield
        return
    chosen = OrgUnit.objects.filter(pk=ctx.district.pk).values_list("policy_profile_id", flat=True).get()
    source = effective_profile(ctx.district)
    profile = PolicyProfile.objects.filter(code=AUTO_DISPATCH_PROFILE).first()
    if profile is None:
        profile = profile_copy(actor=None, source=source, code=AUTO_DISPATCH_PROFILE, name="基准测试：受理即派单")
    if profile.pk != source.pk and (profile.params != {**source.params, "appeals.auto_dispatch": True}):
        profile_update(actor=None, profile=profile, params={**source.params, "appeals.auto_dispatch": True}, note="bench")
    OrgUnit.objects.filter(pk=ctx.district.pk).update(policy_profile=profile)  # the triggers move the generation
    try:
        yield
    finally:
        OrgUnit.objects.filter(pk=ctx.district.pk).update(policy_profile_id=chosen)


def intake_inputs(ctx: BenchContext, n: int, seed: int) -> list[Any]:
    from yishi.appeals.models import Category
    from yishi.appeals.services import AppealInput

    from .textgen import TextSource

    text = TextSource(seed)
    leaves = list(Category.objects.filter(children__isnull=True, is_active=True).values_list("pk", flat=True)[:100])
    inputs = []
    for i in range(n):
        title, body = text.pick()
        inputs.append(AppealInput(nature="complaint", category_id=leaves[i % len(leaves)], title=title[:60], text=body[:2000],
                                  org_unit_id=ctx.communities[i % len(ctx.communities)]))
    return inputs


def figure_intake_service(ctx: BenchContext, n: int, runs: int, procs: int = 1) -> Figure:
    """Appeals/s through appeal_submit (validate, dedup by idempotency key, code, audit, notify) + appeal_dispatch by
    routing rule (route, deadlines from the profile and the calendar, audit, notify), in ``procs`` processes sharing
    the ``n`` appeals; reference: the same rows by raw INSERT through the driver in one transaction."""
    from yishi.appeals.models import Appeal

    name = "appeal intake (service)" if procs == 1 else f"appeal intake (service, {procs} processes)"
    fig = Figure(name, "appeals/s", "≥ 1,000/s; ratio ≥ 0.2", reference_name="raw INSERT")
    for run in range(runs):
        inputs = intake_inputs(ctx, n, seed=1000 + run)
        with auto_dispatch(ctx):
            if procs == 1:
                started = time.perf_counter()
                dispatched = _intake_worker(ctx, inputs)
                fig.samples.append(n / (time.perf_counter() - started))
            else:
                seconds, dispatched = _intake_in_processes(ctx, inputs, procs)
                fig.samples.append(n / seconds)
        # No classification step: intake takes the category the resident or the staff chose (suggesting one from
        # the text is a later issue's work).
        fig.note = (f"n={n} per run; {dispatched}/{n} dispatched by rule at intake in the last run "
                    "(profile with appeals.auto_dispatch on); no classifier at intake (category given)")
        rows = [(f"R{run}-{i}", d.title, d.text) for i, d in enumerate(inputs)]
        fig.reference.append(n / timed(partial(_raw_insert, rows, ctx)))
        Appeal.objects.filter(tracking_code__startswith="RAW").delete()
    return fig


def _intake_worker(ctx: BenchContext, inputs: list[Any]) -> int:
    """Submit each input as a resident would; where the profile's auto-dispatch left it received, dispatch it as a
    dispatcher would. Returns how many were dispatched."""
    from yishi.appeals.choices import AppealState
    from yishi.appeals.services import appeal_dispatch, appeal_submit
    from yishi.core.errors import InvalidInput

    dispatched = 0
    for data in inputs:
        appeal = appeal_submit(actor=ctx.resident, data=data)
        if appeal.state == AppealState.DISPATCHED:
            dispatched += 1
            continue
        try:
            appeal_dispatch(actor=ctx.staff, appeal=appeal)
            dispatched += 1
        except InvalidInput:  # no routing rule: stays received, as in production
            pass
    return dispatched


def _intake_in_processes(ctx: BenchContext, inputs: list[Any], procs: int) -> tuple[float, int]:
    """Wall time and dispatched count of ``procs`` forked processes sharing ``inputs``, each with its own connection
    and its own reference cache, all started together once connected."""
    import multiprocessing

    from django.db import connections

    fork = multiprocessing.get_context("fork")
    barrier = fork.Barrier(procs + 1)
    results = fork.Queue()

    def child(share: list[Any]) -> None:
        connection.ensure_connection()
        barrier.wait()
        try:
            results.put(_intake_worker(ctx, share))
        except BaseException:
            results.put(None)  # the parent must not wait forever for a worker that failed
            raise
        finally:
            connections.close_all()

    connections.close_all()  # a forked child must not share the parent's socket
    workers = [fork.Process(target=child, args=(inputs[i::procs],)) for i in range(procs)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    counts = [results.get() for _ in workers]
    seconds = time.perf_counter() - started
    for worker in workers:
        worker.join()
    if any(count is None for count in counts):
        raise RuntimeError("an intake worker failed (its traceback is above)")
    return seconds, sum(counts)


def _raw_insert(rows: list[tuple[str, str, str]], ctx: BenchContext) -> None:
    """The reference: the same rows as plain INSERT statements through the driver, in one transaction."""
    from django.utils import timezone

    from yishi.appeals.models import Category

    from .generate import insert_statement, to_records

    cat = Category.objects.filter(children__isnull=True).values_list("pk", flat=True).first()
    now = timezone.now()
    month = timezone.localtime(now).date().replace(day=1)
    unit = ctx.communities[0]
    names, records = to_records(
        {"tracking_code": f"RAW{key}"[:20], "channel": "web", "nature": "complaint", "category_id": cat, "title": title,
         "text": text, "org_unit_id": unit, "handling_level_id": unit, "received_at": now, "month": month,
         "callback_token": f"raw-{key}", "created_at": now, "updated_at": now}
        for key, title, text in rows
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(insert_statement(names), records)


LIST_FILTERS = ["", "state=in_progress", "overdue=true", "nature=complaint", "state=closed&nature=consult", "org_unit_id={community}",
                "org_unit_id={street}", "at_risk=true", "state=return_requested", "received_from={month_ago}", "q=电梯"]


def figure_list_api(ctx: BenchContext, requests: int) -> Figure:
    """Server time of the filtered appeal list: the API (50 rows) and the staff page (30 rows), alternating, over
    the filters of ``LIST_FILTERS``; p95 over all requests (the API's and the page's query counts in the note). The
    keyword filter (``q=``) is reported apart: it has no index yet (the search figure's work)."""
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    from yishi.orgs.models import OrgUnit

    client = Client()
    client.force_login(ctx.staff, backend="django.contrib.auth.backends.ModelBackend")
    community = ctx.communities[0]
    street = OrgUnit.objects.get(pk=community).parent_id
    month_ago = (timezone.localdate() - timedelta(days=30)).isoformat()
    filters = [f.format(community=community, street=street, month_ago=month_ago) for f in LIST_FILTERS]
    fig = Figure("filtered appeal list (API 50 rows + page)", "ms p95", "p95 ≤ 50 ms, constant query count", higher_is_better=False)
    counts: dict[str, set[int]] = {"api": set(), "page": set()}
    times: list[float] = []
    keyword: list[float] = []
    slowest = (0.0, "")
    for i in range(requests):
        qs = filters[i % len(filters)]
        kind = "api" if (i // len(filters)) % 2 == 0 else "page"
        url = f"/api/appeals?page_size=50&{qs}" if kind == "api" else f"/appeals/?{qs.replace('org_unit_id=', 'area=')}"
        with CaptureQueriesContext(connection) as ctxq:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            fig.note = f"HTTP {response.status_code} for {url}"
            return fig
        (keyword if qs.startswith("q=") else times).append(elapsed)
        if not qs.startswith("q="):
            slowest = max(slowest, (elapsed, url))
        counts[kind].add(len(ctxq.captured_queries))
    fig.samples = [percentile(times, 95)]
    fig.note = (f"{len(times)} requests over {len(filters) - 1} filters; query counts API {sorted(counts['api'])}, page "
                f"{sorted(counts['page'])}; slowest {slowest[0]:.0f} ms {slowest[1]}; keyword q=电梯 p95 "
                f"{percentile(keyword, 95):.0f} ms (no index yet)")
    return fig


def figure_dashboard(ctx: BenchContext, runs: int, calls: int = 10) -> Figure:
    """The district-month dashboard (三率 + volume per street and per unit) of the current month for the district's
    staff as they get it: the month's rollup (``appeals.rollup``) computed, then p95 of ``calls`` calls per run within
    the profile's staleness tolerance (past it a call checks the rollup and recomputes it when stale, as in use).
    The note gives the cold recomputation of the month (every place of the city, one grouped INSERT … SELECT) and the
    live grouped query the dashboard used to run. Reference: DuckDB running that live grouped aggregate (the one query
    that read the appeals) over the same raw rows, copied into it before the run; ratio = DuckDB's time ÷ ours (≥ 1:
    Yishi not slower)."""
    from django.utils import timezone

    from yishi.appeals import rollup, stats
    from yishi.policy.services import effective_profile, policy_value

    from .reference import DuckReference

    fig = Figure("district-month dashboard", "ms p95", "p95 ≤ 100 ms; ratio ≥ 1", reference_name="DuckDB", higher_is_better=False)
    month = timezone.localdate().replace(day=1)
    tolerance = policy_value(rollup.MAX_STALENESS, default=0, profile=effective_profile(None))
    cold = timed(lambda: rollup.refresh_month(month, force=True)) * 1000
    live_qs = rollup.live_groups(stats.stats_scope(ctx.staff).filter(month=month), timezone.now())
    with CaptureQueriesContext(connection) as captured:
        live = timed(lambda: list(live_qs)) * 1000
    sql = next((q["sql"] for q in captured.captured_queries if "GROUP BY" in q["sql"] and "FILTER" in q["sql"]), "")
    recomputed = 0
    for _ in range(runs):
        times = []
        for _ in range(calls):
            before = rollup.MonthRollup.objects.get(month=month).computed_at
            times.append(timed(lambda: stats.dashboard(user=ctx.staff, month=month)) * 1000)
            recomputed += rollup.MonthRollup.objects.get(month=month).computed_at != before
        fig.samples.append(percentile(times, 95))
    facts = rollup.MonthFacts.objects.filter(month=month).count()
    fig.note = (f"{runs} runs × {calls} calls, {month:%Y-%m}, staleness tolerance {tolerance} s, {recomputed} calls "
                f"recomputed; rollup {facts} rows; cold recompute of the month {cold:.0f} ms; live grouped query "
                f"{live:.0f} ms")
    if not sql:
        fig.note += "; the live grouped query was not seen"
        return fig
    try:
        duck = DuckReference(sql)
    except Exception as exc:  # the reference is optional: an old duckdb or an unreadable column says so in the note
        fig.note += f"; DuckDB reference failed: {exc}"[:200]
        return fig
    rows = len(duck.run())
    for _ in range(runs):
        fig.reference.append(percentile([timed(duck.run) * 1000 for _ in range(calls)], 95))
    duck.close()
    fig.note += f"; {rows} place × unit groups in the district; DuckDB in memory, columns copied in {duck.load_seconds:.0f} s (not timed)"
    return fig


IMPORT_HEADER = ["工单编号", "来电时间", "诉求性质", "分类编码", "标题", "诉求内容", "所在社区", "地址", "联系人", "联系电话", "紧急程度"]
_IMPORT_NATURES = [("咨询", "consult"), ("求助", "help"), ("投诉", "complaint"), ("举报", "report"), ("建议", "suggest")]


def import_records(ctx: BenchContext, n: int, seed: int, prefix: str) -> tuple[bytes, list[dict[str, Any]]]:
    """``n`` hotline records as a CSV file in the import format (docs/import-format.md), and the same records as
    rows of the appeal table (field attname → value) for the COPY reference."""
    import csv
    import io
    import secrets
    from datetime import timedelta

    from django.utils import timezone

    from yishi.appeals.models import Category
    from yishi.orgs.models import OrgUnit

    from .textgen import TextSource

    text = TextSource(seed)
    leaves = list(Category.objects.filter(children__isnull=True, is_active=True).exclude(code="").values_list("code", "pk", "default_urgency")[:100])
    places = list(OrgUnit.objects.filter(pk__in=ctx.communities).values_list("code", "pk", "name"))
    now = timezone.now()
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(IMPORT_HEADER)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        title, body = text.pick()
        title, body = title[:60].strip() or "热线工单", body[:2000].strip() or "热线工单内容"
        received = timezone.localtime(now - timedelta(hours=1, seconds=i)).replace(microsecond=0)
        nature_zh, nature = _IMPORT_NATURES[i % len(_IMPORT_NATURES)]
        code, category_id, urgency = leaves[i % len(leaves)]
        place_code, place_id, place_name = places[i % len(places)]
        ref, phone, address = f"{prefix}{i:07d}", f"199{i % 10**8:08d}", f"{place_name}{i % 50 + 1}号"
        writer.writerow([ref, f"{received:%Y-%m-%d %H:%M:%S}", nature_zh, code, title, body, place_code, address, "陈女士", phone, ""])
        rows.append({
            "tracking_code": f"CPY{prefix}{i:07d}"[:20], "external_ref": ref, "channel": "hotline_import", "nature": nature,
            "category_id": category_id, "urgency": urgency or "general", "title": title, "text": body, "org_unit_id": place_id,
            "handling_level_id": place_id, "address": address, "entered_by_id": ctx.staff.pk, "contact_name": "陈女士",
            "contact_phone": phone, "received_at": received, "month": received.date().replace(day=1),
            "callback_token": secrets.token_urlsafe(24), "created_at": now, "updated_at": now,
        })
    return buffer.getvalue().encode("utf-8"), rows


def _copy_rows(rows: list[dict[str, Any]]) -> None:
    """The reference: the same rows straight into the appeal table, by COPY on PostgreSQL (executemany on SQLite),
    in one transaction."""
    import io

    from yishi.appeals.models import Appeal

    from .generate import _pg_text, insert_statement, to_records

    names, records = to_records(rows)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            out = io.StringIO()
            for rec in records:
                out.write("\t".join(_pg_text(v) for v in rec))
                out.write("\n")
            with cursor.cursor.copy(f"COPY {Appeal._meta.db_table} ({', '.join(names)}) FROM STDIN") as copy:
                copy.write(out.getvalue())
        else:
            cursor.executemany(insert_statement(names), records)


def figure_csv_import(ctx: BenchContext, n: int, runs: int) -> Figure:
    """Rows/s of a hotline CSV file through the import the page and ``yishi import_appeals`` use (store the file,
    then ``import_batch_run``: parse, check, resolve, bulk insert, audit, receipts); reference: COPY of the same rows
    into the appeal table. Appeals, the batch, its file and the receipt texts are removed after each run; the audit
    events stay, as they always do."""
    import logging
    import secrets

    from django.core.files.base import ContentFile
    from django.urls import reverse
    from django.utils import timezone

    from yishi.appeals.imports import import_batch_create, import_batch_run
    from yishi.appeals.models import Appeal, ImportBatch
    from yishi.notifications.models import SmsMessage

    fig = Figure("CSV import", "rows/s", "≥ 5,000 rows/s", reference_name="COPY")
    district = ctx.district
    if district is None or not ctx.communities:
        fig.note = "no generated city: run `yishi bench generate` first"
        return fig
    reverse("appeals:list")  # the URLconf is loaded once per process, not per import: not part of the figure
    sms_log = logging.getLogger("yishi.sms")
    level = sms_log.level
    sms_log.setLevel(logging.WARNING)  # the logging gateway would print a line per receipt
    try:
        for run in range(runs):
            prefix = f"BI{secrets.token_hex(3)}-"
            content, rows = import_records(ctx, n, seed=2000 + run, prefix=prefix)
            started_at = timezone.now()
            result: list[ImportBatch | None] = []

            def go(content: bytes = content, result: list[ImportBatch | None] = result) -> None:
                batch = import_batch_create(actor=ctx.staff, upload=ContentFile(content, name="bench.csv"), org_unit_id=district.pk, enqueue=False)
                result.append(import_batch_run(batch_id=batch.pk))

            fig.samples.append(n / timed(go))
            batch = result[0]
            fig.note = f"n={n:,} rows per run, {len(content) / 1e6:.1f} MB; last run: {batch.created if batch else 0:,} created, {batch.failed if batch else 0} failed"
            Appeal.objects.filter(channel="hotline_import", external_ref__startswith=prefix).delete()
            fig.reference.append(n / timed(partial(_copy_rows, rows)))  # into the table as the import found it
            Appeal.objects.filter(channel="hotline_import", external_ref__startswith=prefix).delete()
            SmsMessage.objects.filter(phone__startswith="199", created_at__gte=started_at).delete()
            if batch is not None:
                batch.file.delete(save=False)
                ImportBatch.objects.filter(pk=batch.pk).delete()
    finally:
        sms_log.setLevel(level)
    return fig


from .http import figure_http_intake, figure_worker_memory  # noqa: E402  (http.py imports this module lazily)

FIGURES = {
    "intake_service": figure_intake_service,
    "http_intake": figure_http_intake,
    "worker_memory": figure_worker_memory,
    "list_api": figure_list_api,
    "dashboard": figure_dashboard,
    "csv_import": figure_csv_import,
}

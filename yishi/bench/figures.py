"""The measured figures of ``yishi bench run``. Each returns samples; the runner takes median, min and max."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
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


def figure_intake_service(ctx: BenchContext, n: int, runs: int) -> Figure:
    """Appeals/s through appeal_submit (validate, code, audit, notify) + dispatch by routing rule where one matches;
    reference: the same rows by raw INSERT through the driver in one transaction."""
    from yishi.appeals.models import Appeal
    from yishi.appeals.services import appeal_dispatch, appeal_submit

    fig = Figure("appeal intake (service)", "appeals/s", "≥ 1,000/s; ratio ≥ 0.2", reference_name="raw INSERT")
    for run in range(runs):
        inputs = intake_inputs(ctx, n, seed=1000 + run)
        dispatched = 0

        def go(inputs: list[Any] = inputs) -> None:
            nonlocal dispatched
            for data in inputs:
                appeal = appeal_submit(actor=ctx.resident, data=data)
                try:
                    appeal_dispatch(actor=ctx.staff, appeal=appeal)
                    dispatched += 1
                except Exception:  # no routing rule: stays received, as in production
                    pass

        fig.samples.append(n / timed(go))
        fig.note = f"n={n} per run; {dispatched}/{n} dispatched by rule in the last run"
        rows = [(f"R{run}-{i}", d.title, d.text) for i, d in enumerate(inputs)]
        fig.reference.append(n / timed(partial(_raw_insert, rows, ctx)))
        Appeal.objects.filter(tracking_code__startswith="RAW").delete()
    return fig


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


def figure_list_api(ctx: BenchContext, requests: int) -> Figure:
    """Server time of the filtered appeal list (50 rows) through the API, and its query count across filters."""
    from django.test import Client

    client = Client()
    client.force_login(ctx.staff, backend="django.contrib.auth.backends.ModelBackend")
    filters = ["", "state=in_progress", "overdue=true", "nature=complaint", "state=closed&nature=consult", f"org_unit_id={ctx.communities[0]}", "q=电梯", "at_risk=true"]
    fig = Figure("filtered appeal list (API, 50 rows)", "ms p95", "p95 ≤ 50 ms, constant query count", higher_is_better=False)
    counts = set()
    times = []
    for i in range(requests):
        qs = filters[i % len(filters)]
        with CaptureQueriesContext(connection) as ctxq:
            started = time.perf_counter()
            response = client.get(f"/api/appeals?page_size=50&{qs}")
            times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            fig.note = f"HTTP {response.status_code} for ?{qs}"
            return fig
        counts.add(len(ctxq.captured_queries))
    fig.samples = [percentile(times, 95)]
    fig.note = f"{requests} requests over {len(filters)} filters; query counts seen: {sorted(counts)}"
    return fig


def figure_dashboard(ctx: BenchContext, runs: int) -> Figure:
    """The district-month dashboard (三率 + volume per street and per unit) — p95 over runs."""
    fig = Figure("district-month dashboard", "ms p95", "p95 ≤ 100 ms", higher_is_better=False)
    try:
        from yishi.appeals import stats
    except ImportError:
        fig.note = "stats module not present"
        return fig
    from django.utils import timezone

    month = timezone.localdate().replace(day=1)
    fn = getattr(stats, "dashboard", None) or getattr(stats, "district_month", None)
    if fn is None:
        fig.note = "no dashboard function in yishi.appeals.stats"
        return fig
    times = []
    for _ in range(runs):
        times.append(timed(lambda: fn(user=ctx.staff, month=month)) * 1000)
    fig.samples = [percentile(times, 95)]
    fig.note = f"{runs} runs"
    return fig


from .http import figure_http_intake, figure_worker_memory  # noqa: E402  (http.py imports this module lazily)

FIGURES = {
    "intake_service": figure_intake_service,
    "http_intake": figure_http_intake,
    "worker_memory": figure_worker_memory,
    "list_api": figure_list_api,
    "dashboard": figure_dashboard,
}

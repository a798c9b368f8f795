"""The figures measured over HTTP against the production server (gunicorn with ``yishi/gunicorn_conf.py``).

``yishi bench`` starts gunicorn as a subprocess on a free 127.0.0.1 port, against the same database, and drives it
from other processes:

* throughput and latency with ``wrk`` (Debian's ``wrk`` package) and a Lua script that cycles through generated
  appeals and counts every non-2xx answer. wrk is a C event loop: on a 2-core machine it takes a few percent of a
  core where a Python client would take most of one and starve the server it measures. Without wrk on the PATH,
  a Python client (threads, keep-alive ``http.client``) stands in, and the note says so: its numbers are lower.
* worker memory with the Python client (throughput does not matter there; a fixed mix of requests does).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .figures import BenchContext, Figure

INTAKE_PATH = "/api/appeals"
BARE_PATH = "/bench/bare-intake"
# Every request carries what nginx adds in production, so the server sees what it would behind it.
PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1"}


@dataclass
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LoadResult:
    """What one load run saw. Latencies in milliseconds; ``errors`` counts every non-2xx answer and every failed
    connection."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int] = field(default_factory=dict)
    tool: str = ""
    # CPU spent per request by the web workers and by the PostgreSQL backends serving them (ms), when measured.
    web_cpu_ms: float | None = None
    db_cpu_ms: float | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _has_manifest() -> bool:
    from django.conf import settings

    return (Path(settings.STATIC_ROOT) / "staticfiles.json").exists()


class Server:
    """gunicorn with the production config, serving the current database, with the bench view routed.

    ``workers`` / ``threads`` / ``max_requests`` override the config's values (None keeps them)."""

    def __init__(self, *, workers: int | None = None, threads: int | None = None, max_requests: int | None = None) -> None:
        self.port = free_port()
        self.workers = workers
        self.threads = threads
        self.max_requests = max_requests
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile()
        self.notes: list[str] = []

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="yishi.settings",
            YISHI_BENCH="1",
            DEBUG="0",  # DEBUG keeps every query in memory: never what production runs
            ALLOWED_HOSTS="127.0.0.1",
            # The throttles still run (their cache round trips are part of the cost) but never refuse the load.
            YISHI_API_USER_RATE="10000000/min",
            YISHI_API_ANON_RATE="10000000/min",
            GUNICORN_BIND=f"127.0.0.1:{self.port}",
        )
        if self.workers is not None:
            env["WEB_CONCURRENCY"] = str(self.workers)
        if self.threads is not None:
            env["GUNICORN_THREADS"] = str(self.threads)
        if self.max_requests is not None:
            env["GUNICORN_MAX_REQUESTS"] = str(self.max_requests)
            env["GUNICORN_MAX_REQUESTS_JITTER"] = str(self.max_requests // 10)
        if not _has_manifest() and env.get("YISHI_PLAIN_STATIC") != "1":
            # Pages need collected static files for their hashed names; without them, serve them plain.
            env["YISHI_PLAIN_STATIC"] = "1"
            self.notes.append("static files plain (no collectstatic manifest)")
        return env

    def start(self, timeout: float = 90.0) -> Server:
        command = [sys.executable, "-m", "gunicorn", "-c", "python:yishi.gunicorn_conf", "yishi.wsgi:application"]
        self.process = subprocess.Popen(command, env=self.environment(), stdout=self.log, stderr=self.log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.output()}")
            try:
                status, _ = self.get("/healthz")
                if status == 200 and len(self.worker_pids()) >= (self.workers or 1):
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s:\n{self.output()}")

    def get(self, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", path, headers=PROXY_HEADERS)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def worker_pids(self) -> list[int]:
        """The workers are the master's children (Linux /proc)."""
        if self.process is None:
            return []
        master = self.process.pid
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid …: comm may hold spaces, so split after its closing parenthesis.
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry.name))
        return sorted(pids)

    def describe(self) -> str:
        from yishi import gunicorn_conf

        threads = self.threads or gunicorn_conf.threads
        workers = len(self.worker_pids())
        return f"{workers} worker{'s' if workers != 1 else ''} × {threads} threads ({gunicorn_conf.worker_class})"

    def web_cpu(self) -> float:
        """CPU seconds used so far by the workers, the replaced ones included."""
        if self.process is None:
            return 0.0
        return cpu_seconds(self.process.pid, children=True) + sum(cpu_seconds(pid) for pid in self.worker_pids())

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-4000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User + system CPU of a process (and, with ``children``, of its reaped children: recycled workers)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # gone
        return 0.0
    # After the command: state ppid … utime (index 11) stime cutime cstime.
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return ticks / _TICK


def postgres_backends() -> list[int]:
    """The PostgreSQL backends connected to this database on this machine (empty when the database is SQLite or
    remote): their CPU is part of a request's cost."""
    from django.db import connection

    if connection.vendor != "postgresql" or connection.settings_dict.get("HOST") not in ("127.0.0.1", "localhost", "", None):
        return []
    marker = f" {connection.settings_dict['NAME']} "
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if title.startswith("postgres:") and marker in title:
                found.append(int(entry.name))
    return found


def memory_kb(pid: int) -> dict[str, int]:
    """Memory of a process in kB: VmRSS (what the target names: every page it touches, shared ones included), Pss
    (shared pages split among their sharers) and Private (the pages only this process holds: what one more worker
    costs)."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            found[key] = int(value.split()[0])
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:  # older kernels
        return found
    for line in rollup:
        key, _, value = line.partition(":")
        if key == "Pss":
            found["Pss"] = int(value.split()[0])
        elif key in ("Private_Clean", "Private_Dirty"):
            found["Private"] = found.get("Private", 0) + int(value.split()[0])
    return found


# --- load generators -------------------------------------------------------------------------------------------

_LUA = r"""
local bodies = { %(bodies)s }
local headers = %(headers)s
local path = %(path)s
local n = 0
local threads = {}

function setup(thread)
  thread:set("offset", #threads * 7919)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  statuses = {}
end

function request()
  n = n + 1
  return wrk.format("POST", path, headers, bodies[((n + offset) %% #bodies) + 1])
end

function response(status, hdrs, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("non2xx") end
  local e = summary.errors
  io.write(string.format(
    'YISHI-RESULT {"requests": %%d, "duration_us": %%d, "non2xx": %%d, "socket_errors": %%d, "p50_us": %%d, "p99_us": %%d}\n',
    summary.requests, summary.duration, bad, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_string(text: str) -> str:
    level = "="
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


def wrk_script(path: str, bodies: list[bytes], headers: dict[str, str]) -> str:
    lua_headers = "{ " + ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()) + " }"
    return _LUA % {
        "bodies": ",\n  ".join(_lua_string(b.decode("ascii")) for b in bodies),
        "headers": lua_headers,
        "path": _lua_string(path),
    }


def parse_wrk(output: str) -> LoadResult:
    for line in output.splitlines():
        if line.startswith("YISHI-RESULT "):
            data = json.loads(line.split(" ", 1)[1])
            errors = data["non2xx"] + data["socket_errors"]
            return LoadResult(
                requests=data["requests"], seconds=data["duration_us"] / 1e6, errors=errors,
                p50_ms=data["p50_us"] / 1000, p99_ms=data["p99_us"] / 1000, tool="wrk",
                statuses={"non-2xx": data["non2xx"], "socket errors": data["socket_errors"]} if errors else {},
            )
    raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")


def run_wrk(port: int, path: str, bodies: list[bytes], headers: dict[str, str], *, connections: int, seconds: float) -> LoadResult:
    """POST ``bodies`` in turn to ``path`` for ``seconds`` over ``connections`` keep-alive connections (one wrk
    thread: one event loop is plenty at these rates and leaves the cores to the server)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", encoding="ascii") as script:
        script.write(wrk_script(path, bodies, {**headers, **PROXY_HEADERS}))
        script.flush()
        command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
                   "-s", script.name, f"http://127.0.0.1:{port}{path}"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-2000:]}")
    return parse_wrk(done.stdout)


def run_python(
    port: int, requests: Callable[[int], Request], *, connections: int, seconds: float | None = None, count: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """The Python client: ``connections`` threads, each with its own keep-alive connection, sending
    ``requests(i)`` for i = 0, 1, … until ``count`` requests were sent or ``seconds`` passed."""
    lock = threading.Lock()
    counter = iter(range(count if count is not None else sys.maxsize))
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    deadline = time.monotonic() + seconds if seconds is not None else None

    def next_index() -> int | None:
        with lock:
            if deadline is not None and time.monotonic() >= deadline:
                return None
            return next(counter, None)

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        seen: Counter[str] = Counter()
        while (i := next_index()) is not None:
            req = requests(i)
            started = time.perf_counter()
            try:
                conn.request(req.method, req.path, body=req.body or None, headers={**req.headers, **PROXY_HEADERS})
                response = conn.getresponse()
                response.read()
                seen[str(response.status)] += 1
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                seen[type(exc).__name__] += 1
                conn.close()
            mine.append((time.perf_counter() - started) * 1000)
            if on_progress is not None and i and i % 1000 == 0:
                on_progress(i)
        conn.close()
        with lock:
            latencies.extend(mine)
            statuses.update(seen)

    started = time.perf_counter()
    workers = [threading.Thread(target=client, daemon=True) for _ in range(connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    errors = sum(n for status, n in statuses.items() if not status.startswith("2"))
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0

    return LoadResult(requests=len(latencies), seconds=elapsed, errors=errors, p50_ms=pct(50), p99_ms=pct(99),
                      statuses=dict(statuses), tool="python")


# --- what the figures send ---------------------------------------------------------------------------------------


def bench_token(user: Any, scopes: list[str]) -> str:
    """A fresh API token for ``user`` (made through the service, so audited like any other)."""
    from yishi.accounts.services import token_create

    _, secret = token_create(actor=user, user=user, name="yishi bench", scopes=scopes)
    return secret


def revoke_bench_tokens(user: Any) -> None:
    from yishi.accounts.models import ApiToken
    from yishi.accounts.services import token_revoke

    for token in ApiToken.objects.filter(user=user, name="yishi bench", revoked_at__isnull=True):
        token_revoke(actor=user, token=token)


def intake_bodies(ctx: BenchContext, n: int, seed: int) -> list[bytes]:
    """JSON bodies of ``POST /api/appeals``: generated appeals, as a resident's phone would send them."""
    from .figures import intake_inputs

    bodies = []
    for data in intake_inputs(ctx, n, seed):
        payload = {"nature": data.nature, "category": data.category_id, "title": data.title, "text": data.text,
                   "org_unit": data.org_unit_id, "address": "某某路 12 号", "consent_contact": True}
        bodies.append(json.dumps(payload).encode("ascii"))  # ASCII-escaped: wrk's Lua strings carry bytes as-is
    return bodies


def load(port: int, path: str, bodies: list[bytes], token: str, *, connections: int, seconds: float) -> LoadResult:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    if shutil.which("wrk"):
        return run_wrk(port, path, bodies, headers, connections=connections, seconds=seconds)
    return run_python(port, lambda i: Request("POST", path, bodies[i % len(bodies)], headers), connections=connections, seconds=seconds)


def measured(server: Server, run: Callable[[], LoadResult]) -> LoadResult:
    """``run()`` with the CPU that the workers and the database backends spent on it, per request."""
    db_before = {pid: cpu_seconds(pid) for pid in postgres_backends()}
    web = server.web_cpu()
    result = run()
    if result.requests:
        result.web_cpu_ms = (server.web_cpu() - web) * 1000 / result.requests
        db_after = {pid: cpu_seconds(pid) for pid in postgres_backends()}
        if db_after:
            # Backends opened during the run count from zero; one closed during it loses its share (rare: they
            # live DB_CONN_MAX_AGE seconds past their last use).
            spent = sum(max(0.0, cpu - db_before.get(pid, 0.0)) for pid, cpu in db_after.items())
            result.db_cpu_ms = spent * 1000 / result.requests
    return result


def _cpu_note(results: list[LoadResult]) -> str:
    web = [r.web_cpu_ms for r in results if r.web_cpu_ms is not None]
    db = [r.db_cpu_ms for r in results if r.db_cpu_ms is not None]
    if not web:
        return "—"
    return f"web {statistics.median(web):.2f}" + (f" + db {statistics.median(db):.2f}" if db else "") + " ms CPU/request"


def figure_http_intake(ctx: BenchContext, runs: int, *, seconds: float = 10.0, connections: int = 8) -> list[Figure]:
    """``POST /api/appeals`` by a resident's write token against gunicorn: requests/s, p50 and p99 over
    ``connections`` keep-alive connections for ``seconds`` per run; reference: the bare Django view answering the
    same JSON, measured in the same run against the same server."""
    from .figures import Figure

    rate = Figure("appeal intake (HTTP)", "req/s", "≥ 300 req/s; ratio ≥ 0.3", reference_name="bare Django view")
    latency = Figure("appeal intake (HTTP) latency", "ms p99", "p99 ≤ 100 ms", higher_is_better=False)
    token = bench_token(ctx.resident, ["write"])
    bodies = intake_bodies(ctx, 200, seed=5000)
    results: list[LoadResult] = []
    bare: list[LoadResult] = []
    try:
        with Server() as server:
            # Warm both paths (imports, connections, caches) before anything is counted.
            warm = max(1.0, seconds / 5)
            load(server.port, INTAKE_PATH, bodies, token, connections=connections, seconds=warm)
            load(server.port, BARE_PATH, bodies, token, connections=connections, seconds=warm)
            for _ in range(runs):
                results.append(measured(server, partial(load, server.port, INTAKE_PATH, bodies, token, connections=connections, seconds=seconds)))
                bare.append(measured(server, partial(load, server.port, BARE_PATH, bodies, token, connections=connections, seconds=seconds)))
            shape = server.describe()
            notes = server.notes
    finally:
        revoke_bench_tokens(ctx.resident)
    rate.samples = [r.rate for r in results]
    rate.reference = [r.rate for r in bare]
    latency.samples = [r.p99_ms for r in results]
    errors = sum(r.errors for r in results)
    rate.errors = latency.errors = errors + sum(r.errors for r in bare)
    statuses = Counter[str]()
    for r in [*results, *bare]:
        statuses.update({status: n for status, n in r.statuses.items() if not status.startswith("2")})
    setup = f"{results[0].tool}, {connections} connections × {seconds:g} s per run, {shape}"
    rate.note = (f"{setup}; intake {_cpu_note(results)}, bare {_cpu_note(bare)}; "
                 f"errors (non-2xx): {errors} of {sum(r.requests for r in results)}"
                 + (f" {dict(statuses)}" if statuses else "") + (f"; {'; '.join(notes)}" if notes else ""))
    latency.note = (f"p50 {statistics.median(r.p50_ms for r in results):.1f} ms; bare view p50 "
                    f"{statistics.median(r.p50_ms for r in bare):.1f} ms, p99 {statistics.median(r.p99_ms for r in bare):.1f} ms")
    return [rate, latency]


def mixed_requests(ctx: BenchContext, resident_token: str, staff_token: str, staff_session: str) -> Callable[[int], Request]:
    """The request mix of the memory figure, by index: intake POSTs, API lists with filters, API details, and the
    staff list and detail pages (session cookie), in the proportions of a working day's traffic."""
    from django.conf import settings

    from yishi.appeals.models import Appeal

    bodies = intake_bodies(ctx, 100, seed=7000)
    in_scope = Appeal.objects.filter(org_unit__path__startswith=ctx.district.path) if ctx.district else Appeal.objects.none()
    ids = list(in_scope.order_by("-pk").values_list("pk", flat=True)[:500]) or [0]
    filters = ["", "state=in_progress", "overdue=true", "nature=complaint", f"org_unit_id={ctx.communities[0]}"]
    post = {"Content-Type": "application/json", "Authorization": f"Bearer {resident_token}"}
    read = {"Authorization": f"Bearer {staff_token}"}
    page = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={staff_session}"}

    def make(i: int) -> Request:
        kind = i % 10
        if kind < 3:
            return Request("POST", INTAKE_PATH, bodies[i % len(bodies)], post)
        if kind < 6:
            return Request("GET", f"/api/appeals?page_size=50&{filters[(i + i // 10) % len(filters)]}", headers=read)
        if kind < 9:
            return Request("GET", f"/api/appeals/{ids[(i + i // 10) % len(ids)]}", headers=read)
        if i % 20 == 9:
            return Request("GET", "/appeals/?page=1", headers=page)
        return Request("GET", f"/appeals/{ids[(i // 10) % len(ids)]}/", headers=page)

    return make


def staff_session(user: Any) -> str:
    """A signed-in session of ``user`` in the session store the server reads (database or cached database)."""
    from django.test import Client

    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    from django.conf import settings

    return client.cookies[settings.SESSION_COOKIE_NAME].value


def figure_worker_memory(ctx: BenchContext, *, requests: int = 10_000, connections: int = 4) -> Figure:
    """RSS of one gunicorn worker (one worker serves everything) after ``requests`` mixed requests, with worker
    recycling off, so the figure is what the code itself keeps; the growth between checkpoints is in the note."""
    from .figures import Figure

    fig = Figure("web worker memory", "MB RSS", "≤ 150 MB after 10,000 requests", higher_is_better=False)
    resident_token = bench_token(ctx.resident, ["write"])
    staff_token = bench_token(ctx.staff, ["read"])
    make = mixed_requests(ctx, resident_token, staff_token, staff_session(ctx.staff))
    try:
        with Server(workers=1, max_requests=0) as server:
            (pid,) = server.worker_pids()
            checkpoints = {0: memory_kb(pid)}

            def progress(done: int) -> None:
                if done in (1000, requests // 2):
                    checkpoints[done] = memory_kb(pid)

            result = run_python(server.port, make, connections=connections, count=requests, on_progress=progress)
            if server.worker_pids() != [pid]:
                raise RuntimeError("the worker was replaced during the memory figure")
            checkpoints[requests] = memory_kb(pid)
            master = memory_kb(server.process.pid) if server.process else {}
            shape = server.describe()
    finally:
        revoke_bench_tokens(ctx.resident)
        revoke_bench_tokens(ctx.staff)
    final = checkpoints[requests]
    fig.samples = [final["VmRSS"] / 1024]
    fig.errors = result.errors
    trail = ", ".join(f"{n:,}: {kb['VmRSS'] / 1024:.0f}" for n, kb in sorted(checkpoints.items()))
    fig.note = (f"{shape}, no recycling; VmRSS after n requests (MB) {trail}; "
                f"private {final.get('Private', 0) / 1024:.0f} MB, PSS {final.get('Pss', 0) / 1024:.0f} MB; "
                f"master {master.get('VmRSS', 0) / 1024:.0f} MB; "
                f"{result.requests:,} requests in {result.seconds:.0f} s, errors (non-2xx): {result.errors}"
                + (f" {({k: v for k, v in result.statuses.items() if not k.startswith('2')})}" if result.errors else ""))
    return fig

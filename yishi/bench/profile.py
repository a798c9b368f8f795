"""Profile the intake path (``appeal_submit``, dispatching by rule at intake: the bench district runs under a copy of
its profile with ``appeals.auto_dispatch`` on) on the benchmark database.

    DATABASE_URL=… python -m yishi.bench.profile 300             rate, Python CPU and wall time per appeal
    DATABASE_URL=… python -m yishi.bench.profile 1 queries       the statements of one appeal
    DATABASE_URL=… python -m yishi.bench.profile 300 pyinstrument the call tree (wall time)

The first 200 appeals warm the process (connections, reference cache) and are not measured. docs/benchmarks.md
("Intake profile") has the figures this gave.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yishi.settings")
    import django

    django.setup()
    from yishi.bench.figures import BenchContext, auto_dispatch

    n = int(argv[0]) if argv else 300
    mode = argv[1] if len(argv) > 1 else "time"
    ctx = BenchContext()
    with auto_dispatch(ctx):
        run(ctx, n, mode)


def run(ctx: Any, n: int, mode: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from yishi.bench.figures import _intake_worker, intake_inputs

    warm, inputs = 200, intake_inputs(ctx, n + 200, seed=7)
    _intake_worker(ctx, inputs[:warm])
    measured: list[Any] = inputs[warm:]
    if mode == "queries":
        with CaptureQueriesContext(connection) as captured:
            _intake_worker(ctx, measured[:1])
        for query in captured.captured_queries:
            print(query["sql"][:160])
        print(f"statements for one appeal: {len(captured.captured_queries)}")
    elif mode == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        _intake_worker(ctx, measured)
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False))
    else:
        cpu, wall = time.process_time(), time.perf_counter()
        dispatched = _intake_worker(ctx, measured)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"{n / wall:.1f} appeals/s, {dispatched}/{n} dispatched; Python CPU {cpu / n * 1000:.2f} ms and wall "
              f"{wall / n * 1000:.2f} ms per appeal")


if __name__ == "__main__":
    main(sys.argv[1:])

"""``yishi bench generate|run|smoke``: the benchmark harness (docs/benchmarks.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Benchmarks: 'generate N' builds a data set, 'run' measures the figures, 'smoke' does both tiny."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["generate", "run", "smoke"])
        parser.add_argument("count", nargs="?", type=int, default=10000, help="appeals to generate")
        parser.add_argument("--districts", type=int, default=4)
        parser.add_argument("--streets", type=int, default=5)
        parser.add_argument("--communities", type=int, default=6)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--workers", type=int, default=None, help="processes rendering rows (default: CPUs, at most 4)")
        parser.add_argument("--keep-indexes", action="store_true", help="never drop and rebuild the indexes around the load")
        parser.add_argument("--runs", type=int, default=5)
        parser.add_argument("--intake", type=int, default=500, help="appeals per intake run")
        parser.add_argument("--intake-procs", type=int, nargs="+", default=[1],
                            help="processes sharing the intake (one table row per number given, e.g. 1 2)")
        parser.add_argument("--requests", type=int, default=200, help="requests for page figures")
        parser.add_argument("--import-rows", type=int, default=20000, help="rows of the CSV file per import run")
        parser.add_argument("--http-seconds", type=float, default=10, help="seconds of load per HTTP run")
        parser.add_argument("--connections", type=int, default=8, help="concurrent connections of the HTTP load")
        parser.add_argument("--memory-requests", type=int, default=10000, help="requests before the worker's RSS is read")
        parser.add_argument("--only", nargs="*", default=None, help="figures to run")
        parser.add_argument("--write", action="store_true", help="append the table to docs/benchmarks.md")

    def handle(self, *args: Any, **opts: Any) -> None:
        from yishi.bench.generate import CityShape, generate

        action = opts["action"]
        if action == "smoke":
            call_command("migrate", verbosity=0, interactive=False)
            opts.update(count=300, runs=1, intake=30, requests=16, http_seconds=1, connections=2, memory_requests=200, import_rows=200)
        if action in ("generate", "smoke"):
            shape = CityShape(opts["districts"], opts["streets"], opts["communities"])

            def progress(done: int) -> None:
                sys.stdout.write(f"\r  {done:,} / {opts['count']:,} appeals")
                sys.stdout.flush()

            result = generate(opts["count"], shape, seed=opts["seed"], workers=opts["workers"],
                              rebuild_indexes=False if opts["keep_indexes"] else None, progress=progress)
            from yishi.bench.routing import ensure_routing_rules

            rules = ensure_routing_rules()
            self.stdout.write(
                f"\nrouting rules: {rules} created" if rules else "\nrouting rules: present"
            )
            self.stdout.write(
                f"generated {result.appeals:,} appeals in {result.seconds:.1f} s ({result.rate:,.0f}/s); "
                f"{result.communities} communities; indexes rebuilt in {result.index_seconds:.1f} s; corpus {'used' if result.used_corpus else 'absent: templates only'}"
            )
        if action in ("run", "smoke"):
            self._run(opts, " ".join(["yishi", "bench", *sys.argv[2:]]) if len(sys.argv) > 2 else "yishi bench run")

    def _run(self, opts: dict[str, Any], command: str) -> None:
        from yishi.appeals.models import Appeal
        from yishi.bench import figures as F
        from yishi.bench.report import append_results, table

        ctx = F.BenchContext()
        wanted = opts["only"] or list(F.FIGURES)
        results: list[F.Figure] = []
        for name in wanted:
            fn: Any = F.FIGURES[name]
            self.stdout.write(f"measuring {name}…")
            if name == "intake_service":
                results.extend(fn(ctx, opts["intake"], opts["runs"], procs=procs) for procs in opts["intake_procs"])
            elif name == "list_api":
                results.append(fn(ctx, opts["requests"]))
            elif name == "csv_import":
                results.append(fn(ctx, opts["import_rows"], opts["runs"]))
            elif name == "http_intake":
                results.extend(fn(ctx, opts["runs"], seconds=opts["http_seconds"], connections=opts["connections"]))
            elif name == "worker_memory":
                results.append(fn(ctx, requests=opts["memory_requests"]))
            else:
                results.append(fn(ctx, opts["runs"]))
        body = table(results, Appeal.objects.count())
        self.stdout.write(body)
        failed = [f.name for f in results if f.errors]
        if failed and opts["action"] == "smoke":
            # No thresholds in the smoke, but a figure whose requests fail measures nothing: the harness has rotted.
            raise CommandError(f"requests failed while measuring: {', '.join(failed)}")
        if opts["write"]:
            append_results(Path("docs/benchmarks.md"), "Results", command, body)

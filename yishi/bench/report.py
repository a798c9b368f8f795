"""Printing the results table and writing docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
from datetime import datetime
from pathlib import Path

from django.db import connection

from .figures import Figure


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {connection.vendor} {connection.display_name}"


def table(figures: list[Figure], appeals: int) -> str:
    lines = [
        f"Database: {connection.vendor}, {appeals:,} appeals. Machine: {machine()}.",
        "",
        "| figure | median | min | max | unit | reference (median) | ratio | target | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        ref = _fmt(sorted(f.reference)[len(f.reference) // 2]) if f.reference else "—"
        lines.append(
            f"| {f.name} | {_fmt(f.median)} | {_fmt(min(f.samples) if f.samples else None)} | {_fmt(max(f.samples) if f.samples else None)} "
            f"| {f.unit} | {f.reference_name + ' ' if f.reference else ''}{ref} | {_fmt(f.ratio)} | {f.target} | {f.note} |"
        )
    return "\n".join(lines)


def append_results(path: Path, title: str, command: str, body: str) -> None:
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    text += f"\n## {title} ({stamp})\n\nReproduce: `{command}`\n\n{body}\n"
    path.write_text(text, encoding="utf-8")

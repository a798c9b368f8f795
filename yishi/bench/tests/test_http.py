"""The HTTP figures' parts that need no running server; the figures themselves run end to end against gunicorn in
`yishi bench smoke`, which CI runs (.ci/run) and which fails when any of their requests fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.test import Client, RequestFactory

from yishi.appeals.schemas import AppealReceiptOut
from yishi.bench.http import _lua_string, parse_wrk, wrk_script
from yishi.bench.views import bare_intake

ROOT = Path(__file__).resolve().parents[3]


def test_the_bare_view_is_not_routed_outside_bench_mode(db):
    assert Client().post("/bench/bare-intake", "{}", content_type="application/json").status_code == 404


def test_the_bare_view_answers_what_the_intake_answers():
    response = bare_intake(RequestFactory().post("/bench/bare-intake", "{}", content_type="application/json"))
    assert response.status_code == 201
    body = json.loads(response.content)
    assert set(body) == set(AppealReceiptOut.model_fields)
    AppealReceiptOut.model_validate(body)
    assert bare_intake(RequestFactory().get("/bench/bare-intake")).status_code == 405


def test_lua_strings_survive_any_text():
    assert _lua_string('{"a": "b"}') == '[=[{"a": "b"}]=]'
    assert _lua_string("x]=]y]==]") == "[===[x]=]y]==]]===]"
    script = wrk_script("/api/appeals", [b'{"t": "]=]"}'], {"Authorization": "Bearer ysk_x"})
    assert '[ [=[Authorization]=] ] = [=[Bearer ysk_x]=]' in script and '[==[{"t": "]=]"}]==]' in script


def test_wrk_result_counts_non_2xx_and_socket_errors():
    out = ("Running 1s test\n"
           'YISHI-RESULT {"requests": 500, "duration_us": 2000000, "non2xx": 3, "socket_errors": 2, "p50_us": 4000, "p99_us": 90000}\n')
    result = parse_wrk(out)
    assert (result.requests, result.errors, result.rate, result.p50_ms, result.p99_ms) == (500, 5, 250.0, 4.0, 90.0)
    assert parse_wrk(out.replace('"non2xx": 3, "socket_errors": 2', '"non2xx": 0, "socket_errors": 0')).errors == 0


def test_gunicorn_accepts_the_production_config(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "yishi.settings", "YISHI_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", "-c", "python:yishi.gunicorn_conf", "yishi.wsgi:application"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr

"""gunicorn settings for the production web process: ``gunicorn -c python:yishi.gunicorn_conf yishi.wsgi``.

Every value can be overridden from the environment (the ``GUNICORN_*`` variables below, ``WEB_CONCURRENCY`` for
the process count) or on the command line, which wins over this file. The choices and their measurements are in
docs/operations.md ("Running gunicorn") and docs/benchmarks.md ("Intake over HTTP").
"""

from __future__ import annotations

import gc
import os
from typing import Any


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")

# Processes: one per core plus one. Each process runs a few threads (gthread), so a request waiting on PostgreSQL
# (the intake's commit and fsync) lets another run; more processes would only add memory on a small server, the
# GIL-bound Python work needs cores, not processes. gthread also keeps connections alive (the sync worker closes
# every connection), so nginx's upstream keepalive and the load generator reuse them.
workers = _int("WEB_CONCURRENCY", (os.cpu_count() or 1) + 1)
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)

# Memory guard: a worker is replaced after this many requests (jittered, so the workers do not all restart at
# once). Yishi has no known leak; this caps what caches and fragmentation can grow to. 0 turns it off.
max_requests = _int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", max(0, max_requests // 10))

# Behind nginx (upstream keepalive): keep idle connections a few seconds so nginx reuses them.
keepalive = _int("GUNICORN_KEEPALIVE", 5)
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30

# nginx writes the access log; gunicorn's own would be a second, unbuffered write per request. Set
# GUNICORN_ACCESS_LOG=- to get it on stdout anyway (e.g. without nginx).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Load Django once in the master and fork the workers from it: faster (re)starts after max_requests and shared
# memory pages. Upgrades therefore need a restart (systemctl restart), not a HUP.
preload_app = True

# Only nginx on this host sets X-Forwarded-* (Django trusts X-Forwarded-Proto: SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

# The heartbeat file in memory, not on a disk that may stall under load.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None


def when_ready(server: Any) -> None:
    """In the master, once, before the first fork: load what Django would otherwise load lazily in every worker on
    its first request (the URLconf with the API's routers and schemas, the translation catalogues), so that the
    workers share it instead of each building its own copy."""
    if not server.cfg.preload_app:
        return
    from django.conf import settings
    from django.urls import get_resolver
    from django.utils import translation

    get_resolver()._populate()
    for code, _ in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("议事")


def pre_fork(server: Any, worker: Any) -> None:
    """In the master before each fork: no database connection may be inherited by a worker (two processes would
    speak on one socket), and the objects loaded so far are frozen out of the cyclic GC, whose passes would
    otherwise write to every page and undo the sharing that preload_app gives."""
    if not server.cfg.preload_app:  # Django was never loaded in the master
        return
    from django.db import connections

    connections.close_all()
    gc.freeze()

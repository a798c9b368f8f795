"""Read replicas for the dashboards.

When ``DATABASE_REPLICA_URL`` is set, settings add a ``replica`` database and this router. Reads made inside
``replica_reads()`` — the statistics and dashboard selectors and the exports built on them, marked with
``@reads_from_replica`` — go to the replica; every other read, and every write without exception, goes to the
primary (``default``). A read inside a transaction on the primary stays on the primary, so a service never
reads a replica that has not yet seen its own writes.

A streaming replica lags the primary by a fraction of a second to a few seconds (more under heavy writes or
after a network hiccup): a dashboard may not yet count an appeal submitted a moment ago. Nothing that decides or
changes anything reads the replica. Decorate only functions that evaluate their queries before returning: the
routing is decided when a query runs, so a lazy QuerySet handed back and evaluated later reads the primary.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
_replica_reads: ContextVar[bool] = ContextVar("yishi_replica_reads", default=False)

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def replica_reads() -> Iterator[None]:
    """Route the reads made inside this block to the replica (when one is configured)."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def reads_from_replica(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` inside ``replica_reads()``: for selectors that only read and evaluate their queries."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with replica_reads():
            return func(*args, **kwargs)

    return wrapper


class ReplicaRouter:
    """Dashboards read the replica; everything else reads and writes the primary; migrations run on the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        if (
            _replica_reads.get()
            and REPLICA in settings.DATABASES
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the replica holds the primary's rows: objects from either may be related

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS

"""An in-process cache of the reference data every service reads and operators rarely change: effective policy
profiles, the org tree, handling units, the category catalogue, routing rules, the calendar's overrides, and who
holds which role (a user's grants, the people a notification goes to).

Validity is one token in the database (``PolicyGeneration``). Triggers on the watched tables give it a new random
value in the same transaction as any change to them, whoever writes — a service, the admin, a shell, raw SQL — so
a process that sees a token other than the one its cache was filled under drops the whole cache. A process checks
the token once per *pinned scope*: a service call (``appeal_submit``, ``run_transition``) or a request
(``PinPerRequestMiddleware``), so one scope reads one generation of the reference data, as one transaction would;
outside a scope every lookup checks it. Writes through the ORM in this process also drop the cache at once
(signals), so a scope that changes reference data reads its own change.

The values handed out are shared between callers: treat them as read-only.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.apps import apps
from django.db import connection
from django.db.models.signals import m2m_changed, post_delete, post_save

T = TypeVar("T")

# Models whose tables carry the triggers, as app labels; their auto-created many-to-many tables are watched too.
WATCHED_MODELS = [
    "policy.PolicyProfile",
    "policy.WorkdayOverride",
    "orgs.OrgUnit",
    "orgs.HandlingUnit",
    "appeals.Category",
    "appeals.RoutingRule",
    "accounts.RoleAssignment",
]

_TABLE = "policy_policygeneration"


class _Store:
    __slots__ = ("data", "token")

    def __init__(self, token: int | None) -> None:
        self.token = token
        self.data: dict[str, dict[Hashable, Any]] = {}


_store = _Store(None)
_lock = threading.Lock()
# The token read in the current pinned scope: a one-item list (None until the first lookup), or None outside.
_pin: ContextVar[list[int | None] | None] = ContextVar("yishi_policy_pin", default=None)


def _read_token() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT token FROM {_TABLE} WHERE id = 1")
        row = cursor.fetchone()
        if row is not None:
            return int(row[0])
        # The row is gone (a test flushed the tables): put one back; until it commits this scope alone sees it.
        token = random.getrandbits(62)
        cursor.execute(f"INSERT INTO {_TABLE} (id, token) VALUES (1, %s) ON CONFLICT (id) DO NOTHING", [token])
        return token


def current_token() -> int:
    """The generation this scope reads (checked in the database once per pinned scope, else every call)."""
    pin = _pin.get()
    if pin is None:
        return _read_token()
    token = pin[0]
    if token is None:
        token = pin[0] = _read_token()
    return token


def cached(namespace: str, key: Hashable, load: Callable[[], T]) -> T:
    """The value of ``key`` in ``namespace`` for the current generation, loading it with ``load()`` once."""
    global _store
    token = current_token()
    store = _store
    if store.token != token:
        with _lock:
            if _store.token != token:
                _store = _Store(token)
            store = _store
    bucket = store.data.get(namespace)
    if bucket is None:
        bucket = store.data.setdefault(namespace, {})
    try:
        return bucket[key]  # type: ignore[no-any-return]
    except KeyError:
        value = bucket[key] = load()
        return value


def forget(*_args: Any, **_kwargs: Any) -> None:
    """Drop this process's cache and make the current scope read the token again (its own writes included)."""
    global _store
    with _lock:
        _store = _Store(None)
    pin = _pin.get()
    if pin is not None:
        pin[0] = None


@contextmanager
def pinned() -> Iterator[None]:
    """Read one generation of the reference data within the block (nested blocks share the outer one)."""
    if _pin.get() is not None:
        yield
        return
    reset = _pin.set([None])
    try:
        yield
    finally:
        _pin.reset(reset)


class PinPerRequestMiddleware:
    """Checks the generation at most once per request."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        with pinned():
            return self.get_response(request)


def watched_tables() -> list[str]:
    """The watched models' tables, with their auto-created many-to-many tables."""
    tables: list[str] = []
    for label in WATCHED_MODELS:
        model = apps.get_model(label)
        tables.append(model._meta.db_table)
        tables += [f.remote_field.through._meta.db_table for f in model._meta.local_many_to_many
                   if f.remote_field.through._meta.auto_created]
    return tables


def connect_signals() -> None:
    """Writes through the ORM in this process drop the cache at once (the triggers tell the other processes)."""
    for label in WATCHED_MODELS:
        model = apps.get_model(label)
        post_save.connect(forget, sender=model, dispatch_uid=f"yishi.policy.cache.save.{label}")
        post_delete.connect(forget, sender=model, dispatch_uid=f"yishi.policy.cache.delete.{label}")
        for f in model._meta.local_many_to_many:
            m2m_changed.connect(forget, sender=f.remote_field.through, dispatch_uid=f"yishi.policy.cache.m2m.{label}.{f.name}")


def install_triggers(using: Any = None) -> None:
    """Create the generation row and the triggers on every watched table (idempotent; run after every migrate,
    because SQLite drops a table's triggers when a migration rebuilds it)."""
    conn = using or connection
    token = random.getrandbits(62)
    existing = set(conn.introspection.table_names())
    tables = [t for t in watched_tables() if t in existing]  # a partial migrate may not have made them all yet
    with conn.cursor() as cursor:
        cursor.execute(f"INSERT INTO {_TABLE} (id, token) VALUES (1, %s) ON CONFLICT (id) DO NOTHING", [token])
        if conn.vendor == "postgresql":
            cursor.execute(
                "CREATE OR REPLACE FUNCTION yishi_policy_generation_bump() RETURNS trigger AS $$ BEGIN "
                f"UPDATE {_TABLE} SET token = floor(random() * 4611686018427387903)::bigint WHERE id = 1; "
                "RETURN NULL; END $$ LANGUAGE plpgsql"
            )
            for table in tables:
                cursor.execute(
                    f"CREATE OR REPLACE TRIGGER yishi_policy_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                    f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION yishi_policy_generation_bump()"
                )
        elif conn.vendor == "sqlite":
            for table in tables:
                for event in ("INSERT", "UPDATE", "DELETE"):
                    cursor.execute(
                        f"CREATE TRIGGER IF NOT EXISTS yishi_gen_{table}_{event.lower()} AFTER {event} ON {table} "
                        f"BEGIN UPDATE {_TABLE} SET token = random() WHERE id = 1; END"
                    )
        else:  # pragma: no cover - Yishi runs on PostgreSQL or SQLite
            raise RuntimeError(f"no policy generation triggers for {conn.vendor}")
    forget()

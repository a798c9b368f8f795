"""Writing and verifying the audit chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from yishi.core.bulk import build, bulk_insert
from yishi.core.middleware import current_request_id

from .choices import SYSTEM_ACTOR
from .models import AuditChainHead, AuditEvent

GENESIS = "0" * 64
# ``json.dumps`` with options builds an encoder per call; the canonical form encodes every string and key with one.
_json_text = json.JSONEncoder(ensure_ascii=False).encode


def to_jsonable(value: Any) -> Any:
    """Turn model field values (dates, decimals, UUIDs…) into plain JSON values, as stored."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    """The values of ``fields`` of ``obj`` (FKs by id), ready to store as before/after."""
    data: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        attname = getattr(field, "attname", name)
        data[name] = getattr(obj, attname)
    return to_jsonable(data)


def _canonical_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> str:
    """A canonical JSON text of a stored value: sorted keys, no spaces, and each number written as its normalised
    decimal. The number rule matters because PostgreSQL's jsonb gives back ``1e16`` as ``10000000000000000`` and
    ``-0.0`` as ``0.0``: the same value in another form must not look like a tampered row."""
    if value is None or isinstance(value, bool | str):
        return _json_text(value)
    if isinstance(value, int | float):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return "0" if number == 0 else str(number.normalize())
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical_json(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda item: str(item[0]))
        return "{" + ",".join(f"{_json_text(str(k))}:{canonical_json(v)}" for k, v in items) + "}"
    return canonical_json(to_jsonable(value))


def compute_hash(event: AuditEvent, prev_hash: str) -> str:
    payload = {
        "seq": event.seq,
        "at": _canonical_time(event.at),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "code": event.code,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "request_id": event.request_id,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def _subject_ref(subject: Any) -> tuple[str, str]:
    if subject is None:
        return "", ""
    if isinstance(subject, tuple):
        return str(subject[0]), str(subject[1])
    return subject._meta.label_lower, str(subject.pk)


def _event(actor: Any, code: str, subject: Any, before: dict[str, Any] | None, after: dict[str, Any] | None,
           reason: str, at: datetime, request_id: str) -> AuditEvent:
    """An event not yet linked into the chain (no seq, prev_hash or hash)."""
    subject_type, subject_id = _subject_ref(subject)
    return build(AuditEvent, {
        "at": at,
        "actor_id": getattr(actor, "pk", None) if actor is not None else None,
        "actor_label": (str(actor) if actor is not None else SYSTEM_ACTOR)[:150],
        "code": code,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "before": to_jsonable(before),
        "after": to_jsonable(after),
        "reason": reason or "",
        "request_id": request_id,
    })


def _locked_head() -> AuditChainHead:
    """The chain head, locked until the caller's transaction ends (created on the first append ever)."""
    head, created = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
    if created:
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def _link(event: AuditEvent, head: AuditChainHead) -> None:
    """Give ``event`` the next sequence number after ``head`` and its hash, and move ``head`` to it."""
    event.seq = head.last_seq + 1
    event.prev_hash = head.last_hash
    event.hash = compute_hash(event, head.last_hash)
    head.last_seq, head.last_hash = event.seq, event.hash


def record(
    *,
    actor: Any,
    code: str,
    subject: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction.

    ``actor`` is a user or None for the system. ``subject`` is a model instance or a ``(type, id)`` pair.
    The chain head row is locked until the caller's transaction ends, so appends are serialised and the chain
    has no forks; callers write the audit event last to keep that lock short.
    """
    # No savepoint of its own: an event that cannot be written must fail the change it records, so the caller's
    # transaction is the unit; a savepoint would cost two more round trips on every audited change.
    with transaction.atomic(savepoint=False):
        event = _event(actor, code, subject, before, after, reason, timezone.now(), current_request_id() or "")
        if connection.vendor == "postgresql" and _append_pg(event):
            return event
        head = _locked_head()
        event.at = timezone.now()  # taken under the lock, so times follow the sequence
        _link(event, head)
        event.save()
        head.save(update_fields=["last_seq", "last_hash"])
    return event


_EVENT_COLUMNS = ["seq", "at", "actor_id", "actor_label", "code", "subject_type", "subject_id", "before", "after",
                  "reason", "request_id", "prev_hash", "hash"]
_PG_TAKE_HEAD = "UPDATE audit_auditchainhead SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq, last_hash"
_PG_APPEND = (
    "WITH event AS (INSERT INTO audit_auditevent (" + ", ".join(_EVENT_COLUMNS) + ") VALUES ("
    + ", ".join("%s::jsonb" if c in ("before", "after") else "%s" for c in _EVENT_COLUMNS) + ") RETURNING id) "
    "UPDATE audit_auditchainhead SET last_hash = %s WHERE id = 1 RETURNING (SELECT id FROM event)"
)


def _append_pg(event: AuditEvent) -> bool:
    """Append ``event`` in two statements on PostgreSQL: one UPDATE takes the head (row lock, next ``seq``, previous
    hash), one statement inserts the event and stores its hash in the head. False when there is no head yet."""
    with connection.cursor() as cursor:
        cursor.execute(_PG_TAKE_HEAD)
        row = cursor.fetchone()
        if row is None:
            return False
        event.seq, event.prev_hash = row
        event.at = timezone.now()  # taken under the lock, so times follow the sequence
        event.hash = compute_hash(event, event.prev_hash)
        values = [getattr(event, c) for c in _EVENT_COLUMNS]
        values = [json.dumps(v, ensure_ascii=False) if c in ("before", "after") and v is not None else v
                  for c, v in zip(_EVENT_COLUMNS, values, strict=True)]
        cursor.execute(_PG_APPEND, [*values, event.hash])
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    return True


@dataclass(frozen=True)
class PendingEvent:
    """One event for ``record_many``: what ``record`` takes besides the actor."""

    code: str
    subject: Any = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str = ""


def record_many(*, actor: Any, events: Sequence[PendingEvent], batch_size: int = 1000) -> list[AuditEvent]:
    """Append ``events`` in order, inside the caller's transaction, under one lock of the chain head.

    The chain is the one as many ``record`` calls would have written (same hashes, consecutive ``seq``), but the
    rows go in together (``yishi.core.bulk``: COPY on PostgreSQL) and the head is updated once: a bulk job (the
    hotline import) pays one lock round-trip and leaves one head row version per call instead of one per event
    (decision 0002, step 1). The events share one timestamp, the time of the call.
    """
    if not events:
        return []
    request_id = current_request_id() or ""
    with transaction.atomic():
        head = _locked_head()
        at = timezone.now()
        rows = [_event(actor, e.code, e.subject, e.before, e.after, e.reason, at, request_id) for e in events]
        for row in rows:
            _link(row, head)
        bulk_insert(rows, batch_size=batch_size)
        head.save(update_fields=["last_seq", "last_hash"])
    return rows


@dataclass(frozen=True)
class ChainProblem:
    event_id: int | None
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"row id={self.event_id} seq={self.seq}" if self.event_id is not None else f"seq={self.seq}"
        return f"{where}: {self.problem}"


def verify_chain(batch_size: int = 5000) -> list[ChainProblem]:
    """Recompute the chain. Returns the problems found (an empty list means the chain is intact).

    Detects: a row whose content no longer matches its hash (edited), a row whose prev_hash does not match the row
    before it or a gap in the sequence (deleted or inserted rows), and a head that points past the last row
    (deleted tail).
    """
    problems: list[ChainProblem] = []
    prev_hash = GENESIS
    expected_seq = 1
    last_seq = 0
    qs = AuditEvent.objects.order_by("seq")
    for event in qs.iterator(chunk_size=batch_size):
        if event.seq != expected_seq:
            problems.append(
                ChainProblem(event.id, event.seq, f"sequence gap: expected {expected_seq} (rows deleted)")
            )
        if event.prev_hash != prev_hash:
            problems.append(ChainProblem(event.id, event.seq, "prev_hash does not match the previous row"))
        if compute_hash(event, event.prev_hash) != event.hash:
            problems.append(ChainProblem(event.id, event.seq, "content does not match its hash (row edited)"))
        prev_hash = event.hash
        expected_seq = event.seq + 1
        last_seq = event.seq
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_seq != last_seq or head.last_hash != prev_hash):
        problems.append(
            ChainProblem(None, head.last_seq, f"chain head expects seq {head.last_seq}, last row is {last_seq}")
        )
    return problems


def events_for(subject: Any) -> models.QuerySet[AuditEvent]:
    subject_type, subject_id = _subject_ref(subject)
    return AuditEvent.objects.filter(subject_type=subject_type, subject_id=subject_id).order_by("seq")

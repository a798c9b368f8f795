"""Declared workflows: states, allowed transitions, and one way to run a transition.

A model's workflow is a ``Workflow`` listing its transitions; each transition names the states it may start
from, the state it leads to (or None to stay), the permission rule that allows it and the audit code it writes.
``run_transition`` is the atomic service every caller (page, API, admin, command, task) goes through:

1. lock the row (``SELECT … FOR UPDATE``), so of two concurrent actions exactly one wins;
2. check the actor may see the object (else *not found*) and may perform the transition (else *forbidden*);
3. check the current state allows it (else *transition not allowed*) and the reason, when one is required;
4. apply the change, save only the changed fields;
5. write the audit event; 6. schedule side effects (notifications, tasks) for after the commit.

``available(user, obj)`` answers "what can this user do to this object now" for buttons and the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import models, transaction

from yishi.policy import cache as policy_cache

from .errors import InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from .permissions import can


@dataclass(frozen=True)
class Transition:
    name: str
    source: frozenset[str]
    target: str | None
    permission: str
    audit_code: str
    label: Any = ""  # a (lazy) translated string
    requires_reason: bool = False
    # Extra precondition on the locked object: returns an error or None. Used for gates ("no meeting without
    # approved research") that depend on more than the state.
    guard: Callable[[Any, Any], Exception | None] | None = field(default=None, compare=False)


class Workflow:
    def __init__(
        self,
        model: type[models.Model],
        *,
        state_field: str = "state",
        view_permission: str,
        transitions: Iterable[Transition],
        tracked_fields: Iterable[str] = (),
        prepare: Callable[[Any], None] | None = None,
    ) -> None:
        self.model = model
        # Called on the locked object before the checks: fills its foreign keys from the reference cache, so the
        # scope checks do not load the same org units from the database on every transition.
        self.prepare = prepare
        self.state_field = state_field
        self.view_permission = view_permission
        self.transitions: dict[str, Transition] = {}
        for t in transitions:
            if t.name in self.transitions:
                raise ValueError(f"duplicate transition {t.name}")
            self.transitions[t.name] = t
        self.tracked_fields = [state_field, *[f for f in tracked_fields if f != state_field]]

    def get(self, name: str) -> Transition:
        try:
            return self.transitions[name]
        except KeyError as exc:
            raise InvalidInput(
                f"未知操作：{name}", f"Unknown action: {name}", code="unknown_action", field="action"
            ) from exc

    def state_of(self, obj: Any) -> str:
        return str(getattr(obj, self.state_field))

    def available(self, user: Any, obj: Any) -> list[Transition]:
        """Transitions this user may run on this object in its current state (guards included)."""
        # Same order as ``check``: an object outside the user's view offers nothing, whatever the transition's rule.
        if not can(user, self.view_permission, obj):
            return []
        state = self.state_of(obj)
        result = []
        for t in self.transitions.values():
            if state not in t.source or not can(user, t.permission, obj):
                continue
            if t.guard is not None and t.guard(obj, user) is not None:
                continue
            result.append(t)
        return result

    def check(self, user: Any, obj: Any, name: str, reason: str = "", *, authorized: bool = False) -> Transition:
        """Raise unless ``user`` may run ``name`` on ``obj`` now. ``authorized`` skips the role checks for callers
        that proved their right another way (a resident's callback link), never the state and reason checks."""
        t = self.get(name)
        if not authorized:
            if not can(user, self.view_permission, obj):
                raise NotFound()
            if not can(user, t.permission, obj):
                raise PermissionDenied()
        if self.state_of(obj) not in t.source:
            raise TransitionNotAllowed(extra={"state": self.state_of(obj)})
        if t.requires_reason and not (reason or "").strip():
            raise InvalidInput("请填写理由", "A reason is required", field="reason", code="reason_required")
        if t.guard is not None:
            problem = t.guard(obj, user)
            if problem is not None:
                raise problem
        return t


def run_transition(
    workflow: Workflow,
    obj_or_pk: Any,
    name: str,
    *,
    actor: Any,
    reason: str = "",
    apply: Callable[[Any], Iterable[str] | None] | None = None,
    after_commit: Callable[[Any], None] | None = None,
    audit_extra: dict[str, Any] | None = None,
    queryset: models.QuerySet[Any] | None = None,
    authorized: bool = False,
) -> Any:
    """Run transition ``name`` on the object atomically; returns the updated object.

    ``apply(obj)`` makes the transition's own changes on the locked object and returns the names of the fields
    it changed; ``after_commit(obj)`` runs once the transaction has committed (notifications, tasks).
    """
    from yishi.audit.services import record

    pk = obj_or_pk.pk if isinstance(obj_or_pk, models.Model) else obj_or_pk
    base = queryset if queryset is not None else workflow.model._default_manager.all()
    # One generation of the reference data (profiles, tree, catalogue) for the whole transition.
    with policy_cache.pinned(), transaction.atomic():
        try:
            obj = base.select_for_update().get(pk=pk)
        except (ObjectDoesNotExist, ValueError, TypeError) as exc:
            raise NotFound() from exc
        if workflow.prepare is not None:
            workflow.prepare(obj)
        event = apply_transition(workflow, obj, name, actor=actor, reason=reason, apply=apply,
                                 audit_extra=audit_extra, authorized=authorized)
        record(**event)
        if after_commit is not None:
            transaction.on_commit(lambda: after_commit(obj))
    return obj


def apply_transition(
    workflow: Workflow,
    obj: Any,
    name: str,
    *,
    actor: Any,
    reason: str = "",
    apply: Callable[[Any], Iterable[str] | None] | None = None,
    audit_extra: dict[str, Any] | None = None,
    authorized: bool = False,
    save: bool = True,
) -> dict[str, Any]:
    """Steps 2–4 of ``run_transition`` on an object the caller already holds locked inside its transaction (one it
    has just inserted, say): check, apply, save the changed fields. Returns the audit event's arguments for
    ``yishi.audit.services.record``, which the caller writes last, so that the chain head is locked for as short
    a time as possible. ``save=False`` leaves the saving to the caller: an object not inserted yet is inserted
    with the transition applied, one statement instead of two."""
    from yishi.audit.services import snapshot

    t = workflow.check(actor, obj, name, reason, authorized=authorized)
    before = snapshot(obj, workflow.tracked_fields)
    changed: set[str] = set()
    if t.target is not None and workflow.state_of(obj) != t.target:
        setattr(obj, workflow.state_field, t.target)
        changed.add(workflow.state_field)
    if apply is not None:
        changed.update(apply(obj) or ())
    if changed and save:
        update_fields = list(changed)
        if any(f.name == "updated_at" for f in obj._meta.concrete_fields):
            update_fields.append("updated_at")
        obj.save(update_fields=update_fields)
    after = snapshot(obj, workflow.tracked_fields)
    if audit_extra:
        after = {**after, **audit_extra}
    return {"actor": actor, "code": t.audit_code, "subject": obj, "before": before, "after": after, "reason": reason}

"""One permission layer for pages, API, admin and commands.

A *rule* names an action (``"orgs.view_orgunit"``) and says which roles may do it and how an object of that kind
maps to the org unit that scopes it. A role assignment over unit U covers U and everything below it, so:

* ``can(user, action, obj)`` — may this user do this to this object?
* ``restrict(queryset, user, action)`` — the part of a queryset the user may act on (one indexed prefix filter);
* ``get_scoped_or_404(...)`` — fetch one object, answering *not found* both when it does not exist and when it
  lies outside the user's scope, so a scope never reveals what is outside it.

Anonymous users may do only what a rule marks as public or what the policy profile's switch (``anonymous_param``)
allows for the object's area.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from django.db.models import Q, QuerySet
from django.http import HttpRequest

from .errors import NotFound, PermissionDenied

if TYPE_CHECKING:
    from yishi.accounts.models import User
    from yishi.orgs.models import OrgUnit

ALL_ROLES = "*"


@dataclass(frozen=True)
class Grant:
    """One current role assignment, reduced to what scope checks need."""

    role: str
    path: str
    org_unit_id: int
    handling_unit_id: int | None = None
    station_id: int | None = None
    sector_id: int | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    roles: frozenset[str]
    # Lookup from the model to its OrgUnit ("org_unit", "station__org_unit"); "" when the model is OrgUnit itself;
    # None when the action is not tied to a place (then any grant of a listed role suffices).
    scope: str | None = None
    public: bool = False
    anonymous_param: str | None = None
    # Extra object-level condition, e.g. "only the unit the appeal is dispatched to".
    check: Callable[[Any, Any, list[Grant]], bool] | None = None
    # Extra queryset narrowing matching ``check``: returns a Q given the user's matching grants.
    narrow: Callable[[Any, list[Grant]], Q] | None = None
    label: str = field(default="", compare=False)
    # Any signed-in user passes the role test (residents hold no role assignment); ``check``/``narrow`` still apply.
    authenticated: bool = False
    # A composite rule: allowed when any of these rules allows (e.g. "see an appeal" = by area, by unit, or own).
    any_of: tuple[str, ...] = ()


RULES: dict[str, Rule] = {}


def define(
    name: str,
    *,
    roles: Iterable[str],
    scope: str | None = None,
    public: bool = False,
    anonymous_param: str | None = None,
    check: Callable[[Any, Any, list[Grant]], bool] | None = None,
    narrow: Callable[[Any, list[Grant]], Q] | None = None,
    label: str = "",
    authenticated: bool = False,
    any_of: Iterable[str] = (),
) -> Rule:
    """Declare a named rule. Apps declare theirs in ``rules.py``; redefinition replaces (for reloads)."""
    rule = Rule(
        name, frozenset(str(r) for r in roles), scope, public, anonymous_param, check, narrow, label,
        authenticated, tuple(any_of),
    )
    RULES[name] = rule
    return rule


def get_rule(name: str) -> Rule:
    try:
        return RULES[name]
    except KeyError as exc:  # a programming error, not a user one
        raise LookupError(f"undefined permission rule {name!r}") from exc


def signed_in_user(request: HttpRequest) -> User:
    """``request.user`` where signing in is required (``@login_required`` pages, API operations with
    ``auth=auth(...)``): there it is always a real ``User``, never ``AnonymousUser``."""
    return cast("User", request.user)


def grants(user: Any) -> list[Grant]:
    """The user's current role assignments, loaded once per user object (i.e. once per request)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_yishi_grants", None)
    if cached is not None:
        return cached
    from django.utils import timezone

    from yishi.accounts.models import RoleAssignment
    from yishi.policy import cache as reference

    def load() -> list[Grant]:
        rows = (
            RoleAssignment.objects.current()
            .filter(user_id=user.pk)
            .values_list("role", "org_unit__path", "org_unit_id", "handling_unit_id", "station_id", "sector_id")
        )
        return [Grant(*row) for row in rows]

    # Role assignments are among the reference cache's watched tables (a grant, a revocation or a move of the unit
    # gives a new generation), so a user's grants are read once per process and generation, not once per request;
    # the day is in the key because ``current()`` drops assignments past their ``valid_until``.
    result = list(reference.cached("accounts.grants", (user.pk, timezone.localdate()), load))
    user._yishi_grants = result
    return result


def forget_grants(user: Any) -> None:
    """After a change to the user's roles: this object and this process read them again, even inside a scope
    pinned to one generation of the reference cache (a request that grants or revokes sees its change)."""
    from yishi.policy import cache as reference

    if hasattr(user, "_yishi_grants"):
        del user._yishi_grants
    reference.forget()


def is_platform_admin(user: Any) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser) or any(g.role == "platform_admin" for g in grants(user))


def matching_grants(user: Any, rule: Rule) -> list[Grant]:
    return [g for g in grants(user) if ALL_ROLES in rule.roles or g.role in rule.roles]


def _unit_of(obj: Any, scope: str) -> OrgUnit | None:
    if scope == "":
        return obj
    target = obj
    for part in scope.split("__"):
        target = getattr(target, part, None)
        if target is None:
            return None
    return target


def _anonymous_allowed(rule: Rule, obj: Any) -> bool:
    if rule.public:
        return True
    if not rule.anonymous_param:
        return False
    from yishi.policy.services import policy_value

    unit = _unit_of(obj, rule.scope) if (obj is not None and rule.scope is not None) else None
    return bool(policy_value(rule.anonymous_param, unit, default=False))


def can(user: Any, action: str, obj: Any = None) -> bool:
    """May ``user`` perform ``action`` (on ``obj``, when given)?"""
    rule = get_rule(action)
    if rule.any_of:
        return any(can(user, sub, obj) for sub in rule.any_of)
    if rule.public:
        return True
    if user is None or not getattr(user, "is_authenticated", False):
        return _anonymous_allowed(rule, obj)
    if is_platform_admin(user):
        return True
    if rule.authenticated:
        return rule.check(user, obj, grants(user)) if (obj is not None and rule.check is not None) else True
    matching = matching_grants(user, rule)
    if not matching:
        return False
    if obj is not None and rule.scope is not None:
        unit = _unit_of(obj, rule.scope)
        if unit is None:
            return False
        matching = [g for g in matching if unit.path.startswith(g.path)]
        if not matching:
            return False
    if obj is not None and rule.check is not None:
        return rule.check(user, obj, matching)
    return True


def scope_q(user: Any, action: str) -> Q | None:
    """A Q selecting the objects the user may act on, or None when no narrowing applies (everything)."""
    rule = get_rule(action)
    if rule.any_of:
        combined = Q(pk__in=[])
        for sub in rule.any_of:
            part = scope_q(user, sub)
            if part is None:
                return None
            combined |= part
        return combined
    if rule.public:
        return None
    if user is None or not getattr(user, "is_authenticated", False):
        return _anonymous_q(rule) if rule.anonymous_param else Q(pk__in=[])
    if is_platform_admin(user):
        return None
    if rule.authenticated:
        return rule.narrow(user, grants(user)) if rule.narrow is not None else None
    matching = matching_grants(user, rule)
    if not matching:
        return Q(pk__in=[])
    if rule.scope is None:
        q: Q | None = None
    else:
        q = subtree_q(rule.scope, _minimal_paths(g.path for g in matching))
    if rule.narrow is not None:
        extra = rule.narrow(user, matching)
        q = extra if q is None else q & extra
    return q


def subtree_q(scope: str, paths: Iterable[str]) -> Q:
    """Objects whose org unit (reached through ``scope``; "" for org units themselves) lies in one of the subtrees.
    The units are picked by a subquery on their indexed path (``org_unit_id IN (SELECT id … WHERE path LIKE
    '/1/2/%')``), not by a join: a join would make the database sort every matching row before the first page, the
    subquery lets it walk the ordering index and stop after one page (docs/benchmarks.md)."""
    from yishi.orgs.models import OrgUnit

    within = Q()
    for path in paths:
        within |= Q(path__startswith=path)
    if not within:
        return Q(pk__in=[])
    if not scope:
        return within
    return Q(**{f"{scope}__in": OrgUnit.objects.filter(within).values("pk")})


def _minimal_paths(paths: Iterable[str]) -> list[str]:
    """Drop paths already covered by an ancestor path, so the filter stays short."""
    result: list[str] = []
    for path in sorted(set(paths), key=len):
        if not any(path.startswith(kept) for kept in result):
            result.append(path)
    return result


def _anonymous_q(rule: Rule) -> Q | None:
    """What an anonymous user may act on under a rule with ``anonymous_param``, matching ``can``: the objects of
    the areas whose effective profile turns the switch on (None: everything). A unit's profile is the one chosen by
    its nearest ancestor, so each choosing unit adds its subtree minus the subtrees below it that choose otherwise."""
    from yishi.orgs.models import OrgUnit
    from yishi.policy.services import policy_value

    key = str(rule.anonymous_param)
    default_on = bool(policy_value(key, default=False))
    if rule.scope is None:
        return None if default_on else Q(pk__in=[])
    field_name = f"{rule.scope}__path" if rule.scope else "path"
    switch = {
        unit.path: bool(policy_value(key, profile=unit.policy_profile, default=False))
        for unit in OrgUnit.objects.filter(policy_profile__isnull=False).select_related("policy_profile")
    }

    def turned_off_below(root: str) -> Q:
        q = Q(pk__in=[])
        for path, on in switch.items():
            if not on and path != root and path.startswith(root):
                q |= Q(**{f"{field_name}__startswith": path})
        return q

    if default_on and all(switch.values()):
        return None
    q = ~turned_off_below("") if default_on else Q(pk__in=[])
    for path, on in switch.items():
        if on:
            q |= Q(**{f"{field_name}__startswith": path}) & ~turned_off_below(path)
    return q


def restrict(queryset: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    """Narrow ``queryset`` to the objects ``user`` may perform ``action`` on."""
    q = scope_q(user, action)
    return queryset if q is None else queryset.filter(q)


def get_scoped_or_404(queryset: QuerySet[Any], user: Any, action: str, **lookup: Any) -> Any:
    """Fetch one object within the user's scope for ``action``; missing and out-of-scope both raise NotFound."""
    try:
        obj = restrict(queryset, user, action).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc
    rule = get_rule(action)
    if (rule.check is not None or rule.any_of) and not can(user, action, obj):
        raise NotFound()
    return obj


def require(user: Any, action: str, obj: Any = None, *, visible_action: str | None = None) -> None:
    """Raise unless the user may act. Outside the scope of ``visible_action`` → NotFound; inside → PermissionDenied.
    Like ``can``, ``obj`` is a model instance or a stand-in carrying the attributes the rule's scope names."""
    if can(user, action, obj):
        return
    if visible_action is not None and obj is not None and not can(user, visible_action, obj):
        raise NotFound()
    raise PermissionDenied()


def has_role(user: Any, *roles: str) -> bool:
    return is_platform_admin(user) or any(g.role in roles for g in grants(user))

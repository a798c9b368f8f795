"""Sign-in by phone code, API tokens and role assignments."""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from yishi.audit.services import record
from yishi.core.errors import InvalidInput, PermissionDenied, RateLimited
from yishi.core.permissions import forget_grants, is_platform_admin, require
from yishi.notifications.sms import send_sms
from yishi.policy.services import policy_value

from .choices import Role
from .models import ApiToken, PhoneCode, RoleAssignment, User, phone_validator

API_SCOPES = ("read", "write", "admin")


def _digest(value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def normalize_phone(phone: str, field: str = "phone") -> str:
    phone = (phone or "").strip().replace(" ", "").replace("-", "")
    if phone.startswith("+86"):
        phone = phone[3:]
    try:
        phone_validator(phone)
    except ValidationError as exc:
        raise InvalidInput("请输入11位手机号码", "Enter an 11-digit mobile number", field=field, code="invalid_phone") from exc
    return phone


def phone_code_send(*, phone: str) -> PhoneCode:
    """Send a one-time sign-in code by SMS, within the hourly limit of the policy profile."""
    phone = normalize_phone(phone)
    now = timezone.now()
    per_hour = int(policy_value("accounts.phone_code_per_hour"))
    if PhoneCode.objects.filter(phone=phone, created_at__gte=now - timedelta(hours=1)).count() >= per_hour:
        raise RateLimited(field="phone")
    code = f"{secrets.randbelow(1_000_000):06d}"
    ttl = int(policy_value("accounts.phone_code_ttl_minutes"))
    row = PhoneCode.objects.create(phone=phone, code_hash=_digest(f"{phone}:{code}"), expires_at=now + timedelta(minutes=ttl))
    text = f"【议事】您的登录验证码是 {code}，{ttl} 分钟内有效。"
    # The SMS record keeps the text without the code: the code is stored only hashed.
    transaction.on_commit(lambda: send_sms(phone, text, record_text=text.replace(code, "******")))
    row.plain_code = code  # type: ignore[attr-defined]  # returned to tests and demo mode, never stored
    return row


def phone_code_verify(*, phone: str, code: str) -> User | None:
    """Check a code; on success return the user of that phone, creating a resident account on first sign-in."""
    try:
        phone = normalize_phone(phone)
    except InvalidInput:
        return None
    now = timezone.now()
    max_attempts = int(policy_value("accounts.phone_code_max_attempts"))
    with transaction.atomic():
        row = (
            PhoneCode.objects.select_for_update()
            .filter(phone=phone, used_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at", "-pk")
            .first()
        )
        if row is None or row.attempts >= max_attempts:
            return None
        if not hmac.compare_digest(row.code_hash, _digest(f"{phone}:{(code or '').strip()}")):
            row.attempts += 1
            row.save(update_fields=["attempts"])
            return None
        row.used_at = now
        row.save(update_fields=["used_at"])
        user = User.objects.filter(phone=phone).first()
        if user is None:
            user = User.objects.create_user(username=f"u{phone}", phone=phone, display_name=f"居民{phone[-4:]}")
            user.set_unusable_password()
            user.save(update_fields=["password"])
            record(actor=user, code="accounts.user.registered", subject=user, after={"phone": phone[:3] + "****" + phone[-4:]})
    return user


def token_create(*, actor: Any, user: User, name: str, scopes: list[str], expires_at: Any = None) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the secret, which is shown once and never stored."""
    if actor != user:
        require(actor, "accounts.manage_users")
    bad = [s for s in scopes if s not in API_SCOPES]
    if bad or not scopes:
        raise InvalidInput("权限范围无效", "Invalid scopes", field="scopes", extra={"allowed": list(API_SCOPES)})
    if not (name or "").strip():
        raise InvalidInput("请填写名称", "Name is required", field="name")
    secret = "ysk_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name.strip()[:100], prefix=secret[:12], key_hash=hashlib.sha256(secret.encode()).hexdigest(),
            scopes=sorted(set(scopes)), expires_at=expires_at,
        )
        record(actor=actor, code="accounts.token.created", subject=token, after={"user": user.pk, "scopes": token.scopes})
    return token, secret


def token_revoke(*, actor: Any, token: ApiToken) -> ApiToken:
    if actor != token.user:
        require(actor, "accounts.manage_users")
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            record(actor=actor, code="accounts.token.revoked", subject=locked)
    return locked


# Usable tokens found in the last few seconds, by the hash of their secret, with their user: an API client's
# requests then cost no token query. A revocation, an expiry or a deactivated user takes effect in this process
# at once (``forget_tokens`` on every save of a token or a user) and in the others within
# ``settings.YISHI_TOKEN_CACHE_SECONDS`` (docs/api.md).
_token_cache: dict[str, tuple[float, ApiToken]] = {}
_TOKEN_CACHE_MAX = 10_000


def forget_tokens(*_args: Any, **_kwargs: Any) -> None:
    _token_cache.clear()


def _fresh_copy(token: ApiToken) -> ApiToken:
    """A request's own copy of the cached row and its user (views may annotate the user object)."""
    mine = copy.copy(token)
    mine.user = copy.copy(token.user)
    return mine


def token_lookup(secret: str) -> ApiToken | None:
    if not secret or not secret.startswith("ysk_"):
        return None
    key_hash = hashlib.sha256(secret.encode()).hexdigest()
    ttl = float(getattr(settings, "YISHI_TOKEN_CACHE_SECONDS", 0))
    hit = _token_cache.get(key_hash)
    if hit is not None and time.time() - hit[0] < ttl:
        return _fresh_copy(hit[1]) if hit[1].is_usable() else None
    token = ApiToken.objects.select_related("user").filter(key_hash=key_hash).first()
    if token is None or not token.is_usable() or not token.user.is_active:
        _token_cache.pop(key_hash, None)
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    if ttl > 0:
        if len(_token_cache) >= _TOKEN_CACHE_MAX:
            _token_cache.clear()
        _token_cache[key_hash] = (time.time(), token)
        return _fresh_copy(token)
    return token


# Staff may hand out only the roles beneath their own: a street officer names community staff, grid workers and
# unit liaisons in the street, but never another street officer or district staff (that would widen their own
# reach); district staff may give every role but platform administrator.
_GRANTABLE_BY: dict[str, frozenset[str]] = {
    Role.DISTRICT_STAFF: frozenset(Role.values) - {Role.PLATFORM_ADMIN},
    Role.STREET_STAFF: frozenset({
        Role.RESIDENT, Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.UNIT_LIAISON, Role.UNIT_HEAD,
        Role.VOLUNTEER, Role.EXPERT,
    }),
}


def _may_grant(actor: Any, role: str, org_unit: Any) -> bool:
    from yishi.core.permissions import grants

    for grant in grants(actor):
        if grant.role in _GRANTABLE_BY and role in _GRANTABLE_BY[grant.role] and org_unit.path.startswith(grant.path):
            # Never the same role over the very unit the actor holds it on (no peer of oneself).
            if not (grant.role == role and grant.path == org_unit.path):
                return True
    return False


def role_assign(*, actor: Any, user: User, role: str, org_unit: Any, **extra: Any) -> RoleAssignment:
    """Give ``user`` a role over ``org_unit``. The actor must manage users in that unit's subtree; the platform
    administrator role, which holds everywhere, only a platform administrator may give. Assigning a role the user
    already holds (or held) renews it with the given ``valid_until``, ``station`` and ``sector``."""
    if role not in Role.values:
        raise InvalidInput("未知角色", "Unknown role", field="role", code="unknown_role")
    if actor is not None:
        require(actor, "accounts.manage_users", org_unit, visible_action="orgs.view_orgunit")
        if role == Role.PLATFORM_ADMIN and not is_platform_admin(actor):
            raise PermissionDenied()
        if not is_platform_admin(actor) and not _may_grant(actor, role, org_unit):
            raise PermissionDenied("不能授予与本人同级或更高的角色", "You cannot grant a role at or above your own", code="role_too_high")
    renewal = {"valid_until": None, "station": None, "sector": None, **extra, "is_active": True}
    renewal.pop("handling_unit", None)
    with transaction.atomic():
        assignment, _created = RoleAssignment.objects.get_or_create(
            user=user, role=role, org_unit=org_unit, handling_unit=extra.pop("handling_unit", None),
            defaults=renewal,
        )
        changed = [name for name, value in renewal.items() if getattr(assignment, name) != value]
        if changed:
            for name in changed:
                setattr(assignment, name, renewal[name])
            assignment.save(update_fields=changed)
        record(actor=actor, code="accounts.role.assigned", subject=user, after={"role": role, "org_unit": org_unit.pk})
    forget_grants(user)
    return assignment


def role_revoke(*, actor: Any, assignment: RoleAssignment, reason: str = "") -> None:
    require(actor, "accounts.manage_users", assignment.org_unit, visible_action="orgs.view_orgunit")
    with transaction.atomic():
        RoleAssignment.objects.filter(pk=assignment.pk).update(is_active=False)
        record(
            actor=actor, code="accounts.role.revoked", subject=assignment.user,
            before={"role": assignment.role, "org_unit": assignment.org_unit_id}, reason=reason,
        )
    forget_grants(assignment.user)

"""Every change to an appeal is one of these functions: atomic, locked, permission- and state-checked, audited,
with notifications sent after commit. Pages, the API, Open311, imports, commands and the sweep all call them."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Case, DateTimeField, Exists, F, OuterRef, Prefetch, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from yishi.accounts.models import User
from yishi.audit.services import record
from yishi.core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from yishi.core.permissions import can, require
from yishi.core.uploads import IMAGE_KINDS, UploadRules, validate_uploads
from yishi.core.workflow import apply_transition, run_transition
from yishi.notifications.services import notify
from yishi.orgs.models import HandlingUnit, OrgUnit
from yishi.orgs.reference import active_org_unit, district_of, org_unit_by_id
from yishi.policy import cache as policy_cache
from yishi.policy import workdays
from yishi.policy.services import (
    compute_deadline,
    compute_warning,
    limit_for,
    policy_value,
    workday_overrides,
)

from .catalogue import active_category, category_by_id
from .choices import (
    HANDLING_STATES,
    AppealState,
    AssignmentRole,
    AssignmentStatus,
    Channel,
    Nature,
    RequestStatus,
    Resolution,
    Satisfaction,
    SupervisionKind,
    Urgency,
    WishState,
)
from .deadlines import profile_for, start_clocks
from .models import (
    Appeal,
    Assignment,
    Attachment,
    Callback,
    Category,
    ExtensionRequest,
    MicroWish,
    ProgressNote,
    ReopenRequest,
    ReturnRequest,
    RoutingRule,
    SupervisionFlag,
)
from .workflow import appeal_workflow

_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --- input ------------------------------------------------------------------------------------------------------

@dataclass
class AppealInput:
    """What a resident (or staff on their behalf) submits. Validated by ``appeal_submit``."""

    nature: str
    category_id: int | None
    title: str
    text: str
    org_unit_id: int | None
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    anonymous: bool = False
    consent_contact: bool = True
    contact_name: str = ""
    contact_phone: str = ""
    urgency: str | None = None
    external_ref: str = ""
    received_at: datetime | None = None
    photos: Sequence[UploadedFile] = field(default_factory=list)
    media_url: str = ""


def _bad(field_name: str, zh: str, en: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(zh, en, field=field_name, code=code)


def _handling_level_for(unit: OrgUnit) -> OrgUnit:
    """Grids are handled by their community; anything else by itself."""
    node = unit
    while node.level == "grid" and node.parent_id is not None:
        node = node.parent  # type: ignore[assignment]
    return node


def validate_photos(photos: Sequence[UploadedFile], unit: OrgUnit | None, field_name: str = "photos") -> None:
    """Count and size from the area's policy profile; each photo must decode as a JPEG, PNG, GIF or WEBP image."""
    rules = UploadRules(
        max_count=int(policy_value("appeals.photo_max_count", unit)),
        max_bytes=int(policy_value("appeals.photo_max_bytes", unit)),
        kinds=IMAGE_KINDS, noun="照片", noun_en="photo", measure="张", kind_noun="图片",
        too_many_code="too_many_photos", too_large_code="photo_too_large", wrong_kind_code="not_an_image",
    )
    validate_uploads(photos, rules, field=field_name)


def _upload_name(photo: UploadedFile) -> str:
    """The uploaded file's name, cut to the attachment's column (uploads from a request always have one)."""
    assert photo.name is not None
    return photo.name[:200]


def _validate_media_url(url: str) -> None:
    from django.core.exceptions import ValidationError
    from django.core.validators import URLValidator

    if len(url) > 500:
        raise _bad("media_url", "图片链接过长", "media_url is too long", "too_long")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise _bad("media_url", "图片链接须为 http(s) 网址", "media_url must be an http(s) URL", "invalid_url") from exc


def _validate(data: AppealInput) -> tuple[Category, OrgUnit]:
    if data.nature not in Nature.values:
        raise _bad("nature", "诉求性质无效", "Unknown nature")
    refuse_control_characters(data)
    if data.urgency is not None and data.urgency not in Urgency.values:
        raise _bad("urgency", "紧急程度无效", "Unknown urgency")
    unit = active_org_unit(data.org_unit_id) if data.org_unit_id else None
    if unit is None:
        raise _bad("org_unit", "请选择所在社区", "Choose the community", "unknown_org_unit")
    category = active_category(data.category_id) if data.category_id else None
    if category is None:
        raise _bad("category", "分类不存在", "Unknown category", "unknown_category")
    max_title = int(policy_value("appeals.title_max_length", unit))
    max_text = int(policy_value("appeals.text_max_length", unit))
    check_appeal_fields(data, unit, max_title=max_title, max_text=max_text)
    return category, unit


def refuse_control_characters(data: AppealInput) -> None:
    for name in ("title", "text", "address", "contact_name", "contact_phone"):
        # PostgreSQL cannot store NUL in text; imports and forms must get a field error, not a crash.
        if _CONTROL_CHARS.search(getattr(data, name) or ""):
            raise _bad(name, "不能包含控制字符", "Control characters are not allowed", "invalid_characters")


def check_appeal_fields(data: AppealInput, unit: OrgUnit, *, max_title: int, max_text: int) -> None:
    """The checks of an appeal's own fields once its place is known and the profile's lengths are read: title and
    text (trimmed and stored back), address, media link, coordinates inside the area, phone (normalised and stored
    back), contact name. ``appeal_submit`` and the bulk hotline import share them, so both refuse the same rows."""
    title = (data.title or "").strip()
    text = (data.text or "").strip()
    if not title:
        raise _bad("title", "请填写标题", "Title is required", "required")
    if len(title) > max_title:
        raise _bad("title", f"标题不能超过 {max_title} 字", f"Title longer than {max_title}", "too_long")
    if not text:
        raise _bad("text", "请填写诉求内容", "Text is required", "required")
    if len(text) > max_text:
        raise _bad("text", f"诉求内容不能超过 {max_text} 字", f"Text longer than {max_text}", "too_long")
    if len(data.address or "") > 200:
        raise _bad("address", "地址过长", "Address too long", "too_long")
    if data.media_url:
        _validate_media_url(data.media_url)
    if (data.latitude is None) != (data.longitude is None):
        raise _bad("latitude" if data.latitude is None else "longitude", "经纬度须同时填写", "Give both coordinates")
    if data.latitude is not None and data.longitude is not None:
        if not (-90 <= data.latitude <= 90 and -180 <= data.longitude <= 180):
            raise _bad("latitude", "坐标无效", "Invalid coordinates", "invalid_coordinates")
        district = district_of(unit) or unit
        if not district.contains_point(data.latitude, data.longitude) or not unit.contains_point(data.latitude, data.longitude):
            raise _bad("latitude", "坐标不在本辖区范围内", "Coordinates are outside the district", "outside_area")
    if data.contact_phone:
        from yishi.accounts.services import normalize_phone

        data.contact_phone = normalize_phone(data.contact_phone, field="contact_phone")
    if len(data.contact_name or "") > 50:
        raise _bad("contact_name", "联系人姓名过长", "Contact name too long", "too_long")
    data.title, data.text = title, text


def _new_tracking_code(at: datetime) -> str:
    # 32 symbols divide 256, so one random byte gives one uniform symbol (a bulk import draws thousands of codes).
    suffix = "".join(_CODE_ALPHABET[byte % 32] for byte in secrets.token_bytes(6))
    return f"YS{timezone.localtime(at):%y%m%d}{suffix}"


# --- recipients ----------------------------------------------------------------------------------------------

# Who holds which role comes from the reference cache (role assignments are a watched table), so a service call
# reads the users only when somebody holds the role, and never while it holds the audit chain's head. The users
# themselves are read each time: whether they are active is not cached.
_MANAGER_ROLES = ["dispatcher", "community_staff", "street_staff", "district_staff"]


def _active_users(ids: Sequence[int]) -> list[User]:
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk")) if ids else []


def unit_users(unit_ids: Iterable[int | None]) -> list[User]:
    """The active people acting for these handling units (a missing unit, ``None``, has nobody)."""
    from yishi.accounts.models import RoleAssignment

    ids = tuple(sorted({pk for pk in unit_ids if pk is not None}))
    if not ids:
        return []
    holders = policy_cache.cached("appeals.unit_users", ids, lambda: sorted(set(
        RoleAssignment.objects.filter(handling_unit_id__in=ids, is_active=True).values_list("user_id", flat=True))))
    return _active_users(holders)


def managers_of(unit: OrgUnit) -> list[User]:
    """Dispatch staff whose scope covers ``unit`` at exactly its level (not every district officer)."""
    from yishi.accounts.models import RoleAssignment

    holders = policy_cache.cached("appeals.managers", unit.pk, lambda: sorted(set(
        RoleAssignment.objects.filter(org_unit_id=unit.pk, role__in=_MANAGER_ROLES, is_active=True).values_list("user_id", flat=True))))
    return _active_users(holders)


def _resident(appeal: Appeal) -> list[User]:
    return [appeal.submitter] if appeal.submitter is not None else []


def _sms_resident(appeal: Appeal, text: str) -> None:
    """Text the resident (when they left a phone and agreed to be contacted), after commit."""
    if appeal.contact_phone and appeal.consent_contact and not appeal.submitter_id:
        from yishi.notifications.sms import send_sms

        phone = appeal.contact_phone
        transaction.on_commit(lambda: send_sms(phone, text))


# --- intake -------------------------------------------------------------------------------------------------

@policy_cache.pinned()
def appeal_submit(
    *,
    actor: Any,
    data: AppealInput,
    channel: str = Channel.WEB,
    idempotency_key: str | None = None,
    on_behalf: bool = False,
) -> Appeal:
    """Receive an appeal (受理) and give it a tracking code.

    Residents submit for themselves (anonymously when the area's policy allows); staff, grid workers and deputies
    enter one on a resident's behalf (``on_behalf``). A retried submission with the same ``idempotency_key``
    returns the appeal created the first time, marked ``replayed = True`` (the API answers 200 instead of 201).
    Keys belong to their caller (the signed-in user or the API token's owner; anonymous callers share one space):
    the same key from another caller is another appeal.
    """
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    same_key = Q(idempotency_key=idempotency_key, idempotency_owner_id=actor.pk if authenticated else None)
    if idempotency_key:
        if len(idempotency_key) > 80:
            raise _bad("idempotency_key", "幂等键过长", "Idempotency key too long", "too_long")
        existing = Appeal.objects.filter(same_key).first()
        if existing is not None:
            existing.replayed = True  # type: ignore[attr-defined]
            return existing
    if channel not in Channel.values:
        raise _bad("channel", "渠道无效", "Unknown channel")
    category, unit = _validate(data)
    if on_behalf:
        require(actor, "appeals.enter", _Located(unit))
    elif not can(actor if authenticated else None, "appeals.submit", _Located(unit)):
        raise NotAuthenticated("本地区不接受匿名诉求，请先登录", "Sign in to submit in this area", code="anonymous_not_allowed")
    validate_photos(data.photos, unit)
    now = timezone.now()
    received_at = data.received_at or now
    submitter = actor if (authenticated and not on_behalf and not data.anonymous) else None
    contact_name = "" if data.anonymous else (data.contact_name or (str(submitter) if submitter else ""))
    contact_phone = "" if data.anonymous else (data.contact_phone or (getattr(submitter, "phone", "") or ""))
    urgency = data.urgency or category.default_urgency
    # 智能派单: where the area's profile says so, a matching routing rule dispatches the appeal in this transaction.
    rule = _rule_for(category, unit) if policy_value("appeals.auto_dispatch", unit, default=False) else None
    # No savepoint around the INSERT: a clash of tracking codes (rare) rolls the whole transaction back and the loop
    # draws a new code, which costs less than two savepoint round trips on every appeal.
    for attempt in range(5):
        try:
            with transaction.atomic():
                appeal = Appeal(
                    tracking_code=_new_tracking_code(received_at),
                    idempotency_key=idempotency_key or None,
                    idempotency_owner_id=actor.pk if (idempotency_key and authenticated) else None,
                    external_ref=data.external_ref or "",
                    channel=channel,
                    nature=data.nature,
                    category=category,
                    urgency=urgency,
                    fast_lane=category.fast_lane,
                    title=data.title,
                    text=data.text,
                    org_unit=unit,
                    handling_level=_handling_level_for(unit),
                    address=data.address or "",
                    latitude=data.latitude,
                    longitude=data.longitude,
                    media_url=data.media_url or "",
                    submitter=submitter,
                    entered_by=actor if (on_behalf and authenticated) else None,
                    contact_name=contact_name,
                    contact_phone=contact_phone,
                    anonymous=data.anonymous,
                    consent_contact=data.consent_contact and not data.anonymous,
                    received_at=received_at,
                    month=timezone.localtime(received_at).date().replace(day=1),
                    callback_token=secrets.token_urlsafe(24),
                )
                # Dispatched before it is inserted (one INSERT, no UPDATE); its assignments follow the INSERT.
                dispatch = _AutoDispatch(appeal, rule) if rule is not None else None
                appeal.save(force_insert=True)
                for photo in data.photos:
                    Attachment.objects.create(
                        appeal=appeal, file=photo, name=_upload_name(photo), content_type=getattr(photo, "content_type", ""),
                        size=photo.size or 0, purpose="submission", uploaded_by=actor if authenticated else None,
                    )
                submitted = {"state": AppealState.RECEIVED, "channel": channel, "category": category.pk, "org_unit": unit.pk, "tracking_code": appeal.tracking_code}
                notify(
                    recipients=managers_of(appeal.handling_level), kind="appeals.received",
                    title=f"新诉求：{appeal.title}", url=appeal_url(appeal),
                )
                if dispatch is not None:
                    dispatch.assign()
                _sms_resident(appeal, f"【议事】您的诉求已受理，查询码 {appeal.tracking_code}。")
                # The audit events last: the chain head stays locked from the first of them to the commit.
                record(actor=actor if authenticated else None, code="appeals.appeal.submitted", subject=appeal, after=submitted)
                if dispatch is not None:
                    record(**dispatch.event)
            return appeal
        except IntegrityError:
            if idempotency_key:
                existing = Appeal.objects.filter(same_key).first()
                if existing is not None:
                    existing.replayed = True  # type: ignore[attr-defined]
                    return existing
            if data.external_ref:
                existing = Appeal.objects.filter(channel=channel, external_ref=data.external_ref).first()
                if existing is not None:
                    raise Conflict("该工单已导入", "This record was already imported", code="duplicate_external_ref", field="external_ref", extra={"tracking_code": existing.tracking_code}) from None
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


class _AutoDispatch:
    """智能派单: dispatch the appeal being submitted by its routing rule, as ``appeal_dispatch`` by rule would with
    the system as the actor — same deadlines, assignments, notifications and audit event. The transition is applied
    to the appeal before its INSERT; ``assign()`` after it writes the assignments and notifies the units; ``event``
    is the audit event's arguments, for the caller to record after its own."""

    def __init__(self, appeal: Appeal, rule: RoutingRule) -> None:
        self.lead, self.co = rule.lead_unit, list(rule.active_co_units)  # type: ignore[attr-defined]
        self.appeal = appeal
        self.started: datetime | None = None

        def apply(a: Appeal) -> list[str]:
            self.started, changed = _start_dispatch(a, self.lead)
            return changed

        self.event = apply_transition(appeal_workflow, appeal, "dispatch", actor=None, apply=apply, authorized=True, save=False)

    def assign(self) -> None:
        assert self.started is not None
        _assign(self.appeal, None, self.lead, self.co, self.started, True, "")
        _notify_dispatched(self.appeal, self.lead, self.co)


class _Located:
    """Lets a permission rule scoped by ``org_unit`` be checked before the appeal exists."""

    def __init__(self, unit: OrgUnit) -> None:
        self.org_unit = unit
        self.handling_level = unit


def appeal_url(appeal: Appeal) -> str:
    return reverse("appeals:detail", args=[appeal.pk])


def callback_url(appeal: Appeal) -> str:
    return reverse("appeals:callback", args=[appeal.callback_token])


# --- triage and dispatch ------------------------------------------------------------------------------------

def appeal_triage(*, actor: Any, appeal: Appeal | int, category_id: int | None = None, urgency: str | None = None,
                  fast_lane: bool | None = None, nature: str | None = None) -> Appeal:
    """Correct the category (3-level catalogue), urgency grade, nature, or put it on the fast lane."""
    category = None
    if category_id is not None:
        category = Category.objects.filter(pk=category_id, is_active=True).first()
        if category is None:
            raise _bad("category", "分类不存在", "Unknown category", "unknown_category")
    if urgency is not None and urgency not in Urgency.values:
        raise _bad("urgency", "紧急程度无效", "Unknown urgency")
    if nature is not None and nature not in Nature.values:
        raise _bad("nature", "诉求性质无效", "Unknown nature")

    def apply(a: Appeal) -> list[str]:
        changed = []
        if category is not None:
            a.category = category
            changed.append("category")
        if urgency is not None:
            a.urgency = urgency
            changed.append("urgency")
        if fast_lane is not None:
            a.fast_lane = fast_lane
            changed.append("fast_lane")
        if nature is not None:
            a.nature = nature
            changed.append("nature")
        return changed

    return run_transition(appeal_workflow, appeal, "triage", actor=actor, apply=apply)


def route(appeal: Appeal) -> RoutingRule | None:
    """The routing rule for the appeal's category × area: deepest category first, then deepest area. Its active
    co-units are in ``rule.active_co_units``. Read from the whole rule table cached in-process
    (``yishi.policy.cache``): any change to the rules, the catalogue, the tree or the handling units invalidates it."""
    category = category_by_id(appeal.category_id) or appeal.category
    unit = org_unit_by_id(appeal.org_unit_id) or appeal.org_unit
    return _rule_for(category, unit)


def _rule_for(category: Category, unit: OrgUnit) -> RoutingRule | None:
    table = policy_cache.cached("appeals.routing_rules", None, _routing_table)
    cat_ids = [int(p) for p in category.path.strip("/").split("/") if p] or [category.pk]
    area_ids = unit.ancestor_ids or [unit.pk]
    # Deepest category first, then deepest area: the paths run from the root down.
    for cat_id in reversed(cat_ids):
        for area_id in reversed(area_ids):
            rule = table.get((cat_id, area_id))
            if rule is not None:
                return rule
    return None


def _routing_table() -> dict[tuple[int, int], RoutingRule]:
    """Every active rule with an active lead unit, by (category, area), with its active co-units."""
    rules = (
        RoutingRule.objects.filter(is_active=True, lead_unit__is_active=True)
        .select_related("category", "area", "lead_unit")
        .prefetch_related(Prefetch("co_units", HandlingUnit.objects.filter(is_active=True), to_attr="active_co_units"))
    )
    return {(rule.category_id, rule.area_id): rule for rule in rules}


def _dispatch_into(appeal: Appeal, actor: Any, lead: HandlingUnit, co_units: Sequence[HandlingUnit], by_rule: bool, note: str,
                   limit: workdays.Limit | None = None) -> list[str]:
    now, changed = _start_dispatch(appeal, lead, limit)
    _assign(appeal, actor, lead, co_units, now, by_rule, note)
    return changed


def _start_dispatch(appeal: Appeal, lead: HandlingUnit, limit: workdays.Limit | None = None) -> tuple[datetime, list[str]]:
    """The appeal's side of a dispatch: clocks started now, the lead set, the handling marks cleared."""
    now = timezone.now()
    profile = profile_for(appeal)
    changed = start_clocks(appeal, now, profile, limit)
    appeal.lead_unit = lead
    appeal.accepted_at = None
    appeal.first_contact_at = None
    appeal.accepted_on_time = None
    appeal.contacted_on_time = None
    appeal.closed_on_time = None
    return now, [*changed, "lead_unit", "accepted_at", "first_contact_at", "accepted_on_time", "contacted_on_time", "closed_on_time"]


def _assign(appeal: Appeal, actor: Any, lead: HandlingUnit, co_units: Sequence[HandlingUnit], now: datetime, by_rule: bool, note: str) -> None:
    assert appeal.accept_due_at is not None  # start_clocks set it
    Assignment.objects.bulk_create([
        Assignment(appeal=appeal, unit=unit, role=role, dispatched_by=actor, dispatched_at=now,
                   accept_due_at=appeal.accept_due_at, by_rule=by_rule, note=note[:300])
        for unit, role in _assigned(lead, co_units)
    ])


def _assigned(lead: HandlingUnit, co_units: Sequence[HandlingUnit]) -> list[tuple[HandlingUnit, str]]:
    """The lead and each co-unit once, with their roles."""
    co = {unit.pk: unit for unit in co_units if unit.pk != lead.pk}
    return [(lead, AssignmentRole.LEAD), *((unit, AssignmentRole.CO) for unit in co.values())]


def _resolve_units(appeal: Appeal, lead_unit_id: int | None, co_unit_ids: Sequence[int] | None) -> tuple[HandlingUnit, list[HandlingUnit], bool]:
    if lead_unit_id is None:
        rule = route(appeal)
        if rule is None:
            raise _bad("lead_unit", "没有匹配的派单规则，请手动选择主办单位", "No routing rule matches; choose the lead unit", "no_routing_rule")
        return rule.lead_unit, list(rule.active_co_units), True  # type: ignore[attr-defined]
    lead = HandlingUnit.objects.filter(pk=lead_unit_id, is_active=True).first()
    if lead is None:
        raise _bad("lead_unit", "承办单位不存在", "Unknown handling unit", "unknown_unit")
    co = list(HandlingUnit.objects.filter(pk__in=co_unit_ids or [], is_active=True))
    if co_unit_ids and len(co) != len(set(co_unit_ids)):
        raise _bad("co_units", "协办单位不存在", "Unknown co-unit", "unknown_unit")
    return lead, co, False


def _notify_dispatched(appeal: Appeal, lead: HandlingUnit, co_units: Sequence[HandlingUnit]) -> None:
    """The people of the units just dispatched to (``_dispatch_into``'s assignments, the only pending ones)."""
    ids = [unit.pk for unit, _role in _assigned(lead, co_units)]
    notify(recipients=unit_users(ids), kind="appeals.dispatched", title=f"新派单：{appeal.title}", url=appeal_url(appeal))


def appeal_dispatch(*, actor: Any, appeal: Appeal | int, lead_unit_id: int | None = None,
                    co_unit_ids: Sequence[int] | None = None, note: str = "", limit: workdays.Limit | None = None) -> Appeal:
    """派单: to the unit the routing rules name for category × area, or to the units the dispatcher chooses.
    ``limit`` sets the handling deadline instead of the profile (a consultation task's working days)."""
    def apply(a: Appeal) -> list[str]:
        lead, co, by_rule = _resolve_units(a, lead_unit_id, co_unit_ids)
        changed = _dispatch_into(a, actor, lead, co, by_rule, note, limit)
        _notify_dispatched(a, lead, co)
        return changed

    return run_transition(appeal_workflow, appeal, "dispatch", actor=actor, apply=apply, reason=note)


def appeal_reject(*, actor: Any, appeal: Appeal | int, reason: str) -> Appeal:
    """不予受理 with a reason the resident sees."""
    def apply(a: Appeal) -> list[str]:
        a.reject_reason = reason
        a.closed_at = timezone.now()
        _sms_resident(a, f"【议事】您的诉求 {a.tracking_code} 不予受理：{reason[:50]}")
        notify(recipients=_resident(a), kind="appeals.rejected", title=f"诉求不予受理：{a.title}", body=reason, url=appeal_url(a))
        return ["reject_reason", "closed_at"]

    return run_transition(appeal_workflow, appeal, "reject", actor=actor, reason=reason, apply=apply)


def appeal_answer(*, actor: Any, appeal: Appeal | int, text: str) -> Appeal:
    """直接答复: answered at once (from the knowledge base); the resident is still called back."""
    if not (text or "").strip():
        raise _bad("text", "请填写答复内容", "Answer text is required", "required")

    def apply(a: Appeal) -> list[str]:
        now = timezone.now()
        a.reply_text = text.strip()
        a.replied_at = now
        a.closed_on_time = True
        ProgressNote.objects.create(appeal=a, kind="reply", text=a.reply_text, author=actor)
        _after_reply(a)
        return ["reply_text", "replied_at", "closed_on_time"]

    return run_transition(appeal_workflow, appeal, "answer", actor=actor, apply=apply)


# --- handling unit ------------------------------------------------------------------------------------------

def _live_lead(appeal: Appeal) -> Assignment:
    assignment = appeal.assignments.filter(role=AssignmentRole.LEAD, status__in=[AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED]).first()
    if assignment is None:
        raise Conflict("没有有效的主办派单", "No live lead assignment", code="no_assignment")
    return assignment


def appeal_accept(*, actor: Any, appeal: Appeal | int) -> Appeal:
    """签收 by the lead unit. Of two concurrent acceptances exactly one wins (row lock + state check)."""
    def apply(a: Appeal) -> list[str]:
        now = timezone.now()
        assignment = _live_lead(a)
        assignment.status = AssignmentStatus.ACCEPTED
        assignment.accepted_at = now
        assignment.save(update_fields=["status", "accepted_at"])
        a.accepted_at = now
        a.accepted_on_time = a.accept_due_at is None or now <= a.accept_due_at
        return ["accepted_at", "accepted_on_time"]

    return run_transition(appeal_workflow, appeal, "accept", actor=actor, apply=apply)


def appeal_request_return(*, actor: Any, appeal: Appeal | int, reason: str, basis: str) -> Appeal:
    """退单: the lead unit says it is not its duty, citing the basis (职责文件); the dispatcher reviews."""
    if not (basis or "").strip():
        raise _bad("basis", "请注明退单依据", "Cite the basis for the return", "required")

    def apply(a: Appeal) -> list[str]:
        assignment = _live_lead(a)
        ReturnRequest.objects.create(
            appeal=a, assignment=assignment, reason=reason, basis=basis.strip()[:300], requested_by=actor, requested_at=timezone.now()
        )
        a.return_count += 1
        notify(recipients=managers_of(a.handling_level), kind="appeals.return_requested", title=f"退单待审：{a.title}", body=reason, url=appeal_url(a))
        return ["return_count"]

    return run_transition(appeal_workflow, appeal, "request_return", actor=actor, reason=reason, apply=apply)


def _pending_return(appeal: Appeal) -> ReturnRequest:
    req = appeal.return_requests.filter(status=RequestStatus.PENDING).order_by("-requested_at").first()
    if req is None:
        raise Conflict("没有待审核的退单", "No pending return request", code="no_pending_request")
    return req


def appeal_approve_return(*, actor: Any, appeal: Appeal | int, lead_unit_id: int | None = None,
                          co_unit_ids: Sequence[int] | None = None, note: str = "") -> Appeal:
    """Approve a return and re-dispatch (by the rules or to the units given); the clocks restart."""
    def apply(a: Appeal) -> list[str]:
        req = _pending_return(a)
        lead, co, by_rule = _resolve_units(a, lead_unit_id, co_unit_ids)
        if lead.pk == req.assignment.unit_id:
            raise _bad("lead_unit", "改派单位不能是退单单位", "Re-dispatch to another unit", "same_unit")
        now = timezone.now()
        req.status, req.decided_by, req.decided_at, req.decision_note = RequestStatus.APPROVED, actor, now, note
        req.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        a.assignments.filter(status__in=[AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED]).update(status=AssignmentStatus.RETURNED)
        changed = _dispatch_into(a, actor, lead, co, by_rule, note)
        _notify_dispatched(a, lead, co)
        return changed

    return run_transition(appeal_workflow, appeal, "approve_return", actor=actor, reason=note, apply=apply)


def appeal_refuse_return(*, actor: Any, appeal: Appeal | int, reason: str) -> Appeal:
    """Refuse a return: the unit keeps the appeal, in the state it had, against the same deadlines."""
    def apply(a: Appeal) -> list[str]:
        req = _pending_return(a)
        req.status, req.decided_by, req.decided_at, req.decision_note = RequestStatus.REFUSED, actor, timezone.now(), reason
        req.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        a.state = AppealState.ACCEPTED if req.assignment.status == AssignmentStatus.ACCEPTED else AppealState.DISPATCHED
        notify(recipients=unit_users([req.assignment.unit_id]), kind="appeals.return_refused", title=f"退单被驳回：{a.title}", body=reason, url=appeal_url(a))
        return ["state"]

    return run_transition(appeal_workflow, appeal, "refuse_return", actor=actor, reason=reason, apply=apply)


def appeal_contact(*, actor: Any, appeal: Appeal | int, text: str) -> Appeal:
    """First contact with the resident (联系群众), which starts 办理中."""
    if not (text or "").strip():
        raise _bad("text", "请填写联系情况", "Describe the contact", "required")

    def apply(a: Appeal) -> list[str]:
        now = timezone.now()
        ProgressNote.objects.create(appeal=a, kind="contact", text=text.strip(), author=actor, unit=a.lead_unit)
        if a.first_contact_at is None:
            a.first_contact_at = now
            a.contacted_on_time = a.contact_due_at is None or now <= a.contact_due_at
            return ["first_contact_at", "contacted_on_time"]
        return []

    return run_transition(appeal_workflow, appeal, "contact", actor=actor, apply=apply)


def appeal_progress(*, actor: Any, appeal: Appeal | int, text: str) -> Appeal:
    """A progress record of the lead unit."""
    if not (text or "").strip():
        raise _bad("text", "请填写办理进展", "Progress text is required", "required")

    def apply(a: Appeal) -> list[str]:
        ProgressNote.objects.create(appeal=a, kind="progress", text=text.strip(), author=actor, unit=a.lead_unit)
        return []

    return run_transition(appeal_workflow, appeal, "progress", actor=actor, apply=apply)


def appeal_co_report(*, actor: Any, appeal: Appeal | int, text: str) -> Appeal:
    """A co-unit reports its part to the lead unit (协办反馈)."""
    if not (text or "").strip():
        raise _bad("text", "请填写协办情况", "Report text is required", "required")

    def apply(a: Appeal) -> list[str]:
        from yishi.core.permissions import grants

        mine = {g.handling_unit_id for g in grants(actor)}
        assignment = a.assignments.filter(unit_id__in=mine).exclude(status=AssignmentStatus.CANCELLED).first()
        if assignment is not None and assignment.status == AssignmentStatus.PENDING:
            assignment.status, assignment.accepted_at = AssignmentStatus.ACCEPTED, timezone.now()
            assignment.save(update_fields=["status", "accepted_at"])
        ProgressNote.objects.create(appeal=a, kind="co_report", text=text.strip(), author=actor, unit=assignment.unit if assignment else None)
        notify(recipients=unit_users([a.lead_unit_id] if a.lead_unit_id else []), kind="appeals.co_report", title=f"协办反馈：{a.title}", url=appeal_url(a))
        return []

    return run_transition(appeal_workflow, appeal, "co_report", actor=actor, apply=apply)


def appeal_request_extension(*, actor: Any, appeal: Appeal | int, working_days: int, reason: str) -> Appeal:
    """延期: asked before the deadline, within the profile's maximum; one request pending at a time."""
    def apply(a: Appeal) -> list[str]:
        now = timezone.now()
        max_days = int(policy_value("appeals.extension.max_working_days", a.org_unit))
        max_count = int(policy_value("appeals.extension.max_count", a.org_unit))
        if not isinstance(working_days, int) or working_days < 1 or working_days > max_days:
            raise _bad("working_days", f"延期天数须为 1 至 {max_days} 个工作日", f"Between 1 and {max_days} working days", "out_of_range")
        if a.due_at is None or now >= a.due_at:
            raise Conflict("已超过办理时限，不能申请延期", "The deadline has passed", code="deadline_passed")
        if a.extension_count >= max_count:
            raise Conflict("延期次数已用完", "No extensions left", code="extension_limit")
        if a.extension_requests.filter(status=RequestStatus.PENDING).exists():
            raise Conflict("已有待审核的延期申请", "An extension request is pending", code="extension_pending")
        ExtensionRequest.objects.create(appeal=a, working_days=working_days, reason=reason, requested_by=actor, requested_at=now, old_due_at=a.due_at)
        notify(recipients=managers_of(a.handling_level), kind="appeals.extension_requested", title=f"延期待审：{a.title}", body=reason, url=appeal_url(a))
        return []

    return run_transition(appeal_workflow, appeal, "request_extension", actor=actor, reason=reason, apply=apply)


def _pending_extension(appeal: Appeal) -> ExtensionRequest:
    req = appeal.extension_requests.filter(status=RequestStatus.PENDING).first()
    if req is None:
        raise Conflict("没有待审核的延期申请", "No pending extension request", code="no_pending_request")
    return req


def appeal_approve_extension(*, actor: Any, appeal: Appeal | int, note: str = "") -> Appeal:
    """Approve: the deadline moves by the requested working days; the warning time moves with it."""
    def apply(a: Appeal) -> list[str]:
        req = _pending_extension(a)
        new_due = workdays.add_working_days(timezone.localtime(req.old_due_at), req.working_days, workday_overrides())
        req.status, req.decided_by, req.decided_at, req.decision_note, req.new_due_at = RequestStatus.APPROVED, actor, timezone.now(), note, new_due
        req.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "new_due_at"])
        a.due_at = new_due
        a.warn_at = compute_warning(a.dispatched_at or a.received_at, new_due, a.org_unit)
        a.extension_count += 1
        notify(recipients=unit_users([a.lead_unit_id] if a.lead_unit_id else []), kind="appeals.extension_approved", title=f"延期已批准：{a.title}", url=appeal_url(a))
        return ["due_at", "warn_at", "extension_count"]

    return run_transition(appeal_workflow, appeal, "approve_extension", actor=actor, reason=note, apply=apply)


def appeal_refuse_extension(*, actor: Any, appeal: Appeal | int, reason: str) -> Appeal:
    def apply(a: Appeal) -> list[str]:
        req = _pending_extension(a)
        req.status, req.decided_by, req.decided_at, req.decision_note = RequestStatus.REFUSED, actor, timezone.now(), reason
        req.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        notify(recipients=unit_users([a.lead_unit_id] if a.lead_unit_id else []), kind="appeals.extension_refused", title=f"延期被驳回：{a.title}", body=reason, url=appeal_url(a))
        return []

    return run_transition(appeal_workflow, appeal, "refuse_extension", actor=actor, reason=reason, apply=apply)


def appeal_submit_reply(*, actor: Any, appeal: Appeal | int, text: str, photos: Sequence[UploadedFile] = ()) -> Appeal:
    """The lead unit replies with the result and evidence; the dispatcher reviews it."""
    if not (text or "").strip():
        raise _bad("text", "请填写答复内容", "Reply text is required", "required")

    def apply(a: Appeal) -> list[str]:
        validate_photos(photos, a.org_unit)
        a.reply_text = text.strip()
        ProgressNote.objects.create(appeal=a, kind="reply", text=a.reply_text, author=actor, unit=a.lead_unit)
        for photo in photos:
            Attachment.objects.create(appeal=a, file=photo, name=_upload_name(photo), content_type=getattr(photo, "content_type", ""), size=photo.size or 0, purpose="reply", uploaded_by=actor)
        notify(recipients=managers_of(a.handling_level), kind="appeals.reply_submitted", title=f"答复待审：{a.title}", url=appeal_url(a))
        return ["reply_text"]

    return run_transition(appeal_workflow, appeal, "submit_reply", actor=actor, apply=apply)


def _after_reply(a: Appeal) -> None:
    """The resident (and every merged child's resident) gets the reply and a callback link."""
    children = list(a.merged_children.select_for_update().filter(state=AppealState.MERGED))
    for child in [a, *children]:
        if child is not a:
            before = {"state": child.state}
            child.state = AppealState.REPLIED
            child.reply_text = a.reply_text
            child.replied_at = a.replied_at
            child.save(update_fields=["state", "reply_text", "replied_at", "updated_at"])
            record(actor=None, code="appeals.appeal.reply_propagated", subject=child, before=before, after={"state": child.state, "parent": a.pk})
        notify(recipients=_resident(child), kind="appeals.replied", title=f"诉求已答复：{child.title}", body=child.reply_text[:500], url=callback_url(child))
        _sms_resident(child, f"【议事】您的诉求 {child.tracking_code} 已答复，请评价：{callback_url(child)}")


def appeal_approve_reply(*, actor: Any, appeal: Appeal | int) -> Appeal:
    """The reply passes review and goes to the resident; the appeal awaits the callback."""
    def apply(a: Appeal) -> list[str]:
        now = timezone.now()
        a.replied_at = now
        a.closed_on_time = a.due_at is None or now <= a.due_at
        a.assignments.filter(status=AssignmentStatus.ACCEPTED).update(status=AssignmentStatus.DONE)
        SupervisionFlag.objects.filter(appeal=a, resolved_at__isnull=True).update(resolved_at=now)
        a.supervised = False
        ProgressNote.objects.create(appeal=a, kind="review", text="答复审核通过", author=actor)
        _after_reply(a)
        return ["replied_at", "closed_on_time", "supervised"]

    return run_transition(appeal_workflow, appeal, "approve_reply", actor=actor, apply=apply)


def appeal_return_reply(*, actor: Any, appeal: Appeal | int, reason: str) -> Appeal:
    """A substandard reply goes back to the unit, against the same deadline."""
    def apply(a: Appeal) -> list[str]:
        ProgressNote.objects.create(appeal=a, kind="review", text=f"答复退回：{reason}", author=actor)
        notify(recipients=unit_users([a.lead_unit_id] if a.lead_unit_id else []), kind="appeals.reply_returned", title=f"答复被退回：{a.title}", body=reason, url=appeal_url(a))
        return []

    return run_transition(appeal_workflow, appeal, "return_reply", actor=actor, reason=reason, apply=apply)


# --- callback, close, reopen --------------------------------------------------------------------------------

def _apply_callback(a: Appeal, actor: Any, resolution: str, satisfaction: str, comment: str, by_link: bool, unit_at_fault: bool) -> list[str]:
    if resolution not in Resolution.values:
        raise _bad("resolution", "请选择是否解决", "Choose whether it was resolved", "invalid_choice")
    if satisfaction not in Satisfaction.values:
        raise _bad("satisfaction", "请选择满意度", "Choose a satisfaction level", "invalid_choice")
    if len(comment or "") > 1000:
        raise _bad("comment", "意见不能超过 1000 字", "Comment too long", "too_long")
    now = timezone.now()
    Callback.objects.create(
        appeal=a, resolution=resolution, satisfaction=satisfaction, comment=(comment or "").strip(), by_link=by_link,
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None, unit_at_fault=unit_at_fault, created_at=now,
    )
    a.resolution = resolution
    a.satisfaction = satisfaction
    changed = ["resolution", "satisfaction"]
    if resolution == Resolution.RESOLVED:
        a.state = AppealState.CLOSED
        a.closed_at = now
        changed += ["state", "closed_at"]
    else:
        notify(recipients=managers_of(a.handling_level), kind="appeals.unresolved", title=f"回访未解决：{a.title}", body=comment, url=appeal_url(a))
    return changed


def appeal_callback(*, actor: Any, appeal: Appeal | int, resolution: str, satisfaction: str, comment: str = "", unit_at_fault: bool = True) -> Appeal:
    """回访 recorded by staff (phone callback). "解决" closes the appeal; otherwise it waits for close or reopen."""
    return run_transition(
        appeal_workflow, appeal, "callback", actor=actor,
        apply=lambda a: _apply_callback(a, actor, resolution, satisfaction, comment, False, unit_at_fault),
    )


def appeal_callback_by_link(*, token: str, resolution: str, satisfaction: str, comment: str = "") -> Appeal:
    """The resident answers the callback through the link sent with the reply (no sign-in needed)."""
    appeal = Appeal.objects.filter(callback_token=token or "-").first()
    if appeal is None:
        raise NotFound()

    def apply(a: Appeal) -> list[str]:
        # One answer per reply through the link: a repeat would overwrite the resident's own judgement.
        if a.callbacks.filter(by_link=True, created_at__gte=a.replied_at).exists():
            raise Conflict("您已评价过本次答复", "This reply has already been rated", code="already_rated")
        return _apply_callback(a, None, resolution, satisfaction, comment, True, True)

    return run_transition(appeal_workflow, appeal, "callback", actor=appeal.submitter, authorized=True, apply=apply)


def appeal_request_reopen_by_link(*, token: str, reason: str) -> ReopenRequest:
    """A resident asks to reopen a replied or closed appeal, with a reason, within the profile's window."""
    reason = (reason or "").strip()
    if not reason:
        raise _bad("reason", "请填写重办理由", "A reason is required", "reason_required")
    if len(reason) > 1000:
        raise _bad("reason", "理由不能超过 1000 字", "Reason too long", "too_long")
    with transaction.atomic():
        appeal = Appeal.objects.select_for_update().filter(callback_token=token or "-").first()
        if appeal is None:
            raise NotFound()
        if appeal.state not in (AppealState.REPLIED, AppealState.CLOSED):
            raise Conflict("当前状态不能申请重办", "This appeal cannot be reopened now", code="transition_not_allowed")
        window = int(policy_value("appeals.reopen_window_days", appeal.org_unit))
        if appeal.replied_at and timezone.now() > appeal.replied_at + timedelta(days=window):
            raise Conflict(f"答复已超过 {window} 天，不能申请重办", "Too late to ask for a reopening", code="reopen_window_passed")
        if appeal.reopen_requests.filter(status=RequestStatus.PENDING).exists():
            raise Conflict("已有待处理的重办申请", "A reopen request is already pending", code="reopen_pending")
        req = ReopenRequest.objects.create(appeal=appeal, reason=reason, created_at=timezone.now())
        record(actor=appeal.submitter, code="appeals.appeal.reopen_requested", subject=appeal, reason=reason)
        notify(recipients=managers_of(appeal.handling_level), kind="appeals.reopen_requested", title=f"群众申请重办：{appeal.title}", body=reason, url=appeal_url(appeal))
    return req


def appeal_close(*, actor: Any, appeal: Appeal | int, note: str = "") -> Appeal:
    """办结 after the callback (or when the callback window passed without an answer)."""
    def apply(a: Appeal) -> list[str]:
        a.closed_at = timezone.now()
        a.reopen_requests.filter(status=RequestStatus.PENDING).update(status=RequestStatus.REFUSED, decided_by=actor, decided_at=a.closed_at)
        return ["closed_at"]

    return run_transition(appeal_workflow, appeal, "close", actor=actor, reason=note, apply=apply)


def appeal_reopen(*, actor: Any, appeal: Appeal | int, reason: str, lead_unit_id: int | None = None) -> Appeal:
    """重办: back to the unit (or another one) with fresh deadlines, after an unresolved callback."""
    def apply(a: Appeal) -> list[str]:
        lead_id = lead_unit_id or a.lead_unit_id
        if lead_id is None:
            raise _bad("lead_unit", "请选择重办单位", "Choose the unit", "required")
        lead, co, _ = _resolve_units(a, lead_id, [])
        a.assignments.filter(status__in=[AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED, AssignmentStatus.DONE]).update(status=AssignmentStatus.CANCELLED)
        a.reopen_count += 1
        a.resolution = ""
        a.satisfaction = ""
        a.replied_at = None
        a.closed_at = None
        now = timezone.now()
        a.reopen_requests.filter(status=RequestStatus.PENDING).update(status=RequestStatus.APPROVED, decided_by=actor, decided_at=now)
        changed = _dispatch_into(a, actor, lead, co, False, reason)
        _notify_dispatched(a, lead, co)
        return [*changed, "reopen_count", "resolution", "satisfaction", "replied_at", "closed_at"]

    return run_transition(appeal_workflow, appeal, "reopen", actor=actor, reason=reason, apply=apply)


def appeal_archive(*, actor: Any, appeal: Appeal | int) -> Appeal:
    def apply(a: Appeal) -> list[str]:
        a.archived_at = timezone.now()
        return ["archived_at"]

    return run_transition(appeal_workflow, appeal, "archive", actor=actor, apply=apply)


# --- escalation, merge, duplicates, supervision --------------------------------------------------------------

def appeal_escalate(*, actor: Any, appeal: Appeal | int, reason: str) -> Appeal:
    """上报: the level that cannot solve it hands triage to the level above (社区 → 街道 → 区)."""
    def apply(a: Appeal) -> list[str]:
        parent = a.handling_level.parent
        if parent is None:
            raise Conflict("已是最高层级，不能再上报", "Already at the top level", code="no_higher_level")
        a.assignments.filter(status__in=[AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED]).update(status=AssignmentStatus.CANCELLED)
        a.return_requests.filter(status=RequestStatus.PENDING).update(status=RequestStatus.REFUSED, decided_by=actor, decided_at=timezone.now())
        a.handling_level = parent
        a.lead_unit = None
        a.escalation_count += 1
        for name in ("dispatched_at", "accept_due_at", "accepted_at", "contact_due_at", "first_contact_at", "due_at", "warn_at"):
            setattr(a, name, None)
        notify(recipients=managers_of(parent), kind="appeals.escalated", title=f"下级上报：{a.title}", body=reason, url=appeal_url(a))
        return ["handling_level", "lead_unit", "escalation_count", "dispatched_at", "accept_due_at", "accepted_at", "contact_due_at", "first_contact_at", "due_at", "warn_at"]

    return run_transition(appeal_workflow, appeal, "escalate", actor=actor, reason=reason, apply=apply)


def appeal_merge(*, actor: Any, appeal: Appeal | int, into_id: int, reason: str = "") -> Appeal:
    """合并: several residents, one object. The child is handled through the parent and not counted twice; its
    resident still gets the reply and a callback."""
    from .selectors import appeal_get

    audit_extra: dict[str, Any] = {}

    def apply(a: Appeal) -> list[str]:
        # The target is looked up once the actor's right to merge this appeal is established (403 before 404).
        if not into_id:
            raise _bad("into", "请选择合并到的诉求", "Choose the appeal to merge into", "required")
        try:
            parent = appeal_get(user=actor, pk=into_id)
        except NotFound:
            raise _bad("into", "目标诉求不存在", "No such appeal", "not_found") from None
        if parent.state not in (AppealState.RECEIVED, AppealState.DISPATCHED, AppealState.ACCEPTED, AppealState.IN_PROGRESS, AppealState.REPLY_SUBMITTED):
            raise _bad("into", "目标诉求已不在办理中", "The target appeal is no longer open", "target_not_open")
        if parent.merged_into_id or parent.duplicate_of_id:
            raise _bad("into", "目标诉求本身已合并或为重复件", "The target is itself merged or a duplicate", "target_not_open")
        audit_extra["into"] = parent.tracking_code
        if a.pk == parent.pk:
            raise _bad("into", "不能合并到自身", "Cannot merge into itself", "same_appeal")
        if a.merged_children.exists():
            raise Conflict("该诉求已有合并子件，请反向合并", "This appeal has merged children", code="has_children")
        a.assignments.filter(status__in=[AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED]).update(status=AssignmentStatus.CANCELLED)
        a.merged_into = parent
        a.counted = False
        a.lead_unit = parent.lead_unit
        a.due_at = parent.due_at
        return ["merged_into", "counted", "lead_unit", "due_at"]

    return run_transition(appeal_workflow, appeal, "merge", actor=actor, reason=reason, apply=apply, audit_extra=audit_extra)


def appeal_mark_duplicate(*, actor: Any, appeal: Appeal | int, original_id: int) -> Appeal:
    """重复件: the same resident about the same matter within the profile's window; not counted."""
    from .selectors import appeal_get

    def apply(a: Appeal) -> list[str]:
        try:
            original = appeal_get(user=actor, pk=original_id)
        except NotFound:
            raise _bad("original", "原诉求不存在", "No such appeal", "not_found") from None
        if a.pk == original.pk:
            raise _bad("original", "不能标记为自身的重复件", "Cannot duplicate itself", "same_appeal")
        same_person = (a.submitter_id and a.submitter_id == original.submitter_id) or (a.contact_phone and a.contact_phone == original.contact_phone)
        if not same_person:
            raise _bad("original", "重复件须为同一群众的诉求", "A duplicate must come from the same resident", "not_same_resident")
        window = int(policy_value("appeals.duplicate_window_days", a.org_unit))
        if abs(a.received_at - original.received_at) > timedelta(days=window):
            raise _bad("original", f"两件诉求间隔超过 {window} 天", f"More than {window} days apart", "outside_window")
        a.assignments.filter(status__in=[AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED]).update(status=AssignmentStatus.CANCELLED)
        a.duplicate_of = original
        a.counted = False
        _sms_resident(a, f"【议事】您的诉求 {a.tracking_code} 与 {original.tracking_code} 为同一事项，将一并办理。")
        return ["duplicate_of", "counted"]

    return run_transition(appeal_workflow, appeal, "mark_duplicate", actor=actor, apply=apply)


def appeal_supervise(*, actor: Any, appeal: Appeal | int, note: str) -> Appeal:
    """人工督办: a supervisor flags the appeal; the unit is told at once."""
    if not (note or "").strip():
        raise _bad("note", "请填写督办意见", "A note is required", "required")

    def apply(a: Appeal) -> list[str]:
        SupervisionFlag.objects.create(appeal=a, kind=SupervisionKind.MANUAL, note=note.strip()[:300], created_by=actor, created_at=timezone.now())
        a.supervised = True
        notify(recipients=unit_users([a.lead_unit_id] if a.lead_unit_id else []), kind="appeals.supervised", title=f"督办：{a.title}", body=note, url=appeal_url(a), sms=True)
        return ["supervised"]

    return run_transition(appeal_workflow, appeal, "supervise", actor=actor, reason=note, apply=apply)


@dataclass
class SweepResult:
    reminders: int = 0
    urges: int = 0
    escalations: int = 0
    auto_closed: int = 0


def _area_profiles() -> tuple[Any, list[tuple[str, Any]]]:
    """The default profile and the (path, profile) of every unit that chooses one, deepest first: the first path
    that prefixes a place's path names the profile in force there (as ``effective_profile`` decides)."""
    from yishi.policy.services import default_profile

    choosers = OrgUnit.objects.filter(policy_profile__isnull=False).select_related("policy_profile").order_by("-depth")
    return default_profile(), [(unit.path, unit.policy_profile) for unit in choosers]


def _per_area(choosers: list[tuple[str, Any]], default: Any, value: Any, output_field: Any) -> Any:
    """An SQL expression giving each appeal ``value(profile)`` for the profile in force at its place."""
    if not choosers:
        return Value(value(default), output_field=output_field)
    whens = [When(org_unit__path__startswith=path, then=Value(value(profile))) for path, profile in choosers]
    return Case(*whens, default=Value(value(default)), output_field=output_field)


def _last_escalating_due_date(today: date, working_days: int, overrides: Any) -> date:
    """The latest due date that is at least ``working_days`` working days before ``today``: walk back over
    ``working_days`` working days (``working_days_between(result, today) == working_days``)."""
    day, counted = today, 0
    while counted < working_days:
        if workdays.is_workday(day, overrides):
            counted += 1
        day -= timedelta(days=1)
    return day


def _raise_flags(candidates: Any, kind: str, now: datetime) -> list[Appeal]:
    """Raise a ``kind`` flag on each candidate that has none for its current deadline; return the appeals flagged.

    The existing flags are read per chunk of candidates, so a sweep that finds nothing new costs a few queries
    whatever the number of overdue appeals; each new flag is written with the appeal locked and re-checked (it may
    have been replied or extended since), and the unique constraint keeps concurrent sweeps from doubling it.
    """
    raised: list[Appeal] = []
    rows = candidates.order_by("pk").values_list("pk", "due_at")
    last_pk = 0
    while True:
        chunk = {pk: due.isoformat() for pk, due in rows.filter(pk__gt=last_pk)[:500]}
        if not chunk:
            return raised
        last_pk = max(chunk)
        flagged = set(SupervisionFlag.objects.filter(kind=kind, appeal_id__in=chunk).values_list("appeal_id", "note"))
        for pk, note in chunk.items():
            if (pk, note) in flagged:
                continue
            with transaction.atomic():
                appeal = Appeal.objects.select_for_update().filter(pk=pk, state__in=HANDLING_STATES).first()
                if appeal is None or appeal.due_at is None or appeal.due_at.isoformat() != note:
                    continue
                _flag, created = SupervisionFlag.objects.get_or_create(appeal=appeal, kind=kind, note=note, defaults={"created_at": now})
                if created:
                    record(actor=None, code=f"appeals.appeal.{kind}", subject=appeal, after={"due_at": appeal.due_at})
                    raised.append(appeal)


@policy_cache.pinned()
def supervision_sweep(*, now: datetime | None = None) -> SweepResult:
    """The automatic supervision run (every few minutes from the worker, ``yishi appeals_sweep`` or cron), over the
    appeals being handled (dispatched, return requested, accepted, in progress) and the replied ones:

    * reminder (临期提醒) to the lead unit once the warning time has passed and the deadline has not;
    * 催办 to the lead unit and the dispatching level once the deadline has passed;
    * escalation (督办升级) once the deadline is N working days behind (N from the area's profile, counted on the
      working-day calendar), marking the appeal supervised and telling the level above and the unit;
    * appeals replied longer ago than the callback window with no callback are closed as "no answer".

    Each flag is raised once per deadline (a unique constraint on appeal × kind × deadline), so the sweep can run
    as often as wanted and concurrently; an approved extension gives a new deadline and so new flags. The
    working-day arithmetic is done once per profile, not per appeal: the latest due date that escalates today is
    computed by walking back N working days, and the database compares each appeal's deadline with its profile's.
    """
    now = now or timezone.now()
    result = SweepResult()
    overrides = workday_overrides()
    default, choosers = _area_profiles()
    base = Appeal.objects.filter(state__in=HANDLING_STATES, due_at__isnull=False)

    for appeal in _raise_flags(base.filter(warn_at__lte=now, due_at__gte=now), SupervisionKind.REMINDER, now):
        result.reminders += 1
        notify(recipients=unit_users([appeal.lead_unit_id]), kind="appeals.reminder", title=f"临期提醒：{appeal.title}", url=appeal_url(appeal))
    overdue = base.filter(due_at__lt=now)
    for appeal in _raise_flags(overdue, SupervisionKind.URGE, now):
        result.urges += 1
        notify(recipients=unit_users([appeal.lead_unit_id]) + managers_of(appeal.handling_level), kind="appeals.urge", title=f"催办：{appeal.title}", url=appeal_url(appeal), sms=True)

    today = timezone.localtime(now).date()
    tz = timezone.get_current_timezone()

    def escalate_before(profile: Any) -> datetime:
        days = int(policy_value("appeals.supervision.escalate_after_working_days", profile=profile))
        return datetime.combine(_last_escalating_due_date(today, days, overrides) + timedelta(days=1), datetime.min.time(), tzinfo=tz)

    cutoff = _per_area(choosers, default, escalate_before, DateTimeField())
    late = overdue.annotate(escalate_before=cutoff).filter(due_at__lt=F("escalate_before"))
    for appeal in _raise_flags(late, SupervisionKind.ESCALATION, now):
        result.escalations += 1
        Appeal.objects.filter(pk=appeal.pk).update(supervised=True)
        level = appeal.handling_level
        recipients = managers_of(level.parent) if level.parent_id else managers_of(level)  # type: ignore[arg-type]
        notify(recipients=recipients + unit_users([appeal.lead_unit_id]), kind="appeals.escalation", title=f"超期升级督办：{appeal.title}", url=appeal_url(appeal), sms=True)

    result.auto_closed = _close_unanswered(now, default, choosers)
    return result


def _close_unanswered(now: datetime, default: Any, choosers: list[tuple[str, Any]]) -> int:
    """Close as "no answer" the replied appeals whose callback window has run out without a callback.

    A window of N working days is at least N calendar days, so the database first keeps only the appeals replied
    that long ago (for the profile in force at their place); the exact working-day deadline is checked on those.
    """
    def window(profile: Any) -> workdays.Limit:
        return limit_for("appeals.limit.callback", profile=profile)

    def replied_before(profile: Any) -> datetime:
        limit = window(profile)
        if limit.unit is workdays.LimitUnit.HOURS:
            return now - timedelta(hours=limit.amount)
        return now - timedelta(days=limit.amount)

    def profile_at(path: str) -> Any:
        return next((profile for prefix, profile in choosers if path.startswith(prefix)), default)

    # A callback given since the latest reply (one given before a reopening does not count) keeps the appeal open.
    answered = Callback.objects.filter(appeal=OuterRef("pk"), created_at__gte=OuterRef("replied_at"))
    candidates = (
        Appeal.objects.filter(state=AppealState.REPLIED, replied_at__isnull=False)
        .annotate(replied_before=_per_area(choosers, default, replied_before, DateTimeField()))
        .filter(replied_at__lte=F("replied_before"))
        .exclude(Exists(answered))
        .values_list("pk", "replied_at", "org_unit__path")
    )
    closed = 0
    for pk, replied_at, path in list(candidates):
        assert replied_at is not None  # filtered on replied_at__isnull=False
        if compute_deadline(replied_at, window(profile_at(path))) > now:
            continue
        with transaction.atomic():
            locked = Appeal.objects.select_for_update().filter(pk=pk, state=AppealState.REPLIED).first()
            if locked is None or locked.replied_at is None or locked.callbacks.filter(created_at__gte=locked.replied_at).exists():
                continue
            Callback.objects.create(appeal=locked, satisfaction=Satisfaction.NO_ANSWER, unit_at_fault=False, created_at=now)
            locked.state, locked.satisfaction, locked.closed_at = AppealState.CLOSED, Satisfaction.NO_ANSWER, now
            locked.save(update_fields=["state", "satisfaction", "closed_at", "updated_at"])
            record(actor=None, code="appeals.appeal.closed_no_answer", subject=locked, before={"state": AppealState.REPLIED}, after={"state": AppealState.CLOSED})
            closed += 1
    return closed


# --- micro-wishes -----------------------------------------------------------------------------------------

def wish_submit(*, actor: Any, title: str, text: str, org_unit_id: int, contact_name: str = "") -> MicroWish:
    """群众微心愿: a resident posts a small wish for their community."""
    require(actor, "wishes.submit")
    title, text = (title or "").strip(), (text or "").strip()
    if not title or len(title) > 120:
        raise _bad("title", "心愿标题须为 1 至 120 字", "Title must be 1–120 characters", "invalid_length")
    if not text or len(text) > 1000:
        raise _bad("text", "心愿说明须为 1 至 1000 字", "Text must be 1–1000 characters", "invalid_length")
    unit = OrgUnit.objects.filter(pk=org_unit_id, is_active=True).first()
    if unit is None:
        raise _bad("org_unit", "请选择所在社区", "Choose the community", "unknown_org_unit")
    with transaction.atomic():
        wish = MicroWish.objects.create(title=title, text=text, org_unit=unit, submitter=actor, contact_name=(contact_name or str(actor))[:50])
        record(actor=actor, code="wishes.wish.submitted", subject=wish, after={"org_unit": unit.pk})
    return wish


def _wish_change(actor: Any, wish_id: int, allowed_from: set[str], code: str, change: Any) -> MicroWish:
    with transaction.atomic():
        wish = MicroWish.objects.select_for_update().filter(pk=wish_id).first()
        if wish is None:
            raise NotFound()
        if wish.state not in allowed_from:
            raise Conflict("当前状态不能执行此操作", "Not allowed in the current state", code="transition_not_allowed", extra={"state": wish.state})
        before = {"state": wish.state, "adopter": wish.adopter_id}
        change(wish)
        wish.save()
        record(actor=actor, code=code, subject=wish, before=before, after={"state": wish.state, "adopter": wish.adopter_id})
    return wish


def wish_adopt(*, actor: Any, wish_id: int) -> MicroWish:
    """A deputy, member or volunteer of the area adopts the wish (代表帮实现)."""
    wish = MicroWish.objects.select_related("org_unit").filter(pk=wish_id).first()
    if wish is None:
        raise NotFound()
    require(actor, "wishes.adopt", wish)

    def change(w: MicroWish) -> None:
        w.state, w.adopter, w.adopted_at = WishState.ADOPTED, actor, timezone.now()
        notify(recipients=[w.submitter] if w.submitter_id else [], kind="wishes.adopted", title=f"您的心愿已被认领：{w.title}", body=f"认领人：{actor}")

    return _wish_change(actor, wish_id, {WishState.OPEN}, "wishes.wish.adopted", change)


def wish_fulfil(*, actor: Any, wish_id: int, note: str) -> MicroWish:
    if not (note or "").strip():
        raise _bad("note", "请填写实现情况", "Describe how it was fulfilled", "required")
    wish = MicroWish.objects.filter(pk=wish_id).first()
    if wish is None:
        raise NotFound()
    if wish.adopter_id != getattr(actor, "pk", None):
        from yishi.core.errors import PermissionDenied

        raise PermissionDenied("只有认领人可以标记实现", "Only the adopter can mark it fulfilled")

    def change(w: MicroWish) -> None:
        w.state, w.fulfilled_at, w.fulfilment_note = WishState.FULFILLED, timezone.now(), note.strip()
        notify(recipients=[w.submitter] if w.submitter_id else [], kind="wishes.fulfilled", title=f"您的心愿已实现：{w.title}", body=note)

    return _wish_change(actor, wish_id, {WishState.ADOPTED}, "wishes.wish.fulfilled", change)


def wish_withdraw(*, actor: Any, wish_id: int) -> MicroWish:
    wish = MicroWish.objects.filter(pk=wish_id).first()
    if wish is None or wish.submitter_id != getattr(actor, "pk", None):
        raise NotFound()

    def change(w: MicroWish) -> None:
        w.state = WishState.WITHDRAWN

    return _wish_change(actor, wish_id, {WishState.OPEN}, "wishes.wish.withdrawn", change)




"""Reads of appeals, always narrowed to what the user may see."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from yishi.audit.models import AuditEvent
from yishi.core.permissions import get_scoped_or_404, restrict, subtree_q

from .choices import HANDLING_STATES, AppealState
from .models import Appeal, Category

# The category with its parents (three levels): lists and pages show the category's full name.
_CATEGORY_PATH = ("category", "category__parent", "category__parent__parent")


def appeal_get(*, user: Any, pk: int) -> Appeal:
    qs = Appeal.objects.select_related(*_CATEGORY_PATH, "org_unit", "handling_level", "lead_unit", "submitter")
    return get_scoped_or_404(qs, user, "appeals.view", pk=pk)


@dataclass
class AppealFilter:
    state: str | None = None
    category_id: int | None = None
    org_unit_id: int | None = None
    unit_id: int | None = None
    overdue: bool | None = None
    at_risk: bool | None = None
    supervised: bool | None = None
    received_from: date | None = None
    received_to: date | None = None
    q: str | None = None
    nature: str | None = None
    channel: str | None = None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def appeal_list(*, user: Any, filters: AppealFilter | None = None, now: datetime | None = None) -> QuerySet[Appeal]:
    """The appeals the user may see, filtered, newest first (overdue and at-risk ones by deadline). Subtree filters
    pick the org units and categories by their indexed paths."""
    f = filters or AppealFilter()
    now = now or timezone.now()
    qs = restrict(Appeal.objects.all(), user, "appeals.view").select_related(*_CATEGORY_PATH, "org_unit", "lead_unit")
    if f.state:
        qs = qs.filter(state=f.state)
    if f.nature:
        qs = qs.filter(nature=f.nature)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.category_id:
        cat = Category.objects.filter(pk=f.category_id).first()
        qs = qs.filter(category__in=Category.objects.filter(path__startswith=cat.path).values("pk")) if cat else qs.none()
    if f.org_unit_id:
        from yishi.orgs.models import OrgUnit

        unit = OrgUnit.objects.filter(pk=f.org_unit_id).first()
        qs = qs.filter(subtree_q("org_unit", [unit.path])) if unit else qs.none()
    if f.unit_id:
        qs = qs.filter(lead_unit_id=f.unit_id)
    if f.overdue is True:
        qs = qs.filter(state__in=HANDLING_STATES, due_at__lt=now)
    elif f.overdue is False:
        qs = qs.exclude(state__in=HANDLING_STATES, due_at__lt=now)
    if f.at_risk:
        qs = qs.filter(state__in=HANDLING_STATES, warn_at__lte=now, due_at__gte=now)
    if f.supervised is not None:
        qs = qs.filter(supervised=f.supervised)
    # Day bounds as instants of the site's time zone, so the range walks the received_at index (``__date`` would
    # convert every row's time first).
    if f.received_from:
        qs = qs.filter(received_at__gte=_day_start(f.received_from))
    if f.received_to:
        qs = qs.filter(received_at__lt=_day_start(f.received_to + timedelta(days=1)))
    if f.q:
        term = f.q.strip()
        qs = qs.filter(Q(tracking_code__iexact=term) | Q(title__icontains=term) | Q(text__icontains=term))
    if f.overdue is True or f.at_risk:
        # What needs attention now comes by its deadline, the most pressing first (and through the deadline index of
        # the handling states, which a newest-first walk would reach only past every recent appeal not yet due).
        return qs.order_by("due_at", "id")
    return qs.order_by("-received_at", "-id")


def unit_queue(*, user: Any, unit_id: int | None = None) -> QuerySet[Appeal]:
    """A handling unit's queue: live appeals where one of the user's units is the lead, soonest deadline first."""
    from yishi.core.permissions import grants

    units = {g.handling_unit_id for g in grants(user) if g.handling_unit_id}
    if unit_id is not None:
        units &= {unit_id}
    states = [AppealState.DISPATCHED, AppealState.RETURN_REQUESTED, AppealState.ACCEPTED, AppealState.IN_PROGRESS, AppealState.REPLY_SUBMITTED]
    return (
        Appeal.objects.filter(lead_unit_id__in=units, state__in=states)
        .select_related(*_CATEGORY_PATH, "org_unit", "lead_unit")
        .order_by("due_at", "id")
    )


def deadline_status(appeal: Appeal, now: datetime | None = None) -> str:
    """"overdue", "at_risk", "ok" or "" (no running clock) for the list marks."""
    now = now or timezone.now()
    if appeal.state not in HANDLING_STATES or appeal.due_at is None:
        return ""
    if now > appeal.due_at:
        return "overdue"
    if appeal.warn_at is not None and now >= appeal.warn_at:
        return "at_risk"
    return "ok"


def appeal_by_tracking_code(code: str) -> Appeal | None:
    """Residents follow an appeal by its code (no sign-in); the page shows only the masked public view."""
    code = (code or "").strip().upper()
    if not re.fullmatch(r"YS\d{6}[0-9A-Z]{6}", code):
        return None
    return Appeal.objects.select_related(*_CATEGORY_PATH, "org_unit", "lead_unit").filter(tracking_code=code).first()


def timeline(appeal: Appeal) -> QuerySet[AuditEvent]:
    """Every recorded step of the appeal, in order: who did what, when."""
    return AuditEvent.objects.filter(subject_type="appeals.appeal", subject_id=str(appeal.pk)).order_by("seq")


# --- public masking ---------------------------------------------------------------------------------------

_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?)?\d{7,8}(?!\d)")
_HOUSE = re.compile(r"(\d+)(栋|幢|座|单元|号楼|楼|室|房|号)")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def mask_text(text: str) -> str:
    """Mask personal data for the public board: phone numbers, ID numbers, house/room numbers."""
    text = _ID_CARD.sub("******************", text or "")
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    text = _LANDLINE.sub("********", text)
    return _HOUSE.sub(lambda m: "*" * len(m.group(1)) + m.group(2), text)


def mask_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        return "匿名群众"
    return name[0] + "*" * max(1, len(name) - 1)


def public_board(*, org_unit_id: int | None = None) -> QuerySet[Appeal]:
    """Appeals shown on the public board: counted ones, not rejected, newest first (masking happens on display)."""
    qs = Appeal.objects.filter(counted=True).exclude(state=AppealState.REJECTED).select_related(*_CATEGORY_PATH, "org_unit", "lead_unit")
    if org_unit_id:
        from yishi.orgs.models import OrgUnit

        unit = OrgUnit.objects.filter(pk=org_unit_id).first()
        qs = qs.filter(subtree_q("org_unit", [unit.path])) if unit else qs.none()
    return qs.order_by("-received_at", "-id")


def duplicate_candidates(appeal: Appeal, window_days: int) -> QuerySet[Appeal]:
    """Earlier appeals of the same resident about the same category within the window (for the 重复件 check)."""
    who = Q()
    if appeal.submitter_id:
        who |= Q(submitter_id=appeal.submitter_id)
    if appeal.contact_phone:
        who |= Q(contact_phone=appeal.contact_phone)
    if not who:
        return Appeal.objects.none()
    since = appeal.received_at - timedelta(days=window_days)
    return (
        Appeal.objects.filter(who, category_id=appeal.category_id, received_at__gte=since, received_at__lte=appeal.received_at, duplicate_of__isnull=True)
        .exclude(pk=appeal.pk)
        .order_by("-received_at")
    )


def public_steps(appeal: Appeal) -> list[dict[str, Any]]:
    """The state changes of the appeal for its public tracking page: when and into which state, never by whom."""
    labels = dict(AppealState.choices)
    steps: list[dict[str, Any]] = []
    for event in timeline(appeal).only("at", "before", "after"):
        state = (event.after or {}).get("state") if isinstance(event.after, dict) else None
        previous = (event.before or {}).get("state") if isinstance(event.before, dict) else None
        if state and state != previous and (not steps or steps[-1]["state"] != state):
            steps.append({"at": event.at, "state": state, "state_label": str(labels.get(state, state))})
    return steps


def category_list() -> QuerySet[Category]:
    """The active catalogue, parents before children (the path order), for pickers and the API tree."""
    return Category.objects.filter(is_active=True).order_by("path")


def wish_list(*, user: Any, org_unit_id: int | None = None, state: str | None = None) -> QuerySet[Any]:
    """Micro-wishes (public), newest first, optionally of one area's subtree and one state."""
    from .models import MicroWish

    qs = restrict(MicroWish.objects.all(), user, "wishes.view").select_related("org_unit", "adopter")
    if org_unit_id:
        from yishi.orgs.models import OrgUnit

        unit = OrgUnit.objects.filter(pk=org_unit_id).first()
        qs = qs.filter(org_unit__path__startswith=unit.path) if unit else qs.none()
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-created_at", "-id")

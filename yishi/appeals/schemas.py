"""Input and output schemas of the appeals API.

Inputs name related objects by id under the field name the services use in their errors (``category``,
``org_unit``, ``lead_unit``, ``co_units``, ``into``, ``original``), so an error's ``field`` is the JSON key to fix.
Content rules that depend on the area's policy profile (empty text, length limits, coordinates, photos) are
checked by the services, which answer 400 with the field named; type errors are answered 422 by the schemas.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from ninja import Field, Schema

from yishi.core.schemas import ActionOut, Id, Text, actions_out

from .choices import AppealState, Channel, Nature, Resolution, Satisfaction, Urgency, WishState
from .models import Appeal, Category, MicroWish
from .selectors import deadline_status, mask_name, mask_text

REASON = Field(..., max_length=2000)
OPTIONAL_NOTE = Field("", max_length=2000)

# --- intake -----------------------------------------------------------------------------------------------------


class AppealIn(Schema):
    """A resident's own submission (web, mobile)."""

    nature: Nature
    category: Id = Field(..., description="分类 id（三级目录中的任一级）")
    title: Text
    text: Text
    org_unit: Id = Field(..., description="所在社区或网格的 id")
    address: Text = ""
    latitude: float | None = None
    longitude: float | None = None
    anonymous: bool = False
    consent_contact: bool = True
    contact_name: Text = ""
    contact_phone: Text = ""


class AppealOnBehalfIn(AppealIn):
    """Staff, grid workers and deputies entering a resident's appeal (来访、来电、网格走访、站点接待)."""

    channel: Literal["walk_in", "phone", "grid_visit", "station"]
    urgency: Urgency | None = None


class AppealReceiptOut(Schema):
    """What the submitter gets at once: the tracking code to follow the appeal."""

    id: int
    tracking_code: str
    state: str
    title: str
    received_at: datetime
    org_unit_id: int
    handling_level_id: int


# --- lists and detail -------------------------------------------------------------------------------------------


class AppealFilterIn(Schema):
    state: AppealState | None = None
    category_id: Id | None = None
    org_unit_id: Id | None = None
    unit_id: Id | None = None
    overdue: bool | None = None
    at_risk: bool | None = None
    supervised: bool | None = None
    received_from: date | None = None
    received_to: date | None = None
    q: Text | None = Field(None, max_length=100)
    nature: Nature | None = None
    channel: Channel | None = None


class AppealListOut(Schema):
    id: int
    tracking_code: str
    title: str
    nature: str
    channel: str
    category_id: int
    category_name: str
    urgency: str
    fast_lane: bool
    state: str
    state_label: str
    org_unit_id: int
    org_unit_name: str
    handling_level_id: int
    lead_unit_id: int | None
    lead_unit_name: str | None
    received_at: datetime
    accept_due_at: datetime | None
    due_at: datetime | None
    warn_at: datetime | None
    supervised: bool
    counted: bool
    deadline_status: Literal["overdue", "at_risk", "ok", ""]

    @staticmethod
    def resolve_category_name(obj: Appeal) -> str:
        return obj.category.full_name

    @staticmethod
    def resolve_state_label(obj: Appeal) -> str:
        return str(obj.get_state_display())

    @staticmethod
    def resolve_org_unit_name(obj: Appeal) -> str:
        return obj.org_unit.name

    @staticmethod
    def resolve_lead_unit_name(obj: Appeal) -> str | None:
        return obj.lead_unit.name if obj.lead_unit is not None else None

    @staticmethod
    def resolve_deadline_status(obj: Appeal) -> str:
        return deadline_status(obj)


class AssignmentOut(Schema):
    id: int
    unit_id: int
    unit_name: str = Field(..., alias="unit.name")
    role: str
    status: str
    dispatched_at: datetime
    accept_due_at: datetime
    accepted_at: datetime | None
    by_rule: bool
    note: str


class NoteOut(Schema):
    id: int
    kind: str
    text: str
    author_name: str
    unit_id: int | None
    created_at: datetime

    @staticmethod
    def resolve_author_name(obj: Any) -> str:
        return str(obj.author) if obj.author_id else ""


class ReturnRequestOut(Schema):
    id: int
    unit_id: int = Field(..., alias="assignment.unit_id")
    reason: str
    basis: str
    status: str
    requested_at: datetime
    decided_at: datetime | None
    decision_note: str


class ExtensionRequestOut(Schema):
    id: int
    working_days: int
    reason: str
    status: str
    requested_at: datetime
    old_due_at: datetime
    new_due_at: datetime | None
    decided_at: datetime | None
    decision_note: str


class ReopenRequestOut(Schema):
    id: int
    reason: str
    status: str
    created_at: datetime
    decided_at: datetime | None


class CallbackOut(Schema):
    id: int
    resolution: str
    satisfaction: str
    comment: str
    by_link: bool
    unit_at_fault: bool
    created_at: datetime


class SupervisionFlagOut(Schema):
    id: int
    kind: str
    note: str
    created_at: datetime
    resolved_at: datetime | None


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    purpose: str
    url: str

    @staticmethod
    def resolve_url(obj: Any) -> str:
        return obj.file.url


class AppealDetailOut(AppealListOut):
    text: str
    address: str
    latitude: float | None
    longitude: float | None
    handling_level_name: str = Field(..., alias="handling_level.name")
    submitter_id: int | None
    contact_name: str
    contact_phone: str
    anonymous: bool
    consent_contact: bool
    dispatched_at: datetime | None
    accepted_at: datetime | None
    contact_due_at: datetime | None
    first_contact_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    archived_at: datetime | None
    reply_text: str
    reject_reason: str
    resolution: str
    satisfaction: str
    accepted_on_time: bool | None
    contacted_on_time: bool | None
    closed_on_time: bool | None
    return_count: int
    reopen_count: int
    extension_count: int
    escalation_count: int
    merged_into_id: int | None
    duplicate_of_id: int | None
    merged_children_ids: list[int]
    assignments: list[AssignmentOut]
    notes: list[NoteOut]
    return_requests: list[ReturnRequestOut]
    extension_requests: list[ExtensionRequestOut]
    reopen_requests: list[ReopenRequestOut]
    callbacks: list[CallbackOut]
    supervision_flags: list[SupervisionFlagOut]
    attachments: list[AttachmentOut]
    actions: list[ActionOut]

    @staticmethod
    def resolve_merged_children_ids(obj: Appeal) -> list[int]:
        return list(obj.merged_children.order_by("pk").values_list("pk", flat=True))

    @staticmethod
    def resolve_assignments(obj: Appeal) -> Any:
        return obj.assignments.select_related("unit")

    @staticmethod
    def resolve_notes(obj: Appeal) -> Any:
        return obj.notes.select_related("author")

    @staticmethod
    def resolve_return_requests(obj: Appeal) -> Any:
        return obj.return_requests.select_related("assignment").order_by("requested_at", "pk")

    @staticmethod
    def resolve_extension_requests(obj: Appeal) -> Any:
        return obj.extension_requests.order_by("requested_at", "pk")

    @staticmethod
    def resolve_reopen_requests(obj: Appeal) -> Any:
        return obj.reopen_requests.order_by("created_at", "pk")

    @staticmethod
    def resolve_supervision_flags(obj: Appeal) -> Any:
        return obj.supervision_flags.order_by("created_at", "pk")

    @staticmethod
    def resolve_attachments(obj: Appeal) -> Any:
        return obj.attachments.order_by("pk")

    @staticmethod
    def resolve_actions(obj: Appeal, context: Any) -> list[dict[str, Any]]:
        from .workflow import appeal_workflow

        return actions_out(appeal_workflow, context["request"].user, obj)


# --- actions ----------------------------------------------------------------------------------------------------


class TriageIn(Schema):
    category: Id | None = None
    urgency: Urgency | None = None
    fast_lane: bool | None = None
    nature: Nature | None = None


class ReasonIn(Schema):
    reason: Text = REASON


class NoteIn(Schema):
    note: Text = OPTIONAL_NOTE


class TextIn(Schema):
    text: Text


class DispatchIn(Schema):
    """No ``lead_unit``: the routing rules for category × area choose (with their co-units)."""

    lead_unit: Id | None = None
    co_units: list[Id] = Field(default_factory=list, max_length=20)
    note: Text = Field("", max_length=300)


class ReturnIn(Schema):
    reason: Text = REASON
    basis: Text = Field(..., max_length=300, description="退单依据（职责文件、条款）")


class ExtensionIn(Schema):
    working_days: int = Field(..., ge=1, le=365)
    reason: Text = REASON


class CallbackIn(Schema):
    resolution: Resolution
    satisfaction: Satisfaction
    comment: Text = ""


class StaffCallbackIn(CallbackIn):
    unit_at_fault: bool = True


class ReopenIn(Schema):
    reason: Text = REASON
    lead_unit: Id | None = None


class MergeIn(Schema):
    into: Id
    reason: Text = OPTIONAL_NOTE


class DuplicateIn(Schema):
    original: Id


class SuperviseIn(Schema):
    note: Text = Field(..., max_length=300)


class ReopenRequestIn(Schema):
    reason: Text


# --- public views (personal data masked) ------------------------------------------------------------------------


class PublicStepOut(Schema):
    at: datetime
    state: str
    state_label: str


class AppealPublicOut(Schema):
    """What anyone holding the tracking code sees: masked text, the handling unit, the state changes (no staff)."""

    tracking_code: str
    title: str
    text: str
    nature: str
    category_name: str
    org_unit_name: str = Field(..., alias="org_unit.name")
    state: str
    state_label: str
    received_at: datetime
    lead_unit_name: str | None
    due_at: datetime | None
    replied_at: datetime | None
    reply_text: str
    closed_at: datetime | None
    resolution: str
    satisfaction: str
    steps: list[PublicStepOut]

    @staticmethod
    def resolve_title(obj: Appeal) -> str:
        return mask_text(obj.title)

    @staticmethod
    def resolve_text(obj: Appeal) -> str:
        return mask_text(obj.text)

    @staticmethod
    def resolve_reply_text(obj: Appeal) -> str:
        return mask_text(obj.reply_text)

    @staticmethod
    def resolve_category_name(obj: Appeal) -> str:
        return obj.category.full_name

    @staticmethod
    def resolve_state_label(obj: Appeal) -> str:
        return str(obj.get_state_display())

    @staticmethod
    def resolve_lead_unit_name(obj: Appeal) -> str | None:
        return obj.lead_unit.name if obj.lead_unit is not None else None

    @staticmethod
    def resolve_steps(obj: Appeal) -> list[dict[str, Any]]:
        from .selectors import public_steps

        return public_steps(obj)


class BoardItemOut(Schema):
    id: int
    title: str
    text: str
    submitter: str
    nature: str
    category_name: str
    org_unit_id: int
    org_unit_name: str = Field(..., alias="org_unit.name")
    state: str
    state_label: str
    received_at: datetime
    replied_at: datetime | None
    reply_text: str

    @staticmethod
    def resolve_title(obj: Appeal) -> str:
        return mask_text(obj.title)

    @staticmethod
    def resolve_text(obj: Appeal) -> str:
        return mask_text(obj.text[:300])

    @staticmethod
    def resolve_reply_text(obj: Appeal) -> str:
        return mask_text(obj.reply_text[:300]) if obj.replied_at else ""

    @staticmethod
    def resolve_submitter(obj: Appeal) -> str:
        return mask_name("" if obj.anonymous else obj.contact_name)

    @staticmethod
    def resolve_category_name(obj: Appeal) -> str:
        return obj.category.full_name

    @staticmethod
    def resolve_state_label(obj: Appeal) -> str:
        return str(obj.get_state_display())


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    level: int
    default_urgency: str
    fast_lane: bool
    children: list[CategoryOut] = Field(default_factory=list)


CategoryOut.model_rebuild()


def category_tree(categories: list[Category]) -> list[dict[str, Any]]:
    """Nest a flat list of categories (ordered by path) into the 3-level tree."""
    nodes: dict[int, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    for cat in categories:
        node = {
            "id": cat.pk, "code": cat.code, "name": cat.name, "level": cat.level,
            "default_urgency": cat.default_urgency, "fast_lane": cat.fast_lane, "children": [],
        }
        nodes[cat.pk] = node
        parent = nodes.get(cat.parent_id) if cat.parent_id else None
        (parent["children"] if parent is not None else roots).append(node)
    return roots


# --- micro-wishes -----------------------------------------------------------------------------------------------


class WishIn(Schema):
    title: Text
    text: Text
    org_unit: Id
    contact_name: Text = ""


class WishFilterIn(Schema):
    org_unit_id: Id | None = None
    state: WishState | None = None


class FulfilIn(Schema):
    note: Text = Field(..., max_length=2000)


class QueueFilterIn(Schema):
    unit_id: Id | None = None


class BoardFilterIn(Schema):
    org_unit_id: Id | None = None


class WishOut(Schema):
    id: int
    title: str
    text: str
    org_unit_id: int
    org_unit_name: str = Field(..., alias="org_unit.name")
    state: str
    state_label: str
    contact_name: str
    adopter_name: str | None
    adopted_at: datetime | None
    fulfilled_at: datetime | None
    fulfilment_note: str
    created_at: datetime

    @staticmethod
    def resolve_state_label(obj: MicroWish) -> str:
        return str(obj.get_state_display())

    @staticmethod
    def resolve_contact_name(obj: MicroWish) -> str:
        return mask_name(obj.contact_name)

    @staticmethod
    def resolve_adopter_name(obj: MicroWish) -> str | None:
        return str(obj.adopter) if obj.adopter_id else None

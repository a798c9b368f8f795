"""The appeals REST API (民呼我应).

Every endpoint parses its input, fetches through the selectors (an appeal outside the caller's scope is *not
found*, exactly like a missing one), makes one service call and serialises the result. Writes need a token with
the ``write`` scope (or the browser session); reads need ``read``. Errors are ``{code, message, field?}``.

* Intake: ``POST /appeals`` (JSON) or ``POST /appeals/with-photos`` (multipart: the same fields as form fields
  plus ``photos`` files); both accept an ``Idempotency-Key`` header: a retry with the same key answers 200 with
  the appeal created the first time (201). Staff enter walk-ins, calls and visits with ``POST /appeals/on-behalf``.
* Workflow: every transition is ``POST /appeals/{id}/actions/{verb}`` (a trailing slash is accepted too), each
  with its own input schema; ``GET /appeals/{id}`` lists under ``actions`` the verbs the caller may run now.
* Residents without an account: ``GET /appeals/track/{code}``, ``POST /appeals/callback/{token}``,
  ``POST /appeals/reopen-request/{token}`` and the masked public board ``GET /appeals/board``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from ninja import File, Form, Query, Router, UploadedFile
from ninja.params import HeaderEx, P

from yishi.core.api_actions import action_route
from yishi.core.api_auth import PUBLIC, TokenAuth, auth
from yishi.core.errors import NotFound, PermissionDenied
from yishi.core.pagination import Page, paginate
from yishi.core.schemas import ERRORS, TimelineEventOut
from yishi.policy.services import policy_value

from . import selectors, services
from .models import Appeal
from .schemas import (
    AppealDetailOut,
    AppealFilterIn,
    AppealIn,
    AppealListOut,
    AppealOnBehalfIn,
    AppealPublicOut,
    AppealReceiptOut,
    BoardFilterIn,
    BoardItemOut,
    CallbackIn,
    CategoryOut,
    DispatchIn,
    DuplicateIn,
    ExtensionIn,
    FulfilIn,
    MergeIn,
    NoteIn,
    QueueFilterIn,
    ReasonIn,
    ReopenIn,
    ReopenRequestIn,
    ReopenRequestOut,
    ReturnIn,
    StaffCallbackIn,
    SuperviseIn,
    TextIn,
    TriageIn,
    WishFilterIn,
    WishIn,
    WishOut,
    category_tree,
)

router = Router(tags=["appeals 民呼我应"])

IdempotencyKey = HeaderEx[
    str | None,
    P(alias="Idempotency-Key", description="客户端重试时携带相同的键，只会创建一件诉求"),
]
if TYPE_CHECKING:
    # Optional with a None default. Only for the type checker: at runtime ninja builds the published schema from
    # this annotation, and an Optional list would advertise "null" and lose the file picker in the API docs.
    PhotoFiles = File[list[UploadedFile] | None]
else:
    PhotoFiles = File[list[UploadedFile]]
ACTION_RESPONSES = {200: AppealDetailOut, **ERRORS}


def _public_write(request: HttpRequest) -> Any:
    """The actor of a public write (None when anonymous). A token, when given, must carry the write scope; a
    browser session must pass the CSRF check, since public endpoints do not run the session authenticator."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        TokenAuth("write").authenticate(request, header[7:].strip())
    elif request.user.is_authenticated:
        from ninja.utils import check_csrf

        if check_csrf(request) is not None:
            raise PermissionDenied("CSRF 校验失败", "CSRF check failed", code="csrf_failed")
    return request.user if request.user.is_authenticated else None


def _appeal_input(payload: AppealIn, photos: list[UploadedFile] | None = None) -> services.AppealInput:
    return services.AppealInput(
        nature=payload.nature,
        category_id=payload.category,
        title=payload.title,
        text=payload.text,
        org_unit_id=payload.org_unit,
        address=payload.address,
        latitude=payload.latitude,
        longitude=payload.longitude,
        anonymous=payload.anonymous,
        consent_contact=payload.consent_contact,
        contact_name=payload.contact_name,
        contact_phone=payload.contact_phone,
        urgency=getattr(payload, "urgency", None),
        photos=photos or [],
    )


def _receipt(appeal: Appeal) -> tuple[int, Appeal]:
    return (200 if getattr(appeal, "replayed", False) else 201), appeal


RECEIPT = {200: AppealReceiptOut, 201: AppealReceiptOut, **ERRORS}


# --- intake -----------------------------------------------------------------------------------------------------


@router.post("/appeals", response=RECEIPT, auth=PUBLIC)
def submit_appeal(request: HttpRequest, payload: AppealIn, idempotency_key: IdempotencyKey = None):
    """提交诉求（居民本人，可匿名——视本地区政策配置）。201 新建；携带已用过的 Idempotency-Key 重试时 200。"""
    actor = _public_write(request)
    appeal = services.appeal_submit(actor=actor, data=_appeal_input(payload), idempotency_key=idempotency_key)
    return _receipt(appeal)


@router.post("/appeals/with-photos", response=RECEIPT, auth=PUBLIC)
def submit_appeal_with_photos(
    request: HttpRequest, payload: Form[AppealIn], photos: PhotoFiles = None, idempotency_key: IdempotencyKey = None
):
    """提交带照片的诉求（multipart/form-data：字段同 JSON 提交，照片为 ``photos``，可多张）。"""
    actor = _public_write(request)
    data = _appeal_input(payload, photos)
    appeal = services.appeal_submit(actor=actor, data=data, idempotency_key=idempotency_key)
    return _receipt(appeal)


@router.post("/appeals/on-behalf", response=RECEIPT, auth=auth("write"))
def submit_on_behalf(request: HttpRequest, payload: AppealOnBehalfIn, idempotency_key: IdempotencyKey = None):
    """代群众录入诉求（来访、来电、网格走访、站点接待）；录入人须在该地区有录入权限。"""
    appeal = services.appeal_submit(
        actor=request.user, data=_appeal_input(payload), channel=payload.channel,
        idempotency_key=idempotency_key, on_behalf=True,
    )
    return _receipt(appeal)


# --- reads ------------------------------------------------------------------------------------------------------


@router.get("/appeals", response={200: list[AppealListOut], **ERRORS}, auth=auth("read"))
@paginate(Page)
def list_appeals(request: HttpRequest, filters: Query[AppealFilterIn]):
    """诉求列表（仅本人权限范围内），可按状态、分类、区域、承办单位、超期、临期、督办、受理日期、关键词筛选。"""
    return selectors.appeal_list(user=request.user, filters=selectors.AppealFilter(**filters.dict()))


@router.get("/appeals/{int:appeal_id}", response={200: AppealDetailOut, **ERRORS}, auth=auth("read"))
def get_appeal(request: HttpRequest, appeal_id: int):
    """诉求详情：派单、办理记录、待审申请、回访，以及当前用户现在可执行的操作（actions）。"""
    return selectors.appeal_get(user=request.user, pk=appeal_id)


@router.get("/appeals/{int:appeal_id}/timeline", response={200: list[TimelineEventOut], **ERRORS}, auth=auth("read"))
def get_timeline(request: HttpRequest, appeal_id: int):
    """全过程时间线：谁在何时做了什么，状态、时限、承办单位的前后变化。"""
    return selectors.timeline(selectors.appeal_get(user=request.user, pk=appeal_id))


@router.get("/units/queue", response={200: list[AppealListOut], **ERRORS}, auth=auth("read"))
@paginate(Page)
def unit_queue(request: HttpRequest, filters: Query[QueueFilterIn]):
    """本单位待办队列（主办），按办理时限排序，带超期/临期标记（deadline_status）。"""
    return selectors.unit_queue(user=request.user, unit_id=filters.unit_id)


@router.get("/categories", response={200: list[CategoryOut], **ERRORS}, auth=PUBLIC)
def list_categories(request: HttpRequest):
    """三级诉求分类目录（树形）。"""
    return category_tree(list(selectors.category_list()))


# --- residents without an account ---------------------------------------------------------------------------


@router.get("/appeals/track/{tracking_code}", response={200: AppealPublicOut, **ERRORS}, auth=PUBLIC)
def track(request: HttpRequest, tracking_code: str):
    """凭查询码查看诉求进度（个人信息已脱敏，不显示经办人员）。"""
    appeal = selectors.appeal_by_tracking_code(tracking_code)
    if appeal is None:
        raise NotFound()
    return appeal


@router.post("/appeals/callback/{token}", response={200: AppealPublicOut, **ERRORS}, auth=PUBLIC)
def callback_by_link(request: HttpRequest, token: str, payload: CallbackIn):
    """群众通过答复短信中的链接回访：是否解决、满意度。诉求尚未答复时返回 409 transition_not_allowed。"""
    return services.appeal_callback_by_link(
        token=token, resolution=payload.resolution, satisfaction=payload.satisfaction, comment=payload.comment
    )


@router.post("/appeals/reopen-request/{token}", response={201: ReopenRequestOut, **ERRORS}, auth=PUBLIC)
def reopen_request_by_link(request: HttpRequest, token: str, payload: ReopenRequestIn):
    """群众通过链接申请重办（须写明理由，答复后规定天数内）。"""
    return 201, services.appeal_request_reopen_by_link(token=token, reason=payload.reason)


@router.get("/appeals/board", response={200: list[BoardItemOut], **ERRORS}, auth=PUBLIC)
@paginate(Page)
def public_board(request: HttpRequest, filters: Query[BoardFilterIn]):
    """公开诉求看板（姓名、电话、门牌号已脱敏），可按社区/街道筛选；本地区政策关闭看板时为 404。"""
    unit = None
    if filters.org_unit_id is not None:
        from yishi.orgs.models import OrgUnit

        unit = OrgUnit.objects.filter(pk=filters.org_unit_id, is_active=True).first()
        if unit is None:
            raise NotFound()
    if not policy_value("appeals.public_board", unit, default=False):
        raise NotFound("本地区未开放诉求看板", "The public board is not open in this area", code="board_closed")
    return selectors.public_board(org_unit_id=filters.org_unit_id)


# --- workflow actions -------------------------------------------------------------------------------------------


_action = action_route(router, "/appeals/{int:appeal_id}", response=ACTION_RESPONSES, operation_prefix="appeal")


def _visible(request: HttpRequest, appeal_id: int) -> int:
    """The appeal's id once the caller may see it (404 otherwise); the service locks and re-reads the row."""
    return selectors.appeal_get(user=request.user, pk=appeal_id).pk


@_action("triage", "分类定级（分类、紧急程度、性质、快速通道）")
def triage(request: HttpRequest, appeal_id: int, payload: TriageIn):
    return services.appeal_triage(
        actor=request.user, appeal=_visible(request, appeal_id), category_id=payload.category,
        urgency=payload.urgency, fast_lane=payload.fast_lane, nature=payload.nature,
    )


@_action("reject", "不予受理（须写明理由）")
def reject(request: HttpRequest, appeal_id: int, payload: ReasonIn):
    return services.appeal_reject(actor=request.user, appeal=_visible(request, appeal_id), reason=payload.reason)


@_action("answer", "直接答复")
def answer(request: HttpRequest, appeal_id: int, payload: TextIn):
    return services.appeal_answer(actor=request.user, appeal=_visible(request, appeal_id), text=payload.text)


@_action("dispatch", "派单（不指定主办单位时按派单规则）")
def dispatch(request: HttpRequest, appeal_id: int, payload: DispatchIn):
    return services.appeal_dispatch(
        actor=request.user, appeal=_visible(request, appeal_id), lead_unit_id=payload.lead_unit,
        co_unit_ids=payload.co_units, note=payload.note,
    )


@_action("accept", "签收")
def accept(request: HttpRequest, appeal_id: int):
    return services.appeal_accept(actor=request.user, appeal=_visible(request, appeal_id))


@_action("request_return", "退单（理由与职责依据）")
def request_return(request: HttpRequest, appeal_id: int, payload: ReturnIn):
    return services.appeal_request_return(
        actor=request.user, appeal=_visible(request, appeal_id), reason=payload.reason, basis=payload.basis
    )


@_action("approve_return", "同意退单并改派")
def approve_return(request: HttpRequest, appeal_id: int, payload: DispatchIn):
    return services.appeal_approve_return(
        actor=request.user, appeal=_visible(request, appeal_id), lead_unit_id=payload.lead_unit,
        co_unit_ids=payload.co_units, note=payload.note,
    )


@_action("refuse_return", "驳回退单")
def refuse_return(request: HttpRequest, appeal_id: int, payload: ReasonIn):
    return services.appeal_refuse_return(actor=request.user, appeal=_visible(request, appeal_id), reason=payload.reason)


@_action("contact", "联系群众（首次联系开始办理）")
def contact(request: HttpRequest, appeal_id: int, payload: TextIn):
    return services.appeal_contact(actor=request.user, appeal=_visible(request, appeal_id), text=payload.text)


@_action("progress", "记录办理进展")
def progress(request: HttpRequest, appeal_id: int, payload: TextIn):
    return services.appeal_progress(actor=request.user, appeal=_visible(request, appeal_id), text=payload.text)


@_action("co_report", "协办单位反馈")
def co_report(request: HttpRequest, appeal_id: int, payload: TextIn):
    return services.appeal_co_report(actor=request.user, appeal=_visible(request, appeal_id), text=payload.text)


@_action("request_extension", "申请延期（时限届满前）")
def request_extension(request: HttpRequest, appeal_id: int, payload: ExtensionIn):
    return services.appeal_request_extension(
        actor=request.user, appeal=_visible(request, appeal_id), working_days=payload.working_days, reason=payload.reason
    )


@_action("approve_extension", "批准延期")
def approve_extension(request: HttpRequest, appeal_id: int, payload: NoteIn):
    return services.appeal_approve_extension(actor=request.user, appeal=_visible(request, appeal_id), note=payload.note)


@_action("refuse_extension", "驳回延期")
def refuse_extension(request: HttpRequest, appeal_id: int, payload: ReasonIn):
    return services.appeal_refuse_extension(actor=request.user, appeal=_visible(request, appeal_id), reason=payload.reason)


@_action("submit_reply", "提交答复（办理结果）")
def submit_reply(request: HttpRequest, appeal_id: int, payload: TextIn):
    return services.appeal_submit_reply(actor=request.user, appeal=_visible(request, appeal_id), text=payload.text)


@router.post(
    "/appeals/{int:appeal_id}/actions/submit_reply/with-photos", response=ACTION_RESPONSES, auth=auth("write")
)
def submit_reply_with_photos(request: HttpRequest, appeal_id: int, payload: Form[TextIn], photos: PhotoFiles = None):
    """提交答复并附佐证照片（multipart/form-data：``text`` 与 ``photos``）。"""
    return services.appeal_submit_reply(
        actor=request.user, appeal=_visible(request, appeal_id), text=payload.text, photos=photos or []
    )


@_action("approve_reply", "答复审核通过（发送群众并等待回访）")
def approve_reply(request: HttpRequest, appeal_id: int):
    return services.appeal_approve_reply(actor=request.user, appeal=_visible(request, appeal_id))


@_action("return_reply", "答复不合格退回")
def return_reply(request: HttpRequest, appeal_id: int, payload: ReasonIn):
    return services.appeal_return_reply(actor=request.user, appeal=_visible(request, appeal_id), reason=payload.reason)


@_action("callback", "录入回访（电话回访）")
def callback(request: HttpRequest, appeal_id: int, payload: StaffCallbackIn):
    return services.appeal_callback(
        actor=request.user, appeal=_visible(request, appeal_id), resolution=payload.resolution,
        satisfaction=payload.satisfaction, comment=payload.comment, unit_at_fault=payload.unit_at_fault,
    )


@_action("close", "办结")
def close(request: HttpRequest, appeal_id: int, payload: NoteIn):
    return services.appeal_close(actor=request.user, appeal=_visible(request, appeal_id), note=payload.note)


@_action("reopen", "重办（回访未解决）")
def reopen(request: HttpRequest, appeal_id: int, payload: ReopenIn):
    return services.appeal_reopen(
        actor=request.user, appeal=_visible(request, appeal_id), reason=payload.reason, lead_unit_id=payload.lead_unit
    )


@_action("archive", "归档")
def archive(request: HttpRequest, appeal_id: int):
    return services.appeal_archive(actor=request.user, appeal=_visible(request, appeal_id))


@_action("escalate", "上报上级（社区 → 街道 → 区）")
def escalate(request: HttpRequest, appeal_id: int, payload: ReasonIn):
    return services.appeal_escalate(actor=request.user, appeal=_visible(request, appeal_id), reason=payload.reason)


@_action("merge", "合并到另一件诉求")
def merge(request: HttpRequest, appeal_id: int, payload: MergeIn):
    return services.appeal_merge(
        actor=request.user, appeal=_visible(request, appeal_id), into_id=payload.into, reason=payload.reason
    )


@_action("mark_duplicate", "标记为重复件")
def mark_duplicate(request: HttpRequest, appeal_id: int, payload: DuplicateIn):
    return services.appeal_mark_duplicate(
        actor=request.user, appeal=_visible(request, appeal_id), original_id=payload.original
    )


@_action("supervise", "督办")
def supervise(request: HttpRequest, appeal_id: int, payload: SuperviseIn):
    return services.appeal_supervise(actor=request.user, appeal=_visible(request, appeal_id), note=payload.note)


# --- micro-wishes -----------------------------------------------------------------------------------------------


@router.get("/wishes", response={200: list[WishOut], **ERRORS}, auth=PUBLIC)
@paginate(Page)
def list_wishes(request: HttpRequest, filters: Query[WishFilterIn]):
    """群众微心愿（公开），可按社区、状态筛选。"""
    return selectors.wish_list(user=request.user, org_unit_id=filters.org_unit_id, state=filters.state)


@router.post("/wishes", response={201: WishOut, **ERRORS}, auth=auth("write"))
def submit_wish(request: HttpRequest, payload: WishIn):
    """发布微心愿。"""
    return 201, services.wish_submit(
        actor=request.user, title=payload.title, text=payload.text, org_unit_id=payload.org_unit,
        contact_name=payload.contact_name,
    )


@router.post("/wishes/{int:wish_id}/adopt", response={200: WishOut, **ERRORS}, auth=auth("write"))
def adopt_wish(request: HttpRequest, wish_id: int):
    """认领微心愿（本地区的代表、委员、志愿者）。"""
    return services.wish_adopt(actor=request.user, wish_id=wish_id)


@router.post("/wishes/{int:wish_id}/fulfil", response={200: WishOut, **ERRORS}, auth=auth("write"))
def fulfil_wish(request: HttpRequest, wish_id: int, payload: FulfilIn):
    """标记心愿已实现（认领人）。"""
    return services.wish_fulfil(actor=request.user, wish_id=wish_id, note=payload.note)


@router.post("/wishes/{int:wish_id}/withdraw", response={200: WishOut, **ERRORS}, auth=auth("write"))
def withdraw_wish(request: HttpRequest, wish_id: int):
    """撤回自己发布的心愿（尚未被认领时）。"""
    return services.wish_withdraw(actor=request.user, wish_id=wish_id)


"""The consultations REST API (有事好商量): the platform, topics through the 8-step loop, their records, and the
failure counts for supervisors.

Every endpoint parses its input, fetches through the selectors (a topic outside the caller's sight is *not
found*, exactly like a missing one), makes one service call and serialises the result. Writes need a token with
the ``write`` scope (or the browser session); reads need ``read``; rooms and the catalogue are public. Errors are
``{code, message, field?}``.

* Workflow: every transition of ``topic_workflow`` is ``POST /consultations/topics/{id}/actions/{verb}`` (a
  trailing slash is accepted too), each with its own input; ``GET /consultations/topics/{id}`` lists under
  ``actions`` the verbs the caller may run now.
* Records of the steps: ``…/participants``, ``…/research`` (and ``…/research/{rid}/approve|reject``),
  ``…/opinions`` (and ``…/opinions/from-motions``), ``…/responsibilities`` (and ``…/{rid}/unit``), ``…/effects``,
  ``…/satisfaction``, ``…/evaluations``; residents ``POST …/support``.
* The meeting itself (motions, floor, votes) is the meetings API (``/meetings``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from ninja import File, Form, Query, Router, UploadedFile

from yishi.core.api_actions import action_route
from yishi.core.api_auth import PUBLIC, auth
from yishi.core.pagination import Page, paginate
from yishi.core.schemas import ERRORS, TimelineEventOut

from . import selectors, services
from .downloads import attachment_response
from .schemas import (
    CallMeetingIn,
    CatalogueFilterIn,
    CatalogueItemIn,
    CatalogueItemOut,
    CloseIn,
    EffectIn,
    EffectOut,
    EvaluationIn,
    EvaluationOut,
    FailureCountsOut,
    FromAppealsIn,
    NoteIn,
    OpinionIn,
    OpinionOut,
    OptionalReasonIn,
    ParticipantIn,
    ParticipantOut,
    ProposeIn,
    ReasonIn,
    RepresentativenessOut,
    ResearchIn,
    ResearchOut,
    ResponsibilityIn,
    ResponsibilityOut,
    RoomDetailOut,
    RoomFilterIn,
    RoomIn,
    RoomMemberIn,
    RoomMemberOut,
    RoomOut,
    SatisfactionIn,
    SatisfactionOut,
    SubmitResultsIn,
    SupportOut,
    TalentFilterIn,
    TalentIn,
    TalentOut,
    TopicDetailOut,
    TopicFilterIn,
    TopicListOut,
    UnitIn,
)

router = Router(tags=["consultations 有事好商量"])
if TYPE_CHECKING:
    # Optional with a None default for the type checker only: at runtime the published schema is built from this
    # annotation, and an Optional list would advertise "null" and lose the file picker (as in the appeals API).
    AttachmentFiles = File[list[UploadedFile] | None]
else:
    AttachmentFiles = File[list[UploadedFile]]
TOPIC = "/consultations/topics/{int:topic_id}"
DETAIL = {200: TopicDetailOut, **ERRORS}


def _visible(request: HttpRequest, topic_id: int) -> int:
    """The topic's id once the caller may see it (404 otherwise); the service locks and re-reads the row."""
    return selectors.topic_get(user=request.user, pk=topic_id).pk


def _detail(request: HttpRequest, topic_id: int) -> Any:
    return selectors.topic_get(user=request.user, pk=topic_id)


# --- platform -----------------------------------------------------------------------------------------------------


@router.get("/consultations/rooms", response={200: list[RoomOut], **ERRORS}, auth=PUBLIC)
@paginate(Page)
def list_rooms(request: HttpRequest, filters: Query[RoomFilterIn]):
    """议事室、议事厅、委员之家（公开），可按层级、区域筛选。"""
    return selectors.room_list(level=filters.level, org_unit_id=filters.org_unit_id)


@router.get("/consultations/rooms/{int:room_id}", response={200: RoomDetailOut, **ERRORS}, auth=PUBLIC)
def get_room(request: HttpRequest, room_id: int):
    """议事室详情与成员（主持人/召集人、记录员、成员）。"""
    return selectors.room_get(pk=room_id)


@router.post("/consultations/rooms", response={201: RoomDetailOut, **ERRORS}, auth=auth("write"))
def create_room(request: HttpRequest, payload: RoomIn):
    """搭建平台：在本人管辖区域内设立议事室（社区委员之家、街道议事室、区议事厅，或界别、企业议事室）。"""
    return 201, services.room_create(
        actor=request.user, name=payload.name, level=payload.level, org_unit=payload.org_unit, parent=payload.parent,
        station=payload.station, sector=payload.sector, enterprise=payload.enterprise, description=payload.description,
    )


@router.post("/consultations/rooms/{int:room_id}/members", response={200: RoomMemberOut, **ERRORS}, auth=auth("write"))
def set_room_member(request: HttpRequest, room_id: int, payload: RoomMemberIn):
    """设置议事室成员及职责；每个议事室只有一位主持人，指定新主持人时原主持人改为成员。"""
    return services.room_member_set(actor=request.user, room=selectors.room_get(pk=room_id), user=payload.user, role=payload.role)


@router.get("/consultations/catalogue", response={200: list[CatalogueItemOut], **ERRORS}, auth=PUBLIC)
@paginate(Page)
def list_catalogue(request: HttpRequest, filters: Query[CatalogueFilterIn]):
    """议事协商目录：适用于某区域的事项（本区域及上级区域的目录）。"""
    unit = None
    if filters.org_unit_id is not None:
        from yishi.orgs.models import OrgUnit

        unit = OrgUnit.objects.filter(pk=filters.org_unit_id).first()
        if unit is None:
            return selectors.catalogue_list().none()
    return selectors.catalogue_list(org_unit=unit)


@router.post("/consultations/catalogue", response={201: CatalogueItemOut, **ERRORS}, auth=auth("write"))
def create_catalogue_item(request: HttpRequest, payload: CatalogueItemIn):
    """在本人管辖区域的议事协商目录中增加事项。"""
    return 201, services.catalogue_item_create(
        actor=request.user, org_unit=payload.org_unit, title=payload.title, description=payload.description,
        mandatory=payload.mandatory,
    )


@router.get("/consultations/talents", response={200: list[TalentOut], **ERRORS}, auth=auth("read"))
@paginate(Page)
def search_talents(request: HttpRequest, filters: Query[TalentFilterIn]):
    """协商议事人才库：按专长（及姓名、单位）搜索本区域及上级区域的人才（组织协商的工作人员可用）。"""
    return selectors.talent_search(user=request.user, q=filters.q or "", kind=filters.kind)


@router.post("/consultations/talents", response={201: TalentOut, **ERRORS}, auth=auth("write"))
def add_talent(request: HttpRequest, payload: TalentIn):
    """把一位专家、代表、委员或其他人才加入人才库。"""
    return 201, services.talent_add(
        actor=request.user, name=payload.name, expertise=payload.expertise, org_unit=payload.org_unit,
        kind=payload.kind, organisation=payload.organisation, phone=payload.phone, user=payload.user,
    )


# --- topics: reads --------------------------------------------------------------------------------------------------


@router.get("/consultations/topics", response={200: list[TopicListOut], **ERRORS}, auth=auth("read"))
@paginate(Page)
def list_topics(request: HttpRequest, filters: Query[TopicFilterIn]):
    """协商议题（仅本人可见范围），可按状态、议事室、层级、来源、失效情形（议而不决、决而不行、行而不久）筛选。"""
    return selectors.topic_list(user=request.user, filters=selectors.TopicFilter(**filters.dict()))


@router.get(TOPIC, response=DETAIL, auth=auth("read"))
def get_topic(request: HttpRequest, topic_id: int):
    """议题详情：八个环节的记录、代表性面板、失效标记，以及当前用户现在可执行的操作（actions）。"""
    return _detail(request, topic_id)


@router.get(TOPIC + "/timeline", response={200: list[TimelineEventOut], **ERRORS}, auth=auth("read"))
def get_timeline(request: HttpRequest, topic_id: int):
    """全过程记录：谁在何时做了什么（每一步的时间、操作人和理由）。"""
    return selectors.topic_timeline(_detail(request, topic_id))


@router.get(TOPIC + "/representativeness", response={200: RepresentativenessOut, **ERRORS}, auth=auth("read"))
def get_representativeness(request: HttpRequest, topic_id: int):
    """代表性面板：已邀请的参与主体类别，以及政策配置要求而尚缺的类别。"""
    panel = selectors.representativeness(_detail(request, topic_id))
    return {"present": panel.present, "missing": panel.missing, "complete": panel.complete}


@router.get("/consultations/failures", response={200: FailureCountsOut, **ERRORS}, auth=auth("read"))
def get_failure_counts(request: HttpRequest):
    """失效预警：本人可督导范围内各议事室、各层级的议而不决、决而不行、行而不久议题数。"""
    counts = selectors.failure_counts(request.user)
    return {"rooms": counts.rooms, "levels": counts.levels, "total": counts.total}


# --- topics: creation and support ---------------------------------------------------------------------------------


@router.post("/consultations/topics", response={201: TopicDetailOut, **ERRORS}, auth=auth("write"))
def propose_topic(request: HttpRequest, payload: ProposeIn):
    """提出议题：党政点题（本区域工作人员）、群众出题（本区域居民，须署名）、委员荐题（议事室成员）。"""
    topic = services.topic_propose(
        actor=request.user, room=payload.room, source=payload.source, title=payload.title,
        description=payload.description, proposer_name=payload.proposer_name, catalogue_item_id=payload.catalogue_item,
    )
    return 201, _detail(request, topic.pk)


@router.post("/consultations/topics/from-appeals", response={201: TopicDetailOut, **ERRORS}, auth=auth("write"))
def topic_from_appeals(request: HttpRequest, payload: FromAppealsIn):
    """由一组诉求（民呼热点）生成议题，并关联每一件诉求。"""
    topic = services.topic_from_appeals(
        actor=request.user, room=payload.room, appeal_ids=payload.appeals, title=payload.title,
        description=payload.description,
    )
    return 201, _detail(request, topic.pk)


@router.post(TOPIC + "/support", response={200: SupportOut, **ERRORS}, auth=auth("write"))
def support_topic(request: HttpRequest, topic_id: int):
    """附议：本区域居民支持一个待审定的议题（每人一次）。"""
    return {"supporters": services.topic_support(actor=request.user, topic=_visible(request, topic_id))}


# --- workflow actions -------------------------------------------------------------------------------------------


_action = action_route(router, TOPIC, response=DETAIL, operation_prefix="topic")


@_action("approve", "党组织审定通过")
def approve(request: HttpRequest, topic_id: int, payload: NoteIn):
    services.topic_approve(actor=request.user, topic=_visible(request, topic_id), note=payload.note)
    return _detail(request, topic_id)


@_action("decline", "党组织不予审定（须写明理由）")
def decline(request: HttpRequest, topic_id: int, payload: ReasonIn):
    services.topic_decline(actor=request.user, topic=_visible(request, topic_id), reason=payload.reason)
    return _detail(request, topic_id)


@_action("start_research", "开始商前调研（须已确定参与主体）")
def start_research(request: HttpRequest, topic_id: int):
    services.topic_start_research(actor=request.user, topic=_visible(request, topic_id))
    return _detail(request, topic_id)


@_action("call_meeting", "召集协商会议（不调研不协商：须有已通过的调研记录）")
def call_meeting(request: HttpRequest, topic_id: int, payload: CallMeetingIn):
    services.topic_call_meeting(
        actor=request.user, topic=_visible(request, topic_id), mode=payload.mode, starts_at=payload.starts_at,
        agenda=payload.agenda, location=payload.location,
    )
    return _detail(request, topic_id)


@_action("record_decision", "记录会议形成协商意见")
def record_decision(request: HttpRequest, topic_id: int, payload: OptionalReasonIn):
    services.topic_record_outcome(actor=request.user, topic=_visible(request, topic_id), decided=True, reason=payload.reason)
    return _detail(request, topic_id)


@_action("record_no_decision", "记录议而未决（须写明理由）")
def record_no_decision(request: HttpRequest, topic_id: int, payload: ReasonIn):
    services.topic_record_outcome(actor=request.user, topic=_visible(request, topic_id), decided=False, reason=payload.reason)
    return _detail(request, topic_id)


@_action("submit_results", "报送协商意见建议清单（本级或上级党委政府）")
def submit_results(request: HttpRequest, topic_id: int, payload: SubmitResultsIn):
    services.topic_submit_results(actor=request.user, topic=_visible(request, topic_id), sent_to_id=payload.results_sent_to,
                                  note=payload.note)
    return _detail(request, topic_id)


@_action("start_implementation", "转化落实：责任清单逐项派单")
def start_implementation(request: HttpRequest, topic_id: int):
    services.topic_start_implementation(actor=request.user, topic=_visible(request, topic_id))
    return _detail(request, topic_id)


@_action("start_evaluation", "评估质效（须已填写落实效果清单）")
def start_evaluation(request: HttpRequest, topic_id: int):
    services.topic_start_evaluation(actor=request.user, topic=_visible(request, topic_id))
    return _detail(request, topic_id)


@_action("close", "闭环（综合评价 1–5），并告知相关诉求群众")
def close(request: HttpRequest, topic_id: int, payload: CloseIn):
    services.topic_close(actor=request.user, topic=_visible(request, topic_id), final_rating=payload.final_rating,
                         note=payload.note)
    return _detail(request, topic_id)


@_action("escalate", "上报上级平台（社区委员之家 → 街道议事室 → 区议事厅）")
def escalate(request: HttpRequest, topic_id: int, payload: ReasonIn):
    services.topic_escalate(actor=request.user, topic=_visible(request, topic_id), reason=payload.reason)
    return _detail(request, topic_id)


# --- the records of each step ---------------------------------------------------------------------------------------


@router.post(TOPIC + "/participants", response={201: ParticipantOut, **ERRORS}, auth=auth("write"))
def invite_participant(request: HttpRequest, topic_id: int, payload: ParticipantIn):
    """明确主体：邀请用户、人才库专家、承办单位（职能部门）、企业/物业/业委会/社会组织，或按姓名登记。"""
    return 201, services.participant_invite(
        actor=request.user, topic=_visible(request, topic_id), kind=payload.kind, user_id=payload.user,
        talent_id=payload.talent, handling_unit_id=payload.handling_unit, enterprise_id=payload.enterprise,
        name=payload.name, can_vote=payload.can_vote,
    )


@router.delete(TOPIC + "/participants/{int:participant_id}", response={204: None, **ERRORS}, auth=auth("write"))
def remove_participant(request: HttpRequest, topic_id: int, participant_id: int):
    """移除参与主体（会议开始前；已有会议记录的不能移除）。"""
    services.participant_remove(actor=request.user, topic=_visible(request, topic_id), participant_id=participant_id)
    return 204, None


@router.post(TOPIC + "/research", response={201: ResearchOut, **ERRORS}, auth=auth("write"))
def add_research(request: HttpRequest, topic_id: int, payload: ResearchIn):
    """商前调研：提交调研笔记、实地走访、政策梳理或问卷座谈记录（待审核）。"""
    return 201, services.research_add(actor=request.user, topic=_visible(request, topic_id), kind=payload.kind,
                                      title=payload.title, text=payload.text)


@router.post(TOPIC + "/research/with-files", response={201: ResearchOut, **ERRORS}, auth=auth("write"))
def add_research_with_files(request: HttpRequest, topic_id: int, payload: Form[ResearchIn], attachments: AttachmentFiles = None):
    """提交带附件的调研记录（multipart/form-data：字段同上，附件为 ``attachments``，可多个）。附件个数、大小和类型
    （PDF、Word、Excel、PowerPoint、图片）以政策配置为准，不合格时整份记录不保存，错误指明 ``attachments``。"""
    return 201, services.research_add(actor=request.user, topic=_visible(request, topic_id), kind=payload.kind,
                                      title=payload.title, text=payload.text, attachments=attachments or [])


@router.get(TOPIC + "/research/{int:research_id}/attachments/{int:attachment_id}", response={200: None, **ERRORS},
            auth=auth("read"), url_name="consultations_research_attachment")
def download_research_attachment(request: HttpRequest, topic_id: int, research_id: int, attachment_id: int):
    """下载调研附件（仅能查看该议题的用户；其他人得到 404）。"""
    item = selectors.research_attachment_get(user=request.user, topic_id=topic_id, research_id=research_id,
                                             pk=attachment_id)
    return attachment_response(item)


@router.post(TOPIC + "/research/{int:research_id}/approve", response={200: ResearchOut, **ERRORS}, auth=auth("write"))
def approve_research(request: HttpRequest, topic_id: int, research_id: int, payload: NoteIn):
    """审核通过调研记录（同级党组织或上级工作人员；不能审核本人提交的）。"""
    return services.research_approve(actor=request.user, topic=_visible(request, topic_id), research_id=research_id,
                                     note=payload.note)


@router.post(TOPIC + "/research/{int:research_id}/reject", response={200: ResearchOut, **ERRORS}, auth=auth("write"))
def reject_research(request: HttpRequest, topic_id: int, research_id: int, payload: ReasonIn):
    """退回调研记录（须写明理由）。"""
    return services.research_reject(actor=request.user, topic=_visible(request, topic_id), research_id=research_id,
                                    reason=payload.reason)


@router.post(TOPIC + "/opinions", response={201: OpinionOut, **ERRORS}, auth=auth("write"))
def add_opinion(request: HttpRequest, topic_id: int, payload: OpinionIn):
    """协商意见建议清单：增加一条意见建议及其理由（可关联会议通过的动议）。"""
    return 201, services.opinion_add(actor=request.user, topic=_visible(request, topic_id), text=payload.text,
                                     rationale=payload.rationale, motion_id=payload.motion)


@router.post(TOPIC + "/opinions/from-motions", response={201: list[OpinionOut], **ERRORS}, auth=auth("write"))
def opinions_from_motions(request: HttpRequest, topic_id: int):
    """把会议通过（或达成共识）的动议逐条列入意见建议清单。"""
    return 201, services.opinions_from_motions(actor=request.user, topic=_visible(request, topic_id))


@router.post(TOPIC + "/responsibilities", response={201: ResponsibilityOut, **ERRORS}, auth=auth("write"))
def add_responsibility(request: HttpRequest, topic_id: int, payload: ResponsibilityIn):
    """工作责任清单：由意见建议转化的任务、责任单位与时限（工作日）；落实阶段增加的任务立即派单。"""
    return 201, services.responsibility_add(
        actor=request.user, topic=_visible(request, topic_id), opinion_item_id=payload.opinion_item, task=payload.task,
        handling_unit_id=payload.handling_unit, working_days=payload.working_days,
    )


@router.post(TOPIC + "/responsibilities/{int:responsibility_id}/unit", response={200: ResponsibilityOut, **ERRORS},
             auth=auth("write"))
def set_responsibility_unit(request: HttpRequest, topic_id: int, responsibility_id: int, payload: UnitIn):
    """为尚无责任单位的任务指定责任单位（落实阶段立即派单）。"""
    return services.responsibility_set_unit(actor=request.user, topic=_visible(request, topic_id),
                                            responsibility_id=responsibility_id, handling_unit_id=payload.handling_unit)


@router.post(TOPIC + "/effects", response={201: EffectOut, **ERRORS}, auth=auth("write"))
def add_effect(request: HttpRequest, topic_id: int, payload: EffectIn):
    """落实效果清单：记录落实效果及佐证。"""
    return 201, services.effect_add(actor=request.user, topic=_visible(request, topic_id), text=payload.text,
                                    evidence=payload.evidence, responsibility_id=payload.responsibility)


@router.post(TOPIC + "/satisfaction", response={201: SatisfactionOut, **ERRORS}, auth=auth("write"))
def respond_satisfaction(request: HttpRequest, topic_id: int, payload: SatisfactionIn):
    """满意度评价（参与主体与相关诉求群众，每人一次，1–5）。"""
    return 201, services.satisfaction_respond(actor=request.user, topic=_visible(request, topic_id), score=payload.score,
                                              comment=payload.comment)


@router.post(TOPIC + "/evaluations", response={201: EvaluationOut, **ERRORS}, auth=auth("write"))
def add_evaluation(request: HttpRequest, topic_id: int, payload: EvaluationIn):
    """第三方评估（评估机构、评分 0–100、评估报告）。"""
    return 201, services.evaluation_add(actor=request.user, topic=_visible(request, topic_id),
                                        organisation=payload.organisation, score=payload.score, report=payload.report)

"""Pages of 有事好商量: the platform (rooms, catalogue, talent pool), topics through the 8 steps, the supervisors'
failure counts.

Views parse the input with a form, fetch through a selector (a topic outside the user's sight is 404) and make one
service call; a refused call comes back as a ``YishiError`` whose message is shown next to the field it names.
Every action on a topic is ``POST /consultations/topics/<id>/actions/<verb>/``: the transitions of
``topic_workflow`` and the records of each step (participants, research, opinions, tasks, effects, satisfaction,
evaluations, support). HTMX posts get the topic's body back; without JavaScript the page redirects.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db.models import Avg, Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yishi.core.errors import YishiError
from yishi.core.permissions import can, get_rule, is_platform_admin, matching_grants
from yishi.core.views_helpers import (
    FormAction,
    action_done,
    attach_error,
    form_errors_text,
    render_page_or_fragment,
    run_action_form,
    scoped_or_404,
)
from yishi.orgs.models import OrgUnit
from yishi.policy.services import policy_value

from . import forms as f
from . import selectors, services
from .choices import MeetingState, MotionOutcome, ReviewState, RoomLevel, TopicSource, TopicState
from .downloads import attachment_response
from .models import Motion, ResearchAttachment, Topic
from .steps import loop_steps, timeline
from .workflow import topic_workflow

S = TopicState


def _scope_units(user: Any, action: str) -> list[tuple[int, str]]:
    """The areas (not grids) where the user may ``action``, for pickers."""
    qs = OrgUnit.objects.filter(is_active=True).exclude(level="grid")
    if not is_platform_admin(user):
        paths = [g.path for g in matching_grants(user, get_rule(action))]
        if not paths:
            return []
        from django.db.models import Q

        q = Q()
        for path in paths:
            q |= Q(path__startswith=path)
        qs = qs.filter(q)
    return [(u.pk, f"{'　' * u.depth}{u.name}") for u in qs.order_by("path")[:500]]


# --- rooms, catalogue, talents ------------------------------------------------------------------------------------


def room_list(request: HttpRequest) -> HttpResponse:
    """The three-level platform: the district 议事厅, the street 议事室, the community 委员之家, sector and
    enterprise rooms."""
    level = request.GET.get("level") or ""
    if level not in RoomLevel.values:
        level = ""
    rooms = list(selectors.room_list(level=level or None))
    return render(request, "consultations/room_list.html", {
        "rooms": rooms, "level": level, "levels": RoomLevel.choices,
        "can_manage": request.user.is_authenticated and can(request.user, "consultations.manage_room"),
    })


def _propose_sources(user: Any, room: Any) -> list[tuple[str, str | Promise]]:
    """The topic sources the user may use in this room (党政点题 / 群众出题 / 委员荐题)."""
    if not user.is_authenticated:
        return []
    sources: list[tuple[str, str | Promise]] = []
    if can(user, "consultations.manage", services._InRoom(room)):
        sources.append((TopicSource.PARTY, TopicSource.PARTY.label))
    if can(user, "consultations.recommend", room):
        sources.append((TopicSource.MEMBERS, TopicSource.MEMBERS.label))
    if can(user, "consultations.propose", room):
        sources.append((TopicSource.RESIDENTS, TopicSource.RESIDENTS.label))
    return sources


def room_detail(request: HttpRequest, room_id: int) -> HttpResponse:
    room = scoped_or_404(selectors.room_get, pk=room_id)
    user = request.user
    topics = []
    if user.is_authenticated:
        topics = list(selectors.topic_list(user=user, filters=selectors.TopicFilter(room_id=room.pk))[:50])
    manage_room = user.is_authenticated and can(user, "consultations.manage_room", room)
    member_form = None
    if manage_room:
        member_form = f.RoomMemberForm(request.POST or None, people=f.people_choices(room))
        if request.method == "POST" and member_form.is_valid():
            try:
                services.room_member_set(actor=user, room=room, user=member_form.cleaned_data["user"],
                                         role=member_form.cleaned_data["role"])
            except YishiError as exc:
                attach_error(member_form, exc)
            else:
                messages.success(request, _("已更新议事室成员"))
                return redirect("consultations:room", room_id=room.pk)
    elif request.method == "POST":
        raise Http404
    return render(request, "consultations/room_detail.html", {
        "room": room, "members": selectors.room_members(room), "topics": topics,
        "children": list(room.children.filter(is_active=True).select_related("org_unit")),
        "sources": _propose_sources(user, room), "member_form": member_form,
        "can_from_appeals": user.is_authenticated and can(user, "consultations.manage", services._InRoom(room)),
        "catalogue": list(selectors.catalogue_list(org_unit=room.org_unit)),
    }, status=400 if (member_form is not None and member_form.is_bound and member_form.errors) else 200)


@login_required
def propose(request: HttpRequest, room_id: int) -> HttpResponse:
    """群众出题 (signed, residents of the room's area), 委员荐题 (members), 党政点题 (the area's staff)."""
    room = scoped_or_404(selectors.room_get, pk=room_id)
    sources = _propose_sources(request.user, room)
    if not sources:
        raise DjangoPermissionDenied(_("只有居住在本议事室所在区域的群众、本议事室成员和本区域工作人员可以在这里提出议题"))
    initial = {"proposer_name": getattr(request.user, "display_name", "")}
    form = f.ProposeForm(request.POST or None, sources=sources, room=room, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                topic = services.topic_propose(
                    actor=request.user, room=room, source=d["source"], title=d["title"], description=d["description"],
                    proposer_name=d["proposer_name"], catalogue_item_id=d["catalogue_item"],
                )
            except YishiError as exc:
                attach_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("议题已提交，等待党组织审定。"))
                return redirect("consultations:topic", topic_id=topic.pk)
    return render(request, "consultations/propose.html", {"room": room, "form": form}, status=status)


@login_required
def from_appeals(request: HttpRequest, room_id: int) -> HttpResponse:
    """民呼热点: staff make a topic from a cluster of appeals named by their tracking codes."""
    from yishi.appeals.selectors import appeal_list

    room = scoped_or_404(selectors.room_get, pk=room_id)
    if not can(request.user, "consultations.manage", services._InRoom(room)):
        raise Http404
    form = f.FromAppealsForm(request.POST or None, initial={"codes": request.GET.get("codes", "")})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            codes = form.tracking_codes()
            found = dict(appeal_list(user=request.user).filter(tracking_code__in=codes).values_list("tracking_code", "pk"))
            unknown = [c for c in codes if c not in found]
            if unknown:
                form.add_error("codes", _("找不到这些查询码对应的诉求：%(codes)s") % {"codes": "、".join(unknown)})
            else:
                try:
                    topic = services.topic_from_appeals(
                        actor=request.user, room=room, appeal_ids=[found[c] for c in codes],
                        title=form.cleaned_data["title"], description=form.cleaned_data["description"],
                    )
                except YishiError as exc:
                    form.add_error("codes" if exc.field == "appeals" else (exc.field if exc.field in form.fields else None), exc.message)
                    status = exc.status
                else:
                    messages.success(request, _("已由诉求生成议题，等待党组织审定。"))
                    return redirect("consultations:topic", topic_id=topic.pk)
    return render(request, "consultations/from_appeals.html", {"room": room, "form": form}, status=status)


def catalogue(request: HttpRequest) -> HttpResponse:
    """议事协商目录 (public), and the form to add an item for the area's staff."""
    user = request.user
    units = _scope_units(user, "consultations.manage_room") if user.is_authenticated else []
    form = f.CatalogueItemForm(request.POST or None, units=units) if units else None
    status = 200
    if request.method == "POST":
        if form is None:
            raise Http404
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.catalogue_item_create(actor=user, org_unit=d["org_unit"], title=d["title"],
                                               description=d["description"], mandatory=d["mandatory"])
            except YishiError as exc:
                attach_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("已加入议事协商目录"))
                return redirect("consultations:catalogue")
    items = Paginator(selectors.catalogue_list(), 50).get_page(request.GET.get("page"))
    return render(request, "consultations/catalogue.html", {"page": items, "form": form}, status=status)


@login_required
def talents(request: HttpRequest) -> HttpResponse:
    """协商议事人才库: search by expertise; add a talent (staff who organise consultations)."""
    user = request.user
    if not can(user, "consultations.manage_room"):
        raise Http404
    search = f.TalentSearchForm(request.GET or None)
    q, kind = "", None
    if search.is_bound and search.is_valid():
        q, kind = search.cleaned_data["q"] or "", search.cleaned_data["kind"] or None
    form = f.TalentForm(request.POST or None, units=_scope_units(user, "consultations.manage_room"))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.talent_add(actor=user, name=d["name"], expertise=d["expertise"], org_unit=d["org_unit"],
                                    kind=d["kind"], organisation=d["organisation"], phone=d["phone"])
            except YishiError as exc:
                attach_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("已加入人才库"))
                return redirect("consultations:talents")
    page = Paginator(selectors.talent_search(user=user, q=q, kind=kind), 30).get_page(request.GET.get("page"))
    return render(request, "consultations/talents.html", {"page": page, "search": search, "form": form, "q": q}, status=status)


# --- supervisors -----------------------------------------------------------------------------------------------


@login_required
def supervision(request: HttpRequest) -> HttpResponse:
    """失效预警: 议而不决、决而不行、行而不久 per room and per level of the platform, with bar charts."""
    if not can(request.user, "consultations.supervise"):
        raise Http404
    counts = selectors.failure_counts(request.user)

    def chart(rows: list[selectors.FailureRow]) -> dict[str, Any]:
        return {
            "labels": [r.label for r in rows],
            "series": [
                {"name": _("议而不决"), "data": [r.no_decision for r in rows]},
                {"name": _("决而不行"), "data": [r.not_done for r in rows]},
                {"name": _("行而不久"), "data": [r.regressed for r in rows]},
            ],
        }

    flagged = [r for r in counts.rooms if r.total]
    return render(request, "consultations/supervision.html", {
        "counts": counts, "total": counts.total,
        "charts": {"levels": chart(counts.levels), "rooms": chart(flagged[:30])},
    })


# --- topics ---------------------------------------------------------------------------------------------------------


@login_required
def topic_list(request: HttpRequest) -> HttpResponse:
    """Topics the user may see, filtered by state, level, source, room and failure mode (HTMX, pushed URL)."""
    user = request.user
    visible_rooms = selectors.topic_list(user=user).order_by().values_list("room_id", "room__name").distinct()
    form = f.TopicFilterForm(request.GET or None, rooms=sorted(set(visible_rooms), key=lambda r: r[1]))
    filters = selectors.TopicFilter()
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        filters = selectors.TopicFilter(state=d["state"] or None, room_id=d["room"], level=d["level"] or None,
                                        source=d["source"] or None, failure=d["failure"] or None, q=d["q"] or None)
    page = Paginator(selectors.topic_list(user=user, filters=filters), 30).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "can_supervise": can(user, "consultations.supervise")}
    return render_page_or_fragment(request, "consultations/topic_list.html", "consultations/_topic_results.html", context)


def _kwargs(verb: str, topic: Topic, facts: dict[str, Any]) -> dict[str, Any]:
    if verb == "submit_results":
        return {"topic": topic}
    if verb == "invite":
        return {"topic": topic, "people": facts["people"](), "talents": facts["talents"]()}
    if verb in ("opinion", "set_unit", "effect", "research"):
        return {"topic": topic}
    if verb == "responsibility":
        return {"topic": topic, "default_days": facts["default_days"]}
    return {}


Sv = services
ACTIONS: dict[str, FormAction] = {
    # transitions
    "approve": FormAction(f.NoteForm, lambda u, t, d: Sv.topic_approve(actor=u, topic=t, note=d["note"])),
    "decline": FormAction(f.ReasonForm, lambda u, t, d: Sv.topic_decline(actor=u, topic=t, reason=d["reason"]), tone="danger"),
    "start_research": FormAction(f.EmptyForm, lambda u, t, d: Sv.topic_start_research(actor=u, topic=t)),
    "call_meeting": FormAction(f.EmptyForm, lambda u, t, d: Sv.topic_call_meeting(actor=u, topic=t)),
    "record_decision": FormAction(f.OptionalReasonForm, lambda u, t, d: Sv.topic_record_outcome(actor=u, topic=t, decided=True, reason=d["reason"])),
    "record_no_decision": FormAction(f.ReasonForm, lambda u, t, d: Sv.topic_record_outcome(actor=u, topic=t, decided=False, reason=d["reason"]), tone="danger"),
    "submit_results": FormAction(f.SubmitResultsForm, lambda u, t, d: Sv.topic_submit_results(actor=u, topic=t, sent_to_id=d["results_sent_to"], note=d["note"])),
    "start_implementation": FormAction(f.EmptyForm, lambda u, t, d: Sv.topic_start_implementation(actor=u, topic=t)),
    "start_evaluation": FormAction(f.EmptyForm, lambda u, t, d: Sv.topic_start_evaluation(actor=u, topic=t)),
    "close": FormAction(f.CloseForm, lambda u, t, d: Sv.topic_close(actor=u, topic=t, final_rating=d["final_rating"], note=d["note"])),
    "escalate": FormAction(f.ReasonForm, lambda u, t, d: Sv.topic_escalate(actor=u, topic=t, reason=d["reason"])),
    # the records of the steps
    "support": FormAction(f.EmptyForm, lambda u, t, d: Sv.topic_support(actor=u, topic=t),
                      offered=lambda x: x["state"] in Sv.SUPPORT_STATES and x["may_support"] and not x["supported"],
                      done=_("已附议")),
    "invite": FormAction(f.ParticipantForm, lambda u, t, d: Sv.participant_invite(
        actor=u, topic=t, kind=d["kind"], user_id=d["user"], talent_id=d["talent"], handling_unit_id=d["handling_unit"],
        enterprise_id=d["enterprise"], name=d["name"], can_vote=d["can_vote"]),
        offered=lambda x: x["manage"] and x["state"] in Sv.INVITE_STATES, done=_("已邀请参与主体")),
    "remove_participant": FormAction(f.RemoveParticipantForm, lambda u, t, d: Sv.participant_remove(actor=u, topic=t, participant_id=d["participant"]),
                                 offered=lambda x: x["manage"] and x["state"] in Sv.INVITE_STATES, tone="danger", done=_("已移除参与主体")),
    "research": FormAction(f.ResearchForm, lambda u, t, d: Sv.research_add(actor=u, topic=t, kind=d["kind"], title=d["title"], text=d["text"], attachments=d["attachments"]),
                       offered=lambda x: x["research"] and x["state"] in Sv.RESEARCH_STATES, done=_("已提交调研记录")),
    "approve_research": FormAction(f.ResearchReviewForm, lambda u, t, d: Sv.research_approve(actor=u, topic=t, research_id=d["research"], note=d["note"]),
                               offered=lambda x: x["review"], done=_("调研记录已通过")),
    "reject_research": FormAction(f.ResearchRejectForm, lambda u, t, d: Sv.research_reject(actor=u, topic=t, research_id=d["research"], reason=d["reason"]),
                              offered=lambda x: x["review"], tone="danger", done=_("调研记录已退回")),
    "opinion": FormAction(f.OpinionForm, lambda u, t, d: Sv.opinion_add(actor=u, topic=t, text=d["text"], rationale=d["rationale"], motion_id=d["motion"]),
                      offered=lambda x: x["manage"] and x["state"] in Sv.OPINION_STATES, done=_("已加入意见建议清单")),
    "from_motions": FormAction(f.EmptyForm, lambda u, t, d: Sv.opinions_from_motions(actor=u, topic=t),
                           offered=lambda x: x["manage"] and x["state"] in Sv.OPINION_STATES and x["motions_left"], done=_("已列入通过的动议")),
    "remove_opinion": FormAction(f.RemoveOpinionForm, lambda u, t, d: Sv.opinion_remove(actor=u, topic=t, opinion_id=d["opinion"]),
                             offered=lambda x: x["manage"] and x["state"] in Sv.OPINION_STATES, tone="danger", done=_("已删除意见建议")),
    "responsibility": FormAction(f.ResponsibilityForm, lambda u, t, d: Sv.responsibility_add(
        actor=u, topic=t, opinion_item_id=d["opinion_item"], task=d["task"], handling_unit_id=d["handling_unit"], working_days=d["working_days"]),
        offered=lambda x: x["manage"] and x["state"] in Sv.RESPONSIBILITY_STATES, done=_("已加入工作责任清单")),
    "set_unit": FormAction(f.SetUnitForm, lambda u, t, d: Sv.responsibility_set_unit(actor=u, topic=t, responsibility_id=d["responsibility"], handling_unit_id=d["handling_unit"]),
                       offered=lambda x: x["manage"] and x["state"] in (*Sv.RESPONSIBILITY_STATES, S.EVALUATING), done=_("已明确责任单位")),
    "effect": FormAction(f.EffectForm, lambda u, t, d: Sv.effect_add(actor=u, topic=t, text=d["text"], evidence=d["evidence"], responsibility_id=d["responsibility"]),
                     offered=lambda x: x["manage"] and x["state"] in Sv.EFFECT_STATES, done=_("已记录落实效果")),
    "satisfaction": FormAction(f.SatisfactionForm, lambda u, t, d: Sv.satisfaction_respond(actor=u, topic=t, score=d["score"], comment=d["comment"]),
                           offered=lambda x: x["state"] in Sv.EVALUATION_STATES and x["respond"] and not x["responded"], done=_("感谢您的评价")),
    "evaluation": FormAction(f.EvaluationForm, lambda u, t, d: Sv.evaluation_add(actor=u, topic=t, organisation=d["organisation"], score=d["score"], report=d["report"]),
                         offered=lambda x: x["state"] in Sv.EVALUATION_STATES and x["evaluate"] and not x["evaluated"], done=_("已提交第三方评估")),
}
TRANSITION_VERBS = set(topic_workflow.transitions)


def _facts(user: Any, topic: Topic) -> dict[str, Any]:
    """What decides which record forms the page offers this user now."""
    listed = topic.opinion_items.exclude(motion=None).values("motion_id")
    return {
        "state": topic.state,
        "manage": can(user, "consultations.manage", topic),
        "research": can(user, "consultations.research", topic),
        "review": can(user, "consultations.review_research", topic)
        and topic.research.filter(state=ReviewState.SUBMITTED).exclude(author=user).exists(),
        "respond": can(user, "consultations.respond", topic),
        "evaluate": can(user, "consultations.evaluate", topic),
        "may_support": can(user, "consultations.propose", topic) and topic.proposer_id != user.pk,
        "supported": topic.supports.filter(user=user).exists(),
        "responded": topic.satisfaction.filter(user=user).exists(),
        "evaluated": topic.evaluations.filter(evaluator=user).exists(),
        "motions_left": Motion.objects.filter(meeting__topic=topic, outcome__in=[MotionOutcome.PASSED, MotionOutcome.CONSENSUS])
        .exclude(pk__in=listed).exists(),
        "people": lambda: f.people_choices(topic.room),
        "talents": lambda: [(t.pk, f"{t.name}（{t.expertise}）") for t in selectors.talent_search(user=user)[:300]],
        "default_days": int(policy_value("consultations.task_default_working_days", topic.room.org_unit)),
    }


def _detail_context(request: HttpRequest, topic: Topic, *, failed: tuple[str, forms.Form] | None = None,
                    done: str = "", action_error: str = "") -> dict[str, Any]:
    from yishi.appeals.selectors import appeal_list

    user = request.user
    facts = _facts(user, topic)
    available = {t.name: t for t in topic_workflow.available(user, topic)}
    forms_by_verb: dict[str, dict[str, Any]] = {}
    for verb, spec in ACTIONS.items():
        if verb in TRANSITION_VERBS:
            if verb not in available:
                continue
            label = str(available[verb].label)
        elif spec.offered is None or not spec.offered(facts):
            continue
        else:
            label = ""
        bound = failed is not None and failed[0] == verb
        form = failed[1] if bound and failed is not None else spec.form(prefix=verb, **_kwargs(verb, topic, facts))
        forms_by_verb[verb] = {"verb": verb, "label": label, "form": form, "tone": spec.tone, "open": bound}
    if failed is not None and failed[0] not in forms_by_verb and not action_error:
        action_error = form_errors_text(failed[1])
    panel = selectors.representativeness(topic)
    failures = selectors.topic_failures(topic)
    min_research = int(policy_value("consultations.min_research_records", topic.room.org_unit))
    research = list(topic.research.select_related("author", "reviewed_by").prefetch_related("attachments").order_by("created_at", "pk"))
    responsibilities = list(topic.responsibilities.select_related("handling_unit", "appeal", "opinion_item").order_by("pk"))
    problems = {p.item.pk: p.reason for p in failures.not_done}
    visible_appeals = appeal_list(user=user).values("pk")
    linked = list(topic.appeals.filter(pk__in=visible_appeals).select_related("category").order_by("received_at"))
    satisfaction = list(topic.satisfaction.select_related("user").order_by("created_at"))
    meetings = list(topic.meetings.order_by("starts_at", "pk"))
    escalations = [t for t in topic.escalations.select_related("room") if can(user, "consultations.view", t)]
    transitions = [forms_by_verb[v] for v in topic_workflow.transitions if v in forms_by_verb]
    return {
        "topic": topic, "room": topic.room, "done": done, "action_error": action_error,
        "steps": loop_steps(topic, panel=panel, failures=failures, min_research=min_research),
        "panel": panel, "failures": failures, "min_research": min_research,
        "participants": list(topic.participants.select_related("user", "talent", "handling_unit", "enterprise").order_by("kind", "pk")),
        "research": research, "review_notes": selectors.research_review_notes(topic) if research else {},
        "meetings": meetings,
        # A cancelled meeting leaves the topic at 协商会议: its organisers call the next one from here.
        "schedule_again": topic.state == S.MEETING and facts["manage"]
        and not any(m.state in (MeetingState.SCHEDULED, MeetingState.OPEN) for m in meetings),
        "met_offline": not meetings and topic.state in (S.DECIDED, S.SUBMITTED, S.IMPLEMENTING, S.EVALUATING, S.CLOSED),
        "opinions": list(topic.opinion_items.select_related("motion").order_by("number")),
        "responsibilities": [{"item": r, "problem": problems.get(r.pk, "")} for r in responsibilities],
        "effects": list(topic.effects.select_related("responsibility", "author").order_by("created_at")),
        "satisfaction": satisfaction,
        "satisfaction_summary": topic.satisfaction.aggregate(n=Count("pk"), avg=Avg("score")),
        "evaluations": list(topic.evaluations.select_related("evaluator").order_by("created_at")),
        "linked_appeals": linked, "linked_count": topic.appeals.count(),
        "supporters": topic.supports.count(),
        "escalated_from": topic.escalated_from if topic.escalated_from_id and can(user, "consultations.view", topic.escalated_from) else None,
        "escalations": escalations,
        "timeline": timeline(topic),
        "forms": forms_by_verb, "transitions": transitions,
        "staff": facts["manage"] or can(user, "consultations.view_area", topic),
    }


def _get_topic(user: Any, topic_id: int) -> Topic:
    return scoped_or_404(selectors.topic_get, user=user, pk=topic_id)


@login_required
def topic_detail(request: HttpRequest, topic_id: int) -> HttpResponse:
    topic = _get_topic(request.user, topic_id)
    return render(request, "consultations/topic_detail.html", _detail_context(request, topic))


@login_required
@require_POST
def action(request: HttpRequest, topic_id: int, verb: str) -> HttpResponse:
    """Run one action through its service; HTMX gets the topic's body back, a plain post a redirect."""
    topic = _get_topic(request.user, topic_id)
    spec = ACTIONS.get(verb)
    if spec is None:
        raise Http404
    facts = _facts(request.user, topic) if verb in ("invite", "responsibility") else {}
    form = spec.form(request.POST, request.FILES, prefix=verb, **_kwargs(verb, topic, facts))
    result = run_action_form(form, lambda data: spec.run(request.user, topic, data))
    if not result.ok:
        context = _detail_context(request, topic, failed=(verb, form))
        return render_page_or_fragment(request, "consultations/topic_detail.html", "consultations/_topic_detail.html",
                                       context, status=result.status)
    label = spec.done or str(topic_workflow.transitions[verb].label)
    if verb == "escalate" and isinstance(result.value, Topic):
        messages.success(request, _("已上报：%(room)s") % {"room": result.value.room.name})
    topic = _get_topic(request.user, topic_id)
    return action_done(request, label, fragment_template="consultations/_topic_detail.html",
                       url=reverse("consultations:topic", args=[topic.pk]),
                       context=lambda: _detail_context(request, topic, done=label))


@login_required
def research_attachment(request: HttpRequest, topic_id: int, attachment_id: int) -> FileResponse:
    """A research attachment, to those who may see the topic (404 to anyone else), never a public media URL."""
    topic = _get_topic(request.user, topic_id)
    item = ResearchAttachment.objects.filter(pk=attachment_id, research__topic=topic).first()
    if item is None:
        raise Http404
    return attachment_response(item)

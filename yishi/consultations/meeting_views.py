"""Pages of the consultation meeting: calling it, the online room, and the minutes.

The room page polls its state fragment every two seconds with the version it shows (``?v=``); while nothing has
changed the server answers ``204 No Content`` (and ``304`` to ``If-None-Match``) without building the state, so a
full room of phones costs one indexed query per poll. Every button is a form that works without JavaScript
(post, redirect, the page again); with HTMX the answer is the new state fragment, errors included. The speaker's
countdown runs in the browser towards the server's ``ends_at``, corrected by the server clock the fragment carries.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, overload

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from yishi.core.errors import InvalidInput, NotFound, YishiError
from yishi.core.permissions import get_scoped_or_404
from yishi.core.views_helpers import attach_error, scoped_or_404, wants_fragment

from . import meeting_selectors as selectors
from . import meetings as services
from .choices import MeetingMode
from .models import Meeting, Topic

# --- forms ------------------------------------------------------------------------------------------------------


class ScheduleForm(forms.Form):
    mode = forms.ChoiceField(label=gettext_lazy("会议形式"), choices=MeetingMode.choices, initial=MeetingMode.ONLINE)
    starts_at = forms.DateTimeField(
        label=gettext_lazy("开始时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    location = forms.CharField(
        label=gettext_lazy("地点"), required=False, max_length=200,
        help_text=gettext_lazy("现场或线上线下结合的会议必填"),
    )
    agenda = forms.CharField(label=gettext_lazy("议程"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args: Any, notice: tuple[int, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["starts_at"].help_text = _("须至少提前 %(min)s 天通知，一般不超过 %(max)s 天") % {"min": notice[0], "max": notice[1]}


# --- helpers ----------------------------------------------------------------------------------------------------


def _meeting(user: Any, meeting_id: int) -> Meeting:
    return scoped_or_404(selectors.meeting_get, user=user, pk=meeting_id)


@overload
def _int(data: QueryDict, name: str, *, required: Literal[True] = True) -> int: ...
@overload
def _int(data: QueryDict, name: str, *, required: bool) -> int | None: ...
def _int(data: QueryDict, name: str, *, required: bool = True) -> int | None:
    raw = (data.get(name) or "").strip()
    if not raw and not required:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput(f"缺少或无效的参数：{name}", f"Missing or invalid {name}", field=name)
    return int(raw)


def _datetime(data: QueryDict, name: str) -> datetime | None:
    """A local date and time from a ``datetime-local`` input (None when empty; the service says it is required)."""
    raw = (data.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = parse_datetime(raw.replace(" ", "T"))
    except ValueError:
        value = None
    if value is None:
        raise InvalidInput(f"时间格式无效：{raw[:40]}", f"Invalid date and time for {name}", field=name, code="invalid")
    return value


def _version_key(meeting: Meeting) -> str:
    """The audit version plus the local date: buttons that open on the meeting day appear without a change."""
    return f"{selectors.meeting_version(meeting)}.{timezone.localdate():%Y%m%d}"


def _clock(seconds: int | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _announcement(state: dict[str, Any]) -> str:
    """One sentence for screen readers, repeated only when it changes: who speaks, the vote, the last result."""
    motion = state["motion"]
    if motion is not None:
        speaker = motion["speaker"]
        if speaker is not None:
            return _("%(name)s 正在发言（%(stance)s）") % {"name": speaker["name"], "stance": speaker["stance_label"]}
        if motion["state"] == "voting":
            return _("动议“%(title)s”表决中，已投 %(n)s 票") % {"title": motion["title"], "n": motion["votes_cast"]}
        return _("动议“%(title)s”讨论中") % {"title": motion["title"]}
    if state["motions"]:
        last = state["motions"][-1]
        return _("动议“%(title)s”：%(outcome)s") % {"title": last["title"], "outcome": last["outcome_label"] or last["state_label"]}
    return str(state["meeting"]["state_label"])


def _state_context(request: HttpRequest, meeting: Meeting, *, error: str = "") -> dict[str, Any]:
    state = selectors.meeting_state(user=request.user, meeting=meeting)
    motion = state["motion"]
    if motion is not None and motion["speaker"] is not None:
        motion["speaker"]["clock"] = _clock(motion["speaker"]["seconds_left"])
    return {
        "meeting": meeting,
        "state": state,
        "m": state["meeting"],
        "motion": motion,
        "can": state["can"],
        "me": state["me"],
        "version_key": _version_key(meeting),
        "announce": _announcement(state),
        "error": error,
    }


def _render_state(request: HttpRequest, meeting: Meeting, *, error: str = "", status: int = 200) -> HttpResponse:
    response = render(request, "consultations/meeting_state.html", _state_context(request, meeting, error=error), status=status)
    patch_vary_headers(response, ["HX-Request"])
    patch_cache_control(response, private=True, no_cache=True)
    return response


# --- pages ------------------------------------------------------------------------------------------------------


@login_required
def schedule(request: HttpRequest, topic_id: int) -> HttpResponse:
    """召集协商会议: area staff call a meeting on a topic whose research is approved."""
    try:
        topic = get_scoped_or_404(Topic.objects.select_related("room__org_unit"), request.user, "consultations.manage", pk=topic_id)
    except NotFound as exc:
        raise Http404 from exc
    rules = services.meeting_rules(topic)
    notice = (rules["notice_min_days"], rules["notice_max_days"])
    form = ScheduleForm(request.POST or None, notice=notice)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                meeting = services.meeting_schedule(
                    actor=request.user, topic=topic.pk, mode=d["mode"], starts_at=d["starts_at"],
                    agenda=d["agenda"], location=d["location"],
                )
            except YishiError as exc:
                attach_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("会议已召集，通知已发送给参与主体。"))
                for warning in getattr(meeting, "warnings", []):
                    messages.warning(request, warning)
                return redirect("meetings:detail", meeting_id=meeting.pk)
    return render(request, "consultations/meeting_schedule.html", {"form": form, "topic": topic, "rules": rules}, status=status)


@login_required
def detail(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """网上议事室: the agenda, the live motion and speaker, the queue, the votes and what I may do now."""
    meeting = _meeting(request.user, meeting_id)
    context = _state_context(request, meeting)
    context["opinions"] = list(selectors.opinion_list(meeting))
    context["opinion_text"] = ""
    response = render(request, "consultations/meeting_room.html", context)
    patch_cache_control(response, private=True, no_cache=True)
    return response


@require_GET
def state(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """The state fragment the room polls: 204 while its version is the one the page shows."""
    if not request.user.is_authenticated:
        # Signed out while the room was open: reload the page (which asks to sign in) instead of swapping a login
        # form into the room.
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    meeting = _meeting(request.user, meeting_id)
    key = _version_key(meeting)
    if request.GET.get("v") == key:
        return HttpResponse(status=204)
    etag = f'"room-{meeting.pk}-{key}-u{request.user.pk}-{get_language() or ""}"'
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponse(status=304)
    else:
        response = _render_state(request, meeting)
    response["ETag"] = etag
    patch_cache_control(response, private=True, no_cache=True)
    return response


@login_required
def minutes(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """会议纪要: the draft written from the record, approved by the chair."""
    meeting = _meeting(request.user, meeting_id)
    state_ = selectors.meeting_state(user=request.user, meeting=meeting)
    context = {"meeting": meeting, "m": state_["meeting"], "can": state_["can"], "chair": state_["chair"]}
    return render(request, "consultations/meeting_minutes.html", context)


# --- actions ----------------------------------------------------------------------------------------------------

S = services
Run = Callable[[Any, int, QueryDict], Any]
ACTIONS: dict[str, tuple[Run, str | Promise]] = {
    "register": (lambda u, m, d: S.meeting_register(actor=u, meeting=m, participant=_int(d, "participant", required=False)), gettext_lazy("已报名")),
    "check_in": (lambda u, m, d: S.meeting_check_in(actor=u, meeting=m, participant=_int(d, "participant", required=False)), gettext_lazy("已签到")),
    "open": (lambda u, m, d: S.meeting_open(actor=u, meeting=m, override_reason=d.get("override_reason", "")), gettext_lazy("会议开始")),
    "open_motion": (lambda u, m, d: S.motion_open(actor=u, meeting=m, title=d.get("title", ""), text=d.get("text", "")), gettext_lazy("动议已提出")),
    "request_floor": (lambda u, m, d: S.floor_request(actor=u, meeting=m, motion=_int(d, "motion"), stance=d.get("stance")), gettext_lazy("已申请发言")),
    "grant_floor": (lambda u, m, d: S.floor_grant(actor=u, meeting=m, request=_int(d, "floor_request")), gettext_lazy("已准许发言")),
    "end_speech": (lambda u, m, d: S.speech_end(actor=u, meeting=m, request=_int(d, "floor_request"), text=d.get("text", "")), gettext_lazy("发言结束")),
    "open_vote": (lambda u, m, d: S.vote_open(actor=u, meeting=m, motion=_int(d, "motion")), gettext_lazy("开始表决")),
    "cast_vote": (lambda u, m, d: S.vote_cast(actor=u, meeting=m, motion=_int(d, "motion"), choice=d.get("choice")), gettext_lazy("已投票")),
    "close_vote": (lambda u, m, d: S.vote_close(actor=u, meeting=m, motion=_int(d, "motion")), gettext_lazy("表决结束")),
    "record_consensus": (lambda u, m, d: S.consensus_record(actor=u, meeting=m, motion=_int(d, "motion"), note=d.get("note", "")), gettext_lazy("已记录共识")),
    "withdraw_motion": (lambda u, m, d: S.motion_withdraw(actor=u, meeting=m, motion=_int(d, "motion"), reason=d.get("reason", "")), gettext_lazy("动议已撤回")),
    "close": (lambda u, m, d: S.meeting_close(actor=u, meeting=m), gettext_lazy("会议结束，纪要草稿已生成")),
    "write_opinion": (lambda u, m, d: S.written_opinion_add(actor=u, meeting=m, text=d.get("text", "")), gettext_lazy("书面意见已提交")),
    "generate_minutes": (lambda u, m, d: S.minutes_generate(actor=u, meeting=m), gettext_lazy("纪要草稿已重新生成")),
    "approve_minutes": (lambda u, m, d: S.minutes_approve(actor=u, meeting=m, text=d.get("text")), gettext_lazy("纪要已审定")),
    "reschedule": (lambda u, m, d: S.meeting_reschedule(actor=u, meeting=m, starts_at=_datetime(d, "starts_at"), reason=d.get("reason", "")), gettext_lazy("会议已改期，已重新通知参与者")),
    "cancel": (lambda u, m, d: S.meeting_cancel(actor=u, meeting=m, reason=d.get("reason", "")), gettext_lazy("会议已取消，已通知参与者")),
}
MINUTES_VERBS = {"generate_minutes", "approve_minutes"}


@login_required
@require_POST
def action(request: HttpRequest, meeting_id: int, verb: str) -> HttpResponse:
    """POST /consultations/meetings/<id>/actions/<verb>/: one service call; HTMX gets the new fragment back."""
    meeting = _meeting(request.user, meeting_id)
    spec = ACTIONS.get(verb)
    if spec is None:
        raise Http404
    run, done = spec
    error, status = "", 200
    try:
        run(request.user, meeting.pk, request.POST)
    except NotFound as exc:
        if not exc.field:  # the meeting itself: out of sight
            raise Http404 from exc
        error, status = exc.message, exc.status
    except YishiError as exc:
        error, status = exc.message, exc.status
    meeting = _meeting(request.user, meeting_id)
    if wants_fragment(request) and verb == "write_opinion":
        context = {
            "meeting": meeting, "can": selectors.meeting_state(user=request.user, meeting=meeting)["can"],
            "opinions": list(selectors.opinion_list(meeting)), "opinion_error": error,
            "opinion_done": "" if error else str(done), "opinion_text": request.POST.get("text", "") if error else "",
        }
        response = render(request, "consultations/meeting_opinions.html", context, status=status)
        patch_vary_headers(response, ["HX-Request"])
        return response
    if wants_fragment(request) and verb not in MINUTES_VERBS:
        return _render_state(request, meeting, error=error, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, str(done))
    target = "meetings:minutes" if verb in MINUTES_VERBS or (verb == "close" and not error) else "meetings:detail"
    return redirect(reverse(target, args=[meeting.pk]))

"""Pages of 民呼我应: residents submit, track, judge and ask to reopen; staff enter, list, handle and supervise.

Views parse the input with a form, fetch through a selector (missing and out-of-scope are both 404) and make one
service call; a refused call comes back as a ``YishiError`` whose message is shown next to the field it names.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from yishi.core.errors import InvalidInput, NotFound, YishiError
from yishi.core.pagination import CappedPaginator
from yishi.core.permissions import can, get_rule, grants, is_platform_admin, matching_grants, signed_in_user
from yishi.core.views_helpers import (
    FormAction,
    action_done,
    attach_error,
    form_errors_text,
    render_page_or_fragment,
    run_action_form,
    scoped_or_404,
    wants_fragment,
)
from yishi.policy.services import policy_value

from . import forms as f
from . import selectors, services, steps
from .choices import AppealState, RequestStatus, WishState
from .models import Appeal, MicroWish
from .workflow import appeal_workflow

SUBMITTED_KEY = "appeals_submitted"


# --- helpers ------------------------------------------------------------------------------------------------------

def _scope_paths(user: Any, action: str) -> list[str] | None:
    """The org paths a staff member may act in under ``action`` (None: everywhere)."""
    if is_platform_admin(user):
        return None
    return [g.path for g in matching_grants(user, get_rule(action))]


def _is_staff_viewer(user: Any, appeal: Appeal) -> bool:
    """Staff of the area or of an assigned unit (not merely the resident who submitted it)."""
    return can(user, "appeals.view_area", appeal) or can(user, "appeals.view_unit", appeal)


def _policy_int(key: str, default: int) -> int:
    return int(policy_value(key, default=default))


def _appeal_form_kwargs() -> dict[str, Any]:
    return {
        "text_max": _policy_int("appeals.text_max_length", 2000),
        "title_max": _policy_int("appeals.title_max_length", 60),
        "photo_max": _policy_int("appeals.photo_max_count", 9),
    }


def _refresh_initial(data: QueryDict, checkboxes: tuple[str, ...]) -> dict[str, Any]:
    """The posted values as the initial values of an unbound form (the no-JavaScript "update the options" button)."""
    initial: dict[str, Any] = {k: v for k, v in data.items() if k not in ("csrfmiddlewaretoken", "refresh")}
    for name in checkboxes:
        initial[name] = name in data
    return initial


def _input_from(form: f.AppealForm) -> services.AppealInput:
    d = form.cleaned_data
    return services.AppealInput(
        nature=d["nature"],
        category_id=d["category"],
        title=d["title"],
        text=d["text"],
        org_unit_id=d["org_unit"],
        address=d.get("address") or "",
        latitude=d.get("latitude"),
        longitude=d.get("longitude"),
        anonymous=bool(d.get("anonymous")),
        consent_contact=bool(d.get("consent_contact")),
        contact_name=d.get("contact_name") or "",
        contact_phone=d.get("contact_phone") or "",
        urgency=d.get("urgency") or None,
        photos=d.get("photos") or [],
    )


def _resident_place(user: Any) -> dict[str, Any]:
    """Preselect the street and community of a resident (or grid worker) from their role assignment."""
    from yishi.orgs.models import OrgUnit

    mine = [g for g in grants(user) if g.role in ("resident", "grid_worker")]
    if not mine:
        return {}
    unit = OrgUnit.objects.filter(pk=mine[0].org_unit_id).first()
    street = f.street_of(unit)
    return {"street": street, "org_unit": unit.pk} if (street and unit) else {}


# --- residents: submit, confirmation, tracking ------------------------------------------------------------------

def submit(request: HttpRequest) -> HttpResponse:
    """A resident's appeal: signed in, or anonymously where the area's policy allows it."""
    signed_in = request.user.is_authenticated
    kwargs = {"signed_in": signed_in, **_appeal_form_kwargs()}
    status = 200
    sign_in_needed = False
    if request.method == "POST" and "refresh" in request.POST:
        form = f.AppealForm(initial=_refresh_initial(request.POST, ("anonymous", "consent_contact")), **kwargs)
    elif request.method == "POST":
        form = f.AppealForm(request.POST, request.FILES, **kwargs)
        if form.is_valid():
            try:
                appeal = services.appeal_submit(
                    actor=request.user, data=_input_from(form),
                    idempotency_key=form.cleaned_data.get("idempotency_key") or None,
                )
            except YishiError as exc:
                sign_in_needed = exc.code == "anonymous_not_allowed"
                attach_error(form, exc, form.field_for(exc.field))
                status = exc.status
            else:
                _remember_submission(request, appeal)
                return redirect("appeals:submitted")
        else:
            status = 400
    else:
        form = f.AppealForm(initial=_resident_place(request.user) if signed_in else {}, **kwargs)
    anonymous_allowed = bool(policy_value("appeals.anonymous_submit", default=False))
    context = {"form": form, "sign_in_needed": sign_in_needed, "anonymous_allowed": anonymous_allowed, "staff_entry": False}
    return render(request, "appeals/submit.html", context, status=status)


def _remember_submission(request: HttpRequest, appeal: Appeal) -> None:
    """The confirmation page reads the code from the session, so it never sits in a URL or a browser history."""
    request.session[SUBMITTED_KEY] = {
        "code": appeal.tracking_code, "title": appeal.title, "token": appeal.callback_token,
        "anonymous": appeal.anonymous, "phone": bool(appeal.contact_phone), "signed_in": appeal.submitter_id is not None,
        "on_behalf": appeal.entered_by_id is not None, "pk": appeal.pk,
    }


def submitted(request: HttpRequest) -> HttpResponse:
    info = request.session.get(SUBMITTED_KEY)
    if not info:
        return redirect("appeals:track")
    response = render(request, "appeals/submitted.html", {"info": info})
    patch_cache_control(response, private=True, no_store=True)
    return response


def track(request: HttpRequest) -> HttpResponse:
    """Follow an appeal by its code: the masked public view and the steps with their dates (no staff names)."""
    form = f.TrackForm(request.GET or None)
    appeal = None
    not_found = False
    if form.is_bound and form.is_valid():
        appeal = selectors.appeal_by_tracking_code(form.cleaned_data["code"])
        not_found = appeal is None
    context = {
        "form": form, "appeal": appeal, "not_found": not_found,
        "timeline": steps.steps(appeal, public=True) if appeal else [],
    }
    response = render(request, "appeals/track.html", context)
    patch_cache_control(response, private=True, no_store=True)
    return response


# --- residents: callback by link and reopen request ------------------------------------------------------------

def _appeal_by_token(token: str) -> Appeal:
    appeal = Appeal.objects.select_related("category", "org_unit", "lead_unit").filter(callback_token=token or "-").first()
    if appeal is None:
        raise Http404
    return appeal


def _answered_since_reply(appeal: Appeal) -> bool:
    if appeal.replied_at is None:
        return False
    return appeal.callbacks.filter(created_at__gte=appeal.replied_at).exists()


def _callback_context(appeal: Appeal, callback_form: forms.Form | None = None, reopen_form: forms.Form | None = None) -> dict[str, Any]:
    answered = _answered_since_reply(appeal)
    can_rate = appeal.state == AppealState.REPLIED and not answered
    can_reopen = appeal.state in (AppealState.REPLIED, AppealState.CLOSED)
    return {
        "appeal": appeal,
        "can_rate": can_rate,
        "answered": answered,
        "can_reopen": can_reopen,
        "reopen_pending": appeal.reopen_requests.filter(status=RequestStatus.PENDING).exists(),
        "callback_form": callback_form or f.CallbackForm(),
        "reopen_form": reopen_form or f.ReopenRequestForm(),
        "timeline": steps.steps(appeal, public=True),
    }


def callback(request: HttpRequest, token: str) -> HttpResponse:
    """回访 by the link sent with the reply: was it solved, is the resident satisfied; and, after a reply, 申请重办."""
    appeal = _appeal_by_token(token)
    status = 200
    form = None
    if request.method == "POST":
        form = f.CallbackForm(request.POST)
        if _answered_since_reply(appeal):
            form.add_error(None, _("您已评价过这次答复，谢谢。"))
            status = 409
        elif form.is_valid():
            try:
                services.appeal_callback_by_link(
                    token=token, resolution=form.cleaned_data["resolution"],
                    satisfaction=form.cleaned_data["satisfaction"], comment=form.cleaned_data["comment"],
                )
            except YishiError as exc:
                if exc.code == "transition_not_allowed":
                    form.add_error(None, _("这件诉求还没有答复，答复后才能评价。"))
                else:
                    attach_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("感谢您的评价！"))
                return redirect("appeals:callback", token=token)
        else:
            status = 400
    response = render(request, "appeals/callback.html", _callback_context(appeal, callback_form=form), status=status)
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_POST
def reopen_request(request: HttpRequest, token: str) -> HttpResponse:
    appeal = _appeal_by_token(token)
    form = f.ReopenRequestForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.appeal_request_reopen_by_link(token=token, reason=form.cleaned_data["reason"])
        except YishiError as exc:
            attach_error(form, exc)
            status = exc.status
        else:
            messages.success(request, _("重办申请已提交，工作人员会尽快处理。"))
            return redirect("appeals:callback", token=token)
    return render(request, "appeals/callback.html", _callback_context(appeal, reopen_form=form), status=status)


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    appeals = selectors.appeal_list(user=request.user).filter(submitter=signed_in_user(request))
    page = Paginator(appeals, 20).get_page(request.GET.get("page"))
    return render(request, "appeals/mine.html", {"page": page, "replied": AppealState.REPLIED})


# --- the public board --------------------------------------------------------------------------------------------

def board(request: HttpRequest) -> HttpResponse:
    """Appeals of a street or community for everyone to see, with names, phones and house numbers masked."""
    from yishi.orgs.models import OrgUnit

    form = f.BoardFilterForm(request.GET)
    form.is_valid()
    if "community" in form.errors:  # a community left over from another street
        data = request.GET.copy()
        data.pop("community", None)
        form = f.BoardFilterForm(data)
        form.is_valid()
    unit_id = form.unit_id()
    unit = OrgUnit.objects.filter(pk=unit_id).first() if unit_id else None
    enabled = bool(policy_value("appeals.public_board", unit, default=True))
    appeals = selectors.public_board(org_unit_id=unit_id) if enabled else Appeal.objects.none()
    page = Paginator(appeals, 20).get_page(request.GET.get("page"))
    context = {
        "form": form, "page": page, "enabled": enabled, "unit": unit,
        # Re-draw the community select only when the street changed (never the select the user is on).
        "refresh_community": request.headers.get("HX-Trigger-Name") == "street",
    }
    return render_page_or_fragment(request, "appeals/board.html", "appeals/_board_results.html", context)


# --- cascading selects ------------------------------------------------------------------------------------------

@require_GET
def category_fields(request: HttpRequest) -> HttpResponse:
    """The category selects below the one that changed (HTMX); the rest come out-of-band."""
    changed = f._int_or_none(request.GET.get("changed")) or 1
    form = f.AppealForm(initial=request.GET.dict(), **_appeal_form_kwargs())
    fields = [form[f"category_{level}"] for level in range(changed + 1, 4)]
    return render(request, "appeals/_cascade.html", {"fields": fields})


@require_GET
def place_fields(request: HttpRequest) -> HttpResponse:
    """The community select for the chosen street (HTMX). ``for`` says which form asks."""
    which = request.GET.get("for") or "appeal"
    initial = {k: v for k, v in request.GET.dict().items() if k != "org_unit"}
    form: forms.Form
    if which == "staff" and request.user.is_authenticated:
        form = f.StaffAppealForm(initial=initial, scope_paths=_scope_paths(request.user, "appeals.enter"), **_appeal_form_kwargs())
    elif which == "wish":
        form = f.WishForm(initial=initial)
    else:
        form = f.AppealForm(initial=initial, **_appeal_form_kwargs())
    return render(request, "appeals/_cascade.html", {"fields": [form["org_unit"]]})


# --- staff: entry on a resident's behalf ------------------------------------------------------------------------

@login_required
def enter(request: HttpRequest) -> HttpResponse:
    """Staff, grid workers and deputies record an appeal heard at a walk-in, a call, a grid visit or a station."""
    if not can(request.user, "appeals.enter"):
        raise Http404
    scope = _scope_paths(request.user, "appeals.enter")
    kwargs = {"scope_paths": scope, **_appeal_form_kwargs()}
    status = 200
    if request.method == "POST" and "refresh" in request.POST:
        form = f.StaffAppealForm(initial=_refresh_initial(request.POST, ("anonymous", "consent_contact")), **kwargs)
    elif request.method == "POST":
        form = f.StaffAppealForm(request.POST, request.FILES, **kwargs)
        if form.is_valid():
            try:
                appeal = services.appeal_submit(
                    actor=request.user, data=_input_from(form), channel=form.cleaned_data["channel"],
                    idempotency_key=form.cleaned_data.get("idempotency_key") or None, on_behalf=True,
                )
            except YishiError as exc:
                attach_error(form, exc, form.field_for(exc.field))
                status = exc.status
            else:
                _remember_submission(request, appeal)
                return redirect("appeals:submitted")
        else:
            status = 400
    else:
        from .choices import Channel

        initial: dict[str, Any] = {"channel": Channel.WALK_IN}
        place = _resident_place(request.user)  # a grid worker starts on their grid
        if place:
            initial.update(place, channel=Channel.GRID_VISIT)
        form = f.StaffAppealForm(initial=initial, **kwargs)
    return render(request, "appeals/submit.html", {"form": form, "staff_entry": True}, status=status)


# --- staff: lists ----------------------------------------------------------------------------------------------

def _staff_only(user: Any) -> None:
    if not (can(user, "appeals.view_area") or can(user, "appeals.view_unit")):
        raise Http404


@login_required
def appeal_list(request: HttpRequest) -> HttpResponse:
    """Every appeal in the user's scope, filtered; HTMX refreshes only the results and pushes the URL."""
    _staff_only(request.user)
    from yishi.orgs import selectors as org_selectors

    areas = org_selectors.org_unit_list(user=request.user).exclude(level="grid")
    form = f.AppealFilterForm(request.GET or None, areas=areas)
    filters = selectors.AppealFilter()
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        filters = selectors.AppealFilter(
            state=d["state"] or None, category_id=d["category"], org_unit_id=d["area"], unit_id=d["unit"],
            overdue=True if d["overdue"] else None, at_risk=d["at_risk"] or None,
            supervised=True if d["supervised"] else None,
            received_from=d["received_from"], received_to=d["received_to"], q=(d["q"] or "").strip() or None,
        )
    now = timezone.now()
    page = CappedPaginator(selectors.appeal_list(user=request.user, filters=filters, now=now), 30).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "now": now}
    return render_page_or_fragment(request, "appeals/list.html", "appeals/_list_results.html", context)


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """The handling unit's queue: live appeals where the user's unit leads, the nearest deadline first."""
    if not can(request.user, "appeals.handle"):
        raise Http404
    now = timezone.now()
    page = Paginator(selectors.unit_queue(user=request.user), 50).get_page(request.GET.get("page"))
    return render(request, "appeals/queue.html", {"page": page, "now": now})


# --- the appeal page and its actions -----------------------------------------------------------------------------

def _code_to_id(user: Any, code: str, field: str) -> int:
    """Merge and duplicate name the other appeal by its tracking code, looked up within the user's scope."""
    pk = selectors.appeal_list(user=user).filter(tracking_code=(code or "").strip().upper()).values_list("pk", flat=True).first()
    if pk is None:
        raise InvalidInput("找不到该查询码对应的诉求", "No appeal with this tracking code", field=field, code="unknown_appeal")
    return pk


S = services
ACTIONS: dict[str, FormAction] = {
    "triage": FormAction(f.TriageForm, lambda u, a, d: S.appeal_triage(actor=u, appeal=a, category_id=d["category"], urgency=d["urgency"], nature=d["nature"], fast_lane=d["fast_lane"])),
    "reject": FormAction(f.ReasonForm, lambda u, a, d: S.appeal_reject(actor=u, appeal=a, reason=d["reason"]), "danger"),
    "answer": FormAction(f.TextForm, lambda u, a, d: S.appeal_answer(actor=u, appeal=a, text=d["text"])),
    "dispatch": FormAction(f.DispatchForm, lambda u, a, d: S.appeal_dispatch(actor=u, appeal=a, lead_unit_id=d["lead_unit"], co_unit_ids=d["co_units"], note=d["note"])),
    "accept": FormAction(f.EmptyForm, lambda u, a, d: S.appeal_accept(actor=u, appeal=a)),
    "request_return": FormAction(f.ReturnRequestForm, lambda u, a, d: S.appeal_request_return(actor=u, appeal=a, reason=d["reason"], basis=d["basis"]), "danger"),
    "approve_return": FormAction(f.ApproveReturnForm, lambda u, a, d: S.appeal_approve_return(actor=u, appeal=a, lead_unit_id=d["lead_unit"], co_unit_ids=d["co_units"], note=d["note"])),
    "refuse_return": FormAction(f.ReasonForm, lambda u, a, d: S.appeal_refuse_return(actor=u, appeal=a, reason=d["reason"]), "danger"),
    "contact": FormAction(f.TextForm, lambda u, a, d: S.appeal_contact(actor=u, appeal=a, text=d["text"])),
    "progress": FormAction(f.TextForm, lambda u, a, d: S.appeal_progress(actor=u, appeal=a, text=d["text"])),
    "co_report": FormAction(f.TextForm, lambda u, a, d: S.appeal_co_report(actor=u, appeal=a, text=d["text"])),
    "request_extension": FormAction(f.ExtensionRequestForm, lambda u, a, d: S.appeal_request_extension(actor=u, appeal=a, working_days=d["working_days"], reason=d["reason"])),
    "approve_extension": FormAction(f.NoteForm, lambda u, a, d: S.appeal_approve_extension(actor=u, appeal=a, note=d["note"])),
    "refuse_extension": FormAction(f.ReasonForm, lambda u, a, d: S.appeal_refuse_extension(actor=u, appeal=a, reason=d["reason"]), "danger"),
    "submit_reply": FormAction(f.ReplyForm, lambda u, a, d: S.appeal_submit_reply(actor=u, appeal=a, text=d["text"], photos=d["photos"])),
    "approve_reply": FormAction(f.EmptyForm, lambda u, a, d: S.appeal_approve_reply(actor=u, appeal=a)),
    "return_reply": FormAction(f.ReasonForm, lambda u, a, d: S.appeal_return_reply(actor=u, appeal=a, reason=d["reason"]), "danger"),
    "callback": FormAction(f.StaffCallbackForm, lambda u, a, d: S.appeal_callback(actor=u, appeal=a, resolution=d["resolution"], satisfaction=d["satisfaction"], comment=d["comment"], unit_at_fault=d["unit_at_fault"])),
    "close": FormAction(f.NoteForm, lambda u, a, d: S.appeal_close(actor=u, appeal=a, note=d["note"])),
    "reopen": FormAction(f.ReopenForm, lambda u, a, d: S.appeal_reopen(actor=u, appeal=a, reason=d["reason"], lead_unit_id=d["lead_unit"])),
    "archive": FormAction(f.EmptyForm, lambda u, a, d: S.appeal_archive(actor=u, appeal=a)),
    "escalate": FormAction(f.ReasonForm, lambda u, a, d: S.appeal_escalate(actor=u, appeal=a, reason=d["reason"])),
    "merge": FormAction(f.MergeForm, lambda u, a, d: S.appeal_merge(actor=u, appeal=a, into_id=_code_to_id(u, d["into"], "into"), reason=d["reason"])),
    "mark_duplicate": FormAction(f.DuplicateForm, lambda u, a, d: S.appeal_mark_duplicate(actor=u, appeal=a, original_id=_code_to_id(u, d["original"], "original"))),
    "supervise": FormAction(f.SuperviseForm, lambda u, a, d: S.appeal_supervise(actor=u, appeal=a, note=d["note"])),
}


def _form_kwargs(verb: str, appeal: Appeal, cache: dict[str, Any]) -> dict[str, Any]:
    if verb == "triage":
        if "catalogue" not in cache:
            cache["catalogue"] = f.Catalogue()
        return {"appeal": appeal, "catalogue": cache["catalogue"]}
    if verb in ("dispatch", "approve_return"):
        if "suggestion" not in cache:
            rule = services.route(appeal)
            cache["suggestion"] = rule.lead_unit.name if rule else ""
        return {"suggestion": cache["suggestion"]}
    return {}


def _offered(user: Any, appeal: Appeal, verb: str, pending: dict[str, bool]) -> bool:
    """Hide actions that the rules allow but that make no sense now: reviewing an extension nobody asked for, asking
    for a second one while one is pending, or the lead unit "reporting as co-unit" to itself."""
    if verb in ("approve_extension", "refuse_extension"):
        return pending["extension"]
    if verb == "request_extension":
        return not pending["extension"]
    if verb == "co_report":
        return not can(user, "appeals.handle", appeal)
    return True


def _detail_context(request: HttpRequest, appeal: Appeal, *, failed: tuple[str, forms.Form] | None = None,
                    done: str = "", action_error: str = "") -> dict[str, Any]:
    user = request.user
    staff = _is_staff_viewer(user, appeal)
    extension_requests = list(appeal.extension_requests.select_related("requested_by", "decided_by").order_by("requested_at"))
    pending = {"extension": any(r.status == RequestStatus.PENDING for r in extension_requests)}
    cache: dict[str, Any] = {}
    action_forms = []
    offered_verbs = set()
    for t in appeal_workflow.available(user, appeal):
        spec = ACTIONS.get(t.name)
        if spec is None or not _offered(user, appeal, t.name, pending):
            continue
        offered_verbs.add(t.name)
        if failed is not None and failed[0] == t.name:
            form = failed[1]
        else:
            form = spec.form(prefix=t.name, **_form_kwargs(t.name, appeal, cache))
        action_forms.append({
            "verb": t.name, "label": t.label, "form": form, "tone": spec.tone,
            "multipart": any(isinstance(fl, f.PhotosField) for fl in form.fields.values()),
            "open": failed is not None and failed[0] == t.name,
        })
    if failed is not None and failed[0] not in offered_verbs and not action_error:
        action_error = form_errors_text(failed[1])
    attachments = list(appeal.attachments.order_by("created_at", "id"))
    context: dict[str, Any] = {
        "appeal": appeal,
        "staff": staff,
        "now": timezone.now(),
        "done": done,
        "action_error": action_error,
        "action_forms": action_forms,
        "offered_verbs": offered_verbs,
        "timeline": steps.steps(appeal, public=not staff),
        "photos": [a for a in attachments if a.purpose == "submission"],
        "reply_photos": [a for a in attachments if a.purpose == "reply"],
        "deadline_status": selectors.deadline_status(appeal),
        "callbacks": list(appeal.callbacks.all()),
    }
    if staff:
        window = int(policy_value("appeals.duplicate_window_days", appeal.org_unit, default=30))
        visible = selectors.appeal_list(user=user).values("pk")
        context.update({
            "assignments": list(appeal.assignments.select_related("unit", "dispatched_by")),
            "return_requests": list(appeal.return_requests.select_related("assignment__unit", "requested_by", "decided_by").order_by("requested_at")),
            "extension_requests": extension_requests,
            "reopen_requests": list(appeal.reopen_requests.order_by("created_at")),
            "flags": list(appeal.supervision_flags.select_related("created_by").order_by("created_at")),
            "notes": list(appeal.notes.select_related("author", "unit")),
            "duplicates": list(selectors.duplicate_candidates(appeal, window).filter(pk__in=visible).select_related("category")[:10]),
            "merged_children": list(appeal.merged_children.filter(pk__in=visible).order_by("received_at")),
            "merged_into": appeal.merged_into if appeal.merged_into_id and Appeal.objects.filter(pk=appeal.merged_into_id, pk__in=visible).exists() else None,
            "duplicate_of": appeal.duplicate_of if appeal.duplicate_of_id and Appeal.objects.filter(pk=appeal.duplicate_of_id, pk__in=visible).exists() else None,
        })
    else:
        context["callback_url"] = services.callback_url(appeal) if appeal.submitter_id == user.pk and appeal.state == AppealState.REPLIED else ""
    return context


def _get_appeal(user: Any, appeal_id: int) -> Appeal:
    return scoped_or_404(selectors.appeal_get, user=user, pk=appeal_id)


@login_required
def detail(request: HttpRequest, appeal_id: int) -> HttpResponse:
    appeal = _get_appeal(request.user, appeal_id)
    return render(request, "appeals/detail.html", _detail_context(request, appeal))


@login_required
@require_POST
def action(request: HttpRequest, appeal_id: int, verb: str) -> HttpResponse:
    """POST /appeals/<id>/actions/<verb>/: run one transition through its service; HTMX gets the page body back."""
    appeal = _get_appeal(request.user, appeal_id)
    spec = ACTIONS.get(verb)
    if spec is None:
        raise Http404
    form = spec.form(request.POST, request.FILES, prefix=verb, **_form_kwargs(verb, appeal, {}))
    result = run_action_form(form, lambda data: spec.run(request.user, appeal, data))
    if not result.ok:
        context = _detail_context(request, appeal, failed=(verb, form))
        return render_page_or_fragment(request, "appeals/detail.html", "appeals/_detail.html", context, status=result.status)
    label = appeal_workflow.transitions[verb].label
    try:
        appeal = selectors.appeal_get(user=request.user, pk=appeal_id)
    except NotFound:
        # The action moved the appeal out of the user's sight (e.g. escalated past their level).
        messages.success(request, _("已完成：%(action)s") % {"action": label})
        return _redirect(request, reverse("appeals:list"))
    return action_done(request, label, fragment_template="appeals/_detail.html", url=reverse("appeals:detail", args=[appeal.pk]),
                       context=lambda: _detail_context(request, appeal, done=label))


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if wants_fragment(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@login_required
def attachment(request: HttpRequest, appeal_id: int, attachment_id: int) -> FileResponse:
    """A photo of the appeal, to those who may see the appeal (never a public media URL: photos show people)."""
    appeal = _get_appeal(request.user, appeal_id)
    item = appeal.attachments.filter(pk=attachment_id).first()
    if item is None:
        raise Http404
    response = FileResponse(item.file.open("rb"), content_type=item.content_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    patch_cache_control(response, private=True, max_age=3600)
    return response


# --- 微心愿 ---------------------------------------------------------------------------------------------------------

def wish_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state") or ""
    if state not in WishState.values:
        state = ""
    wishes = selectors.wish_list(user=request.user, state=state or None).exclude(state=WishState.WITHDRAWN)
    page = Paginator(wishes, 20).get_page(request.GET.get("page"))
    user = request.user
    items = [
        {
            "wish": w,
            "can_adopt": w.state == WishState.OPEN and user.is_authenticated and can(user, "wishes.adopt", w),
            "can_fulfil": w.state == WishState.ADOPTED and w.adopter_id == user.pk,
            "can_withdraw": w.state == WishState.OPEN and user.is_authenticated and w.submitter_id == user.pk,
        }
        for w in page.object_list
    ]
    states = [(s, label) for s, label in WishState.choices if s != WishState.WITHDRAWN]
    return render(request, "appeals/wish_list.html", {"page": page, "items": items, "state": state, "states": states})


@login_required
def wish_submit(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST" and "refresh" in request.POST:
        form = f.WishForm(initial=_refresh_initial(request.POST, ()))
    elif request.method == "POST":
        form = f.WishForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.wish_submit(actor=request.user, title=d["title"], text=d["text"], org_unit_id=d["org_unit"], contact_name=d["contact_name"])
            except YishiError as exc:
                attach_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("心愿已发布，等待代表或志愿者认领。"))
                return redirect("appeals:wish_list")
        else:
            status = 400
    else:
        form = f.WishForm(initial=_resident_place(request.user))
    return render(request, "appeals/wish_form.html", {"form": form}, status=status)


@login_required
@require_POST
def wish_adopt(request: HttpRequest, wish_id: int) -> HttpResponse:
    try:
        wish = services.wish_adopt(actor=request.user, wish_id=wish_id)
    except NotFound as exc:
        raise Http404 from exc
    except YishiError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("您已认领心愿“%(title)s”，实现后请标记完成。") % {"title": wish.title})
    return redirect("appeals:wish_list")


@login_required
def wish_fulfil(request: HttpRequest, wish_id: int) -> HttpResponse:
    wish = MicroWish.objects.select_related("org_unit").filter(pk=wish_id, adopter=signed_in_user(request), state=WishState.ADOPTED).first()
    if wish is None:
        raise Http404
    form = f.WishFulfilForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.wish_fulfil(actor=request.user, wish_id=wish.pk, note=form.cleaned_data["note"])
            except YishiError as exc:
                attach_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("已标记心愿实现，谢谢您！"))
                return redirect("appeals:wish_list")
    return render(request, "appeals/wish_fulfil.html", {"form": form, "wish": wish}, status=status)


@login_required
@require_POST
def wish_withdraw(request: HttpRequest, wish_id: int) -> HttpResponse:
    try:
        services.wish_withdraw(actor=request.user, wish_id=wish_id)
    except NotFound as exc:
        raise Http404 from exc
    except YishiError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("心愿已撤回。"))
    return redirect("appeals:wish_list")

"""Helpers shared by page views: domain errors become the same answers the API gives; HTMX fragments; the action
forms of a detail page (run the service, show a refusal on the form, re-render the panel)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from .errors import NotFound, YishiError

T = TypeVar("T")


def scoped_or_404(selector: Callable[..., T], **kwargs: Any) -> T:
    """Call a ``*_get`` selector; its NotFound (missing or outside scope) becomes the page's 404."""
    try:
        return selector(**kwargs)
    except NotFound as exc:
        raise Http404 from exc


def wants_fragment(request: HttpRequest) -> bool:
    """An HTMX request for part of a page. A history restore (back button after a cache miss) needs the whole page."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


def render_page_or_fragment(
    request: HttpRequest, page_template: str, fragment_template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """Render the fragment for HTMX, the page otherwise; caches keep the two apart by the HX-Request header."""
    template = fragment_template if wants_fragment(request) else page_template
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- action forms ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormAction:
    """One action of a detail page: its form, the service call it makes with the cleaned data (``run(user, obj,
    data)``) and how the page shows it. A workflow transition is offered when ``Workflow.available`` lists it; a
    record form that is not a transition (add a participant, an opinion…) when ``offered(facts)`` says so."""

    form: type[forms.Form]
    run: Callable[[Any, Any, dict[str, Any]], Any]
    tone: str = ""  # "danger" for refusals and rejections
    offered: Callable[[dict[str, Any]], bool] | None = None
    done: str = ""  # the confirmation, where it is not the transition's label


def attach_error(form: forms.Form, exc: YishiError, field: str | None = None) -> None:
    """Show a service's refusal next to the field it names (or ``field``, where the form calls it otherwise), or
    above the form when the form has no such field."""
    name = field if field is not None else exc.field
    form.add_error(name if name in form.fields else None, exc.message)


def form_errors_text(form: forms.Form) -> str:
    """A refused form's errors on one line, for a page that no longer offers that form (the state moved on)."""
    errors = form.non_field_errors() or [e for errs in form.errors.values() for e in errs]
    return " ".join(str(e) for e in errors)


@dataclass(frozen=True)
class ActionResult:
    """What ``run_action_form`` did: the service's return value, or the status to answer the refused form with."""

    value: Any = None
    status: int = 200

    @property
    def ok(self) -> bool:
        return self.status < 400


def run_action_form(form: forms.Form, run: Callable[[dict[str, Any]], Any]) -> ActionResult:
    """Validate the posted ``form`` and make its one service call with the cleaned data.

    Invalid input answers 400. A ``YishiError`` is shown on the form (``attach_error``) with its own status, except a
    ``NotFound`` about the page's own object (no ``field``): that one is the page's 404, as for a missing object.
    A ``NotFound`` naming a field (the other appeal of a merge) is bad input on this form: 400.
    """
    if not form.is_valid():
        return ActionResult(status=400)
    try:
        value = run(form.cleaned_data)
    except NotFound as exc:
        if not exc.field:
            raise Http404 from exc
        attach_error(form, exc)
        return ActionResult(status=400)
    except YishiError as exc:
        attach_error(form, exc)
        return ActionResult(status=exc.status)
    return ActionResult(value=value)


def action_done(
    request: HttpRequest, label: str, *, fragment_template: str, context: Callable[[], dict[str, Any]], url: str
) -> HttpResponse:
    """Answer a successful action: HTMX gets the panel again (``context()`` shows the confirmation in it), a plain
    post a notice and a redirect to ``url``, so that reloading the page does not post again."""
    if wants_fragment(request):
        response = render(request, fragment_template, context())
        patch_vary_headers(response, ["HX-Request"])
        return response
    messages.success(request, _("已完成：%(action)s") % {"action": label})
    return redirect(url)

"""Template helpers of the appeals pages: masking for public views and the deadline marks of lists."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from .. import selectors

register = template.Library()


@register.filter
def mask(text: str | None) -> str:
    """Phones, ID numbers and house numbers hidden (for the public board and the tracking page)."""
    return selectors.mask_text(text or "")


@register.filter
def public_name(appeal: Any) -> str:
    """How the public board names the resident: masked, or 匿名群众."""
    return selectors.mask_name("" if appeal.anonymous else appeal.contact_name)


@register.filter
def mask_person(name: str | None) -> str:
    return selectors.mask_name(name or "")


@register.inclusion_tag("appeals/_deadline_mark.html", takes_context=True)
def deadline_mark(context: template.Context, appeal: Any) -> dict[str, Any]:
    """The handling deadline with an overdue / at-risk mark spelled out in words (not colour alone)."""
    now = context.get("now") or timezone.now()
    return {"status": selectors.deadline_status(appeal, now), "appeal": appeal}

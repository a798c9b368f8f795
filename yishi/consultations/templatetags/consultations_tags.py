"""Template helpers of the consultation pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


def meeting_href(meeting_id: int) -> str:
    """The online room of a meeting (the meetings pages), or its conventional address while they are absent."""
    try:
        return reverse("meetings:detail", args=[meeting_id])
    except NoReverseMatch:
        return f"/consultations/meetings/{meeting_id}/"


@register.simple_tag
def meeting_url(meeting: Any) -> str:
    return meeting_href(getattr(meeting, "pk", meeting))


@register.simple_tag
def schedule_url(topic: Any) -> str:
    """The page that calls a meeting on the topic in the online room, or "" when the meetings pages are absent."""
    try:
        return reverse("meetings:schedule", args=[getattr(topic, "pk", topic)])
    except NoReverseMatch:
        return ""


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def detail(request: HttpRequest, appeal_id: int) -> HttpResponse:
    return HttpResponse("")


def callback(request: HttpRequest, token: str) -> HttpResponse:
    return HttpResponse("")

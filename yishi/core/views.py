from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from .home import home_actions


def home(request: HttpRequest) -> HttpResponse:
    """What the current user can do, grouped; in demo mode, also the demo logins."""
    context = {"sections": home_actions(request.user)}
    from django.conf import settings

    if settings.YISHI_DEMO:
        from .demo_accounts import demo_logins

        context["demo_logins"] = demo_logins()
    return render(request, "core/home.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database (and cache) answer."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        from django.core.cache import cache

        cache.set("yishi:readyz", 1, 5)
    except Exception as exc:  # report, don't crash: the balancer needs an answer
        return JsonResponse({"status": "unavailable", "error": type(exc).__name__}, status=503)
    return JsonResponse({"status": "ready"})

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from yishi.core.views_helpers import scoped_or_404

from . import services


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(request.user.notifications.all(), 30).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {"page": page})


@login_required
@require_POST
def mark_read(request: HttpRequest, notification_id: int | None = None) -> HttpResponse:
    def _mark(**kw):
        return services.notification_mark_read(user=request.user, notification_id=notification_id)

    scoped_or_404(_mark)
    if request.headers.get("HX-Request"):
        return HttpResponse(status=204)
    return redirect("notifications:inbox")



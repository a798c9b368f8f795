from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yishi.core.views_helpers import scoped_or_404, wants_fragment

from . import services
from .models import Notification


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(Notification.objects.filter(recipient_id=request.user.pk), 30).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {"page": page})


@login_required
@require_POST
def mark_read(request: HttpRequest, notification_id: int | None = None) -> HttpResponse:
    """Mark one notification (or, without an id, all) read. HTMX gets the updated item and unread badge back."""
    marked = scoped_or_404(services.notification_mark_read, user=request.user, notification_id=notification_id)
    if wants_fragment(request) and notification_id is not None:
        notification = Notification.objects.get(recipient_id=request.user.pk, pk=notification_id)
        return render(request, "notifications/_item.html", {"n": notification, "oob_badge": True})
    if notification_id is None:
        messages.success(request, _("已将 %(count)d 条消息标为已读") % {"count": marked})
    return redirect("notifications:inbox")

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def yishi(request: HttpRequest) -> dict[str, Any]:
    unread = 0
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        unread = user.notifications.filter(read_at__isnull=True).count()
    return {"YISHI_DEMO": settings.YISHI_DEMO, "unread_notifications": unread}

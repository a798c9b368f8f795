from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from yishi.core.api_auth import auth
from yishi.core.pagination import Page
from yishi.core.permissions import signed_in_user
from yishi.core.schemas import ERRORS

from . import services
from .models import Notification

router = Router(tags=["notifications 通知"])


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None


class MarkedOut(Schema):
    marked: int


class PreferenceIn(Schema):
    kind: str = Field("*", min_length=1, max_length=80)
    in_app: bool = True
    email: bool = True
    sms: bool = False


class PreferenceOut(PreferenceIn):
    pass


@router.get("/notifications", response={200: list[NotificationOut], **ERRORS}, auth=auth("read"))
@paginate(Page)
def list_notifications(request: HttpRequest, unread: bool = False):
    qs = Notification.objects.filter(recipient=signed_in_user(request))
    return qs.filter(read_at__isnull=True) if unread else qs


@router.post("/notifications/{notification_id}/read", response={200: MarkedOut, **ERRORS}, auth=auth("write"))
def mark_read(request: HttpRequest, notification_id: int):
    return {"marked": services.notification_mark_read(user=request.user, notification_id=notification_id)}


@router.post("/notifications/read-all", response={200: MarkedOut, **ERRORS}, auth=auth("write"))
def mark_all_read(request: HttpRequest):
    return {"marked": services.notification_mark_read(user=request.user)}


@router.put("/notification-preferences", response={200: PreferenceOut, **ERRORS}, auth=auth("write"))
def set_preference(request: HttpRequest, payload: PreferenceIn):
    return services.preference_set(user=request.user, **payload.dict())

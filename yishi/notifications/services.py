"""``notify``: the one way a service tells people something."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from yishi.core.errors import NotFound

from .models import Notification, NotificationPreference


def _preferences(user_ids: list[int], kind: str) -> dict[int, NotificationPreference]:
    prefs: dict[int, NotificationPreference] = {}
    rows = NotificationPreference.objects.filter(user_id__in=user_ids, kind__in=[kind, "*"])
    for pref in sorted(rows, key=lambda p: p.kind != "*"):  # the kind's own row wins over "*"
        prefs[pref.user_id] = pref
    return prefs


def notify(
    *,
    recipients: Iterable[Any],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    sms: bool = False,
) -> list[Notification]:
    """Notify users. In-app rows are written in the caller's transaction (they vanish if it rolls back); e-mail
    and SMS copies are sent by a task enqueued only when the transaction commits. ``sms`` marks messages worth a
    text for users who accept SMS for this kind."""
    users = {u.pk: u for u in recipients if u is not None and getattr(u, "pk", None)}
    if not users:
        return []
    prefs = _preferences(list(users), kind)
    rows = [
        Notification(recipient=user, kind=kind, title=title[:200], body=body, url=url[:300])
        for uid, user in users.items()
        if prefs.get(uid) is None or prefs[uid].in_app
    ]
    created = Notification.objects.bulk_create(rows)
    # bulk_create returns ids on PostgreSQL and SQLite ≥ 3.35, which we require.
    by_user = {n.recipient_id: n.pk for n in created}
    email_ids = [by_user[uid] for uid in by_user if (prefs.get(uid) is None or prefs[uid].email) and users[uid].email]
    sms_ids = [by_user[uid] for uid in by_user if sms and prefs.get(uid) is not None and prefs[uid].sms]
    if email_ids or sms_ids:
        ids = list(by_user.values())

        def _enqueue() -> None:
            from .tasks import deliver

            deliver.enqueue(ids, email_ids, sms_ids)

        transaction.on_commit(_enqueue)
    return created


def notification_mark_read(*, user: Any, notification_id: int | None = None) -> int:
    """Mark one (or, with no id, all) of the user's notifications read. Returns how many changed."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_id is not None:
        if not Notification.objects.filter(recipient=user, pk=notification_id).exists():
            raise NotFound()
        qs = qs.filter(pk=notification_id)
    return qs.update(read_at=timezone.now())


def preference_set(*, user: Any, kind: str = "*", in_app: bool, email: bool, sms: bool) -> NotificationPreference:
    pref, _ = NotificationPreference.objects.update_or_create(
        user=user, kind=kind, defaults={"in_app": in_app, "email": email, "sms": sms}
    )
    return pref

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

    def wants(uid: int, channel: str) -> bool:
        pref = prefs.get(uid)
        return bool(getattr(pref, channel)) if pref is not None else channel != "sms"  # SMS is opt-in

    rows = [
        Notification(recipient=user, kind=kind, title=title[:200], body=body, url=url[:300])
        for uid, user in users.items()
        if wants(uid, "in_app")
    ]
    created = Notification.objects.bulk_create(rows)
    # bulk_create returns ids on PostgreSQL and SQLite ≥ 3.35, which we require.
    by_user = {n.recipient_id: n.pk for n in created}
    email_users = [uid for uid in users if wants(uid, "email") and users[uid].email]
    sms_users = [uid for uid in users if sms and wants(uid, "sms") and users[uid].phone]
    email_ids = [by_user[uid] for uid in email_users if uid in by_user]
    sms_ids = [by_user[uid] for uid in sms_users if uid in by_user]
    # People who turned the inbox copy off still get the channels they asked for, sent without a row.
    direct_email = [uid for uid in email_users if uid not in by_user]
    direct_sms = [uid for uid in sms_users if uid not in by_user]
    if email_ids or sms_ids or direct_email or direct_sms:
        ids = list(by_user.values())

        def _enqueue() -> None:
            from .tasks import deliver, deliver_without_inbox

            if email_ids or sms_ids:
                deliver.enqueue(ids, email_ids, sms_ids)
            if direct_email or direct_sms:
                deliver_without_inbox.enqueue(direct_email, direct_sms, title[:200], body, url[:300])

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

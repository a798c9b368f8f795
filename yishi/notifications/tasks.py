"""Delivery of e-mail and SMS copies, run by the task backend after the transaction that created them commits."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.utils import timezone
from django_tasks import task

from .models import Notification
from .sms import send_sms


def _email(email: str, title: str, body: str, url: str) -> None:
    send_mail(title, f"{body}\n\n{url}".strip(), None, [email], fail_silently=True)


def _text(phone: str, title: str) -> bool:
    return send_sms(phone, f"【议事】{title}").ok


@task()
def deliver(notification_ids: list[int], email: list[int], sms: list[int]) -> None:
    """Send the e-mail copies of ``email`` ids and SMS copies of ``sms`` ids among ``notification_ids``."""
    rows = Notification.objects.filter(pk__in=notification_ids).select_related("recipient")
    now = timezone.now()
    for note in rows:
        user = note.recipient
        if note.pk in email and user.email and note.emailed_at is None:
            _email(user.email, note.title, note.body, note.url)
            Notification.objects.filter(pk=note.pk).update(emailed_at=now)
        if note.pk in sms and user.phone and note.texted_at is None:
            if _text(user.phone, note.title):
                Notification.objects.filter(pk=note.pk).update(texted_at=now)


@task()
def deliver_without_inbox(email_users: list[int], sms_users: list[int], title: str, body: str, url: str) -> None:
    """E-mail and SMS copies for recipients who turned the inbox copy off (there is no row to mark)."""
    for user in get_user_model().objects.filter(pk__in=[*email_users, *sms_users]):
        if user.pk in email_users and user.email:
            _email(user.email, title, body, url)
        if user.pk in sms_users and user.phone:
            _text(user.phone, title)


@task()
def send_texts(messages: list[list[str]]) -> int:
    """Send ``[phone, text]`` messages (a bulk job's receipts, e.g. the hotline import's tracking codes); returns how
    many the gateway accepted."""
    from .sms import send_sms_many

    return sum(result.ok for result in send_sms_many([(phone, text) for phone, text in messages]))

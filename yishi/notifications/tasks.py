"""Delivery of e-mail and SMS copies, run by the task backend after the transaction that created them commits."""

from __future__ import annotations

from django.core.mail import send_mail
from django.utils import timezone
from django_tasks import task

from .models import Notification
from .sms import send_sms


@task()
def deliver(notification_ids: list[int], email: list[int], sms: list[int]) -> None:
    """Send the e-mail copies of ``email`` ids and SMS copies of ``sms`` ids among ``notification_ids``."""
    rows = Notification.objects.filter(pk__in=notification_ids).select_related("recipient")
    now = timezone.now()
    for note in rows:
        user = note.recipient
        if note.pk in email and user.email and note.emailed_at is None:
            send_mail(note.title, f"{note.body}\n\n{note.url}".strip(), None, [user.email], fail_silently=True)
            Notification.objects.filter(pk=note.pk).update(emailed_at=now)
        if note.pk in sms and user.phone and note.texted_at is None:
            if send_sms(user.phone, f"【议事】{note.title}").ok:
                Notification.objects.filter(pk=note.pk).update(texted_at=now)

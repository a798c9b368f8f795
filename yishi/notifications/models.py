"""Notifications: an in-app inbox, e-mail and SMS, with per-user channel preferences."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    IN_APP = "in_app", _("站内消息")
    EMAIL = "email", _("电子邮件")
    SMS = "sms", _("短信")


class Notification(models.Model):
    """One message to one user. The in-app copy is this row; e-mail and SMS copies are sent after commit."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接收人"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("类型"), max_length=80, db_index=True)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("邮件发送时间"), null=True, blank=True)
    texted_at = models.DateTimeField(_("短信发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notif_recipient_unread")]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(models.Model):
    """A user's choice of channels for one kind of notification ("*" = every kind without its own row)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(_("类型"), max_length=80, default="*")
    in_app = models.BooleanField(_("站内消息"), default=True)
    email = models.BooleanField(_("电子邮件"), default=True)
    sms = models.BooleanField(_("短信"), default=False)

    class Meta:
        verbose_name = _("通知偏好")
        verbose_name_plural = _("通知偏好")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="uniq_notification_pref")]

    def __str__(self) -> str:
        return f"{self.user} · {self.kind}"


class SmsMessage(models.Model):
    """Every SMS handed to the gateway, with the gateway's answer: the record operators check when one is missed."""

    phone = models.CharField(_("手机号码"), max_length=20)
    text = models.CharField(_("内容"), max_length=500)
    gateway = models.CharField(_("网关"), max_length=100)
    status = models.CharField(_("状态"), max_length=20)
    gateway_ref = models.CharField(_("网关编号"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("短信记录")
        verbose_name_plural = _("短信记录")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.phone} {self.status}"

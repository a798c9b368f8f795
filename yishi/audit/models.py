"""The audit trail: append-only, chained by hashes so that an edited or deleted row is detected."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One state change. Never deleted with its subject: the subject is referenced by type and id, not by a FK."""

    seq = models.BigIntegerField(_("序号"), unique=True, editable=False)
    at = models.DateTimeField(_("时间"), db_index=True)
    actor_id = models.BigIntegerField(_("操作人ID"), null=True, blank=True, db_index=True)
    actor_label = models.CharField(_("操作人"), max_length=150)
    code = models.CharField(_("事件代码"), max_length=80, db_index=True)
    subject_type = models.CharField(_("对象类型"), max_length=80, blank=True)
    subject_id = models.CharField(_("对象ID"), max_length=64, blank=True)
    before = models.JSONField(_("变更前"), null=True, blank=True)
    after = models.JSONField(_("变更后"), null=True, blank=True)
    reason = models.TextField(_("理由"), blank=True)
    request_id = models.CharField(_("请求ID"), max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        ordering = ["seq"]
        indexes = [models.Index(fields=["subject_type", "subject_id", "seq"], name="audit_subject_idx")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.code} {self.subject_type}:{self.subject_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("audit events are append-only")


class AuditChainHead(models.Model):
    """The single row every writer locks to append: it holds the last sequence number and hash."""

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("审计链头")
        verbose_name_plural = _("审计链头")

"""The audit trail in the admin: read-only. Events are appended only by ``yishi.audit.services.record``."""

from __future__ import annotations

from django.contrib import admin

from yishi.core.admin_audit import ReadOnlyAdmin

from .models import AuditChainHead, AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "at", "actor_label", "code", "subject_type", "subject_id", "request_id")
    list_filter = ("code", "subject_type")
    search_fields = ("code", "actor_label", "subject_id", "request_id", "reason")
    date_hierarchy = "at"
    ordering = ("-seq",)
    list_per_page = 100
    fields = (
        "seq", "at", "actor_id", "actor_label", "code", "subject_type", "subject_id", "before", "after", "reason",
        "request_id", "prev_hash", "hash",
    )
    readonly_fields = fields


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(ReadOnlyAdmin):
    list_display = ("pk", "last_seq", "last_hash")
    fields = ("last_seq", "last_hash")
    readonly_fields = fields

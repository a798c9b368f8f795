"""Notifications in the admin: messages and SMS records are read-only; preferences can be corrected."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Notification, NotificationPreference, SmsMessage


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("title", "recipient", "kind", "created_at", "read_at", "emailed_at", "texted_at")
    list_filter = ("kind",)
    search_fields = ("title", "recipient__username", "recipient__display_name", "kind")
    date_hierarchy = "created_at"
    list_select_related = ("recipient",)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "in_app", "email", "sms")
    list_filter = ("in_app", "email", "sms")
    search_fields = ("user__username", "user__display_name", "kind")
    autocomplete_fields = ("user",)
    list_select_related = ("user",)


@admin.register(SmsMessage)
class SmsMessageAdmin(ReadOnlyAdmin):
    list_display = ("phone", "status", "gateway", "gateway_ref", "created_at")
    list_filter = ("status", "gateway")
    search_fields = ("phone", "gateway_ref")
    date_hierarchy = "created_at"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

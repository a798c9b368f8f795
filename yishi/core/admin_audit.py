"""Audit for plain admin edits: models without a domain service (stations, units, sectors…) are still edited only
with an audit event per change, written in the admin's own transaction."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from yishi.audit.services import record, snapshot


def _changed(obj: models.Model, form: Any) -> list[str]:
    names = {f.name for f in obj._meta.concrete_fields}
    return [name for name in getattr(form, "changed_data", []) if name in names]


class AuditedAdminMixin:
    """Writes ``admin.<app>.<model>.created|changed|deleted`` with the changed fields before and after."""

    def _code(self, obj: models.Model, verb: str) -> str:
        return f"admin.{obj._meta.label_lower}.{verb}"

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        fields = _changed(obj, form)
        before: dict[str, Any] | None = None
        if change and fields:
            old = type(obj)._default_manager.filter(pk=obj.pk).first()
            before = snapshot(old, fields) if old is not None else None
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        if change and not fields:
            return
        record(
            actor=request.user, code=self._code(obj, "changed" if change else "created"), subject=obj,
            before=before, after=snapshot(obj, fields or [f.name for f in obj._meta.concrete_fields if not f.primary_key]),
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        before = snapshot(obj, [f.name for f in obj._meta.concrete_fields])
        code = self._code(obj, "deleted")
        subject = (obj._meta.label_lower, obj.pk)
        super().delete_model(request, obj)  # type: ignore[misc]
        record(actor=request.user, code=code, subject=subject, before=before)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)  # type: ignore[misc]
        for obj in formset.new_objects:
            record(actor=request.user, code=self._code(obj, "created"), subject=obj,
                   after=snapshot(obj, [f.name for f in obj._meta.concrete_fields if not f.primary_key]))
        for obj, fields in formset.changed_objects:
            record(actor=request.user, code=self._code(obj, "changed"), subject=obj, after=snapshot(obj, list(fields)))
        for obj in formset.deleted_objects:
            record(actor=request.user, code=self._code(obj, "deleted"), subject=(obj._meta.label_lower, obj.pk))


class AuditedModelAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    pass


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows only the services write (audit events, versions, tokens, codes, records of a loop): shown, never added,
    changed or deleted in the admin. Admin actions that call a service may still be declared on a subclass."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

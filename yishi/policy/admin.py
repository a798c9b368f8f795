"""Policy profiles in the admin. Parameter changes go through ``profile_update`` (validation, version bump, history,
audit) and copies through ``profile_copy``; the history of versions is read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from yishi.core.admin_audit import AuditedModelAdmin, ReadOnlyAdmin
from yishi.core.errors import YishiError
from yishi.core.permissions import can

from .models import PolicyGeneration, PolicyProfile, PolicyProfileVersion, WorkdayOverride
from .services import profile_copy, profile_update, validate_params


class PolicyProfileForm(forms.ModelForm):
    change_note = forms.CharField(
        label=_("修改说明"), max_length=200, required=False, help_text=_("写入版本历史和审计记录，说明为什么修改参数")
    )

    class Meta:
        model = PolicyProfile
        fields = ("name", "description", "is_default", "params")
        widgets = {"params": forms.Textarea(attrs={"rows": 30, "cols": 100, "style": "font-family: monospace"})}

    def clean_params(self) -> dict[str, Any]:
        params = self.cleaned_data.get("params")
        if not isinstance(params, dict):
            raise forms.ValidationError(_("参数必须是一个 JSON 对象"))
        try:
            validate_params(params)
        except YishiError as exc:
            raise forms.ValidationError(exc.message) from exc
        return params


class PolicyProfileVersionInline(admin.TabularInline):
    model = PolicyProfileVersion
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("version", "changed_at", "changed_by_label", "note")
    readonly_fields = fields
    ordering = ("-version",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PolicyProfile)
class PolicyProfileAdmin(admin.ModelAdmin):
    form = PolicyProfileForm
    list_display = ("code", "name", "version", "is_default", "shipped", "updated_at")
    list_filter = ("is_default", "shipped")
    search_fields = ("code", "name")
    readonly_fields = ("code", "version", "shipped", "updated_at")
    fields = ("code", "name", "description", "is_default", "version", "shipped", "updated_at", "params", "change_note")
    inlines = [PolicyProfileVersionInline]
    actions = ["copy_profiles"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # New profiles start as a copy of an existing one ("复制政策配置"), so they begin with a complete set.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Records store the profile version that started their clock; the history must stay.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Profiles are shared across areas: only those holding policy.manage_profile edit or copy them.
        return super().has_change_permission(request, obj) and can(request.user, "policy.manage_profile")

    def save_model(self, request: HttpRequest, obj: PolicyProfile, form: Any, change: bool) -> None:
        if "params" not in form.changed_data:
            super().save_model(request, obj, form, change)
            return
        new_params = obj.params
        obj.params = PolicyProfile.objects.get(pk=obj.pk).params
        super().save_model(request, obj, form, change)
        updated = profile_update(
            actor=request.user, profile=obj, params=new_params, note=form.cleaned_data.get("change_note", "")
        )
        obj.params, obj.version = updated.params, updated.version

    @admin.action(description=_("复制政策配置"), permissions=["change"])
    def copy_profiles(self, request: HttpRequest, queryset: QuerySet[PolicyProfile]) -> None:
        for source in queryset:
            code = f"{source.code}-copy"[:55]
            n = 1
            while PolicyProfile.objects.filter(code=code).exists():
                n += 1
                code = f"{source.code}-copy{n}"[:60]
            copy = profile_copy(actor=request.user, source=source, code=code, name=f"{source.name}（副本）"[:100])
            self.message_user(
                request, _("已复制为 %(code)s，请修改名称和参数") % {"code": copy.code}, messages.SUCCESS
            )


@admin.register(PolicyProfileVersion)
class PolicyProfileVersionAdmin(ReadOnlyAdmin):
    """Frozen parameter sets, one per version: read-only."""

    list_display = ("profile", "version", "changed_at", "changed_by_label", "note")
    list_filter = ("profile",)
    search_fields = ("profile__code", "profile__name", "note", "changed_by_label")
    list_select_related = ("profile",)
    fields = ("profile", "version", "changed_at", "changed_by_label", "note", "params")
    readonly_fields = fields


@admin.register(PolicyGeneration)
class PolicyGenerationAdmin(ReadOnlyAdmin):
    """The reference cache's generation token (``yishi.policy.cache``): changed by the database's triggers only."""

    list_display = ("id", "token")
    readonly_fields = ("token",)


@admin.register(WorkdayOverride)
class WorkdayOverrideAdmin(AuditedModelAdmin):
    """Local holidays and swapped working days; every process's calendar cache follows a save (the table's trigger
    moves the reference cache's generation)."""

    list_display = ("date", "is_workday", "note")
    list_filter = ("is_workday",)
    search_fields = ("note",)
    date_hierarchy = "date"

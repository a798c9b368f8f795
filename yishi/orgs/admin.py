"""Admin for places. Org units are created and moved through the services, which keep paths and the audit trail."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from yishi.core.admin_audit import AuditedAdminMixin, AuditedModelAdmin
from yishi.core.permissions import can

from .models import Enterprise, HandlingUnit, OrgUnit, Sector, Station, StationMember
from .services import org_unit_create, org_unit_move

# The fields org_unit_create takes besides name, code, level and parent.
_UNIT_EXTRA_FIELDS = ("policy_profile", "address", "min_lat", "max_lat", "min_lng", "max_lng", "is_active")


class OrgUnitAdminForm(forms.ModelForm):
    """Checks up front what the services would refuse, so the admin shows a form error instead of failing."""

    request: HttpRequest | None = None

    class Meta:
        model = OrgUnit
        fields = ("name", "code", "level", "parent", *_UNIT_EXTRA_FIELDS)

    def clean_parent(self) -> OrgUnit | None:
        parent = self.cleaned_data.get("parent")
        unit = self.instance
        actor = self.request.user if self.request is not None else None
        if unit.pk is None:
            if parent is not None and actor is not None and not can(actor, "orgs.manage_orgunit", parent):
                raise forms.ValidationError(_("您不能在这个单元下新建单元"))
            return parent
        if parent == unit.parent:
            return parent
        if parent is None:
            raise forms.ValidationError(_("已有上级的单元不能改为顶级单元"))
        if parent.path.startswith(unit.path):
            raise forms.ValidationError(_("不能移动到自身的下级"))
        if actor is not None and not (can(actor, "orgs.manage_orgunit", unit) and can(actor, "orgs.manage_orgunit", parent)):
            raise forms.ValidationError(_("您不能移动这个单元"))
        return parent


@admin.register(OrgUnit)
class OrgUnitAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = OrgUnitAdminForm
    list_display = ("tree_name", "code", "level", "parent", "depth", "policy_profile", "is_active")
    list_filter = ("level", "is_active", "policy_profile")
    search_fields = ("name", "code")
    readonly_fields = ("path", "depth")
    autocomplete_fields = ("parent",)
    ordering = ("path",)
    list_per_page = 100
    fieldsets = (
        (None, {"fields": ("name", "code", "level", "parent", "policy_profile", "address", "is_active")}),
        (_("范围"), {"fields": ("min_lat", "max_lat", "min_lng", "max_lng"), "classes": ("collapse",)}),
        (_("树结构"), {"fields": ("path", "depth")}),
    )

    @admin.display(description=_("名称"), ordering="path")
    def tree_name(self, obj: OrgUnit) -> str:
        return "　" * obj.depth + obj.name

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def save_model(self, request: HttpRequest, obj: OrgUnit, form: Any, change: bool) -> None:
        if not change:
            created = org_unit_create(
                actor=request.user, name=obj.name, code=obj.code, level=obj.level, parent=obj.parent,
                **{name: getattr(obj, name) for name in _UNIT_EXTRA_FIELDS},
            )
            # The admin goes on to log the addition and redirect using this instance.
            obj.pk, obj.path, obj.depth = created.pk, created.path, created.depth
            obj._state.adding = False
            return
        if "parent" in form.changed_data:
            new_parent = obj.parent
            assert new_parent is not None  # clean_parent refuses to turn a unit into a root
            obj.parent_id = form.initial.get("parent")
            super().save_model(request, obj, form, change)
            moved = org_unit_move(actor=request.user, unit=obj, new_parent=new_parent)
            obj.parent, obj.path, obj.depth = moved.parent, moved.path, moved.depth
            return
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Records everywhere point at units; retire a unit by unticking "启用" instead.
        return False


@admin.register(Sector)
class SectorAdmin(AuditedModelAdmin):
    list_display = ("name", "code", "org_unit")
    search_fields = ("name", "code")
    autocomplete_fields = ("org_unit",)


@admin.register(Enterprise)
class EnterpriseAdmin(AuditedModelAdmin):
    list_display = ("name", "kind", "org_unit", "contact")
    list_filter = ("kind",)
    search_fields = ("name", "contact")
    autocomplete_fields = ("org_unit",)


@admin.register(HandlingUnit)
class HandlingUnitAdmin(AuditedModelAdmin):
    list_display = ("name", "code", "kind", "org_unit", "phone", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "code")
    autocomplete_fields = ("org_unit",)


class StationMemberInline(admin.TabularInline):
    model = StationMember
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Station)
class StationAdmin(AuditedModelAdmin):
    list_display = ("name", "kind", "org_unit", "address", "phone", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "address", "org_unit__name")
    autocomplete_fields = ("org_unit", "sector", "enterprise")
    list_select_related = ("org_unit",)
    inlines = [StationMemberInline]


@admin.register(StationMember)
class StationMemberAdmin(AuditedModelAdmin):
    list_display = ("station", "user", "role", "since")
    list_filter = ("role",)
    search_fields = ("station__name", "user__username", "user__display_name")
    autocomplete_fields = ("station", "user")
    list_select_related = ("station", "user")

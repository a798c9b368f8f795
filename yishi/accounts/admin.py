"""Admin for people: users with their role assignments, API tokens, sign-in codes.

Role assignments made on the user page go through ``role_assign`` / ``role_revoke`` (scope check and audit), and
tokens can only be revoked, through ``token_revoke``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from yishi.core.admin_audit import ReadOnlyAdmin

from .models import ApiToken, PhoneCode, RoleAssignment, User
from .services import role_assign, role_revoke, token_revoke

# Changing one of these on an existing row replaces the grant (revoke + assign), each step audited.
_SCOPE_FIELDS = {"role", "org_unit", "handling_unit"}


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    can_delete = False  # revoke by unticking "有效": the assignment stays as history
    fields = ("role", "org_unit", "handling_unit", "station", "sector", "valid_until", "is_active", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("org_unit", "handling_unit", "station", "sector")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "phone", "home_unit", "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "roles__role")
    search_fields = ("username", "display_name", "phone", "first_name", "last_name", "email")
    autocomplete_fields = ("home_unit",)
    list_select_related = ("home_unit",)
    inlines = [RoleAssignmentInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("个人信息"), {"fields": ("display_name", "phone", "email", "first_name", "last_name", "home_unit", "bio", "expertise")}),
        (_("权限"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("重要日期"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "display_name", "phone", "usable_password", "password1", "password2")}),
    )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not RoleAssignment:
            super().save_formset(request, form, formset, change)
            return
        user = form.instance
        # The admin's change message reads these three lists.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if not inline_form.has_changed() or not inline_form.cleaned_data:
                continue
            assignment, data, changed = inline_form.instance, inline_form.cleaned_data, set(inline_form.changed_data)
            if assignment.pk is not None and changed & _SCOPE_FIELDS:
                # A different role or place is a different grant: end the old one, give the new one.
                original = RoleAssignment.objects.get(pk=assignment.pk)
                if original.is_active:
                    role_revoke(actor=request.user, assignment=original)
                formset.changed_objects.append((original, ["is_active"]))
                assignment = RoleAssignment()
            if assignment.pk is None or "is_active" in changed:
                if data.get("is_active"):
                    saved = role_assign(
                        actor=request.user, user=user, role=data["role"], org_unit=data["org_unit"],
                        handling_unit=data.get("handling_unit"), station=data.get("station"),
                        sector=data.get("sector"), valid_until=data.get("valid_until"),
                    )
                    formset.new_objects.append(saved)
                elif assignment.pk is not None:
                    role_revoke(actor=request.user, assignment=RoleAssignment.objects.get(pk=assignment.pk))
                    formset.changed_objects.append((assignment, ["is_active"]))
                continue
            # Only the end date or the station/sector detail changed; the grant itself is unchanged.
            assignment.save()
            formset.changed_objects.append((assignment, sorted(changed)))


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ReadOnlyAdmin):
    """A read-only overview; assignments are made and revoked on the user's page."""

    list_display = ("user", "role", "org_unit", "handling_unit", "station", "is_active", "valid_until", "created_at")
    list_filter = ("role", "is_active")
    search_fields = ("user__username", "user__display_name", "org_unit__name", "org_unit__code")
    list_select_related = ("user", "org_unit", "handling_unit", "station")


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens are created by their owners (the API); here they can only be seen and revoked."""

    list_display = ("name", "prefix", "user", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username", "user__display_name")
    list_select_related = ("user",)
    fields = ("name", "prefix", "user", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    @admin.action(description=_("撤销所选令牌"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = 0
        for token in queryset.filter(revoked_at__isnull=True).select_related("user"):
            token_revoke(actor=request.user, token=token)
            count += 1
        self.message_user(
            request, ngettext("已撤销 %(count)d 个令牌", "已撤销 %(count)d 个令牌", count) % {"count": count}, messages.SUCCESS
        )


@admin.register(PhoneCode)
class PhoneCodeAdmin(ReadOnlyAdmin):
    """Sign-in codes (hashes only), to answer "I never got my code"; read-only."""

    list_display = ("phone", "created_at", "expires_at", "attempts", "used_at")
    search_fields = ("phone",)
    date_hierarchy = "created_at"
    fields = ("phone", "created_at", "expires_at", "attempts", "used_at")
    readonly_fields = fields

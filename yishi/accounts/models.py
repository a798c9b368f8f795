"""People: users (phone login for residents, password for staff), role assignments with scope, API tokens."""

from __future__ import annotations

from typing import ClassVar, Self

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import Role

phone_validator = RegexValidator(r"^1[3-9]\d{9}$", _("请输入11位手机号码"), code="invalid_phone")


class User(AbstractUser):
    """A person using Yishi. Residents sign in with a phone number and a one-time code; staff with a password."""

    phone = models.CharField(
        _("手机号码"), max_length=11, unique=True, null=True, blank=True, validators=[phone_validator]
    )
    display_name = models.CharField(_("显示名称"), max_length=50, blank=True)
    bio = models.TextField(_("简介"), blank=True)
    expertise = models.CharField(_("专长"), max_length=200, blank=True)
    home_unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("所在社区/网格"), null=True, blank=True, on_delete=models.SET_NULL
    )

    objects: ClassVar[UserManager[Self]] = UserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username


class RoleAssignmentQuerySet(models.QuerySet["RoleAssignment"]):
    def current(self) -> RoleAssignmentQuerySet:
        today = timezone.localdate()
        return self.filter(is_active=True).filter(
            models.Q(valid_until__isnull=True) | models.Q(valid_until__gte=today)
        )


class RoleAssignment(models.Model):
    """"User U holds role R over org unit O (and everything below it)", optionally for one handling unit,
    station or sector (a unit liaison acts for their unit; a deputy for their station)."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(_("角色"), max_length=30, choices=Role.choices)
    org_unit = models.ForeignKey("orgs.OrgUnit", verbose_name=_("管辖范围"), on_delete=models.PROTECT)
    handling_unit = models.ForeignKey(
        "orgs.HandlingUnit", verbose_name=_("承办单位"), null=True, blank=True, on_delete=models.PROTECT
    )
    station = models.ForeignKey(
        "orgs.Station", verbose_name=_("站点"), null=True, blank=True, on_delete=models.PROTECT
    )
    sector = models.ForeignKey("orgs.Sector", verbose_name=_("界别"), null=True, blank=True, on_delete=models.PROTECT)
    is_active = models.BooleanField(_("有效"), default=True)
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("角色分配")
        verbose_name_plural = _("角色分配")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "org_unit", "handling_unit"], name="uniq_role_assignment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.org_unit}"


class ApiToken(models.Model):
    """A machine token. Only a SHA-256 of the secret is stored; the secret is shown once at creation."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=100)
    prefix = models.CharField(_("前缀"), max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(_("权限范围"), default=list)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class PhoneCode(models.Model):
    """A one-time login code sent by SMS. Stored hashed; limited attempts and lifetime."""

    phone = models.CharField(max_length=11, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("短信验证码")
        verbose_name_plural = _("短信验证码")

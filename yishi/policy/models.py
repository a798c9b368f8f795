"""Policy profiles (every rule number as data) and the working-day calendar's override table."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PolicyProfile(models.Model):
    """A named, versioned set of rule parameters (time limits, quorums, weights, scales, catalogues).

    Chosen per org unit (``OrgUnit.policy_profile``) and inherited down the tree; the profile marked default
    applies where no ancestor chooses one. Each change bumps ``version`` and keeps the old values in
    ``PolicyProfileVersion``; records that start a clock store the version they used.
    """

    code = models.SlugField(_("代码"), max_length=60, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    description = models.TextField(_("说明"), blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    params = models.JSONField(_("参数"), default=dict)
    is_default = models.BooleanField(_("默认配置"), default=False)
    shipped = models.BooleanField(_("随系统提供"), default=False, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("政策配置")
        verbose_name_plural = _("政策配置")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_policy_profile"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class PolicyProfileVersion(models.Model):
    """A frozen copy of a profile's parameters at one version."""

    profile = models.ForeignKey(PolicyProfile, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField(_("版本"))
    params = models.JSONField(_("参数"))
    changed_by_label = models.CharField(_("修改人"), max_length=150, blank=True)
    changed_at = models.DateTimeField(_("修改时间"), auto_now_add=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("政策配置历史版本")
        verbose_name_plural = _("政策配置历史版本")
        ordering = ["profile", "-version"]
        constraints = [models.UniqueConstraint(fields=["profile", "version"], name="uniq_profile_version")]

    def __str__(self) -> str:
        return f"{self.profile.code} v{self.version}"


class WorkdayOverride(models.Model):
    """An operator's correction to the national calendar: a local holiday, or a day declared a working day."""

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("是否工作日"))
    note = models.CharField(_("说明"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("工作日调整")
        verbose_name_plural = _("工作日调整")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'工作日' if self.is_workday else '休息日'}"


class PolicyGeneration(models.Model):
    """One row whose ``token`` changes, in the same transaction, whenever the reference data that services cache
    in-process changes: profiles, the org tree, handling units, the category catalogue, routing rules, the
    calendar's overrides. Database triggers on those tables set a new random token (migration 0002), so every
    writer — services, admin, shell, raw SQL — invalidates every process's cache (``yishi.policy.cache``)."""

    token = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("配置缓存代次")
        verbose_name_plural = _("配置缓存代次")

    def __str__(self) -> str:
        return str(self.token)

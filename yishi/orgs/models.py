"""Places: the territorial org tree, sectors, enterprises, handling units and stations (阵地).

The org tree uses a materialised path (``path`` = ancestors' ids joined by "/"), so "this unit and everything
below it" is one indexed prefix query, which every scoped list in Yishi runs.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import EnterpriseKind, HandlingUnitKind, OrgLevel, StationKind, StationMemberRole


class OrgUnitQuerySet(models.QuerySet["OrgUnit"]):
    def subtree(self, unit: OrgUnit) -> OrgUnitQuerySet:
        return self.filter(path__startswith=unit.path)


class OrgUnit(models.Model):
    """A node of the territorial tree (区/县 → 街道/镇 → 社区/村 → 网格), any depth."""

    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(_("代码"), max_length=40, unique=True)
    level = models.CharField(_("层级"), max_length=20, choices=OrgLevel.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # "/1/5/17/": ids from the root down to this unit, each followed by a slash.
    path = models.CharField(_("路径"), max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(_("深度"), default=0, editable=False)
    policy_profile = models.ForeignKey(
        "policy.PolicyProfile",
        verbose_name=_("政策配置"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("为空时继承上级的配置"),
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    # Bounding box of the area, used to reject coordinates that fall outside it.
    min_lat = models.FloatField(_("最小纬度"), null=True, blank=True)
    max_lat = models.FloatField(_("最大纬度"), null=True, blank=True)
    min_lng = models.FloatField(_("最小经度"), null=True, blank=True)
    max_lng = models.FloatField(_("最大经度"), null=True, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    objects = OrgUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("组织单元")
        verbose_name_plural = _("组织单元")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def is_within(self, other: OrgUnit) -> bool:
        return self.path.startswith(other.path)

    def contains_point(self, lat: float, lng: float) -> bool:
        if None in (self.min_lat, self.max_lat, self.min_lng, self.max_lng):
            return True
        return self.min_lat <= lat <= self.max_lat and self.min_lng <= lng <= self.max_lng  # type: ignore[operator]


class Sector(models.Model):
    """A CPPCC sector (界别), e.g. 医药卫生界."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    code = models.CharField(_("代码"), max_length=40, unique=True)
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("所属层级"), on_delete=models.PROTECT)

    class Meta:
        verbose_name = _("界别")
        verbose_name_plural = _("界别")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Enterprise(models.Model):
    """Enterprises, institutions, social organisations, property companies and owners' committees."""

    name = models.CharField(_("名称"), max_length=150)
    kind = models.CharField(_("类型"), max_length=30, choices=EnterpriseKind.choices)
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("所在地"), on_delete=models.PROTECT)
    contact = models.CharField(_("联系方式"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("企事业单位与组织")
        verbose_name_plural = _("企事业单位与组织")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class HandlingUnit(models.Model):
    """A unit that handles work orders (承办单位): a department, a utility, a street or community office."""

    name = models.CharField(_("名称"), max_length=150)
    code = models.CharField(_("代码"), max_length=40, unique=True)
    kind = models.CharField(_("类型"), max_length=30, choices=HandlingUnitKind.choices)
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("所属层级"), on_delete=models.PROTECT, related_name="handling_units"
    )
    phone = models.CharField(_("电话"), max_length=40, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("承办单位")
        verbose_name_plural = _("承办单位")
        ordering = ["org_unit__path", "code"]

    def __str__(self) -> str:
        return self.name


class Station(models.Model):
    """A position (阵地): liaison station, consultation room, members' home, legislative point, base…"""

    name = models.CharField(_("名称"), max_length=150)
    kind = models.CharField(_("类型"), max_length=30, choices=StationKind.choices)
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("所在地"), on_delete=models.PROTECT, related_name="stations")
    sector = models.ForeignKey(
        Sector, verbose_name=_("界别/行业"), null=True, blank=True, on_delete=models.PROTECT
    )
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("所属单位"), null=True, blank=True, on_delete=models.PROTECT
    )
    address = models.CharField(_("地址"), max_length=200)
    opening_hours = models.CharField(_("开放时间"), max_length=200, blank=True)
    phone = models.CharField(_("电话"), max_length=40, blank=True)
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    longitude = models.FloatField(_("经度"), null=True, blank=True)
    description = models.TextField(_("简介"), blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("阵地/站点")
        verbose_name_plural = _("阵地/站点")
        ordering = ["org_unit__path", "kind", "name"]

    def __str__(self) -> str:
        return self.name


class StationMember(models.Model):
    """A person serving at a station: head, chair, deputy or member in residence, staff."""

    station = models.ForeignKey(Station, verbose_name=_("站点"), on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE)
    role = models.CharField(_("职责"), max_length=20, choices=StationMemberRole.choices)
    since = models.DateField(_("起始日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("站点成员")
        verbose_name_plural = _("站点成员")
        constraints = [models.UniqueConstraint(fields=["station", "user", "role"], name="uniq_station_member_role")]

    def __str__(self) -> str:
        return f"{self.station} · {self.user}"

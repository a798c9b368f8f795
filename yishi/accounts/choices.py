from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """Roles of DOMAIN §1. Each assignment is scoped to an org unit and everything below it."""

    RESIDENT = "resident", _("居民/群众")
    GRID_WORKER = "grid_worker", _("网格员")
    COMMUNITY_STAFF = "community_staff", _("社区/村工作人员")
    STREET_STAFF = "street_staff", _("街道/镇工作人员")
    DISTRICT_STAFF = "district_staff", _("区/县工作人员")
    DISPATCHER = "dispatcher", _("指挥中心派单员")
    UNIT_LIAISON = "unit_liaison", _("承办单位联络员")
    UNIT_HEAD = "unit_head", _("承办单位负责人")
    DEPUTY = "deputy", _("人大代表")
    CPPCC_MEMBER = "cppcc_member", _("政协委员")
    PARTY_APPROVER = "party_approver", _("党组织审定人")
    EXPERT = "expert", _("智库专家")
    EVALUATOR = "evaluator", _("第三方评估")
    VOLUNTEER = "volunteer", _("志愿者/党员")
    PLATFORM_ADMIN = "platform_admin", _("平台管理员")


STAFF_ROLES = frozenset(
    {
        Role.GRID_WORKER,
        Role.COMMUNITY_STAFF,
        Role.STREET_STAFF,
        Role.DISTRICT_STAFF,
        Role.DISPATCHER,
        Role.PLATFORM_ADMIN,
    }
)
UNIT_ROLES = frozenset({Role.UNIT_LIAISON, Role.UNIT_HEAD})

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrgLevel(models.TextChoices):
    PROVINCE = "province", _("省")
    CITY = "city", _("市")
    DISTRICT = "district", _("区/县")
    STREET = "street", _("街道/镇")
    COMMUNITY = "community", _("社区/村")
    GRID = "grid", _("网格")


class HandlingUnitKind(models.TextChoices):
    DEPARTMENT = "department", _("职能部门")
    UTILITY = "utility", _("公共服务企业")
    STREET_OFFICE = "street_office", _("街道/镇")
    COMMUNITY_OFFICE = "community_office", _("社区/村")
    OTHER = "other", _("其他")


class StationKind(models.TextChoices):
    DEPUTY_LIAISON = "deputy_liaison", _("人大代表联络站")
    INDUSTRY_LIAISON = "industry_liaison", _("行业代表联络站")
    CONSULTATION_ROOM = "consultation_room", _("“有事好商量”协商议事室")
    MEMBERS_HOME = "members_home", _("委员之家/委员工作室")
    LEGISLATIVE_POINT = "legislative_point", _("基层立法联系点")
    PRACTICE_BASE = "practice_base", _("民主实践基地")
    SUGGESTION_POINT = "suggestion_point", _("人民建议征集点")
    PARTY_SERVICE_CENTER = "party_service_center", _("党群服务中心")


class StationMemberRole(models.TextChoices):
    HEAD = "head", _("站长/负责人")
    CHAIR = "chair", _("召集人/主持人")
    DEPUTY = "deputy", _("人大代表")
    CPPCC_MEMBER = "cppcc_member", _("政协委员")
    STAFF = "staff", _("工作人员")
    MEMBER = "member", _("成员")


class EnterpriseKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("企业")
    INSTITUTION = "institution", _("事业单位")
    SOCIAL_ORG = "social_org", _("社会组织")
    PROPERTY_COMPANY = "property_company", _("物业公司")
    OWNERS_COMMITTEE = "owners_committee", _("业主委员会")

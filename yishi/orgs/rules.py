"""Who may see and manage places."""

from yishi.accounts.choices import STAFF_ROLES, UNIT_ROLES, Role
from yishi.audit.scopes import audit_subject
from yishi.core.permissions import ALL_ROLES, define

STAFF = STAFF_ROLES
OFFICE_ROLES = STAFF_ROLES | UNIT_ROLES | {Role.DEPUTY, Role.CPPCC_MEMBER, Role.PARTY_APPROVER}

define("orgs.view_orgunit", roles=OFFICE_ROLES, scope="", label="查看组织单元")
define("orgs.manage_orgunit", roles={Role.DISTRICT_STAFF}, scope="", label="管理组织单元")
define("orgs.view_station", roles=[], public=True, label="查看阵地")
define("orgs.manage_station", roles={Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_STAFF}, scope="org_unit", label="管理阵地")
define("orgs.view_handlingunit", roles={ALL_ROLES}, label="查看承办单位")
define("orgs.manage_handlingunit", roles={Role.DISTRICT_STAFF}, scope="org_unit", label="管理承办单位")

audit_subject("orgs.orgunit", "")
for _label in ("orgs.sector", "orgs.enterprise", "orgs.handlingunit", "orgs.station"):
    audit_subject(_label, "org_unit")
audit_subject("orgs.stationmember", "station__org_unit")

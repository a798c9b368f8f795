"""Permission rules of the sample work order, shaped like a domain app's: staff of the area file and cancel,
a handling unit's liaison accepts and finishes, street staff may fast-track an urgent order."""

from yishi.accounts.choices import Role
from yishi.core.permissions import define

FILERS = {Role.COMMUNITY_STAFF, Role.STREET_STAFF}

define("sample.view", roles={*FILERS, Role.DISTRICT_STAFF, Role.UNIT_LIAISON}, scope="org_unit", label="查看工单")
define("sample.submit", roles=FILERS, scope="org_unit", label="提交工单")
define("sample.accept", roles={Role.UNIT_LIAISON}, scope="org_unit", label="签收工单")
define("sample.finish", roles={Role.UNIT_LIAISON}, scope="org_unit", label="办结工单")
define("sample.cancel", roles=FILERS, scope="org_unit", label="撤销工单")
# Not tied to a place on purpose: the workflow's view permission must still hide orders outside the scope.
define("sample.comment", roles={*FILERS, Role.UNIT_LIAISON}, label="备注工单")
define("sample.fast_track", roles={Role.STREET_STAFF}, scope="org_unit", label="快速签收")
# Anonymous visitors may see orders of areas whose policy profile switches this on.
define(
    "sample.view_public", roles={*FILERS}, scope="org_unit", anonymous_param="sample.public_orders",
    label="公开查看工单",
)

from yishi.accounts.choices import Role
from yishi.core.permissions import define

define("accounts.manage_users", roles={Role.DISTRICT_STAFF, Role.STREET_STAFF}, scope="", label="管理用户与角色")

from yishi.accounts.choices import Role
from yishi.audit.scopes import audit_subject
from yishi.core.permissions import define

define("accounts.manage_users", roles={Role.DISTRICT_STAFF, Role.STREET_STAFF}, scope="", label="管理用户与角色")

# Audit events about a person are placed where they hold (or held) a role; tokens with their owner.
audit_subject("accounts.roleassignment", "org_unit")
audit_subject("accounts.user", "roles__org_unit")
audit_subject("accounts.apitoken", "user__roles__org_unit")

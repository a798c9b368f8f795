from yishi.accounts.choices import Role
from yishi.core.permissions import define

define("audit.view", roles={Role.DISTRICT_STAFF}, label="查看审计日志")

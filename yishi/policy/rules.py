"""Who may change policy profiles. A profile is shared by every area that chooses it (and the default one by every
area that chooses none), so editing or copying one is a platform administrator's act; the system (``actor=None``:
migrations, management commands) may too."""

from yishi.accounts.choices import Role
from yishi.audit.scopes import audit_subject
from yishi.core.permissions import define

define("policy.manage_profile", roles={Role.PLATFORM_ADMIN}, label="维护政策配置")

# Profiles and the working-day calendar are shared by every area: their audit events are every viewer's.
audit_subject("policy.policyprofile", None)
audit_subject("policy.workdayoverride", None)

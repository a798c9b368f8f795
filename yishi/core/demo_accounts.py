"""The demo logins shown on the home page in demo mode only (YISHI_DEMO=1)."""

from __future__ import annotations

DEMO_PASSWORD = "yishi-demo-2026"


def demo_logins() -> list[dict[str, str]]:
    from yishi.accounts.models import User

    users = User.objects.filter(username__startswith="demo_").order_by("username")[:40]
    result = []
    for user in users:
        roles = ", ".join(sorted({str(r.get_role_display()) for r in user.roles.all()}))
        result.append({"username": user.username, "password": DEMO_PASSWORD, "name": str(user), "roles": roles})
    return result

"""The demo logins shown on the home page in demo mode only (YISHI_DEMO=1)."""

from __future__ import annotations

DEMO_PASSWORD = "yishi-demo-2026"
DEMO_PREFIX = "demo_"
# One login per kind of user, listed first; the rest follow the same pattern (demo_community7, demo_grid12…).
FEATURED_LOGINS = (
    "demo_admin", "demo_dispatcher", "demo_district1", "demo_street1", "demo_community1", "demo_grid1",
    "demo_unit_housing", "demo_head_housing", "demo_unit_water", "demo_deputy1", "demo_deputy2", "demo_member1",
    "demo_member2", "demo_party1", "demo_party3", "demo_expert1", "demo_evaluator", "demo_volunteer1",
    "demo_resident1", "demo_resident2",
)


def demo_logins(limit: int = 40) -> list[dict[str, str]]:
    """The featured demo users first, then the others by username, at most ``limit``."""
    from django.db.models import Case, IntegerField, Value, When

    from yishi.accounts.models import User

    featured = Case(
        *[When(username=name, then=Value(i)) for i, name in enumerate(FEATURED_LOGINS)],
        default=Value(len(FEATURED_LOGINS)), output_field=IntegerField(),
    )
    users = (
        User.objects.filter(username__startswith=DEMO_PREFIX, is_active=True)
        .prefetch_related("roles")
        .order_by(featured, "username")[:limit]
    )
    result = []
    for user in users:
        roles = ", ".join(sorted({str(r.get_role_display()) for r in user.roles.all() if r.is_active}))
        result.append({"username": user.username, "password": DEMO_PASSWORD, "name": str(user), "roles": roles})
    return result

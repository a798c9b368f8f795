"""The REST API at /api/ (OpenAPI document at /api/openapi.json, interactive docs at /api/docs)."""

from __future__ import annotations

from django.conf import settings
from ninja import NinjaAPI
from ninja.throttling import AnonRateThrottle, AuthRateThrottle

from yishi import __version__
from yishi.core.api_errors import install
from yishi.core.api_parser import StorableTextParser

api = NinjaAPI(
    title="Yishi 议事 API",
    version=__version__,
    description=(
        "全过程人民民主基层平台接口。错误统一为 `{code, message, field?}`；列表分页参数 `page`、`page_size`。\n\n"
        "Authentication: `Authorization: Bearer ysk_…` scoped tokens (read / write / admin) for machines, "
        "or the browser session with CSRF."
    ),
    urls_namespace="api",
    docs_url="/docs",
    throttle=[AnonRateThrottle(settings.YISHI_API_ANON_RATE), AuthRateThrottle(settings.YISHI_API_USER_RATE)],
    parser=StorableTextParser(),
)
install(api)

from yishi.accounts.api import router as accounts_router  # noqa: E402
from yishi.appeals.api import router as appeals_router  # noqa: E402
from yishi.audit.api import router as audit_router  # noqa: E402
from yishi.consultations.api import router as consultations_router  # noqa: E402
from yishi.consultations.meeting_api import router as meetings_router  # noqa: E402
from yishi.notifications.api import router as notifications_router  # noqa: E402
from yishi.orgs.api import router as orgs_router  # noqa: E402
from yishi.policy.api import router as policy_router  # noqa: E402

api.add_router("/", accounts_router)
api.add_router("/", orgs_router)
api.add_router("/", notifications_router)
api.add_router("/", policy_router)
api.add_router("/", audit_router)
api.add_router("/", appeals_router)
api.add_router("/", consultations_router)
api.add_router("/", meetings_router)

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from yishi.api import api
from yishi.core import views as core_views

admin.site.site_header = "议事 Yishi 管理后台"
admin.site.site_title = "议事 Yishi"

urlpatterns = [
    path("", include("yishi.core.urls")),
    path("accounts/", include("yishi.accounts.urls")),
    path("orgs/", include("yishi.orgs.urls")),
    path("notifications/", include("yishi.notifications.urls")),
    path("appeals/import/", include("yishi.appeals.import_urls")),
    path("appeals/stats/", include("yishi.appeals.stats_urls")),
    path("appeals/", include("yishi.appeals.urls")),
    path("open311/v2/", include("yishi.appeals.open311")),
    path("consultations/", include("yishi.consultations.urls")),
    path("consultations/meetings/", include("yishi.consultations.meeting_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
]

if settings.YISHI_BENCH:
    from yishi.bench.views import bare_intake

    urlpatterns.append(path("bench/bare-intake", bare_intake))

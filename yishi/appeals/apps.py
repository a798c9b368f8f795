from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppealsConfig(AppConfig):
    name = "yishi.appeals"
    label = "appeals"
    verbose_name = _("民呼我应")

    def ready(self) -> None:
        from . import home  # noqa: F401  (registers the home page actions)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsultationsConfig(AppConfig):
    name = "yishi.consultations"
    label = "consultations"
    verbose_name = _("有事好商量")

    def ready(self) -> None:
        from . import home  # noqa: F401  (registers the home page actions)

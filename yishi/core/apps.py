from importlib import import_module

from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "yishi.core"
    label = "core"
    verbose_name = _("平台核心")

    def ready(self) -> None:
        # Every Yishi app declares its permission rules in ``rules.py``; load them all once.
        for config in apps.get_app_configs():
            if config.name.startswith("yishi."):
                try:
                    import_module(f"{config.name}.rules")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{config.name}.rules":
                        raise

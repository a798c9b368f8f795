from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    from .cache import install_triggers
    from .services import sync_shipped_profiles

    install_triggers(connections[using])
    sync_shipped_profiles()


class PolicyConfig(AppConfig):
    name = "yishi.policy"
    label = "policy"
    verbose_name = _("政策配置")

    def ready(self) -> None:
        # Each domain app declares its parameters in ``<app>/policy.py``; import them all before syncing.
        from importlib import import_module

        from django.apps import apps

        for config in apps.get_app_configs():
            if config.name.startswith("yishi."):
                try:
                    import_module(f"{config.name}.policy")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{config.name}.policy":
                        raise
        post_migrate.connect(_sync, sender=self, dispatch_uid="yishi.policy.sync")
        from .cache import connect_signals

        connect_signals()

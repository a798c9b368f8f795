from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _


def _sync(sender: Any, **kwargs: Any) -> None:
    from .services import sync_shipped_profiles

    sync_shipped_profiles()


def _forget_overrides(sender: Any, **kwargs: Any) -> None:
    from django.db import transaction

    from .services import forget_workday_overrides

    forget_workday_overrides()
    # Again once the change is visible to others: a request reading the calendar before the commit would
    # otherwise cache the old overrides for the whole cache lifetime.
    transaction.on_commit(forget_workday_overrides)


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
        from .models import WorkdayOverride

        post_save.connect(_forget_overrides, sender=WorkdayOverride, dispatch_uid="yishi.policy.wd.save")
        post_delete.connect(_forget_overrides, sender=WorkdayOverride, dispatch_uid="yishi.policy.wd.delete")

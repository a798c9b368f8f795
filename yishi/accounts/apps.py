from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "yishi.accounts"
    label = "accounts"
    verbose_name = _("用户与角色")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from .models import ApiToken, User
        from .services import forget_tokens

        # A token revoked or a user deactivated in this process is refused by its very next request.
        for model in (ApiToken, User):
            post_save.connect(forget_tokens, sender=model, dispatch_uid=f"yishi.accounts.tokens.save.{model.__name__}")
            post_delete.connect(forget_tokens, sender=model, dispatch_uid=f"yishi.accounts.tokens.delete.{model.__name__}")

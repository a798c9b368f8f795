"""The home page's registry of actions: each app lists what a user may start from the home page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .permissions import can


@dataclass(frozen=True)
class HomeAction:
    section: str | Promise
    label: str | Promise
    url_name: str
    permission: str | None = None  # None: anyone; else a rule name checked without an object
    description: str | Promise = ""
    authenticated: bool = False
    visible: Callable[[Any], bool] | None = None


ACTIONS: list[HomeAction] = []


def register(action: HomeAction) -> None:
    ACTIONS.append(action)


def home_actions(user: Any) -> list[dict[str, Any]]:
    sections: dict[str, list[dict[str, Any]]] = {}
    for action in ACTIONS:
        if action.authenticated and not user.is_authenticated:
            continue
        if action.permission is not None and not can(user, action.permission):
            continue
        if action.visible is not None and not action.visible(user):
            continue
        sections.setdefault(str(action.section), []).append(
            {"label": action.label, "url": reverse(action.url_name), "description": action.description}
        )
    return [{"title": title, "actions": items} for title, items in sections.items()]


register(HomeAction(_("找阵地"), _("代表联络站与议事室"), "orgs:station_list", description=_("查找身边的联络站、议事室、立法联系点")))
register(HomeAction(_("工作台"), _("组织架构"), "orgs:unit_list", permission="orgs.view_orgunit", description=_("查看管辖范围内的区、街道、社区和网格")))
register(HomeAction(_("我的"), _("消息通知"), "notifications:inbox", authenticated=True, description=_("站内消息与提醒")))

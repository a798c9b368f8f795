"""What the home page offers from 民呼我应, by who is looking."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from yishi.core.home import HomeAction, register
from yishi.core.permissions import can


def _staff(user: Any) -> bool:
    return can(user, "appeals.view_area") or can(user, "appeals.view_unit")


SECTION = _("民呼我应")

register(HomeAction(SECTION, _("我要反映诉求"), "appeals:submit", description=_("咨询、求助、投诉、举报、建议，提交后获得查询码")))
register(HomeAction(SECTION, _("查询办理进度"), "appeals:track", description=_("输入查询码，查看诉求办到了哪一步")))
register(HomeAction(SECTION, _("诉求公开栏"), "appeals:board", description=_("看看身边的诉求是怎么办的（个人信息已隐去）")))
register(HomeAction(SECTION, _("群众微心愿"), "appeals:wish_list", description=_("发布小心愿，代表和志愿者帮您实现")))
register(HomeAction(_("我的"), _("我的诉求"), "appeals:mine", authenticated=True, description=_("我提交的诉求、答复和评价")))
register(HomeAction(_("工作台"), _("诉求工单"), "appeals:list", visible=_staff, description=_("按状态、分类、区域、时限筛选和办理诉求")))
register(HomeAction(_("工作台"), _("代群众录入诉求"), "appeals:enter", permission="appeals.enter", description=_("来访、来电、网格走访、站点接待")))
register(HomeAction(_("工作台"), _("承办队列"), "appeals:queue", permission="appeals.handle", description=_("本单位待办诉求，按办理时限排序")))

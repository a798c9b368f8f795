"""What the home page offers from 有事好商量, by who is looking."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from yishi.core.home import HomeAction, register

SECTION = _("有事好商量")

register(HomeAction(SECTION, _("议事室"), "consultations:room_list", description=_("社区委员之家、街道议事室、区议事厅，在这里提出议题")))
register(HomeAction(SECTION, _("协商议题"), "consultations:topic_list", authenticated=True, description=_("本区域的协商议题：附议、跟进、评价落实效果")))
register(HomeAction(SECTION, _("议事协商目录"), "consultations:catalogue", description=_("哪些事项应当提交协商")))
register(HomeAction(_("工作台"), _("协商失效预警"), "consultations:supervision", permission="consultations.supervise", description=_("议而不决、决而不行、行而不久，按议事室和层级统计")))
register(HomeAction(_("工作台"), _("协商议事人才库"), "consultations:talents", permission="consultations.manage_room", description=_("按专长查找可邀请的专家、代表、委员")))

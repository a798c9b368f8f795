from django.db import models
from django.utils.translation import gettext_lazy as _


class Nature(models.TextChoices):
    CONSULT = "consult", _("咨询")
    HELP = "help", _("求助")
    COMPLAINT = "complaint", _("投诉")
    REPORT = "report", _("举报")
    SUGGEST = "suggest", _("建议")


class Channel(models.TextChoices):
    WEB = "web", _("网站/手机")
    WALK_IN = "walk_in", _("来访")
    PHONE = "phone", _("来电")
    GRID_VISIT = "grid_visit", _("网格走访")
    STATION = "station", _("站点接待")
    HOTLINE_IMPORT = "hotline_import", _("热线导入")
    OPEN311 = "open311", _("Open311 接口")
    API = "api", _("API")
    CONSULTATION = "consultation", _("协商落实")


class Urgency(models.TextChoices):
    URGENT = "urgent", _("紧急")
    UTILITY = "utility", _("水电气热")
    GENERAL = "general", _("一般")
    COMPLEX = "complex", _("疑难复杂")


class AppealState(models.TextChoices):
    RECEIVED = "received", _("已受理")
    REJECTED = "rejected", _("不予受理")
    DISPATCHED = "dispatched", _("已派单")
    RETURN_REQUESTED = "return_requested", _("退单待审")
    ACCEPTED = "accepted", _("已签收")
    IN_PROGRESS = "in_progress", _("办理中")
    REPLY_SUBMITTED = "reply_submitted", _("回复待审")
    REPLIED = "replied", _("已答复待回访")
    CLOSED = "closed", _("已办结")
    ARCHIVED = "archived", _("已归档")
    MERGED = "merged", _("已合并")
    DUPLICATE = "duplicate", _("重复件")


OPEN_STATES = frozenset(
    {
        AppealState.RECEIVED,
        AppealState.DISPATCHED,
        AppealState.RETURN_REQUESTED,
        AppealState.ACCEPTED,
        AppealState.IN_PROGRESS,
        AppealState.REPLY_SUBMITTED,
    }
)
# States in which the handling clock (due_at) runs against the lead unit.
HANDLING_STATES = frozenset(
    {AppealState.DISPATCHED, AppealState.RETURN_REQUESTED, AppealState.ACCEPTED, AppealState.IN_PROGRESS}
)


class Resolution(models.TextChoices):
    RESOLVED = "resolved", _("解决")
    PARTIAL = "partial", _("部分解决")
    UNRESOLVED = "unresolved", _("未解决")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASIC = "basic", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")
    NO_ANSWER = "no_answer", _("未回答")


class AssignmentRole(models.TextChoices):
    LEAD = "lead", _("主办")
    CO = "co", _("协办")


class AssignmentStatus(models.TextChoices):
    PENDING = "pending", _("待签收")
    ACCEPTED = "accepted", _("已签收")
    RETURNED = "returned", _("已退回")
    DONE = "done", _("已完成")
    CANCELLED = "cancelled", _("已撤销")


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("已批准")
    REFUSED = "refused", _("已驳回")


class SupervisionKind(models.TextChoices):
    REMINDER = "reminder", _("临期提醒")
    URGE = "urge", _("催办")
    ESCALATION = "escalation", _("督办升级")
    MANUAL = "manual", _("人工督办")


class WishState(models.TextChoices):
    OPEN = "open", _("待认领")
    ADOPTED = "adopted", _("已认领")
    FULFILLED = "fulfilled", _("已实现")
    WITHDRAWN = "withdrawn", _("已撤回")


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("等待中")
    RUNNING = "running", _("导入中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")

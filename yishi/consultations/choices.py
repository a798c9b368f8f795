from django.db import models
from django.utils.translation import gettext_lazy as _


class RoomLevel(models.TextChoices):
    COMMUNITY = "community", _("社区/村（委员之家）")
    STREET = "street", _("街道/镇（议事室）")
    DISTRICT = "district", _("区/县（议事厅）")
    SECTOR = "sector", _("界别")
    ENTERPRISE = "enterprise", _("企业/单位")


class RoomMemberRole(models.TextChoices):
    CHAIR = "chair", _("主持人/召集人")
    SECRETARY = "secretary", _("记录员")
    MEMBER = "member", _("成员")


class TopicSource(models.TextChoices):
    PARTY = "party", _("党政点题")
    RESIDENTS = "residents", _("群众出题")
    MEMBERS = "members", _("委员荐题")
    APPEALS = "appeals", _("民呼热点")
    ESCALATED = "escalated", _("下级上报")


class TopicState(models.TextChoices):
    """The 8-step loop. Each state is reached only when the previous step's artefact exists."""

    PROPOSED = "proposed", _("待审定")
    DECLINED = "declined", _("未通过审定")
    APPROVED = "approved", _("已审定·确定参与主体")
    RESEARCHING = "researching", _("商前调研")
    MEETING = "meeting", _("协商会议")
    NO_DECISION = "no_decision", _("议而未决")
    DECIDED = "decided", _("已形成意见")
    SUBMITTED = "submitted", _("成果已报送")
    IMPLEMENTING = "implementing", _("转化落实")
    EVALUATING = "evaluating", _("评估质效")
    CLOSED = "closed", _("已闭环")
    ESCALATED = "escalated", _("已上报上级平台")


class ParticipantKind(models.TextChoices):
    STAKEHOLDER = "stakeholder", _("利益相关方")
    RESIDENT_REP = "resident_rep", _("居民代表")
    DEPUTY = "deputy", _("人大代表")
    CPPCC_MEMBER = "cppcc_member", _("政协委员")
    EXPERT = "expert", _("专家")
    DEPARTMENT = "department", _("职能部门")
    PROPERTY_COMPANY = "property_company", _("物业公司")
    OWNERS_COMMITTEE = "owners_committee", _("业委会")
    SOCIAL_ORG = "social_org", _("社会组织")
    PARTY_ORG = "party_org", _("党组织")


class ResearchKind(models.TextChoices):
    NOTE = "note", _("调研笔记")
    SITE_VISIT = "site_visit", _("实地走访")
    POLICY = "policy", _("政策梳理")
    SURVEY = "survey", _("问卷/座谈")


class ReviewState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待审核")
    APPROVED = "approved", _("已通过")
    REJECTED = "rejected", _("已退回")


class MeetingMode(models.TextChoices):
    IN_PERSON = "in_person", _("现场")
    ONLINE = "online", _("网上")
    HYBRID = "hybrid", _("线上线下结合")


class MeetingState(models.TextChoices):
    SCHEDULED = "scheduled", _("已通知")
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已结束")
    CANCELLED = "cancelled", _("已取消")


class MotionState(models.TextChoices):
    DEBATE = "debate", _("讨论中")
    VOTING = "voting", _("表决中")
    CLOSED = "closed", _("已结束")
    WITHDRAWN = "withdrawn", _("已撤回")


class MotionOutcome(models.TextChoices):
    PASSED = "passed", _("通过")
    FAILED = "failed", _("未通过")
    CONSENSUS = "consensus", _("达成共识")
    NONE = "", _("未决")


class Stance(models.TextChoices):
    FOR = "for", _("赞成")
    AGAINST = "against", _("反对")
    NEUTRAL = "neutral", _("中立")


class VoteChoice(models.TextChoices):
    YES = "yes", _("赞成")
    NO = "no", _("反对")
    ABSTAIN = "abstain", _("弃权")


class FloorState(models.TextChoices):
    WAITING = "waiting", _("等待发言")
    SPEAKING = "speaking", _("发言中")
    DONE = "done", _("已发言")
    CANCELLED = "cancelled", _("已取消")

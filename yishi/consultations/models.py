"""有事好商量: consultation rooms, topics through the 8-step loop, the online room, and the three result lists.

Each step leaves its artefact (approval, participants, approved research, minutes, opinion list, responsibility
list, effect list); the topic's state moves only when the artefact of the previous step exists.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import (
    FloorState,
    MeetingMode,
    MeetingState,
    MotionOutcome,
    MotionState,
    ParticipantKind,
    ResearchKind,
    ReviewState,
    RoomLevel,
    RoomMemberRole,
    Stance,
    TopicSource,
    TopicState,
    VoteChoice,
)

USER = settings.AUTH_USER_MODEL


class Room(models.Model):
    """A consultation room (议事室/议事厅/委员之家) at a level of the three-level platform, or for a sector/enterprise."""

    name = models.CharField(_("名称"), max_length=150)
    level = models.CharField(_("层级"), max_length=20, choices=RoomLevel.choices)
    org_unit = models.ForeignKey("orgs.OrgUnit", verbose_name=_("所在区域"), on_delete=models.PROTECT, related_name="consultation_rooms")
    station = models.ForeignKey("orgs.Station", verbose_name=_("阵地"), null=True, blank=True, on_delete=models.SET_NULL)
    sector = models.ForeignKey("orgs.Sector", verbose_name=_("界别"), null=True, blank=True, on_delete=models.PROTECT)
    enterprise = models.ForeignKey("orgs.Enterprise", verbose_name=_("单位"), null=True, blank=True, on_delete=models.PROTECT)
    parent = models.ForeignKey("self", verbose_name=_("上级平台"), null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    description = models.TextField(_("简介"), blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("议事室")
        verbose_name_plural = _("议事室")
        ordering = ["org_unit__path", "name"]

    def __str__(self) -> str:
        return self.name


class RoomMember(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="room_memberships")
    role = models.CharField(_("职责"), max_length=20, choices=RoomMemberRole.choices, default=RoomMemberRole.MEMBER)

    class Meta:
        verbose_name = _("议事室成员")
        verbose_name_plural = _("议事室成员")
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="uniq_room_member"),
            models.UniqueConstraint(fields=["room"], condition=models.Q(role="chair"), name="one_chair_per_room"),
        ]

    def __str__(self) -> str:
        return f"{self.room} · {self.user}"


class CatalogueItem(models.Model):
    """议事协商目录: a kind of matter that must (or may) be consulted at this level."""

    org_unit = models.ForeignKey("orgs.OrgUnit", verbose_name=_("适用区域"), on_delete=models.PROTECT)
    title = models.CharField(_("事项"), max_length=150)
    description = models.TextField(_("说明"), blank=True)
    mandatory = models.BooleanField(_("必须协商"), default=True)

    class Meta:
        verbose_name = _("议事协商目录")
        verbose_name_plural = _("议事协商目录")
        ordering = ["org_unit__path", "title"]

    def __str__(self) -> str:
        return self.title


class Talent(models.Model):
    """协商议事人才库: a person the rooms can invite for their expertise."""

    user = models.OneToOneField(USER, verbose_name=_("用户"), null=True, blank=True, on_delete=models.SET_NULL, related_name="talent")
    name = models.CharField(_("姓名"), max_length=50)
    kind = models.CharField(_("类别"), max_length=30, choices=ParticipantKind.choices, default=ParticipantKind.EXPERT)
    expertise = models.CharField(_("专长"), max_length=300)
    organisation = models.CharField(_("单位"), max_length=150, blank=True)
    org_unit = models.ForeignKey("orgs.OrgUnit", verbose_name=_("所在区域"), on_delete=models.PROTECT)
    phone = models.CharField(_("电话"), max_length=20, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("协商议事人才")
        verbose_name_plural = _("协商议事人才库")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}（{self.expertise}）"


class Topic(models.Model):
    """议题: one matter through the 8-step loop."""

    room = models.ForeignKey(Room, verbose_name=_("议事室"), on_delete=models.PROTECT, related_name="topics")
    title = models.CharField(_("议题"), max_length=150)
    description = models.TextField(_("说明"))
    source = models.CharField(_("来源"), max_length=20, choices=TopicSource.choices)
    proposer = models.ForeignKey(USER, verbose_name=_("提出人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="proposed_topics")
    proposer_name = models.CharField(_("署名"), max_length=50, blank=True)
    catalogue_item = models.ForeignKey(CatalogueItem, verbose_name=_("目录事项"), null=True, blank=True, on_delete=models.SET_NULL)
    state = models.CharField(_("状态"), max_length=20, choices=TopicState.choices, default=TopicState.PROPOSED, db_index=True)
    appeals = models.ManyToManyField("appeals.Appeal", verbose_name=_("关联诉求"), blank=True, related_name="consultation_topics")
    escalated_from = models.ForeignKey("self", verbose_name=_("下级议题"), null=True, blank=True, on_delete=models.PROTECT, related_name="escalations")
    approved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(_("审定时间"), null=True, blank=True)
    decline_reason = models.TextField(_("未通过理由"), blank=True)
    results_sent_to = models.ForeignKey("orgs.OrgUnit", verbose_name=_("成果报送至"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    results_sent_at = models.DateTimeField(_("报送时间"), null=True, blank=True)
    final_rating = models.PositiveSmallIntegerField(_("综合评价（1-5）"), null=True, blank=True)
    closed_at = models.DateTimeField(_("闭环时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("协商议题")
        verbose_name_plural = _("协商议题")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class TopicSupport(models.Model):
    """A resident's support for a proposed topic (群众出题 gathers support)."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["topic", "user"], name="uniq_topic_support")]


class Participant(models.Model):
    """明确主体: a party invited to the consultation of a topic."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="participants")
    kind = models.CharField(_("类别"), max_length=30, choices=ParticipantKind.choices)
    user = models.ForeignKey(USER, verbose_name=_("用户"), null=True, blank=True, on_delete=models.SET_NULL, related_name="consultation_participations")
    name = models.CharField(_("姓名/单位"), max_length=100)
    talent = models.ForeignKey(Talent, null=True, blank=True, on_delete=models.SET_NULL)
    handling_unit = models.ForeignKey("orgs.HandlingUnit", null=True, blank=True, on_delete=models.PROTECT)
    enterprise = models.ForeignKey("orgs.Enterprise", null=True, blank=True, on_delete=models.PROTECT)
    can_vote = models.BooleanField(_("有表决权"), default=True)
    invited_at = models.DateTimeField(_("邀请时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("参与主体")
        verbose_name_plural = _("参与主体")
        constraints = [
            models.UniqueConstraint(fields=["topic", "user"], condition=models.Q(user__isnull=False), name="uniq_topic_participant_user")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.name}"


class ResearchRecord(models.Model):
    """商前调研: research notes, site visits, policy findings, with their attachments; approved before a meeting can
    be called."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="research")
    kind = models.CharField(_("类型"), max_length=20, choices=ResearchKind.choices)
    title = models.CharField(_("标题"), max_length=150)
    text = models.TextField(_("内容"))
    author = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(_("状态"), max_length=20, choices=ReviewState.choices, default=ReviewState.SUBMITTED)
    reviewed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("调研记录")
        verbose_name_plural = _("调研记录")
        ordering = ["created_at", "id"]


class ResearchAttachment(models.Model):
    """A file of a research record (photos of the site, the policy text, survey tables). Served only through the
    topic's download view, to those who may see the topic; never a public media URL."""

    research = models.ForeignKey(ResearchRecord, verbose_name=_("调研记录"), on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("文件"), upload_to="consultations/research/%Y/%m/")
    name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=120)
    size = models.PositiveIntegerField(_("大小（字节）"))
    uploaded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("调研附件")
        verbose_name_plural = _("调研附件")
        ordering = ["research", "id"]

    def __str__(self) -> str:
        return self.name


class Meeting(models.Model):
    """开展协商: a meeting in person, online or hybrid, with notice, agenda, registration, attendance and quorum."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="meetings")
    mode = models.CharField(_("形式"), max_length=20, choices=MeetingMode.choices)
    starts_at = models.DateTimeField(_("开始时间"))
    location = models.CharField(_("地点"), max_length=200, blank=True)
    agenda = models.TextField(_("议程"))
    notice_sent_at = models.DateTimeField(_("通知时间"))
    state = models.CharField(_("状态"), max_length=20, choices=MeetingState.choices, default=MeetingState.SCHEDULED)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    quorum_met = models.BooleanField(_("达到法定人数"), null=True)
    minutes = models.TextField(_("会议纪要"), blank=True)
    minutes_approved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    minutes_approved_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)
    cancel_reason = models.TextField(_("取消理由"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("协商会议")
        verbose_name_plural = _("协商会议")
        ordering = ["starts_at", "id"]
        constraints = [
            # A topic has at most one meeting ahead or under way; a cancelled or closed one makes room for the next.
            models.UniqueConstraint(fields=["topic"], condition=models.Q(state__in=["scheduled", "open"]),
                                    name="one_live_meeting_per_topic"),
        ]


class Attendance(models.Model):
    """Registration and attendance of a participant at a meeting."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="attendance")
    registered_at = models.DateTimeField(null=True, blank=True)
    present = models.BooleanField(_("出席"), default=False)
    checked_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["meeting", "participant"], name="uniq_attendance")]


class Motion(models.Model):
    """A motion under debate (one open at a time per meeting), then a vote or a recorded consensus."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="motions")
    number = models.PositiveSmallIntegerField(_("序号"))
    title = models.CharField(_("动议"), max_length=200)
    text = models.TextField(_("内容"), blank=True)
    state = models.CharField(_("状态"), max_length=20, choices=MotionState.choices, default=MotionState.DEBATE)
    outcome = models.CharField(_("结果"), max_length=20, choices=MotionOutcome.choices, blank=True)
    opened_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField()
    voting_opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    yes = models.PositiveIntegerField(default=0)
    no = models.PositiveIntegerField(default=0)
    abstain = models.PositiveIntegerField(default=0)
    consensus_note = models.TextField(_("共识记录"), blank=True)

    class Meta:
        verbose_name = _("动议")
        verbose_name_plural = _("动议")
        ordering = ["meeting", "number"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "number"], name="uniq_motion_number"),
            models.UniqueConstraint(fields=["meeting"], condition=models.Q(state__in=["debate", "voting"]), name="one_live_motion"),
        ]


class FloorRequest(models.Model):
    """A participant asks for the floor on a motion, stating for/against/neutral first; the chair grants it."""

    motion = models.ForeignKey(Motion, on_delete=models.CASCADE, related_name="floor_requests")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    stance = models.CharField(_("立场"), max_length=10, choices=Stance.choices)
    state = models.CharField(_("状态"), max_length=20, choices=FloorState.choices, default=FloorState.WAITING)
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    text = models.TextField(_("发言要点"), blank=True)

    class Meta:
        verbose_name = _("发言")
        verbose_name_plural = _("发言")
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["motion"], condition=models.Q(state="speaking"), name="one_speaker_at_a_time"),
        ]


class Vote(models.Model):
    """One vote per participant per motion (open vote in consultation; the record shows who voted how)."""

    motion = models.ForeignKey(Motion, on_delete=models.CASCADE, related_name="votes")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    choice = models.CharField(_("表决"), max_length=10, choices=VoteChoice.choices)
    cast_at = models.DateTimeField()

    class Meta:
        verbose_name = _("表决")
        verbose_name_plural = _("表决")
        constraints = [models.UniqueConstraint(fields=["motion", "participant"], name="one_vote_per_participant")]


class WrittenOpinion(models.Model):
    """A resident who is not a member follows the meeting and leaves a written opinion."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="written_opinions")
    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="written_opinions")
    author = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(_("意见"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("书面意见")
        verbose_name_plural = _("书面意见")
        ordering = ["created_at", "id"]


class OpinionItem(models.Model):
    """协商意见建议清单: one item with its rationale, sent with the list to the party committee/government."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="opinion_items")
    motion = models.ForeignKey(Motion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    number = models.PositiveSmallIntegerField(_("序号"))
    text = models.TextField(_("意见建议"))
    rationale = models.TextField(_("理由"))

    class Meta:
        verbose_name = _("协商意见建议")
        verbose_name_plural = _("协商意见建议清单")
        ordering = ["topic", "number"]
        constraints = [models.UniqueConstraint(fields=["topic", "number"], name="uniq_opinion_number")]


class ResponsibilityItem(models.Model):
    """工作责任清单: a task turned from an opinion item, tracked as an appeal work order (accept, return, extend,
    supervise, reply) through ``appeal``."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="responsibilities")
    opinion_item = models.ForeignKey(OpinionItem, on_delete=models.PROTECT, related_name="responsibilities")
    task = models.TextField(_("任务"))
    handling_unit = models.ForeignKey("orgs.HandlingUnit", verbose_name=_("责任单位"), null=True, blank=True, on_delete=models.PROTECT)
    working_days = models.PositiveSmallIntegerField(_("时限（工作日）"))
    appeal = models.OneToOneField("appeals.Appeal", verbose_name=_("工单"), null=True, blank=True, on_delete=models.PROTECT, related_name="responsibility")
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("工作责任")
        verbose_name_plural = _("工作责任清单")
        ordering = ["topic", "id"]


class EffectItem(models.Model):
    """落实效果清单: what changed, per responsibility, with evidence."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="effects")
    responsibility = models.ForeignKey(ResponsibilityItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="effects")
    text = models.TextField(_("落实效果"))
    evidence = models.TextField(_("佐证"), blank=True)
    author = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("落实效果")
        verbose_name_plural = _("落实效果清单")


class SatisfactionResponse(models.Model):
    """A participant's or an affected resident's judgement of the result (1–5, and a comment)."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="satisfaction")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    is_participant = models.BooleanField(default=False)
    score = models.PositiveSmallIntegerField(_("满意度（1-5）"))
    comment = models.TextField(_("意见"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["topic", "user"], name="one_satisfaction_per_user")]


class ThirdPartyEvaluation(models.Model):
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="evaluations")
    evaluator = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    organisation = models.CharField(_("评估机构"), max_length=150)
    score = models.PositiveSmallIntegerField(_("评分（0-100）"))
    report = models.TextField(_("评估报告"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("第三方评估")
        verbose_name_plural = _("第三方评估")

"""Appeals (诉求): residents' requests handled to a close, like a 12345 / 接诉即办 work order.

The appeal row carries the current state and denormalised facts the KPIs aggregate over (on-time flags, callback
answers, whether it counts), so that every rate is one aggregate query over indexed columns.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import (
    HANDLING_STATES,
    AppealState,
    AssignmentRole,
    AssignmentStatus,
    Channel,
    ImportStatus,
    Nature,
    RequestStatus,
    Resolution,
    Satisfaction,
    SupervisionKind,
    Urgency,
    WishState,
)


class Category(models.Model):
    """The 3-level category catalogue (一级/二级/三级分类), e.g. 城乡建设 › 住房保障 › 老旧小区改造."""

    code = models.CharField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey("self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    level = models.PositiveSmallIntegerField(_("级别"), default=1)
    path = models.CharField(_("路径"), max_length=200, db_index=True, editable=False, default="")
    default_urgency = models.CharField(_("默认紧急程度"), max_length=20, choices=Urgency.choices, default=Urgency.GENERAL)
    fast_lane = models.BooleanField(_("民生微实事快速通道"), default=False)
    keywords = models.CharField(_("关键词"), max_length=300, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("诉求分类")
        verbose_name_plural = _("诉求分类")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        names = []
        node: Category | None = self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return " › ".join(reversed(names))


class RoutingRule(models.Model):
    """Category × area → lead unit (+ co-units). The most specific category, then the most specific area, wins."""

    category = models.ForeignKey(Category, verbose_name=_("分类"), on_delete=models.CASCADE, related_name="routing_rules")
    area = models.ForeignKey("orgs.OrgUnit", verbose_name=_("区域"), on_delete=models.CASCADE)
    lead_unit = models.ForeignKey("orgs.HandlingUnit", verbose_name=_("主办单位"), on_delete=models.PROTECT, related_name="+")
    co_units = models.ManyToManyField("orgs.HandlingUnit", verbose_name=_("协办单位"), blank=True, related_name="+")
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("派单规则")
        verbose_name_plural = _("派单规则")
        constraints = [models.UniqueConstraint(fields=["category", "area"], name="uniq_routing_rule")]

    def __str__(self) -> str:
        return f"{self.category} @ {self.area} → {self.lead_unit}"


class Appeal(models.Model):
    """One resident's request, from intake to archive."""

    tracking_code = models.CharField(_("查询码"), max_length=20, unique=True)
    # A client's retry key, unique per caller: the signed-in user (or API token owner) who sent it, NULL for an
    # anonymous caller. Keys of different callers never meet, so one client's key cannot return another's appeal.
    # NULL (not "") means "no key", which the partial unique constraints below skip.
    idempotency_key = models.CharField(_("幂等键"), max_length=80, null=True, blank=True)  # noqa: DJ001
    idempotency_owner_id = models.BigIntegerField(_("幂等键所属用户ID"), null=True, blank=True, editable=False)
    external_ref = models.CharField(_("外部编号"), max_length=80, blank=True, db_index=True)
    channel = models.CharField(_("渠道"), max_length=20, choices=Channel.choices)
    nature = models.CharField(_("性质"), max_length=20, choices=Nature.choices)
    category = models.ForeignKey(Category, verbose_name=_("分类"), on_delete=models.PROTECT, related_name="appeals")
    urgency = models.CharField(_("紧急程度"), max_length=20, choices=Urgency.choices, default=Urgency.GENERAL)
    fast_lane = models.BooleanField(_("快速通道"), default=False)
    title = models.CharField(_("标题"), max_length=120)
    text = models.TextField(_("诉求内容"))
    # Place: the community/grid the appeal is about (scopes it), with optional address and coordinates.
    org_unit = models.ForeignKey("orgs.OrgUnit", verbose_name=_("所在区域"), on_delete=models.PROTECT, related_name="appeals", db_index=False)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    longitude = models.FloatField(_("经度"), null=True, blank=True)
    # A photo or video the resident published elsewhere (Open311 ``media_url``); our own uploads are Attachments.
    media_url = models.URLField(_("图片链接"), max_length=500, blank=True)
    # The level that currently owns triage and dispatch (社区 → 街道 → 区 when escalated).
    handling_level = models.ForeignKey("orgs.OrgUnit", verbose_name=_("受理层级"), on_delete=models.PROTECT, related_name="+")
    # Who: a signed-in resident, or the contact given to staff; anonymous appeals have neither.
    submitter = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("提交人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="appeals")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("录入人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    anonymous = models.BooleanField(_("匿名"), default=False)
    consent_contact = models.BooleanField(_("同意回访联系"), default=True)

    state = models.CharField(_("状态"), max_length=20, choices=AppealState.choices, default=AppealState.RECEIVED)
    received_at = models.DateTimeField(_("受理时间"), db_index=True)
    month = models.DateField(_("统计月份"), db_index=True)
    policy_version = models.CharField(_("配置版本"), max_length=80, blank=True)

    # Current lead unit and its clocks (stored when the clock starts).
    lead_unit = models.ForeignKey("orgs.HandlingUnit", verbose_name=_("主办单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="lead_appeals")
    dispatched_at = models.DateTimeField(_("派单时间"), null=True, blank=True)
    accept_due_at = models.DateTimeField(_("签收时限"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    contact_due_at = models.DateTimeField(_("首次联系时限"), null=True, blank=True)
    first_contact_at = models.DateTimeField(_("首次联系时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("办结时限"), null=True, blank=True, db_index=True)
    warn_at = models.DateTimeField(_("预警时间"), null=True, blank=True)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    archived_at = models.DateTimeField(_("归档时间"), null=True, blank=True)

    reply_text = models.TextField(_("答复内容"), blank=True)
    reject_reason = models.TextField(_("不予受理理由"), blank=True)

    # Facts for the KPIs, set by the transitions.
    counted = models.BooleanField(_("计入统计"), default=True, help_text=_("合并子件与重复件不重复计数"))
    accepted_on_time = models.BooleanField(_("按时签收"), null=True)
    contacted_on_time = models.BooleanField(_("按时联系"), null=True)
    closed_on_time = models.BooleanField(_("按时办结"), null=True)
    return_count = models.PositiveSmallIntegerField(_("退单次数"), default=0)
    reopen_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)
    extension_count = models.PositiveSmallIntegerField(_("延期次数"), default=0)
    escalation_count = models.PositiveSmallIntegerField(_("升级次数"), default=0)
    supervised = models.BooleanField(_("督办中"), default=False)
    resolution = models.CharField(_("是否解决"), max_length=20, choices=Resolution.choices, blank=True)
    satisfaction = models.CharField(_("满意度"), max_length=20, choices=Satisfaction.choices, blank=True)

    merged_into = models.ForeignKey("self", verbose_name=_("合并到"), null=True, blank=True, on_delete=models.PROTECT, related_name="merged_children")
    duplicate_of = models.ForeignKey("self", verbose_name=_("重复于"), null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates")
    callback_token = models.CharField(_("回访链接令牌"), max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("诉求")
        verbose_name_plural = _("诉求")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["lead_unit", "state", "due_at"], name="appeal_unit_queue"),
            models.Index(fields=["month", "counted"], name="appeal_month_counted"),
            # The statistics: a month of the counted appeals of an area, grouped by place and lead unit, read from the
            # index alone (every fact the KPIs count is in it): a month's appeals lie one per table page, the index
            # holds them side by side (docs/benchmarks.md).
            models.Index(
                fields=["month", "org_unit", "lead_unit"], condition=models.Q(counted=True), name="appeal_month_facts",
                include=["id", "state", "dispatched_at", "accept_due_at", "accepted_at", "accepted_on_time", "contact_due_at",
                         "first_contact_at", "contacted_on_time", "warn_at", "due_at", "replied_at", "closed_on_time",
                         "return_count", "reopen_count", "resolution", "satisfaction"],
            ),
            models.Index(fields=["state", "due_at"], name="appeal_state_due"),
            # The staff list (newest first, 50 a page) by state and by area, and its overdue / at-risk views (by
            # deadline): each walks one of these in order and stops after a page (docs/benchmarks.md). They replace
            # the plain indexes of ``state`` and ``org_unit``, whose lookups they serve too.
            models.Index(fields=["state", "received_at"], name="appeal_state_received"),
            models.Index(fields=["org_unit", "received_at"], name="appeal_area_received"),
            # A state with a nature (e.g. closed consultations): the rows of both lie far back in time, so a walk of
            # the state's index (or of received_at) passes thousands of others first; the capped count reads this
            # index alone (the scope's columns are in it).
            models.Index(fields=["state", "nature", "received_at"], name="appeal_state_nature",
                         include=["org_unit", "submitter"]),
            models.Index(fields=["due_at"], condition=models.Q(state__in=sorted(HANDLING_STATES)), name="appeal_handling_due",
                         include=["warn_at", "org_unit"]),  # the capped count of the at-risk view from the index alone
            models.Index(fields=["submitter", "received_at"], name="appeal_submitter"),
            models.Index(fields=["contact_phone", "received_at"], name="appeal_phone"),
            # Is a month's rollup still exact? One probe: any appeal of the month changed after it was computed
            # (yishi/appeals/rollup.py).
            models.Index(fields=["month", "updated_at"], name="appeal_month_updated"),
        ]
        constraints = [
            # Importing the same hotline record twice creates nothing twice.
            models.UniqueConstraint(
                fields=["channel", "external_ref"], condition=~models.Q(external_ref=""), name="uniq_external_ref"
            ),
            models.UniqueConstraint(
                fields=["idempotency_owner_id", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False, idempotency_owner_id__isnull=False),
                name="uniq_idempotency_key_per_owner",
            ),
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False, idempotency_owner_id__isnull=True),
                name="uniq_idempotency_key_anonymous",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_code} {self.title}"


class Attachment(models.Model):
    """A photo or document attached to an appeal, a reply or a progress note."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("文件"), upload_to="appeals/%Y/%m/")
    name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(max_length=80)
    size = models.PositiveIntegerField()
    purpose = models.CharField(_("用途"), max_length=20, default="submission")  # submission | reply | progress
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")


class Assignment(models.Model):
    """A dispatch of the appeal to one unit, as lead (主办) or co-unit (协办)."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="assignments")
    unit = models.ForeignKey("orgs.HandlingUnit", verbose_name=_("承办单位"), on_delete=models.PROTECT, related_name="assignments")
    role = models.CharField(_("角色"), max_length=10, choices=AssignmentRole.choices)
    status = models.CharField(_("状态"), max_length=20, choices=AssignmentStatus.choices, default=AssignmentStatus.PENDING)
    dispatched_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    dispatched_at = models.DateTimeField(_("派单时间"))
    accept_due_at = models.DateTimeField(_("签收时限"))
    accepted_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    by_rule = models.BooleanField(_("按规则派单"), default=False)
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("派单")
        verbose_name_plural = _("派单")
        ordering = ["dispatched_at", "id"]
        constraints = [
            # At most one live lead assignment per appeal.
            models.UniqueConstraint(
                fields=["appeal"], condition=models.Q(role="lead", status__in=["pending", "accepted"]), name="one_live_lead"
            )
        ]


class ReturnRequest(models.Model):
    """退单: a unit says the appeal is not its duty, citing a reason; the dispatcher re-dispatches or refuses."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="return_requests")
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="return_requests")
    reason = models.TextField(_("退单理由"))
    basis = models.CharField(_("依据（职责文件）"), max_length=300)
    status = models.CharField(_("状态"), max_length=20, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("退单申请")
        verbose_name_plural = _("退单申请")


class ExtensionRequest(models.Model):
    """延期: asked before the deadline, approved (the deadline moves) or refused."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="extension_requests")
    working_days = models.PositiveSmallIntegerField(_("延期工作日"))
    reason = models.TextField(_("理由"))
    status = models.CharField(_("状态"), max_length=20, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField()
    old_due_at = models.DateTimeField()
    new_due_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        constraints = [
            models.UniqueConstraint(fields=["appeal"], condition=models.Q(status="pending"), name="one_pending_extension")
        ]


class ProgressNote(models.Model):
    """A handling record: progress, first contact with the resident, a reply draft, a review decision."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(_("类型"), max_length=20)  # progress | contact | reply | review | co_report
    text = models.TextField(_("内容"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    unit = models.ForeignKey("orgs.HandlingUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["created_at", "id"]


class SupervisionFlag(models.Model):
    """督办: an automatic reminder before the deadline, 催办 after it, escalation after N working days, or manual."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="supervision_flags")
    kind = models.CharField(_("类型"), max_length=20, choices=SupervisionKind.choices)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("督办")
        verbose_name_plural = _("督办")
        constraints = [
            # The automatic sweep raises each kind once per deadline; manual flags may repeat.
            models.UniqueConstraint(
                fields=["appeal", "kind", "note"], condition=~models.Q(kind="manual"), name="uniq_auto_flag"
            )
        ]


class Callback(models.Model):
    """回访: the resident's judgement of the reply (or "no answer" after the callback window)."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="callbacks")
    resolution = models.CharField(_("是否解决"), max_length=20, choices=Resolution.choices, blank=True)
    satisfaction = models.CharField(_("满意度"), max_length=20, choices=Satisfaction.choices)
    comment = models.TextField(_("意见"), blank=True)
    by_link = models.BooleanField(_("通过链接回访"), default=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    unit_at_fault = models.BooleanField(_("承办单位责任"), default=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("回访")
        verbose_name_plural = _("回访")
        ordering = ["created_at", "id"]


class MicroWish(models.Model):
    """群众微心愿: a small wish a deputy or volunteer can adopt and fulfil."""

    title = models.CharField(_("心愿"), max_length=120)
    text = models.TextField(_("说明"))
    org_unit = models.ForeignKey("orgs.OrgUnit", verbose_name=_("所在社区"), on_delete=models.PROTECT)
    submitter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="wishes")
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    state = models.CharField(_("状态"), max_length=20, choices=WishState.choices, default=WishState.OPEN)
    adopter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="adopted_wishes")
    adopted_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    fulfilment_note = models.TextField(_("实现情况"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("微心愿")
        verbose_name_plural = _("微心愿")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class ReopenRequest(models.Model):
    """A resident's request to reopen a replied/closed appeal, with a reason; staff decide."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="reopen_requests")
    reason = models.TextField(_("理由"))
    status = models.CharField(_("状态"), max_length=20, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    created_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("重办申请")
        verbose_name_plural = _("重办申请")


class ImportBatch(models.Model):
    """A hotline file import: progress and the report of bad rows (line and reason)."""

    file = models.FileField(upload_to="imports/%Y/%m/")
    name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=20, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)
    org_unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("热线导入批次")
        verbose_name_plural = _("热线导入批次")
        ordering = ["-created_at"]


# --- the monthly rollup of the statistics (yishi/appeals/rollup.py) --------------------------------------------


class MonthRollup(models.Model):
    """One statistics month's rollup: when its counts were computed, what they may miss, until when they hold.

    Its row is also the lock that serialises two recomputations of the month."""

    month = models.DateField(_("统计月份"), unique=True)
    # The clock time the counts are as of (the "now" of the counts that depend on a deadline having passed).
    computed_at = models.DateTimeField(_("计算时间"))
    # Every change to an appeal of the month made before this time is in the counts; a later ``updated_at`` may not
    # be (the start of the oldest transaction that was still open when the counts were read).
    changes_before = models.DateTimeField(_("已计入变更截至"))
    # The next moment a count moves by itself (a deadline or warning time of an open appeal passing); NULL: never.
    valid_until = models.DateTimeField(_("有效至"), null=True, blank=True)
    # A background recomputation was enqueued at this time and has not finished (so that it is enqueued once).
    refresh_queued_at = models.DateTimeField(_("重算排队时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("月度统计汇总")
        verbose_name_plural = _("月度统计汇总")


class MonthFacts(models.Model):
    """The counts of ``stats._measures`` for the counted appeals of one month, place and lead unit, and the next
    deadline of each kind among them (the earliest moment the counts change without any appeal being saved)."""

    month = models.DateField()
    org_unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    lead_unit = models.ForeignKey("orgs.HandlingUnit", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    volume = models.IntegerField(default=0)
    response_due = models.IntegerField(default=0)
    responded_on_time = models.IntegerField(default=0)
    accept_due = models.IntegerField(default=0)
    accepted_on_time = models.IntegerField(default=0)
    valid_callbacks = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    no_answer = models.IntegerField(default=0)
    dispatched = models.IntegerField(default=0)
    returned = models.IntegerField(default=0)
    replied = models.IntegerField(default=0)
    reopened = models.IntegerField(default=0)
    closure_due = models.IntegerField(default=0)
    closed_on_time = models.IntegerField(default=0)
    overdue_now = models.IntegerField(default=0)
    at_risk_now = models.IntegerField(default=0)
    next_accept_due = models.DateTimeField(null=True)
    next_contact_due = models.DateTimeField(null=True)
    next_due = models.DateTimeField(null=True)
    next_warn = models.DateTimeField(null=True)

    class Meta:
        indexes = [models.Index(fields=["month", "org_unit"], name="month_facts_place")]


class MonthDispatches(models.Model):
    """Per month, place and current lead unit of the counted appeals: how many were dispatched to ``unit`` as lead,
    and how many of those ``unit`` asked to return (the per-unit 退单率, from the assignments)."""

    month = models.DateField()
    org_unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    lead_unit = models.ForeignKey("orgs.HandlingUnit", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    unit = models.ForeignKey("orgs.HandlingUnit", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    dispatched = models.IntegerField(default=0)
    returned = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["month", "org_unit"], name="month_dispatches_place")]

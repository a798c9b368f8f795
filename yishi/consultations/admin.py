"""Consultations in the admin: a view of every record of the loop for platform administrators.

States never change here: topics, research, meetings, motions, votes and the result lists move only through the
services (pages, API), so their state fields and the meeting record are read-only. What the admin may edit is the
descriptive text of rooms, catalogue items, talents and topics (each edit audited by ``AuditedAdminMixin``); the
one action, approving research, calls ``research_approve`` like the topic page does.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from yishi.core.admin_audit import AuditedAdminMixin, ReadOnlyAdmin
from yishi.core.errors import YishiError

from .choices import ReviewState
from .models import (
    Attendance,
    CatalogueItem,
    EffectItem,
    FloorRequest,
    Meeting,
    Motion,
    OpinionItem,
    Participant,
    ResearchAttachment,
    ResearchRecord,
    ResponsibilityItem,
    Room,
    RoomMember,
    SatisfactionResponse,
    Talent,
    ThirdPartyEvaluation,
    Topic,
    TopicSupport,
    Vote,
    WrittenOpinion,
)
from .services import research_approve


def _all_fields(model: Any) -> tuple[str, ...]:
    return tuple(f.name for f in model._meta.concrete_fields if not f.primary_key)


class EditTextAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Created by the services (pages, API); here only the fields not in ``readonly_fields`` change, audited.
    Records point at these rows, so they are retired (启用 unticked) rather than deleted."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- the platform -----------------------------------------------------------------------------------------------


class RoomMemberInline(ReadOnlyInline):
    model = RoomMember
    fields = ("user", "role")
    readonly_fields = fields


@admin.register(Room)
class RoomAdmin(EditTextAdmin):
    list_display = ("name", "level", "org_unit", "parent", "is_active")
    list_filter = ("level", "is_active")
    search_fields = ("name", "org_unit__name")
    list_select_related = ("org_unit", "parent")
    fields = ("name", "level", "org_unit", "parent", "station", "sector", "enterprise", "description", "is_active")
    # The level, area, parent and station were checked together by room_create; members change on the room's page.
    readonly_fields = ("level", "org_unit", "parent", "station", "sector", "enterprise")
    inlines = [RoomMemberInline]


@admin.register(RoomMember)
class RoomMemberAdmin(ReadOnlyAdmin):
    list_display = ("room", "user", "role")
    list_filter = ("role",)
    search_fields = ("room__name", "user__username", "user__display_name")
    list_select_related = ("room", "user")


@admin.register(CatalogueItem)
class CatalogueItemAdmin(EditTextAdmin):
    list_display = ("title", "org_unit", "mandatory")
    list_filter = ("mandatory",)
    search_fields = ("title", "description")
    list_select_related = ("org_unit",)
    fields = ("org_unit", "title", "description", "mandatory")
    readonly_fields = ("org_unit",)


@admin.register(Talent)
class TalentAdmin(EditTextAdmin):
    list_display = ("name", "kind", "expertise", "organisation", "org_unit", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "expertise", "organisation")
    list_select_related = ("org_unit",)
    fields = ("name", "kind", "expertise", "organisation", "phone", "org_unit", "user", "is_active")
    readonly_fields = ("org_unit", "user")


# --- topics and the records of each step --------------------------------------------------------------------------


class ParticipantInline(ReadOnlyInline):
    model = Participant
    fields = ("kind", "name", "user", "can_vote", "invited_at")
    readonly_fields = fields


class ResearchInline(ReadOnlyInline):
    model = ResearchRecord
    fields = ("kind", "title", "state", "author", "reviewed_by", "reviewed_at")
    readonly_fields = fields


class MeetingInline(ReadOnlyInline):
    model = Meeting
    fields = ("mode", "starts_at", "state", "quorum_met", "minutes_approved_at", "cancel_reason")
    readonly_fields = fields


class OpinionInline(ReadOnlyInline):
    model = OpinionItem
    fields = ("number", "text", "rationale", "motion")
    readonly_fields = fields


class ResponsibilityInline(ReadOnlyInline):
    model = ResponsibilityItem
    fields = ("task", "handling_unit", "working_days", "appeal")
    readonly_fields = fields


@admin.register(Topic)
class TopicAdmin(EditTextAdmin):
    list_display = ("title", "room", "source", "state", "proposer_name", "created_at")
    list_filter = ("state", "source", "room__level")
    search_fields = ("title", "description", "proposer_name")
    list_select_related = ("room",)
    date_hierarchy = "created_at"
    fields = (
        "room", "title", "description", "source", "proposer", "proposer_name", "catalogue_item", "state",
        "escalated_from", "approved_by", "approved_at", "decline_reason", "results_sent_to", "results_sent_at",
        "final_rating", "closed_at", "created_at", "updated_at",
    )
    # Only the wording can be corrected here; every step of the loop is a service (topic page, API).
    readonly_fields = tuple(f for f in fields if f not in ("title", "description"))
    inlines = [ParticipantInline, ResearchInline, MeetingInline, OpinionInline, ResponsibilityInline]


class RecordAdmin(ReadOnlyAdmin):
    """A record a step of the loop left: shown as it is, changed only by the services."""

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return _all_fields(self.model)


class AttachmentInline(ReadOnlyInline):
    model = ResearchAttachment
    fields = ("name", "content_type", "size", "uploaded_by", "created_at")
    readonly_fields = fields
    show_change_link = False


@admin.register(ResearchRecord)
class ResearchRecordAdmin(RecordAdmin):
    list_display = ("title", "topic", "kind", "state", "author", "created_at")
    list_filter = ("state", "kind")
    search_fields = ("title", "text", "topic__title")
    list_select_related = ("topic", "author")
    inlines = [AttachmentInline]
    actions = ["approve"]

    @admin.action(description=_("审核通过所选调研记录"))
    def approve(self, request: HttpRequest, queryset: QuerySet[ResearchRecord]) -> None:
        done = 0
        for item in queryset.filter(state=ReviewState.SUBMITTED).order_by("pk"):
            try:
                research_approve(actor=request.user, topic=item.topic_id, research_id=item.pk)
            except YishiError as exc:
                self.message_user(request, f"{item.title}：{exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, ngettext("已通过 %(n)d 份调研记录", "已通过 %(n)d 份调研记录", done) % {"n": done})


@admin.register(ResearchAttachment)
class ResearchAttachmentAdmin(RecordAdmin):
    list_display = ("name", "research", "content_type", "size", "uploaded_by", "created_at")
    search_fields = ("name", "research__title")
    list_select_related = ("research", "uploaded_by")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The stored path stays out of sight: the file is served only through the topic's download view.
        return tuple(f for f in _all_fields(self.model) if f != "file")


@admin.register(Participant)
class ParticipantAdmin(RecordAdmin):
    list_display = ("name", "kind", "topic", "user", "can_vote")
    list_filter = ("kind", "can_vote")
    search_fields = ("name", "topic__title")
    list_select_related = ("topic", "user")


@admin.register(TopicSupport)
class TopicSupportAdmin(RecordAdmin):
    list_display = ("topic", "user", "created_at")
    list_select_related = ("topic", "user")


class AttendanceInline(ReadOnlyInline):
    model = Attendance
    fields = ("participant", "registered_at", "present", "checked_in_at")
    readonly_fields = fields
    show_change_link = False


class MotionInline(ReadOnlyInline):
    model = Motion
    fields = ("number", "title", "state", "outcome", "yes", "no", "abstain")
    readonly_fields = fields


@admin.register(Meeting)
class MeetingAdmin(RecordAdmin):
    list_display = ("topic", "mode", "starts_at", "state", "quorum_met", "minutes_approved_at")
    list_filter = ("state", "mode")
    search_fields = ("topic__title", "location", "agenda")
    list_select_related = ("topic",)
    date_hierarchy = "starts_at"
    inlines = [AttendanceInline, MotionInline]


@admin.register(Attendance)
class AttendanceAdmin(RecordAdmin):
    list_display = ("meeting", "participant", "registered_at", "present", "checked_in_at")
    list_filter = ("present",)
    list_select_related = ("meeting__topic", "participant")


@admin.register(Motion)
class MotionAdmin(RecordAdmin):
    list_display = ("title", "meeting", "number", "state", "outcome", "yes", "no", "abstain")
    list_filter = ("state", "outcome")
    search_fields = ("title", "meeting__topic__title")
    list_select_related = ("meeting__topic",)


@admin.register(FloorRequest)
class FloorRequestAdmin(RecordAdmin):
    list_display = ("motion", "participant", "stance", "state", "started_at", "ended_at")
    list_filter = ("stance", "state")
    list_select_related = ("motion", "participant")


@admin.register(Vote)
class VoteAdmin(RecordAdmin):
    list_display = ("motion", "participant", "choice", "cast_at")
    list_filter = ("choice",)
    list_select_related = ("motion", "participant")


@admin.register(WrittenOpinion)
class WrittenOpinionAdmin(RecordAdmin):
    list_display = ("topic", "meeting", "author", "created_at")
    search_fields = ("text", "topic__title")
    list_select_related = ("topic", "meeting", "author")


@admin.register(OpinionItem)
class OpinionItemAdmin(RecordAdmin):
    list_display = ("topic", "number", "text")
    search_fields = ("text", "rationale", "topic__title")
    list_select_related = ("topic",)


@admin.register(ResponsibilityItem)
class ResponsibilityItemAdmin(RecordAdmin):
    list_display = ("task", "topic", "handling_unit", "working_days", "appeal")
    search_fields = ("task", "topic__title")
    list_select_related = ("topic", "handling_unit", "appeal")


@admin.register(EffectItem)
class EffectItemAdmin(RecordAdmin):
    list_display = ("topic", "responsibility", "author", "created_at")
    search_fields = ("text", "evidence", "topic__title")
    list_select_related = ("topic", "responsibility", "author")


@admin.register(SatisfactionResponse)
class SatisfactionResponseAdmin(RecordAdmin):
    list_display = ("topic", "user", "is_participant", "score", "created_at")
    list_filter = ("score", "is_participant")
    list_select_related = ("topic", "user")


@admin.register(ThirdPartyEvaluation)
class ThirdPartyEvaluationAdmin(RecordAdmin):
    list_display = ("topic", "organisation", "score", "evaluator", "created_at")
    search_fields = ("organisation", "report", "topic__title")
    list_select_related = ("topic", "evaluator")

"""Page forms of consultations. They check the shape of the input (types, choices, lengths); the services check
the rules (scope, state, gates, policy) and name the field when they refuse, which the views attach here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from yishi.accounts.models import User
from yishi.appeals.forms import FastSelect, RadioCards, choice_field
from yishi.core.uploads import FilesField, accept_attribute, human_size, kinds_label
from yishi.orgs.models import Enterprise, HandlingUnit, OrgUnit

from .choices import ParticipantKind, ResearchKind, RoomLevel, RoomMemberRole, TopicSource, TopicState
from .models import CatalogueItem, Motion, Room, Topic


def _textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


def _near_units(room: Room) -> Q:
    """Places above or below the room's area (a community room's task may go to a district department)."""
    path = room.org_unit.path
    return Q(org_unit__path__startswith=path) | Q(org_unit_id__in=room.org_unit.ancestor_ids)


# --- filters -----------------------------------------------------------------------------------------------------


class TopicFilterForm(forms.Form):
    q = forms.CharField(label=_("关键词"), required=False, max_length=100)
    state = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部状态")), *TopicState.choices])
    level = forms.ChoiceField(label=_("层级"), required=False, choices=[("", _("全部层级")), *RoomLevel.choices])
    source = forms.ChoiceField(label=_("来源"), required=False, choices=[("", _("全部来源")), *TopicSource.choices])
    failure = forms.ChoiceField(label=_("失效预警"), required=False, choices=[
        ("", _("不限")), ("no_decision", _("议而不决")), ("not_done", _("决而不行")), ("regressed", _("行而不久")),
    ])
    room = forms.TypedChoiceField(label=_("议事室"), required=False, coerce=int, empty_value=None, widget=FastSelect)

    def __init__(self, *args: Any, rooms: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "room").choices = [("", _("全部议事室")), *(rooms or [])]


# --- platform -----------------------------------------------------------------------------------------------------


class RoomMemberForm(forms.Form):
    user = forms.TypedChoiceField(label=_("成员"), coerce=int, widget=FastSelect)
    role = forms.ChoiceField(label=_("职责"), choices=RoomMemberRole.choices, initial=RoomMemberRole.MEMBER)

    def __init__(self, *args: Any, people: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "user").choices = people or []


class CatalogueItemForm(forms.Form):
    org_unit = forms.TypedChoiceField(label=_("适用区域"), coerce=int, widget=FastSelect)
    title = forms.CharField(label=_("事项"), max_length=150)
    description = forms.CharField(label=_("说明"), required=False, max_length=2000, widget=_textarea(2))
    mandatory = forms.BooleanField(label=_("必须协商"), required=False, initial=True)

    def __init__(self, *args: Any, units: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "org_unit").choices = units or []


class TalentForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    kind = forms.ChoiceField(label=_("类别"), choices=ParticipantKind.choices, initial=ParticipantKind.EXPERT)
    expertise = forms.CharField(label=_("专长"), max_length=300)
    organisation = forms.CharField(label=_("单位"), required=False, max_length=150)
    org_unit = forms.TypedChoiceField(label=_("所在区域"), coerce=int, widget=FastSelect)
    phone = forms.CharField(label=_("电话"), required=False, max_length=20)

    def __init__(self, *args: Any, units: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "org_unit").choices = units or []


class TalentSearchForm(forms.Form):
    q = forms.CharField(label=_("专长、姓名或单位"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("类别"), required=False, choices=[("", _("全部类别")), *ParticipantKind.choices])


# --- topics -------------------------------------------------------------------------------------------------------


class ProposeForm(forms.Form):
    source = forms.ChoiceField(label=_("议题来源"), widget=RadioCards)
    title = forms.CharField(label=_("议题"), max_length=150)
    description = forms.CharField(label=_("说明"), max_length=5000, widget=_textarea(6),
                                  help_text=_("写明问题、涉及的群众和希望协商解决的事项"))
    proposer_name = forms.CharField(label=_("署名"), required=False, max_length=50,
                                    help_text=_("群众出题须实名署名"))
    catalogue_item = forms.TypedChoiceField(label=_("议事协商目录事项"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, sources: list[tuple[str, str | Promise]], room: Room, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "source").choices = sources
        if len(sources) == 1:
            self.fields["source"].initial = sources[0][0]
        items = CatalogueItem.objects.filter(org_unit_id__in=room.org_unit.ancestor_ids or [room.org_unit_id]).order_by("title")
        choice_field(self, "catalogue_item").choices = [("", _("（不属于目录事项）")), *[(i.pk, i.title) for i in items]]


class FromAppealsForm(forms.Form):
    codes = forms.CharField(label=_("诉求查询码"), widget=_textarea(4), max_length=5000,
                            help_text=_("每行一个或用逗号分隔，例如 YS250101ABCDEF"))
    title = forms.CharField(label=_("议题"), max_length=150)
    description = forms.CharField(label=_("说明"), required=False, max_length=5000, widget=_textarea(4))

    def tracking_codes(self) -> list[str]:
        raw = self.cleaned_data["codes"].replace("，", ",").replace("\n", ",")
        return [c.strip().upper() for c in raw.split(",") if c.strip()]


# --- topic actions -------------------------------------------------------------------------------------------------


class EmptyForm(forms.Form):
    pass


class NoteForm(forms.Form):
    note = forms.CharField(label=_("意见"), required=False, max_length=2000, widget=_textarea(2))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("理由"), max_length=2000, widget=_textarea(3))


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(label=_("说明"), required=False, max_length=2000, widget=_textarea(2))


class SubmitResultsForm(forms.Form):
    results_sent_to = forms.TypedChoiceField(label=_("报送至"), coerce=int,
                                             help_text=_("本级或上级党委政府"))
    note = forms.CharField(label=_("说明"), required=False, max_length=2000, widget=_textarea(2))

    def __init__(self, *args: Any, topic: Topic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = OrgUnit.objects.filter(pk__in=topic.room.org_unit.ancestor_ids).order_by("-depth")
        choice_field(self, "results_sent_to").choices = [(u.pk, f"{u.name}党委、政府") for u in units]


class CloseForm(forms.Form):
    final_rating = forms.TypedChoiceField(label=_("综合评价"), coerce=int, widget=RadioCards,
                                          choices=[(i, f"{i} ★") for i in range(5, 0, -1)])
    note = forms.CharField(label=_("说明"), required=False, max_length=2000, widget=_textarea(2))


class ParticipantForm(forms.Form):
    kind = forms.ChoiceField(label=_("类别"), choices=ParticipantKind.choices)
    user = forms.TypedChoiceField(label=_("用户"), required=False, coerce=int, empty_value=None, widget=FastSelect)
    talent = forms.TypedChoiceField(label=_("人才库"), required=False, coerce=int, empty_value=None, widget=FastSelect)
    handling_unit = forms.TypedChoiceField(label=_("职能部门/承办单位"), required=False, coerce=int, empty_value=None,
                                           widget=FastSelect)
    enterprise = forms.TypedChoiceField(label=_("企业、物业、业委会、社会组织"), required=False, coerce=int,
                                        empty_value=None, widget=FastSelect)
    name = forms.CharField(label=_("姓名或单位（无账号时）"), required=False, max_length=100)
    can_vote = forms.BooleanField(label=_("有表决权"), required=False, initial=True)

    def __init__(self, *args: Any, topic: Topic, people: list[tuple[int, str]] | None = None,
                 talents: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        room = topic.room
        none: list[tuple[int | str, str]] = [("", "—")]
        choice_field(self, "user").choices = none + (people or [])
        choice_field(self, "talent").choices = none + (talents or [])
        units = HandlingUnit.objects.filter(_near_units(room), is_active=True).order_by("org_unit__path", "code")
        choice_field(self, "handling_unit").choices = none + [(u.pk, u.name) for u in units]
        firms = Enterprise.objects.filter(_near_units(room)).order_by("name")
        choice_field(self, "enterprise").choices = none + [(e.pk, f"{e.name}（{e.get_kind_display()}）") for e in firms]


class RemoveParticipantForm(forms.Form):
    participant = forms.IntegerField(widget=forms.HiddenInput)


class ResearchForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=ResearchKind.choices)
    title = forms.CharField(label=_("标题"), max_length=150)
    text = forms.CharField(label=_("内容"), max_length=10000, widget=_textarea(5))
    attachments = FilesField(label=_("附件"))

    def __init__(self, *args: Any, topic: Topic | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if topic is not None:
            from .services import research_upload_rules

            rules = research_upload_rules(topic)
            field = self.fields["attachments"]
            field.widget.attrs["accept"] = accept_attribute(rules.kinds)
            field.help_text = _("可选，最多 %(n)d 个，每个不超过 %(size)s；支持 %(kinds)s") % {
                "n": rules.max_count, "size": human_size(rules.max_bytes), "kinds": kinds_label(rules.kinds),
            }


class ResearchReviewForm(forms.Form):
    research = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(label=_("审核意见"), required=False, max_length=2000, widget=_textarea(2))


class ResearchRejectForm(forms.Form):
    research = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("退回理由"), max_length=2000, widget=_textarea(2))


class OpinionForm(forms.Form):
    text = forms.CharField(label=_("意见建议"), max_length=5000, widget=_textarea(3))
    rationale = forms.CharField(label=_("理由"), max_length=5000, widget=_textarea(3))
    motion = forms.TypedChoiceField(label=_("来自会议通过的动议"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, topic: Topic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        motions = Motion.objects.filter(meeting__topic=topic, outcome__in=["passed", "consensus"]).order_by("meeting__starts_at", "number")
        choice_field(self, "motion").choices = [("", _("（书面意见，不来自动议）")), *[(m.pk, f"{m.number}. {m.title}") for m in motions]]


class RemoveOpinionForm(forms.Form):
    opinion = forms.IntegerField(widget=forms.HiddenInput)


class ResponsibilityForm(forms.Form):
    opinion_item = forms.TypedChoiceField(label=_("对应意见建议"), coerce=int)
    task = forms.CharField(label=_("任务"), max_length=2000, widget=_textarea(2))
    handling_unit = forms.TypedChoiceField(label=_("责任单位"), required=False, coerce=int, empty_value=None,
                                           widget=FastSelect)
    working_days = forms.IntegerField(label=_("时限（工作日）"), min_value=1, max_value=366)

    def __init__(self, *args: Any, topic: Topic, default_days: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "opinion_item").choices = [(o.pk, f"{o.number}. {o.text[:60]}") for o in topic.opinion_items.order_by("number")]
        units = HandlingUnit.objects.filter(_near_units(topic.room), is_active=True).order_by("org_unit__path", "code")
        choice_field(self, "handling_unit").choices = [("", _("（待明确）")), *[(u.pk, u.name) for u in units]]
        self.fields["working_days"].initial = default_days


class SetUnitForm(forms.Form):
    responsibility = forms.IntegerField(widget=forms.HiddenInput)
    handling_unit = forms.TypedChoiceField(label=_("责任单位"), coerce=int, widget=FastSelect)

    def __init__(self, *args: Any, topic: Topic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = HandlingUnit.objects.filter(_near_units(topic.room), is_active=True).order_by("org_unit__path", "code")
        choice_field(self, "handling_unit").choices = [(u.pk, u.name) for u in units]


class EffectForm(forms.Form):
    text = forms.CharField(label=_("落实效果"), max_length=5000, widget=_textarea(3))
    evidence = forms.CharField(label=_("佐证"), required=False, max_length=5000, widget=_textarea(2))
    responsibility = forms.TypedChoiceField(label=_("对应任务"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, topic: Topic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        items = topic.responsibilities.order_by("pk")
        choice_field(self, "responsibility").choices = [("", "—"), *[(r.pk, r.task[:60]) for r in items]]


class SatisfactionForm(forms.Form):
    score = forms.TypedChoiceField(label=_("满意度"), coerce=int, widget=RadioCards, choices=[
        (5, _("5 非常满意")), (4, _("4 满意")), (3, _("3 基本满意")), (2, _("2 不太满意")), (1, _("1 不满意")),
    ])
    comment = forms.CharField(label=_("意见"), required=False, max_length=1000, widget=_textarea(2))


class EvaluationForm(forms.Form):
    organisation = forms.CharField(label=_("评估机构"), max_length=150)
    score = forms.IntegerField(label=_("评分（0–100）"), min_value=0, max_value=100)
    report = forms.CharField(label=_("评估报告"), max_length=10000, widget=_textarea(5))


def people_choices(room: Room, limit: int = 400) -> list[tuple[int, str]]:
    """Whom an organiser may invite by account: the room's members and the deputies, members, experts, staff and
    residents of the room's area (and the areas above it for deputies, members and experts)."""
    path = room.org_unit.path
    above = room.org_unit.ancestor_ids
    users = (
        User.objects.filter(is_active=True)
        .filter(
            Q(room_memberships__room=room)
            | Q(roles__org_unit__path__startswith=path)
            | Q(roles__org_unit_id__in=above, roles__role__in=["deputy", "cppcc_member", "expert"])
            | Q(home_unit__path__startswith=path)
        )
        .distinct()
        .order_by("display_name", "username")[:limit]
    )
    return [(u.pk, f"{u}（{u.username}）") for u in users]

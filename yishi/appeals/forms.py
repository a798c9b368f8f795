"""Page forms of appeals. They check the shape of the input (types, choices, lengths); the services check the
rules (scope, state, policy limits) and name the field when they refuse, which the views attach to the field here."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from yishi.core.uploads import IMAGE_KINDS, FilesField, accept_attribute
from yishi.orgs.choices import OrgLevel
from yishi.orgs.models import HandlingUnit, OrgUnit

from .choices import Channel, Nature, Resolution, Satisfaction, Urgency
from .models import Category

STAFF_CHANNELS = [
    (Channel.WALK_IN, Channel.WALK_IN.label),
    (Channel.PHONE, Channel.PHONE.label),
    (Channel.GRID_VISIT, Channel.GRID_VISIT.label),
    (Channel.STATION, Channel.STATION.label),
]
# What a resident may say about the callback on the link: "no answer" is what the sweep records, not a choice.
RESIDENT_SATISFACTION = [c for c in Satisfaction.choices if c[0] != Satisfaction.NO_ANSWER]


# --- widgets and fields -----------------------------------------------------------------------------------------

class PhotosField(FilesField):
    """Several image files under one name; ``validate_photos`` checks them in the service."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("accept", accept_attribute(IMAGE_KINDS))
        super().__init__(**kwargs)


class FastSelect(forms.Select):
    """A select rendered in Python. Django renders every option through a template, which costs a millisecond per
    option: long lists (the whole catalogue, every unit) would dominate the page. Flat choices only."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        chosen = {str(v) for v in self.format_value(value)}
        options = format_html_join(
            "", "<option value=\"{}\"{}>{}</option>",
            ((key, mark_safe(" selected") if str(key) in chosen else "", label) for key, label in self.choices),
        )
        return format_html("<select{}>{}</select>", flatatt(final), options)


class RadioCards(forms.RadioSelect):
    """Radio buttons drawn as large tappable cards (see ``.choice-cards`` in the stylesheet)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"class": "choice-cards", **(attrs or {})})


def _textarea(rows: int = 3, **attrs: Any) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, **attrs})


# --- the catalogue and the place, as cascading selects ----------------------------------------------------------

@dataclass
class Node:
    pk: int
    name: str
    parent_id: int | None
    level: int


class Catalogue:
    """The active categories, loaded in one query and walked in memory (a catalogue has hundreds of rows)."""

    def __init__(self) -> None:
        rows = Category.objects.filter(is_active=True).order_by("path").values_list("pk", "name", "parent_id", "level")
        self.nodes = {pk: Node(pk, name, parent, level) for pk, name, parent, level in rows}

    def children(self, parent_id: int | None) -> list[Node]:
        return [n for n in self.nodes.values() if n.parent_id == parent_id]

    def full_name(self, pk: int) -> str:
        names = []
        node = self.nodes.get(pk)
        while node is not None:
            names.append(node.name)
            node = self.nodes.get(node.parent_id) if node.parent_id else None
        return " › ".join(reversed(names))

    def flat_choices(self) -> list[tuple[int, str]]:
        return [(pk, self.full_name(pk)) for pk in self.nodes]

    def chain(self, pk: int | None) -> list[int]:
        """The ids from the top level down to ``pk``."""
        result: list[int] = []
        node = self.nodes.get(pk) if pk else None
        while node is not None:
            result.append(node.pk)
            node = self.nodes.get(node.parent_id) if node.parent_id else None
        return list(reversed(result))


def choice_field(form: forms.BaseForm, name: str) -> forms.ChoiceField:
    """``form.fields[name]`` as the choice field it is declared as (``fields`` is typed as plain ``Field``), so its
    ``choices`` can be set."""
    return cast(forms.ChoiceField, form.fields[name])


def cascade(field: forms.Field, url: str, target: str, values: dict[str, Any], include: str = "this") -> None:
    """Make a select refresh the select below it through HTMX when it changes."""
    field.widget.attrs.update({
        "hx-get": url, "hx-target": target, "hx-swap": "outerHTML", "hx-include": include,
        "hx-vals": json.dumps(values), "hx-sync": "closest form:replace",
    })


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def category_selection(catalogue: Catalogue, data: Any) -> list[int | None]:
    """The three levels chosen in ``data`` (category_1..3), dropping any level that does not belong under the
    level above it (the parent was changed after the child was chosen)."""
    chosen: list[int | None] = []
    parent: int | None = None
    for level in (1, 2, 3):
        pk = _int_or_none(data.get(f"category_{level}")) if data is not None else None
        node = catalogue.nodes.get(pk) if pk else None
        if node is None or node.parent_id != parent or (level > 1 and parent is None):
            pk = None
        chosen.append(pk)
        parent = pk
    return chosen


def category_levels(catalogue: Catalogue, selection: list[int | None]) -> list[dict[str, Any]]:
    """What each of the three selects offers, for the templates."""
    levels = []
    parent: int | None = None
    for index, selected in enumerate(selection):
        level = index + 1
        options = catalogue.children(parent) if (level == 1 or parent) else []
        levels.append({"level": level, "options": options, "selected": selected, "enabled": bool(options)})
        parent = selected
    return levels


def street_choices(units: Iterable[OrgUnit]) -> list[tuple[int, str]]:
    units = list(units)
    several_parents = len({u.parent_id for u in units}) > 1
    return [(u.pk, f"{u.parent.name} › {u.name}" if several_parents and u.parent else u.name) for u in units]


def _within(path: str, scope_paths: list[str] | None) -> bool:
    return scope_paths is None or any(path.startswith(p) for p in scope_paths)


def streets(scope_paths: list[str] | None = None) -> list[OrgUnit]:
    """Streets to pick from: all of them, or those inside or above the given scope paths (a staff member's)."""
    qs = OrgUnit.objects.filter(is_active=True, level=OrgLevel.STREET).select_related("parent").order_by("path")
    return [s for s in qs if scope_paths is None or any(s.path.startswith(p) or p.startswith(s.path) for p in scope_paths)]


def places_in_street(street_id: int | None, *, grids: bool = False, scope_paths: list[str] | None = None) -> list[tuple[int, str]]:
    """Communities (and, for staff, their grids) of a street, as choices; within the scope paths when given."""
    if not street_id:
        return []
    street = OrgUnit.objects.filter(pk=street_id, is_active=True, level=OrgLevel.STREET).first()
    if street is None:
        return []
    levels = [OrgLevel.COMMUNITY, OrgLevel.GRID] if grids else [OrgLevel.COMMUNITY]
    rows = OrgUnit.objects.filter(is_active=True, path__startswith=street.path, level__in=levels).order_by("path")
    names: dict[int, str] = {}
    choices = []
    for unit in rows:
        names[unit.pk] = unit.name
        if not _within(unit.path, scope_paths):
            continue
        label = unit.name
        if unit.level == OrgLevel.GRID and unit.parent_id in names:
            label = f"{names[unit.parent_id]} › {unit.name}"
        choices.append((unit.pk, label))
    return choices


def street_of(unit: OrgUnit | None) -> int | None:
    """The street above (or at) a unit, for preselecting the cascade."""
    if unit is None:
        return None
    if unit.level == OrgLevel.STREET:
        return unit.pk
    return OrgUnit.objects.filter(pk__in=unit.ancestor_ids, level=OrgLevel.STREET).values_list("pk", flat=True).first()


# --- submitting an appeal -----------------------------------------------------------------------------------------

class AppealForm(forms.Form):
    """A resident's appeal (or one entered by staff on a resident's behalf, see ``StaffAppealForm``)."""

    nature = forms.ChoiceField(label=_("诉求性质"), choices=Nature.choices, widget=RadioCards, initial=Nature.HELP)
    category_1 = forms.TypedChoiceField(label=_("一级分类"), coerce=int, empty_value=None)
    category_2 = forms.TypedChoiceField(label=_("二级分类"), coerce=int, empty_value=None, required=False)
    category_3 = forms.TypedChoiceField(label=_("三级分类"), coerce=int, empty_value=None, required=False)
    title = forms.CharField(label=_("标题"), max_length=120, help_text=_("一句话说明是什么事"))
    text = forms.CharField(label=_("诉求内容"), widget=_textarea(6), help_text=_("时间、地点、经过、您的诉求；请不要填写身份证号等隐私信息"))
    street = forms.TypedChoiceField(label=_("街道/镇"), coerce=int, empty_value=None)
    org_unit = forms.TypedChoiceField(label=_("社区/村"), coerce=int, empty_value=None)
    address = forms.CharField(label=_("详细地址"), max_length=200, required=False, help_text=_("小区、楼栋等；公开时门牌号会被隐去"))
    latitude = forms.FloatField(required=False, widget=forms.HiddenInput)
    longitude = forms.FloatField(required=False, widget=forms.HiddenInput)
    photos = PhotosField(label=_("照片"))
    anonymous = forms.BooleanField(label=_("匿名反映（不保存联系方式，无法电话回访）"), required=False)
    consent_contact = forms.BooleanField(label=_("同意工作人员联系我并回访"), required=False, initial=True)
    contact_name = forms.CharField(label=_("联系人"), max_length=50, required=False)
    contact_phone = forms.CharField(
        label=_("手机号码"), max_length=20, required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=80)

    grids = False  # staff may place an appeal on a grid; residents choose a community
    place_form = "appeal"

    def __init__(self, *args: Any, signed_in: bool = False, text_max: int = 2000, title_max: int = 60,
                 photo_max: int = 9, scope_paths: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signed_in = signed_in
        self.catalogue = Catalogue()
        source = self.data if self.is_bound else self.initial
        self.category_chosen = category_selection(self.catalogue, source)
        self.category_levels = category_levels(self.catalogue, self.category_chosen)
        for spec in self.category_levels:
            field = choice_field(self, f"category_{spec['level']}")
            field.choices = [("", _("请选择") if spec["enabled"] else _("（请先选择上一级）"))] + [(n.pk, n.name) for n in spec["options"]]
            if not spec["enabled"]:
                field.widget.attrs["disabled"] = True
        cascade(self.fields["category_1"], reverse("appeals:category_fields"), "#id_category_2-wrap", {"changed": 1}, "[name^='category_']")
        cascade(self.fields["category_2"], reverse("appeals:category_fields"), "#id_category_3-wrap", {"changed": 2}, "[name^='category_']")
        cascade(self.fields["street"], reverse("appeals:place_fields"), "#id_org_unit-wrap", {"for": self.place_form})
        choice_field(self, "street").choices = [("", _("请选择街道")), *street_choices(streets(scope_paths))]
        street_id = _int_or_none(source.get("street")) if source is not None else None
        places = places_in_street(street_id, grids=self.grids, scope_paths=scope_paths)
        choice_field(self, "org_unit").choices = [("", _("请选择") if places else _("请先选择街道")), *places]
        self.fields["title"].widget.attrs.update({"maxlength": title_max})
        self.fields["text"].widget.attrs.update({"maxlength": text_max, "data-count": "1"})
        self.fields["photos"].help_text = _("最多 %(n)d 张，每张不超过 5 MB，支持 JPEG、PNG、GIF、WEBP") % {"n": photo_max}
        if not self.is_bound and not self.initial.get("idempotency_key"):
            self.initial["idempotency_key"] = uuid.uuid4().hex
        if not signed_in:
            self.fields["contact_phone"].help_text = _("实名反映时必填，用于接收答复短信和回访")
        # Django checks title/text length itself (the validators were built before we knew the profile's limits).
        from django.core.validators import MaxLengthValidator

        self.fields["title"].validators = [MaxLengthValidator(title_max)]
        self.fields["text"].validators = [MaxLengthValidator(text_max)]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # forms.Form.clean returns cleaned_data
        chosen = [data.get("category_1"), data.get("category_2"), data.get("category_3")]
        deepest = next((pk for pk in reversed(chosen) if pk), None)
        data["category"] = deepest
        if not self.signed_in and not data.get("anonymous") and not (data.get("contact_phone") or "").strip():
            self.add_error("contact_phone", _("实名反映请留下手机号码；不想留下时请勾选匿名反映"))
        lat, lng = data.get("latitude"), data.get("longitude")
        if (lat is None) != (lng is None):
            self.add_error(None, _("定位信息不完整，请重新获取位置"))
        return data

    # Errors from the service name model fields; these are the form fields that show them.
    SERVICE_FIELDS = {"category": "category_1", "longitude": "latitude", "channel": None, "urgency": None}

    def field_for(self, name: str | None) -> str | None:
        if name is None:
            return None
        if name == "category":
            # Show it under the deepest level the resident chose.
            for level in (3, 2, 1):
                if self.category_chosen[level - 1]:
                    return f"category_{level}"
            return "category_1"
        name = self.SERVICE_FIELDS.get(name, name)
        return name if name in self.fields else None


class StaffAppealForm(AppealForm):
    """Staff, grid workers and deputies entering an appeal heard at a walk-in, a call, a grid visit or a station."""

    channel = forms.ChoiceField(label=_("来源渠道"), choices=STAFF_CHANNELS, widget=RadioCards)
    urgency = forms.TypedChoiceField(label=_("紧急程度"), choices=[("", _("按分类默认")), *Urgency.choices], required=False, empty_value=None)
    grids = True
    place_form = "staff"

    field_order = ["channel", "nature"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["signed_in"] = True  # the staff member is signed in; the resident's contact is optional
        super().__init__(*args, **kwargs)
        self.fields["anonymous"].label = _("群众要求匿名（不保存联系方式）")
        self.fields["consent_contact"].label = _("群众同意联系和回访")
        self.fields["contact_name"].label = _("群众姓名")
        self.fields["contact_phone"].label = _("群众手机号码")
        self.fields["contact_phone"].help_text = _("用于答复短信和回访")

    SERVICE_FIELDS = {**AppealForm.SERVICE_FIELDS, "channel": "channel", "urgency": "urgency"}


# --- tracking, callback, reopen, wishes --------------------------------------------------------------------------

class TrackForm(forms.Form):
    code = forms.CharField(
        label=_("查询码"), max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false", "placeholder": "YS2611210ABCDE"}),
        help_text=_("提交诉求后获得的查询码，以 YS 开头"),
    )


class CallbackForm(forms.Form):
    resolution = forms.ChoiceField(label=_("问题是否解决"), choices=Resolution.choices, widget=RadioCards)
    satisfaction = forms.ChoiceField(label=_("对办理结果是否满意"), choices=RESIDENT_SATISFACTION, widget=RadioCards)
    comment = forms.CharField(label=_("意见和建议"), required=False, max_length=1000, widget=_textarea(3))


class ReopenRequestForm(forms.Form):
    reason = forms.CharField(
        label=_("申请重办的理由"), max_length=1000, widget=_textarea(3),
        help_text=_("请说明哪些问题还没有解决"),
    )


class WishForm(forms.Form):
    title = forms.CharField(label=_("心愿"), max_length=120, help_text=_("例如：楼道装一盏感应灯"))
    text = forms.CharField(label=_("说明"), max_length=1000, widget=_textarea(4))
    street = forms.TypedChoiceField(label=_("街道/镇"), coerce=int, empty_value=None)
    org_unit = forms.TypedChoiceField(label=_("社区/村"), coerce=int, empty_value=None)
    contact_name = forms.CharField(label=_("称呼"), max_length=50, required=False, help_text=_("公开时只显示姓氏"))

    grids = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "street").choices = [("", _("请选择街道")), *street_choices(streets())]
        source = self.data if self.is_bound else self.initial
        places = places_in_street(_int_or_none(source.get("street")), grids=False)
        choice_field(self, "org_unit").choices = [("", _("请选择") if places else _("请先选择街道")), *places]
        cascade(self.fields["street"], reverse("appeals:place_fields"), "#id_org_unit-wrap", {"for": "wish"})


class BoardFilterForm(forms.Form):
    """The public board's place filter: a street, then one of its communities."""

    street = forms.TypedChoiceField(label=_("街道/镇"), coerce=int, empty_value=None, required=False)
    community = forms.TypedChoiceField(label=_("社区/村"), coerce=int, empty_value=None, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "street").choices = [("", _("全部街道")), *street_choices(streets())]
        source = self.data if self.is_bound else self.initial
        places = places_in_street(_int_or_none(source.get("street")), grids=False)
        choice_field(self, "community").choices = [("", _("全部社区") if places else _("请先选择街道")), *places]
        for name in ("street", "community"):
            self.fields[name].widget.attrs.update({
                "hx-get": reverse("appeals:board"), "hx-target": "#board-results", "hx-include": "closest form",
                "hx-push-url": "true", "hx-sync": "closest form:replace",
            })

    def unit_id(self) -> int | None:
        """The narrowest valid choice."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return data.get("community") or data.get("street")


class WishFulfilForm(forms.Form):
    note = forms.CharField(label=_("实现情况"), max_length=1000, widget=_textarea(3))


# --- staff actions on one appeal (one small form per workflow transition) ----------------------------------------

def unit_choices(blank: str | None = None) -> list[tuple[Any, str]]:
    rows = HandlingUnit.objects.filter(is_active=True).order_by("org_unit__path", "code").values_list("pk", "name")
    head = [("", blank)] if blank is not None else []
    return head + list(rows)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("理由"), max_length=1000, widget=_textarea(3))


class NoteForm(forms.Form):
    note = forms.CharField(label=_("说明"), max_length=1000, required=False, widget=_textarea(2))


class TextForm(forms.Form):
    text = forms.CharField(label=_("内容"), max_length=4000, widget=_textarea(3))


class EmptyForm(forms.Form):
    pass


class TriageForm(forms.Form):
    category = forms.TypedChoiceField(label=_("分类"), coerce=int, empty_value=None, required=False, widget=FastSelect)
    urgency = forms.TypedChoiceField(label=_("紧急程度"), choices=Urgency.choices, required=False, empty_value=None)
    nature = forms.TypedChoiceField(label=_("诉求性质"), choices=Nature.choices, required=False, empty_value=None)
    fast_lane = forms.BooleanField(label=_("民生微实事快速通道（立办）"), required=False)

    def __init__(self, *args: Any, appeal: Any = None, catalogue: Catalogue | None = None, **kwargs: Any) -> None:
        if appeal is not None:
            kwargs.setdefault("initial", {"category": appeal.category_id, "urgency": appeal.urgency, "nature": appeal.nature, "fast_lane": appeal.fast_lane})
        super().__init__(*args, **kwargs)
        choice_field(self, "category").choices = (catalogue or Catalogue()).flat_choices()


class DispatchForm(forms.Form):
    lead_unit = forms.TypedChoiceField(label=_("主办单位"), coerce=int, empty_value=None, required=False, widget=FastSelect)
    co_units = forms.TypedMultipleChoiceField(label=_("协办单位"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple)
    note = forms.CharField(label=_("派单说明"), max_length=300, required=False, widget=_textarea(2))

    def __init__(self, *args: Any, suggestion: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "lead_unit").choices = unit_choices(str(_("按派单规则自动选择")))
        choice_field(self, "co_units").choices = unit_choices()
        if suggestion:
            self.fields["lead_unit"].help_text = _("派单规则建议：%(unit)s") % {"unit": suggestion}


class ReturnRequestForm(forms.Form):
    reason = forms.CharField(label=_("退单理由"), max_length=1000, widget=_textarea(3))
    basis = forms.CharField(label=_("依据（职责文件）"), max_length=300, help_text=_("例如：《区住建局职能配置规定》第三条"))


class ApproveReturnForm(DispatchForm):
    pass


class ExtensionRequestForm(forms.Form):
    working_days = forms.IntegerField(label=_("延期工作日"), min_value=1, max_value=60)
    reason = forms.CharField(label=_("延期理由"), max_length=1000, widget=_textarea(3))


class ReplyForm(forms.Form):
    text = forms.CharField(label=_("答复内容"), max_length=4000, widget=_textarea(4), help_text=_("办理结果，群众会看到这段答复"))
    photos = PhotosField(label=_("佐证照片"))


class StaffCallbackForm(forms.Form):
    resolution = forms.ChoiceField(label=_("是否解决"), choices=Resolution.choices, widget=RadioCards)
    satisfaction = forms.ChoiceField(label=_("满意度"), choices=Satisfaction.choices, widget=RadioCards)
    comment = forms.CharField(label=_("群众意见"), max_length=1000, required=False, widget=_textarea(2))
    unit_at_fault = forms.BooleanField(label=_("未解决属承办单位责任"), required=False, initial=True)


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("重办理由"), max_length=1000, widget=_textarea(3))
    lead_unit = forms.TypedChoiceField(label=_("重办单位"), coerce=int, empty_value=None, required=False, widget=FastSelect)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "lead_unit").choices = unit_choices(str(_("原主办单位")))


class MergeForm(forms.Form):
    into = forms.CharField(label=_("合并到（主件查询码）"), max_length=20)
    reason = forms.CharField(label=_("说明"), max_length=1000, required=False, widget=_textarea(2))


class DuplicateForm(forms.Form):
    original = forms.CharField(label=_("原诉求查询码"), max_length=20)


class SuperviseForm(forms.Form):
    note = forms.CharField(label=_("督办意见"), max_length=300, widget=_textarea(2))


# --- the staff list's filters ---------------------------------------------------------------------------------------

class AppealFilterForm(forms.Form):
    q = forms.CharField(label=_("搜索"), required=False, max_length=100, widget=forms.TextInput(attrs={"type": "search", "placeholder": _("查询码、标题或内容")}))
    state = forms.ChoiceField(label=_("状态"), required=False, widget=FastSelect)
    category = forms.TypedChoiceField(label=_("分类"), coerce=int, empty_value=None, required=False, widget=FastSelect)
    area = forms.TypedChoiceField(label=_("区域"), coerce=int, empty_value=None, required=False, widget=FastSelect)
    unit = forms.TypedChoiceField(label=_("主办单位"), coerce=int, empty_value=None, required=False, widget=FastSelect)
    received_from = forms.DateField(label=_("受理日期从"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    received_to = forms.DateField(label=_("至"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    overdue = forms.BooleanField(label=_("已超期"), required=False)
    at_risk = forms.BooleanField(label=_("临期预警"), required=False)
    supervised = forms.BooleanField(label=_("督办中"), required=False)

    def __init__(self, *args: Any, areas: Iterable[OrgUnit] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from .choices import AppealState

        choice_field(self, "state").choices = [("", _("全部状态")), *AppealState.choices]
        choice_field(self, "category").choices = [("", _("全部分类")), *Catalogue().flat_choices()]
        choice_field(self, "area").choices = [("", _("全部区域")), *[(u.pk, ("　" * max(0, u.depth - 1)) + u.name) for u in areas]]
        choice_field(self, "unit").choices = unit_choices(str(_("全部单位")))

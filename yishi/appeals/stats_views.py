"""The supervisors' page of the numbers (三率 per street or community and per handling unit, for one month) and its
Excel export. Both read ``stats`` and show the same columns; the definitions are in ``docs/kpis.md``."""

from __future__ import annotations

from datetime import date, datetime
from io import BytesIO
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from yishi.core.permissions import can

from . import stats
from .stats import KpiRow

# (attribute of KpiRow, column title, kind): kind "count" is an integer, "rate" a share shown as a percentage,
# "score" the composite score in points, "rank" the month's rank.
COLUMNS: list[tuple[str, Any, str]] = [
    ("volume", gettext_lazy("诉求量"), "count"),
    ("response_rate", gettext_lazy("响应率"), "rate"),
    ("resolution_rate", gettext_lazy("解决率"), "rate"),
    ("satisfaction_rate", gettext_lazy("满意率"), "rate"),
    ("on_time_sign_rate", gettext_lazy("按时签收率"), "rate"),
    ("return_rate", gettext_lazy("退单率"), "rate"),
    ("reopen_rate", gettext_lazy("重办率"), "rate"),
    ("on_time_closure_rate", gettext_lazy("按时办结率"), "rate"),
    ("overdue_now", gettext_lazy("当前超期"), "count"),
    ("at_risk_now", gettext_lazy("当前临期"), "count"),
    ("score", gettext_lazy("综合得分"), "score"),
    ("rank", gettext_lazy("排名"), "rank"),
]
# The counts behind the rates, in the export only (so that every rate can be checked by hand).
EXPORT_COUNTS: list[tuple[str, Any]] = [
    ("response_due", gettext_lazy("响应应计")),
    ("responded_on_time", gettext_lazy("按时响应")),
    ("valid_callbacks", gettext_lazy("有效回访")),
    ("resolved", gettext_lazy("解决")),
    ("satisfied", gettext_lazy("满意与基本满意")),
    ("no_answer", gettext_lazy("未回答")),
    ("accept_due", gettext_lazy("签收应计")),
    ("accepted_on_time", gettext_lazy("按时签收")),
    ("dispatched", gettext_lazy("派单")),
    ("returned", gettext_lazy("退单")),
    ("replied", gettext_lazy("已答复")),
    ("reopened", gettext_lazy("重办")),
    ("closure_due", gettext_lazy("办结应计")),
    ("closed_on_time", gettext_lazy("按时办结")),
]
LEVELS = [("street", gettext_lazy("街道/镇")), ("community", gettext_lazy("社区/村"))]


class StatsForm(forms.Form):
    month = forms.DateField(label=gettext_lazy("统计月份"), input_formats=["%Y-%m"], required=False,
                            widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"))
    level = forms.ChoiceField(label=gettext_lazy("区域层级"), choices=LEVELS, required=False)


def _may_view(user: Any) -> bool:
    return can(user, "appeals.view_stats") or can(user, "appeals.view_unit_stats")


def _cell(row: KpiRow, attr: str, kind: str) -> str:
    value = getattr(row, attr)
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "score":
        return f"{value:.1f}"
    return str(value)


def _chart(rows: list[KpiRow]) -> dict[str, Any]:
    def series(attr: str) -> list[float | None]:
        return [None if getattr(r, attr) is None else round(getattr(r, attr) * 100, 1) for r in rows]

    return {
        "labels": [r.label for r in rows],
        "series": [
            {"name": _("响应率"), "data": series("response_rate")},
            {"name": _("解决率"), "data": series("resolution_rate")},
            {"name": _("满意率"), "data": series("satisfaction_rate")},
        ],
    }


def _parse(request: HttpRequest) -> tuple[StatsForm, date, str]:
    form = StatsForm(request.GET or None)
    month, level = timezone.localdate().replace(day=1), "street"
    if form.is_bound and form.is_valid():
        month = (form.cleaned_data["month"] or month).replace(day=1)
        level = form.cleaned_data["level"] or level
    return form, month, level


def _as_of(moment: datetime | None) -> str:
    """When the figures were counted: HH:MM today, with the date before that (a rollup served within the profile's
    staleness tolerance, or the previous one while it is recomputed)."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    return f"{local:%H:%M}" if local.date() == timezone.localdate() else f"{local:%Y-%m-%d %H:%M}"


@login_required
@require_GET
def stats_page(request: HttpRequest) -> HttpResponse:
    """三率 per area and per unit for the chosen month, with charts and the red and black lists."""
    if not _may_view(request.user):
        raise PermissionDenied
    form, month, level = _parse(request)
    if form.is_bound and not form.is_valid():
        return render(request, "appeals/stats.html", {"form": form, "invalid": True}, status=400)
    tables = stats.dashboard(user=request.user, month=month, level=level)
    context = {
        "form": form,
        "month": month,
        "level": level,
        "level_label": dict(LEVELS)[level],
        "columns": [(title, kind) for _attr, title, kind in COLUMNS],
        "area_rows": [(r, [_cell(r, a, k) for a, _t, k in COLUMNS]) for r in tables.areas],
        "unit_rows": [(r, [_cell(r, a, k) for a, _t, k in COLUMNS]) for r in tables.units],
        "total": [_cell(tables.total, a, k) for a, _t, k in COLUMNS],
        "area_ranking": tables.area_ranking,
        "unit_ranking": tables.unit_ranking,
        "weights": tables.area_ranking.weights,
        "charts": {"areas": _chart(tables.areas), "units": _chart(tables.units)},
        "export_query": f"month={month:%Y-%m}&level={level}",
        "as_of": _as_of(tables.as_of),
    }
    return render(request, "appeals/stats.html", context)


def _sheet(wb: Any, title: str, rows: list[KpiRow], total: KpiRow | None = None) -> None:
    from openpyxl.styles import Font

    ws = wb.create_sheet(title)
    headers = [str(_("名称"))] + [str(t) for _a, t, _k in COLUMNS] + [str(t) for _a, t in EXPORT_COUNTS]
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in [*rows, *([total] if total is not None else [])]:
        values: list[Any] = [row.label]
        values += [getattr(row, attr) for attr, _t, _k in COLUMNS]
        values += [getattr(row, attr) for attr, _t in EXPORT_COUNTS]
        ws.append(values)
        for (_attr, _t, kind), cell in zip(COLUMNS, ws[ws.max_row][1:], strict=False):
            if kind == "rate":
                cell.number_format = "0.0%"
            elif kind == "score":
                cell.number_format = "0.0"
    ws.freeze_panes = "B2"
    ws.column_dimensions["A"].width = 24


@login_required
@require_GET
def stats_export(request: HttpRequest) -> HttpResponse:
    """The page's tables as an Excel workbook: one sheet of areas (with the total), one of units."""
    from openpyxl import Workbook

    if not _may_view(request.user):
        raise PermissionDenied
    form, month, level = _parse(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse(_("统计月份格式应为 YYYY-MM"), status=400, content_type="text/plain; charset=utf-8")
    tables = stats.dashboard(user=request.user, month=month, level=level)
    wb = Workbook()
    wb.remove(wb.active)
    total = tables.total
    total.label = str(_("合计"))
    _sheet(wb, str(dict(LEVELS)[level]).replace("/", "、"), tables.areas, total)
    _sheet(wb, str(_("承办单位")), tables.units)
    buffer = BytesIO()
    wb.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="yishi-stats-{month:%Y-%m}-{level}.xlsx"'
    return response

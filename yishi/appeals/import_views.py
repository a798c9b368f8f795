"""Staff pages of the hotline import: upload a file, watch its progress, read the report of bad rows.

The progress page polls itself with HTMX every second while the batch runs (the task may run in a worker); once
the batch is done the fragment comes back without the trigger, so polling stops, and shows the report.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from yishi.core.errors import YishiError
from yishi.core.permissions import can
from yishi.core.views_helpers import attach_error, render_page_or_fragment, scoped_or_404
from yishi.orgs.models import OrgUnit

from . import imports
from .choices import ImportStatus
from .models import ImportBatch


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("热线工单文件"),
        help_text=_("CSV（UTF-8 或 GB18030 编码）或 Excel（.xlsx），第一行为中文列名"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}),
    )
    org_unit = forms.ModelChoiceField(
        label=_("导入范围"), queryset=OrgUnit.objects.none(),
        help_text=_("工单的“所在社区”须在此范围内；未填写所在社区的工单归入此范围"),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = imports.importable_units(user=user)
        field = self.fields["org_unit"]
        field.queryset = units  # type: ignore[attr-defined]
        field.label_from_instance = lambda unit: f"{'　' * unit.depth}{unit.name}"  # type: ignore[attr-defined]
        first = units.first()
        if first is not None and not self.is_bound:
            self.initial.setdefault("org_unit", first.pk)


def _require_importer(user: Any) -> None:
    if not can(user, "appeals.import"):
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """The upload form and the recent batches of the user's areas."""
    _require_importer(request.user)
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            batch = imports.import_batch_create(
                actor=request.user, upload=form.cleaned_data["file"], org_unit_id=form.cleaned_data["org_unit"].pk
            )
        except YishiError as exc:
            attach_error(form, exc)
        else:
            return redirect("appeals_import:detail", batch_id=batch.pk)
    page = Paginator(imports.import_batch_list(user=request.user), 20).get_page(request.GET.get("page"))
    return render(request, "appeals/import_upload.html", {"form": form, "page": page})


def _report_rows(batch: ImportBatch) -> list[dict[str, Any]]:
    english = (get_language() or "").lower().startswith("en")
    return [
        {"line": e.get("line"), "field": e.get("field", ""), "reason": e.get("reason_en" if english else "reason", ""),
         "external_ref": e.get("external_ref", "")}
        for e in batch.errors
    ]


@login_required
@require_GET
def detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Progress (polled by HTMX while the batch runs) and, once done, the report of bad rows."""
    batch = scoped_or_404(imports.import_batch_get, user=request.user, pk=batch_id)
    finished = batch.status in (ImportStatus.DONE, ImportStatus.FAILED)
    context = {
        "batch": batch,
        "finished": finished,
        "percent": (100 * batch.processed // batch.total) if batch.total else (100 if finished else 0),
        "rows": _report_rows(batch) if finished else [],
        "more_errors": max(0, batch.failed - len(batch.errors)),
    }
    response = render_page_or_fragment(request, "appeals/import_progress.html", "appeals/import_status.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def sample(request: HttpRequest) -> FileResponse:
    """The sample file of docs/import-format.md, to start from."""
    _require_importer(request.user)
    return FileResponse(imports.SAMPLE_FILE.open("rb"), as_attachment=True, filename="hotline-sample.csv", content_type="text/csv; charset=utf-8")

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from yishi.core.views_helpers import render_page_or_fragment, scoped_or_404

from . import selectors
from .choices import StationKind


@login_required
def unit_list(request: HttpRequest) -> HttpResponse:
    q = (request.GET.get("q") or "").strip()
    units = selectors.org_unit_list(user=request.user, q=q or None)
    page = Paginator(units, 50).get_page(request.GET.get("page"))
    return render(request, "orgs/unit_list.html", {"page": page, "q": q})


@login_required
def unit_detail(request: HttpRequest, unit_id: int) -> HttpResponse:
    unit = scoped_or_404(selectors.org_unit_get, user=request.user, pk=unit_id)
    context = {
        "unit": unit,
        # Only the ancestors inside the user's scope: the breadcrumb must not reveal the rest of the tree.
        "ancestors": selectors.org_unit_list(user=request.user).filter(pk__in=unit.ancestor_ids).exclude(pk=unit.pk),
        "children": selectors.org_unit_list(user=request.user, parent_id=unit.pk),
        "stations": selectors.station_list(user=request.user).filter(org_unit=unit),
        "handling_units": selectors.handling_unit_list(user=request.user, org_unit_id=unit.pk),
    }
    return render(request, "orgs/unit_detail.html", context)


def station_list(request: HttpRequest) -> HttpResponse:
    """Public list of stations; HTMX requests from the filter form get only the result list."""
    kind = request.GET.get("kind") or None
    if kind not in StationKind.values:
        kind = None
    q = (request.GET.get("q") or "").strip()
    stations = selectors.station_list(user=request.user, kind=kind, q=q or None)
    page = Paginator(stations, 30).get_page(request.GET.get("page"))
    context = {"page": page, "kinds": StationKind.choices, "kind": kind or "", "q": q}
    return render_page_or_fragment(request, "orgs/station_list.html", "orgs/_station_results.html", context)


def station_detail(request: HttpRequest, station_id: int) -> HttpResponse:
    station = scoped_or_404(selectors.station_get, user=request.user, pk=station_id)
    return render(request, "orgs/station_detail.html", {"station": station})

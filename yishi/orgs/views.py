from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from yishi.core.views_helpers import scoped_or_404

from . import selectors
from .choices import StationKind


@login_required
def unit_list(request: HttpRequest) -> HttpResponse:
    units = selectors.org_unit_list(user=request.user, q=request.GET.get("q") or None)
    page = Paginator(units, 50).get_page(request.GET.get("page"))
    return render(request, "orgs/unit_list.html", {"page": page, "q": request.GET.get("q", "")})


@login_required
def unit_detail(request: HttpRequest, unit_id: int) -> HttpResponse:
    unit = scoped_or_404(selectors.org_unit_get, user=request.user, pk=unit_id)
    children = selectors.org_unit_list(user=request.user, parent_id=unit.pk)
    return render(
        request, "orgs/unit_detail.html",
        {"unit": unit, "children": children, "stations": unit.stations.filter(is_active=True), "handling_units": unit.handling_units.filter(is_active=True)},
    )


def station_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind") or None
    if kind not in StationKind.values:
        kind = None
    stations = selectors.station_list(user=request.user, kind=kind, q=request.GET.get("q") or None)
    page = Paginator(stations, 30).get_page(request.GET.get("page"))
    return render(request, "orgs/station_list.html", {"page": page, "kinds": StationKind.choices, "kind": kind, "q": request.GET.get("q", "")})


def station_detail(request: HttpRequest, station_id: int) -> HttpResponse:
    station = scoped_or_404(selectors.station_get, user=request.user, pk=station_id)
    return render(request, "orgs/station_detail.html", {"station": station})

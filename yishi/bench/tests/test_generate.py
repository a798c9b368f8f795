"""The benchmark generator: its rows, the same whatever the number of workers, and a load that drops and rebuilds
the appeal table's indexes leaving them as they were."""

from __future__ import annotations

from collections import Counter

from django.db import connection

from yishi.appeals.choices import AppealState as S
from yishi.appeals.models import Appeal
from yishi.bench.generate import CityShape, _chunks, _plan, build_city, ensure_categories, generate


def _appeal_indexes() -> dict[str, tuple[tuple[str, ...], bool, bool]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, Appeal._meta.db_table)
    return {name: (tuple(c["columns"]), bool(c["unique"]), bool(c["foreign_key"])) for name, c in found.items()}


def test_the_rows_do_not_depend_on_the_number_of_workers(db):
    communities, serving = build_city(CityShape(1, 2, 2))
    plan = _plan(45_000, 0, communities, serving, ensure_categories(), seed=7)
    alone = [chunk for _, chunk in _chunks(plan, workers=1)]
    shared = [chunk for _, chunk in _chunks(plan, workers=2)]
    assert len(alone) == 3 and alone == shared


def test_a_load_rebuilding_the_indexes_leaves_them_as_they_were(db):
    before = _appeal_indexes()
    result = generate(1200, CityShape(1, 2, 2), seed=3, workers=1, rebuild_indexes=True)
    assert result.appeals == 1200 == Appeal.objects.count()
    assert _appeal_indexes() == before
    states = Counter(Appeal.objects.values_list("state", flat=True))
    assert {S.ARCHIVED, S.CLOSED, S.IN_PROGRESS, S.DISPATCHED, S.REPLIED} <= set(states)
    # The facts agree with the states: merged and duplicate appeals are not counted, closed ones were replied to.
    assert not Appeal.objects.filter(counted=False).exclude(state__in=[S.MERGED, S.DUPLICATE]).exists()
    assert not Appeal.objects.filter(state__in=[S.CLOSED, S.ARCHIVED], replied_at__isnull=True).exists()
    assert not Appeal.objects.filter(state=S.RECEIVED, lead_unit__isnull=False).exists()
    assert Appeal.objects.values("tracking_code").distinct().count() == 1200
    # A second load appends after the first, with codes of its own.
    generate(300, seed=4, workers=1)
    assert Appeal.objects.values("tracking_code").distinct().count() == 1500

"""The statistics page and its Excel export, on the month of ``kpi_month`` (figures checked in test_stats)."""

from __future__ import annotations

import json
import re
from io import BytesIO

import pytest
import time_machine
from openpyxl import load_workbook

from yishi.appeals import stats
from yishi.appeals.rollup import MAX_STALENESS
from yishi.conftest import client_for

from .kpi_month import MARCH_TOTAL, at, build_month, set_param

PAGE = "/appeals/stats/"
EXPORT = "/appeals/stats/export.xlsx"


@pytest.fixture(autouse=True)
def exact_dashboards(db):
    """The dashboard's rollup checked and recomputed on every read (the shipped profiles tolerate 60 s)."""
    set_param(MAX_STALENESS, 0)
    stats.kpi_weights()  # the policy cache warm again, as the query budgets below expect


@pytest.fixture
def month(world):
    with time_machine.travel(at(3, 2, 8), tick=False) as clock:
        appeals = build_month(world, clock)  # leaves the clock on Friday 20 March, 12:00
        yield appeals


def row_cells(html: str, name: str) -> list[str]:
    """The cells of the table row headed ``name`` (the first table that has one)."""
    match = re.search(rf'<th scope="row">{name}</th>(.*?)</tr>', html, re.S)
    assert match, name
    return re.findall(r'<td class="num">([^<]*)</td>', match.group(1))


def test_signed_out_users_go_to_the_login_page(db, client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get(EXPORT).status_code == 302


def test_residents_and_grid_workers_may_not_see_it(month, world):
    for user in (world.resident, world.grid_worker):
        assert client_for(user).get(PAGE).status_code == 403
        assert client_for(user).get(EXPORT).status_code == 403


def test_page_shows_the_three_rates_per_street_and_unit(month, world):
    response = client_for(world.district_staff).get(PAGE, {"month": "2026-03"})
    assert response.status_code == 200
    html = response.content.decode()
    # 诉求量, 响应率, 解决率, 满意率, 按时签收率, 退单率, 重办率, 按时办结率, 超期, 临期, 综合得分, 排名
    assert row_cells(html, "外海街道") == ["10", "50.0%", "60.0%", "80.0%", "87.5%", "11.1%", "16.7%", "71.4%", "1", "1", "64.0", "2"]
    assert row_cells(html, "礼乐街道") == ["2", "100.0%", "50.0%", "50.0%", "100.0%", "0.0%", "0.0%", "50.0%", "0", "0", "65.0", "1"]
    assert row_cells(html, "合计")[:4] == ["12", "60.0%", "57.1%", "71.4%"]
    assert row_cells(html, "区住房和城乡建设局") == ["9", "50.0%", "60.0%", "80.0%", "87.5%", "10.0%", "16.7%", "71.4%", "1", "1", "64.0", "2"]
    assert row_cells(html, "江海供水有限公司")[:4] == ["2", "100.0%", "50.0%", "50.0%"]
    # Red and black lists.
    red = re.search(r'<ol class="red-areas">(.*?)</ol>', html, re.S).group(1)
    black = re.search(r'<ol class="black-areas">(.*?)</ol>', html, re.S).group(1)
    assert "礼乐街道" in red and "外海街道" not in red and "外海街道" in black
    assert "江海供水有限公司" in re.search(r'<ol class="red-units">(.*?)</ol>', html, re.S).group(1)
    # The charts' data and script.
    charts = json.loads(re.search(r'<script id="stats-charts" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert charts["areas"]["labels"] == ["外海街道", "礼乐街道"]
    assert [s["data"] for s in charts["areas"]["series"]] == [[50.0, 100.0], [60.0, 50.0], [80.0, 50.0]]
    assert "core/echarts.min.js" in html and "appeals/stats.js" in html
    assert f'href="{EXPORT}?month=2026-03&amp;level=street"' in html


def test_the_current_month_by_default_and_communities_on_request(month, world):
    client = client_for(world.district_staff)
    assert row_cells(client.get(PAGE).content.decode(), "外海街道")[0] == "10"
    html = client.get(PAGE, {"month": "2026-03", "level": "community"}).content.decode()
    assert row_cells(html, "直冲社区")[0] == "9" and row_cells(html, "麻园社区")[0] == "1" and row_cells(html, "威东社区")[0] == "2"
    html = client.get(PAGE, {"month": "2026-01"}).content.decode()
    assert row_cells(html, "外海街道")[:2] == ["0", "—"]
    assert "参与排名的不足两个。" in html


@pytest.mark.parametrize("month_value", ["2026-13", "March", "2026-03-01"])
def test_a_bad_month_is_refused_with_the_field_named(month, world, month_value):
    response = client_for(world.district_staff).get(PAGE, {"month": month_value})
    assert response.status_code == 400
    assert "统计月份格式应为 YYYY-MM" in response.content.decode()
    assert client_for(world.district_staff).get(EXPORT, {"month": month_value}).status_code == 400


def test_each_user_sees_their_scope(month, world):
    html = client_for(world.street_b_staff).get(PAGE, {"month": "2026-03"}).content.decode()
    assert "礼乐街道" in html and "外海街道" not in html
    assert row_cells(html, "合计")[0] == "2"
    # A unit's liaison sees their unit's appeals, wherever they are, and no area.
    html = client_for(world.water_liaison).get(PAGE, {"month": "2026-03"}).content.decode()
    assert row_cells(html, "江海供水有限公司")[0] == "2" and "区住房和城乡建设局" not in html


def test_export_has_the_same_numbers(month, world):
    response = client_for(world.district_staff).get(EXPORT, {"month": "2026-03"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == 'attachment; filename="yishi-stats-2026-03-street.xlsx"'
    wb = load_workbook(BytesIO(response.content))
    assert wb.sheetnames == ["街道、镇", "承办单位"]
    areas = wb["街道、镇"]
    header = [c.value for c in areas[1]]
    assert header[:5] == ["名称", "诉求量", "响应率", "解决率", "满意率"]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in areas.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"外海街道", "礼乐街道", "合计"}
    a = rows["外海街道"]
    assert (a["诉求量"], a["响应率"], a["解决率"], a["满意率"], a["综合得分"], a["排名"]) == (10, 0.5, 0.6, 0.8, pytest.approx(64.0), 2)
    assert (a["响应应计"], a["按时响应"], a["有效回访"], a["解决"], a["满意与基本满意"]) == (8, 4, 5, 3, 4)
    total = rows["合计"]
    assert total["诉求量"] == MARCH_TOTAL["volume"] and total["响应率"] == 0.6 and total["按时办结率"] == pytest.approx(6 / 9)
    assert total["排名"] is None
    assert areas["C2"].number_format == "0.0%"
    units = {r[0]: r for r in wb["承办单位"].iter_rows(min_row=2, values_only=True)}
    assert units["江海供水有限公司"][1:5] == (2, 1.0, 0.5, 0.5)
    assert units["区住房和城乡建设局"][1] == 9


def test_the_page_costs_a_bounded_number_of_queries(month, world, django_assert_max_num_queries):
    client = client_for(world.district_staff)
    client.get(PAGE, {"month": "2026-03"})
    with django_assert_max_num_queries(25):
        assert client.get(PAGE, {"month": "2026-03"}).status_code == 200


@pytest.mark.browser
def test_charts_render_in_a_browser(world, new_page, screenshot, live_server):
    from django.test import Client

    from yishi.conftest_browser import PHONE

    with time_machine.travel(at(3, 2, 8), tick=False) as clock:
        build_month(world, clock)
    session = Client()
    session.force_login(world.district_staff, backend="django.contrib.auth.backends.ModelBackend")
    for name, viewport in (("stats-desktop", None), ("stats-phone", PHONE)):
        page = new_page(viewport=viewport)
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.context.add_cookies([{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": live_server.url}])
        page.goto(f"{PAGE}?month=2026-03")
        for chart in ("areas", "units"):
            page.locator(f'[data-chart="{chart}"] svg').first.wait_for()
        # Three series of two bars each in the areas chart.
        assert page.locator('[data-chart="areas"] svg path[d]').count() >= 6
        assert page.get_by_role("heading", name="红黑榜").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert errors == []
        screenshot(page, name)

"""Pages of places: the org tree for staff (scoped), the public station finder with its HTMX list.

Out-of-scope units answering 404 is covered in test_scope.py.
"""

from __future__ import annotations

import pytest

from yishi.accounts.models import User
from yishi.orgs.models import Station, StationMember
from yishi.orgs.services import org_unit_create


@pytest.mark.parametrize("url", ["/orgs/units/", "/orgs/units/1/"])
def test_unit_pages_need_login(url, client, db):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_unit_list_shows_only_the_scope(tree, street_a_staff, make_client):
    html = make_client(street_a_staff).get("/orgs/units/").content.decode()
    for name in ("外海街道", "直冲社区", "麻园社区", "直冲社区第1网格"):
        assert name in html
    for name in ("江海区", "礼乐街道", "威东社区"):
        assert name not in html
    assert "共 4 个单元" in html


def test_unit_list_search(tree, district_staff, make_client):
    html = make_client(district_staff).get("/orgs/units/", {"q": "直冲"}).content.decode()
    assert "直冲社区" in html and "麻园社区" not in html
    assert 'value="直冲"' in html


def test_unit_list_paginates(tree, district_staff, make_client):
    for i in range(50):
        org_unit_create(actor=None, name=f"测试网格{i:02d}", code=f"T-{i:02d}", level="grid", parent=tree.community_b1)
    client = make_client(district_staff)
    first = client.get("/orgs/units/").content.decode()
    assert "第 1 / 2 页" in first and 'href="?page=2"' in first
    second = client.get("/orgs/units/", {"page": 2}).content.decode()
    assert "第 2 / 2 页" in second and 'rel="prev"' in second
    assert client.get("/orgs/units/", {"page": "x"}).status_code == 200


def test_unit_detail_lists_children_stations_and_handling_units(tree, district_staff, make_client):
    html = make_client(district_staff).get(f"/orgs/units/{tree.street_a.pk}/").content.decode()
    assert "<h1>外海街道</h1>" in html
    assert "直冲社区" in html and "麻园社区" in html
    assert "外海街道办事处" in html  # handling unit of the street
    assert "区住房和城乡建设局" not in html  # belongs to the district, not the street
    assert f'href="/orgs/units/{tree.district.pk}/"' in html  # breadcrumb to the district

    html = make_client(district_staff).get(f"/orgs/units/{tree.community_a1.pk}/").content.decode()
    assert "直冲社区人大代表联络站" in html and f'href="/orgs/stations/{tree.station_a1.pk}/"' in html


def test_unit_detail_breadcrumb_stops_at_the_scope(tree, street_a_staff, make_client):
    html = make_client(street_a_staff).get(f"/orgs/units/{tree.community_a1.pk}/").content.decode()
    assert f'href="/orgs/units/{tree.street_a.pk}/"' in html
    assert "江海区" not in html


def test_station_list_is_public(tree, client):
    response = client.get("/orgs/stations/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "直冲社区人大代表联络站" in html and "威东社区委员之家" in html
    assert 'hx-get="/orgs/stations/"' in html and 'hx-target="#station-results"' in html and 'hx-push-url="true"' in html
    assert "<html" in html


def test_station_list_filters_by_kind_and_search(tree, client):
    html = client.get("/orgs/stations/", {"kind": "members_home"}).content.decode()
    assert "威东社区委员之家" in html and "直冲社区人大代表联络站" not in html
    assert '<option value="members_home" selected>' in html
    html = client.get("/orgs/stations/", {"q": "直冲"}).content.decode()
    assert "直冲社区人大代表联络站" in html and "威东社区委员之家" not in html
    html = client.get("/orgs/stations/", {"kind": "nonsense"}).content.decode()
    assert "威东社区委员之家" in html and "直冲社区人大代表联络站" in html


def test_station_list_answers_htmx_with_the_result_fragment(tree, client):
    response = client.get("/orgs/stations/", {"q": "威东"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and "<header" not in html
    assert "威东社区委员之家" in html and "共 1 个阵地" in html
    assert "HX-Request" in response["Vary"]
    # The back button after a history-cache miss needs the whole page.
    response = client.get("/orgs/stations/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in response.content.decode()


def test_station_list_pagination_links_use_htmx(tree, client):
    for i in range(31):
        Station.objects.create(name=f"测试议事室{i:02d}", kind="consultation_room", org_unit=tree.community_a2, address="路")
    html = client.get("/orgs/stations/", {"kind": "consultation_room"}).content.decode()
    assert 'hx-get="?kind=consultation_room&amp;page=2"' in html


def test_station_list_query_budget(tree, client, django_assert_max_num_queries):
    for i in range(20):
        Station.objects.create(name=f"站{i}", kind="deputy_liaison", org_unit=tree.community_a2, address="路")
    with django_assert_max_num_queries(6):
        client.get("/orgs/stations/")


def test_station_detail_shows_address_hours_phone_and_members(tree, client):
    station = tree.station_a1
    station.opening_hours = "周一至周五 9:00-17:00"
    station.phone = "0750-1234567"
    station.save()
    deputy = User.objects.create_user(username="deputy_li", display_name="李代表")
    StationMember.objects.create(station=station, user=deputy, role="deputy")
    html = client.get(f"/orgs/stations/{station.pk}/").content.decode()
    assert "<h1>直冲社区人大代表联络站</h1>" in html
    assert "直冲路1号" in html and "周一至周五 9:00-17:00" in html
    assert 'href="tel:0750-1234567"' in html
    assert "李代表" in html and "人大代表" in html


def test_inactive_or_missing_station_is_404(tree, client):
    Station.objects.filter(pk=tree.station_b1.pk).update(is_active=False)
    assert client.get(f"/orgs/stations/{tree.station_b1.pk}/").status_code == 404
    assert client.get("/orgs/stations/999999/").status_code == 404

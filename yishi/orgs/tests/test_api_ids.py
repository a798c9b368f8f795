import pytest


@pytest.mark.parametrize("url", ["/api/handling-units?org_unit_id=99999999999999999999", "/api/org-units/99999999999999999999", "/api/stations?org_unit_id=99999999999999999999"])
def test_huge_ids_are_bad_input(district_staff, make_client, url):
    r = make_client(district_staff).get(url)
    assert r.status_code in (404, 422), r.content

"""Scope: an officer of street A sees street A's subtree; street B's objects do not exist for them."""

import pytest

from yishi.core.permissions import can, restrict
from yishi.orgs.models import OrgUnit


def test_subtree_query_uses_path(tree):
    ids = set(OrgUnit.objects.subtree(tree.street_a).values_list("pk", flat=True))
    assert ids == {tree.street_a.pk, tree.community_a1.pk, tree.community_a2.pk, tree.grid_a1.pk}


def test_restrict_narrows_to_scope(tree, street_a_staff):
    visible = set(restrict(OrgUnit.objects.all(), street_a_staff, "orgs.view_orgunit").values_list("pk", flat=True))
    assert tree.street_b.pk not in visible and tree.community_b1.pk not in visible
    assert tree.grid_a1.pk in visible and tree.district.pk not in visible
    assert can(street_a_staff, "orgs.view_orgunit", tree.community_a2)
    assert not can(street_a_staff, "orgs.view_orgunit", tree.community_b1)


@pytest.mark.parametrize("where", ["page", "api"])
def test_other_street_is_not_found(tree, street_a_staff, make_client, where):
    client = make_client(street_a_staff)
    url = f"/orgs/units/{tree.community_b1.pk}/" if where == "page" else f"/api/org-units/{tree.community_b1.pk}"
    own = f"/orgs/units/{tree.community_a1.pk}/" if where == "page" else f"/api/org-units/{tree.community_a1.pk}"
    assert client.get(own).status_code == 200
    response = client.get(url)
    assert response.status_code == 404
    assert "威东" not in response.content.decode()
    missing = "/orgs/units/999999/" if where == "page" else "/api/org-units/999999"
    assert client.get(missing).status_code == 404

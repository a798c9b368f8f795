"""Open311 GeoReport v2: every endpoint in XML and JSON, the filters and the 90-day window, errors as the spec
describes them, and a round trip from POST to GET."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest
from django.test import Client
from django.utils import timezone

from yishi.accounts.services import token_create
from yishi.appeals import services as s
from yishi.appeals.choices import AppealState, Channel
from yishi.appeals.models import Appeal
from yishi.appeals.testing import submit
from yishi.core.testing import make_user
from yishi.policy.models import PolicyProfile
from yishi.policy.services import default_profile

BASE = "/open311/v2"
W3C = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")
FORMATS = ["xml", "json"]


def parse(response, fmt):
    """The answer as Python data: JSON as is; XML as (root tag, element)."""
    if fmt == "json":
        assert response["Content-Type"] == "application/json; charset=utf-8"
        return json.loads(response.content)
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def items(response, fmt, root, item):
    """A list answer (services, service_requests, errors) as a list of dicts in either format."""
    data = parse(response, fmt)
    if fmt == "json":
        assert isinstance(data, list)
        return data
    assert data.tag == root
    assert all(child.tag == item for child in data)
    return [{field.tag: field.text for field in child} for child in data]


def errors(response, fmt):
    return items(response, fmt, "errors", "error")


@pytest.fixture
def key(world):
    """An API key with the write scope, for the district dispatcher (who may enter appeals anywhere)."""
    _token, secret = token_create(actor=world.dispatcher, user=world.dispatcher, name="12345 app", scopes=["write"])
    return secret


@pytest.fixture
def client():
    return Client()


def post(client, fmt, **params):
    return client.post(f"{BASE}/requests.{fmt}", params)


def good_request(key, **overrides):
    params = {
        "api_key": key,
        "service_code": "C010101",
        "address_id": "D01-S01-C01",
        "attribute[nature]": "complaint",
        "description": "3 号楼加装电梯迟迟不开工，联系电话 13900001111",
        "first_name": "小明",
        "last_name": "王",
        "phone": "13900001111",
        "media_url": "https://img.example.org/lift.jpg",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


# --- discovery, services, service definitions ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery(world, client, fmt):
    response = client.get(f"{BASE}/discovery.{fmt}")
    assert response.status_code == 200
    data = parse(response, fmt)
    if fmt == "json":
        endpoint = data["endpoints"][0]
        assert set(data) == {"changeset", "contact", "key_service", "endpoints"}
        assert endpoint["formats"] == ["text/xml", "application/json"]
    else:
        assert data.tag == "discovery"
        node = data.find("endpoints/endpoint")
        endpoint = {child.tag: child.text for child in node}
        assert [f.text for f in node.find("formats")] == ["text/xml", "application/json"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["type"] in ("production", "test")


def test_bare_endpoint_url_serves_discovery(world, client):
    response = client.get(f"{BASE}/")
    assert response.status_code == 200
    assert parse(response, "xml").tag == "discovery"


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_are_the_leaf_categories(world, client, fmt):
    response = client.get(f"{BASE}/services.{fmt}")
    assert response.status_code == 200
    services = {svc["service_code"]: svc for svc in items(response, fmt, "services", "service")}
    assert set(services) == {"C010101", "C0201"}  # C01 and C0101 have children: not services
    lift = services["C010101"]
    assert lift["service_name"] == "老旧小区加装电梯"
    assert lift["group"] == "城乡建设"
    assert lift["description"] == "城乡建设 › 住房保障 › 老旧小区加装电梯"
    assert services["C0201"]["group"] == "水电气热"
    assert lift["type"] == "realtime"
    assert lift["metadata"] in (True, "true")


def test_inactive_category_is_not_a_service(world, client):
    world.cat_water.is_active = False
    world.cat_water.save()
    codes = [svc["service_code"] for svc in items(client.get(f"{BASE}/services.json"), "json", "services", "service")]
    assert codes == ["C010101", "C02"]  # with its only child switched off, 水电气热 is itself a leaf
    assert client.get(f"{BASE}/services/C0201.json").status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition(world, client, fmt):
    response = client.get(f"{BASE}/services/C010101.{fmt}")
    assert response.status_code == 200
    data = parse(response, fmt)
    if fmt == "json":
        assert data["service_code"] == "C010101"
        nature = data["attributes"][0]
        values = nature["values"]
    else:
        assert data.tag == "service_definition"
        assert data.findtext("service_code") == "C010101"
        node = data.find("attributes/attribute")
        nature = {child.tag: child.text for child in node}
        values = [{"key": v.findtext("key"), "name": v.findtext("name")} for v in node.find("values")]
    assert nature["code"] == "nature"
    assert nature["datatype"] == "singlevaluelist"
    assert str(nature["required"]).lower() == "true"
    assert str(nature["order"]) == "1"
    assert [v["name"] for v in values] == ["咨询", "求助", "投诉", "举报", "建议"]
    assert [v["key"] for v in values] == ["consult", "help", "complaint", "report", "suggest"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_service_definition_is_404(world, client, fmt):
    for code in ("NOPE", "C01"):  # unknown, and a category that is not a leaf
        response = client.get(f"{BASE}/services/{code}.{fmt}")
        assert response.status_code == 404
        [error] = errors(response, fmt)
        assert str(error["code"]) == "404" and "service_code" in error["description"]


# --- POST requests -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_then_get_round_trip(world, client, key, fmt):
    response = post(client, fmt, **good_request(key))
    assert response.status_code == 200, response.content
    [created] = items(response, fmt, "service_requests", "request")
    code = created["service_request_id"]
    assert "token" not in created  # synchronous: the id, never a token
    assert code in created["service_notice"]
    appeal = Appeal.objects.get(tracking_code=code)
    assert appeal.channel == Channel.OPEN311
    assert appeal.entered_by == world.dispatcher and appeal.submitter is None
    assert appeal.org_unit == world.tree.community_a1
    assert appeal.nature == "complaint" and appeal.category == world.cat_lift
    assert appeal.contact_name == "王小明" and appeal.contact_phone == "13900001111"
    assert appeal.media_url == "https://img.example.org/lift.jpg"

    response = client.get(f"{BASE}/requests/{code}.{fmt}")
    assert response.status_code == 200
    [got] = items(response, fmt, "service_requests", "request")
    assert list(got) == [
        "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
        "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
        "address", "address_id", "zipcode", "lat", "long", "media_url",
    ]
    assert got["service_request_id"] == code
    assert got["status"] == "open"
    assert got["service_code"] == "C010101" and got["service_name"] == "老旧小区加装电梯"
    assert "139****1111" in got["description"] and "13900001111" not in got["description"]  # masked
    assert W3C.match(got["requested_datetime"]) and W3C.match(got["updated_datetime"])
    assert got["requested_datetime"].endswith("+08:00")
    assert got["address_id"] == "D01-S01-C01"
    assert got["media_url"] == "https://img.example.org/lift.jpg"
    # Lower case ids are the same request.
    assert client.get(f"{BASE}/requests/{code.lower()}.{fmt}").status_code == 200


def test_post_with_coordinates_finds_the_deepest_unit_containing_them(world, client, key):
    response = post(client, "json", **good_request(key, address_id=None, lat="22.5712", long="113.1234"))
    assert response.status_code == 200, response.content
    appeal = Appeal.objects.get(tracking_code=response.json()[0]["service_request_id"])
    assert appeal.org_unit == world.tree.district  # the only unit with a bounding box in the test tree
    assert (appeal.latitude, appeal.longitude) == (22.5712, 113.1234)
    got = client.get(f"{BASE}/requests/{appeal.tracking_code}.json").json()[0]
    assert (got["lat"], got["long"]) == (22.571, 113.123)  # rounded for the public


def test_post_with_address_string_only(world, client, key):
    response = post(client, "json", **good_request(key, address_id=None, address_string="外海街道直冲社区直冲路 5 号"))
    appeal = Appeal.objects.get(tracking_code=response.json()[0]["service_request_id"])
    assert appeal.org_unit == world.tree.community_a1  # the deepest unit named in the address
    assert appeal.address == "外海街道直冲社区直冲路 5 号"
    response = post(client, "json", **good_request(key, address_id=None, address_string="某路 8 号"))
    appeal = Appeal.objects.get(tracking_code=response.json()[0]["service_request_id"])
    assert appeal.org_unit == world.tree.district  # nothing named: the jurisdiction's dispatch centre triages


def test_post_anonymous_without_contact(world, client, key):
    response = post(client, "json", **good_request(key, first_name=None, last_name=None, phone=None))
    appeal = Appeal.objects.get(tracking_code=response.json()[0]["service_request_id"])
    assert appeal.anonymous and appeal.contact_name == "" and not appeal.consent_contact


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_without_api_key_is_403(world, client, key, fmt):
    response = post(client, fmt, **good_request(key, api_key=None))
    assert response.status_code == 403
    [error] = errors(response, fmt)
    assert str(error["code"]) == "403" and "api_key" in error["description"]
    assert not Appeal.objects.exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_with_bad_keys_is_403(world, client, key, fmt):
    _token, read_only = token_create(actor=world.dispatcher, user=world.dispatcher, name="reader", scopes=["read"])
    bystander = make_user()
    _token, no_role = token_create(actor=bystander, user=bystander, name="mine", scopes=["write"])
    for bad in ("ysk_not-a-key", "whatever", read_only, no_role):
        response = post(client, fmt, **good_request(key, api_key=bad))
        assert response.status_code == 403, bad
        assert str(errors(response, fmt)[0]["code"]) == "403"
    assert not Appeal.objects.exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_service_code_errors(world, client, key, fmt):
    response = post(client, fmt, **good_request(key, service_code=None))
    assert response.status_code == 400
    assert "service_code" in errors(response, fmt)[0]["description"]
    for unknown in ("NOPE", "C0101"):
        response = post(client, fmt, **good_request(key, service_code=unknown))
        assert response.status_code == 404
        assert "service_code" in errors(response, fmt)[0]["description"]


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"attribute[nature]": None}, "attribute[nature]"),
        ({"attribute[nature]": "gossip"}, "attribute[nature]"),
        ({"attribute[consent_contact]": "maybe"}, "attribute[consent_contact]"),
        ({"description": "  "}, "description"),
        ({"address_id": None}, "lat"),
        ({"address_id": "NOWHERE"}, "address_id"),
        ({"address_id": None, "lat": "abc", "long": "113.1"}, "lat"),
        ({"address_id": None, "lat": "22.6"}, "long"),
        ({"address_id": None, "lat": "95", "long": "113.1"}, "lat"),
        ({"address_id": None, "lat": "nan", "long": "113.1"}, "lat"),
        ({"address_id": None, "lat": "39.9", "long": "116.4"}, "lat/long"),
        ({"address_id": "D01-S01-C01", "lat": "39.9", "long": "116.4"}, "lat"),
        ({"phone": "12345"}, "phone"),
        ({"media_url": "javascript:alert(1)"}, "media_url"),
        ({"description": "长" * 5000}, "description"),
    ],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_post_bad_input_is_400_naming_the_parameter(world, client, key, fmt, overrides, parameter):
    response = post(client, fmt, **good_request(key, **overrides))
    assert response.status_code == 400, response.content
    found = errors(response, fmt)
    assert all(str(e["code"]) == "400" for e in found)
    assert any(parameter in e["description"] for e in found), found
    assert not Appeal.objects.exists()


def test_post_reports_every_parameter_problem_at_once(world, client, key):
    response = post(client, "json", **good_request(key, **{"attribute[nature]": None, "description": "", "address_id": None}))
    assert response.status_code == 400
    text = " ".join(e["description"] for e in response.json())
    assert "attribute[nature]" in text and "description" in text and "lat" in text


def test_post_outside_the_intake_scope_of_the_key_is_403(world, client):
    # A community worker's key may enter appeals in their community only.
    _token, secret = token_create(actor=world.community_staff, user=world.community_staff, name="c", scopes=["write"])
    assert post(client, "json", **good_request(secret)).status_code == 200
    response = post(client, "json", **good_request(secret, address_id="D01-S02-C01"))
    assert response.status_code == 403


def test_post_needs_post_or_get(world, client):
    response = client.put(f"{BASE}/requests.json")
    assert response.status_code == 400
    assert "GET" in response["Allow"] and "POST" in response["Allow"]


# --- tokens (idempotency keys) -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_idempotency_key_and_token_lookup(world, client, key, fmt):
    first = client.post(f"{BASE}/requests.{fmt}", good_request(key), headers={"Idempotency-Key": "retry-7f3a"})
    again = client.post(f"{BASE}/requests.{fmt}", good_request(key), headers={"Idempotency-Key": "retry-7f3a"})
    code = items(first, fmt, "service_requests", "request")[0]["service_request_id"]
    assert items(again, fmt, "service_requests", "request")[0]["service_request_id"] == code
    assert Appeal.objects.count() == 1

    response = client.get(f"{BASE}/tokens/retry-7f3a.{fmt}")
    assert response.status_code == 200
    [found] = items(response, fmt, "service_requests", "request")
    assert found == {"service_request_id": code, "token": "retry-7f3a"}

    response = client.get(f"{BASE}/tokens/unknown.{fmt}")
    assert response.status_code == 404
    assert "token" in errors(response, fmt)[0]["description"]


def test_tokens_belong_to_their_client(world, client, key):
    """Two clients may use the same key: each POST makes its own request, each client finds its own by api_key,
    and without one the ambiguous token names none."""
    _token, other_key = token_create(actor=world.street_a_staff, user=world.street_a_staff, name="另一个应用", scopes=["write"])
    mine = client.post(f"{BASE}/requests.json", good_request(key), headers={"Idempotency-Key": "same-7"})
    theirs = client.post(f"{BASE}/requests.json", good_request(other_key, description="另一件事：路灯不亮"), headers={"Idempotency-Key": "same-7"})
    my_code = items(mine, "json", "service_requests", "request")[0]["service_request_id"]
    their_code = items(theirs, "json", "service_requests", "request")[0]["service_request_id"]
    assert my_code != their_code and Appeal.objects.count() == 2
    for api_key, code in ((key, my_code), (other_key, their_code)):
        found = client.get(f"{BASE}/tokens/same-7.json", {"api_key": api_key})
        assert items(found, "json", "service_requests", "request") == [{"service_request_id": code, "token": "same-7"}]
    assert client.get(f"{BASE}/tokens/same-7.json").status_code == 404


def test_token_lookup_ignores_other_channels_keys(world, client):
    appeal = submit(world)  # a web submission whose own key happens to look like ours
    Appeal.objects.filter(pk=appeal.pk).update(idempotency_key="open311:web-key")
    assert client.get(f"{BASE}/tokens/web-key.json").status_code == 404


# --- GET requests: filters and the window --------------------------------------------------------------------------


@pytest.fixture
def history(world):
    """Appeals of several ages, categories and states."""
    now = timezone.now()
    recent = submit(world, received_at=now - timedelta(days=2))
    water = submit(world, category=world.cat_water, received_at=now - timedelta(days=10), title="停水")
    old = submit(world, received_at=now - timedelta(days=100), title="老问题")
    rejected = submit(world, received_at=now - timedelta(days=5), title="不属于受理范围")
    s.appeal_reject(actor=world.community_staff, appeal=rejected, reason="属于司法程序，请联系 13800001234")
    replied = submit(world, received_at=now - timedelta(days=6), title="咨询补贴")
    s.appeal_answer(actor=world.community_staff, appeal=replied, text="补贴标准见区政府网站")
    return {"recent": recent, "water": water, "old": old, "rejected": rejected, "replied": replied}


def ids(response, fmt="json"):
    return {r["service_request_id"] for r in items(response, fmt, "service_requests", "request")}


@pytest.mark.parametrize("fmt", FORMATS)
def test_default_window_is_the_profile_days(world, client, history, fmt):
    response = client.get(f"{BASE}/requests.{fmt}")
    assert response.status_code == 200
    found = ids(response, fmt)
    assert history["old"].tracking_code not in found  # 100 days ago: outside the 90-day default
    assert {history[k].tracking_code for k in ("recent", "water", "rejected", "replied")} <= found


def test_window_follows_the_profile_parameter(world, client, history):
    profile = default_profile()
    profile.params = {**profile.params, "appeals.open311_window_days": 3}
    profile.save()
    assert ids(client.get(f"{BASE}/requests.json")) == {history["recent"].tracking_code}


def test_start_and_end_date(world, client, history):
    now = timezone.now()
    start = (now - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now - timedelta(days=50)).astimezone(timezone.get_current_timezone()).isoformat(timespec="seconds")
    response = client.get(f"{BASE}/requests.json", {"start_date": start, "end_date": end})
    assert response.status_code == 200, response.content
    assert ids(response) == {history["old"].tracking_code}
    # Only a start: the window runs forward from it.
    assert ids(client.get(f"{BASE}/requests.json", {"start_date": start})) == {history["old"].tracking_code}
    # Only an end: the window runs back from it.
    end_only = (now - timedelta(days=7)).strftime("%Y-%m-%d")
    assert ids(client.get(f"{BASE}/requests.json", {"end_date": end_only})) == {history["water"].tracking_code}


def test_unencoded_plus_in_offset_is_understood(world, client, history):
    start = (timezone.now() - timedelta(days=3)).astimezone(timezone.get_current_timezone()).isoformat(timespec="seconds")
    response = client.get(f"{BASE}/requests.json?start_date={start}")  # "+08:00" arrives as " 08:00"
    assert response.status_code == 200, response.content
    assert ids(response) == {history["recent"].tracking_code}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "yesterday"},
        {"end_date": "2026-13-45"},
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},  # 151 days
        {"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},  # backwards
        {"status": "pending"},
    ],
)
def test_bad_filters_are_400(world, client, fmt, params):
    response = client.get(f"{BASE}/requests.{fmt}", params)
    assert response.status_code == 400
    assert str(errors(response, fmt)[0]["code"]) == "400"


def test_status_filter_maps_our_states(world, client, history):
    closed = ids(client.get(f"{BASE}/requests.json", {"status": "closed"}))
    opened = ids(client.get(f"{BASE}/requests.json", {"status": "open"}))
    assert closed == {history["rejected"].tracking_code, history["replied"].tracking_code}
    assert opened == {history["recent"].tracking_code, history["water"].tracking_code}
    assert ids(client.get(f"{BASE}/requests.json", {"status": "open,closed"})) == closed | opened
    rejected = client.get(f"{BASE}/requests/{history['rejected'].tracking_code}.json").json()[0]
    assert rejected["status"] == "closed"
    assert "138****1234" in rejected["status_notes"]  # the reason, masked


def test_service_code_filter(world, client, history):
    assert ids(client.get(f"{BASE}/requests.json", {"service_code": "C0201"})) == {history["water"].tracking_code}
    both = ids(client.get(f"{BASE}/requests.json", {"service_code": "C0201,C010101"}))
    assert len(both) == 4
    assert ids(client.get(f"{BASE}/requests.json", {"service_code": "NOPE"})) == set()


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_request_id_list_overrides_other_arguments(world, client, history, fmt):
    wanted = f"{history['old'].tracking_code},{history['water'].tracking_code}, NOPE"
    response = client.get(f"{BASE}/requests.{fmt}", {"service_request_id": wanted, "status": "closed", "service_code": "X"})
    assert ids(response, fmt) == {history["old"].tracking_code, history["water"].tracking_code}


def test_merged_appeal_takes_the_parent_status(world, client):
    parent = submit(world)
    child = submit(world, title="同一部电梯")
    s.appeal_merge(actor=world.community_staff, appeal=child, into_id=parent.pk)
    got = client.get(f"{BASE}/requests/{child.tracking_code}.json").json()[0]
    assert got["status"] == "open" and parent.tracking_code in got["status_notes"]
    s.appeal_reject(actor=world.community_staff, appeal=parent, reason="已另案处理")
    assert client.get(f"{BASE}/requests/{child.tracking_code}.json").json()[0]["status"] == "closed"
    assert ids(client.get(f"{BASE}/requests.json", {"status": "closed"})) == {parent.tracking_code, child.tracking_code}
    assert ids(client.get(f"{BASE}/requests.json", {"status": "open"})) == set()


def test_dispatched_appeal_shows_agency_and_expected_time(world, client):
    appeal = s.appeal_dispatch(actor=world.community_staff, appeal=submit(world))
    got = client.get(f"{BASE}/requests/{appeal.tracking_code}.json").json()[0]
    assert got["agency_responsible"] == world.tree.unit_housing.name
    assert W3C.match(got["expected_datetime"])
    assert got["status_notes"] == str(AppealState.DISPATCHED.label)


def test_areas_without_a_public_board_are_not_listed(world, client):
    hidden = PolicyProfile.objects.create(
        code="no-board", name="不公开", params={**default_profile().params, "appeals.public_board": False}
    )
    world.tree.street_b.policy_profile = hidden
    world.tree.street_b.save()
    shown = submit(world)
    secret = submit(world, unit=world.tree.community_b1)
    assert ids(client.get(f"{BASE}/requests.json")) == {shown.tracking_code}
    assert client.get(f"{BASE}/requests/{secret.tracking_code}.json").status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_request_and_resource_are_404(world, client, fmt):
    response = client.get(f"{BASE}/requests/YS000000AAAAAA.{fmt}")
    assert response.status_code == 404
    assert "service_request_id" in errors(response, fmt)[0]["description"]
    response = client.get(f"{BASE}/nothing/here.{fmt}")
    assert response.status_code == 404 and errors(response, fmt)
    assert client.get(f"{BASE}/services.html").status_code == 404


def test_list_is_capped_and_costs_a_fixed_number_of_queries(world, client, django_assert_max_num_queries):
    for i in range(5):
        submit(world, title=f"第 {i} 件")
    with django_assert_max_num_queries(8):
        response = client.get(f"{BASE}/requests.json")
    assert len(response.json()) == 5

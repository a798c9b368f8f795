"""The API as a whole: the OpenAPI document, one error format, input validation naming the field, languages,
pagination, authentication, and a schemathesis run against our own OpenAPI document."""

from __future__ import annotations

import json
import typing

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from yishi.accounts.services import token_create
from yishi.api import api
from yishi.core.testing import make_user

# The routers of the shared machinery; domain apps test their own endpoints.
FOUNDATION_TAGS = ("accounts", "orgs", "notifications", "policy", "audit")
PUBLIC_SCHEMES = {"OptionalAuth"}


def _operations() -> list[tuple[str, str, dict]]:
    document = api.get_openapi_schema()
    found = []
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            if op.get("tags", [""])[0].split(" ")[0] in FOUNDATION_TAGS:
                found.append((method, path, op))
    return found


OPERATIONS = _operations()
SECURED = [(m, p) for m, p, op in OPERATIONS if not any(set(s) & PUBLIC_SCHEMES for s in op.get("security", []))]


def _params(kind: str) -> list[tuple[str, str, str, str]]:
    """(method, path, parameter name, where) for every integer/enum/page parameter."""
    found = []
    for method, path, op in OPERATIONS:
        for param in op.get("parameters", []):
            schema = param.get("schema", {})
            types = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
            is_enum = "$ref" in str(schema) or "enum" in schema
            if (kind == "int" and "integer" in types) or (kind == "enum" and is_enum):
                found.append((method, path, param["name"], param["in"]))
    return found


def fill(path: str, value: str = "1") -> str:
    import re

    return re.sub(r"\{[^}]+\}", value, path)


@pytest.fixture
def root(db):
    from yishi.accounts.models import User

    return User.objects.create_superuser(username="api-root", password="pw-Yishi-2026")


@pytest.fixture
def root_client(root, make_client):
    return make_client(root)


def call(client: Client, method: str, url: str, body=None, **headers):
    kwargs = {"content_type": "application/json", "headers": headers}
    if body is not None:
        kwargs["data"] = body
    return getattr(client, method)(url, **kwargs)


def assert_error_shape(response, status: int | None = None) -> dict:
    if status is not None:
        assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["message"], str) and body["message"]
    assert body.get("field") is None or isinstance(body["field"], str)
    return body


# --- the document ------------------------------------------------------------------------------------------------

def test_openapi_document_and_docs_page(db):
    client = Client()
    document = client.get("/api/openapi.json")
    assert document.status_code == 200
    data = document.json()
    assert data["openapi"].startswith("3.") and data["info"]["title"].startswith("Yishi")
    assert {"/api/me", "/api/org-units", "/api/calendar/deadline"} <= set(data["paths"])
    assert {"TokenAuth", "BrowserSession"} <= set(data["components"]["securitySchemes"])
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and b"openapi.json" in docs.content


def test_every_operation_documents_the_error_format():
    for method, path, op in OPERATIONS:
        responses = {str(status): response for status, response in op["responses"].items()}
        for status in ("401", "404", "422"):
            content = responses[status]["content"]["application/json"]["schema"]
            assert content == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)


def _schema_classes(annotation: object, found: set[type]) -> None:
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in found:
            found.add(annotation)
            for model_field in annotation.model_fields.values():
                _schema_classes(model_field.annotation, found)
        return
    for arg in typing.get_args(annotation):
        _schema_classes(arg, found)


def test_schema_names_do_not_clash_across_routers():
    # OpenAPI components are named after the schema class: two routers' ``MeOut`` silently share one entry, and
    # the document then describes one endpoint with the other's schema.
    found: set[type] = set()
    routers = [router for _prefix, router in api._routers]
    while routers:
        router = routers.pop()
        routers.extend(child for _prefix, child in router._routers)
        for view in router.path_operations.values():
            for operation in view.operations:
                for model in [*operation.response_models.values(), *operation.models]:
                    _schema_classes(model, found)
    components = set(api.get_openapi_schema()["components"]["schemas"])
    by_name: dict[str, dict[str, list[str]]] = {}
    for cls in found:
        if cls.__name__ in components:
            shape = json.dumps(cls.model_json_schema(), sort_keys=True, default=str)
            by_name.setdefault(cls.__name__, {}).setdefault(shape, []).append(f"{cls.__module__}.{cls.__qualname__}")
    # Same name and same shape is harmless; same name and different shapes is the bug.
    clashes = {name: sorted(w for where in shapes.values() for w in where)
               for name, shapes in by_name.items() if len(shapes) > 1}
    assert clashes == {}


# --- authentication ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", SECURED)
def test_unauthenticated_calls_get_401(db, method, path):
    response = call(Client(), method, fill(path), body={})
    body = assert_error_shape(response, 401)
    assert body["code"] == "not_authenticated"


# --- bad input ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path,name,where", _params("int"))
def test_non_integer_parameters_are_refused_naming_them(root_client, method, path, name, where):
    url = fill(path, "abc") if where == "path" else f"{fill(path)}?{name}=abc"
    body = assert_error_shape(call(root_client, method, url, body={}), 422)
    assert body["field"] == name


@pytest.mark.parametrize("method,path,name,where", _params("enum"))
def test_unknown_enum_values_are_refused_naming_them(root_client, method, path, name, where):
    body = assert_error_shape(call(root_client, method, f"{fill(path)}?{name}=bogus"), 422)
    assert body["field"] == name


@pytest.mark.parametrize("method,path", [(m, p) for m, p, name, _ in _params("int") if name == "page"])
@pytest.mark.parametrize("query,field", [
    ("page=0", "page"), ("page=-1", "page"), ("page_size=0", "page_size"), ("page_size=-5", "page_size"),
    ("page_size=100000", "page_size"), ("page=99999999999", "page"),
])
def test_bad_pagination_is_refused(root_client, method, path, query, field):
    body = assert_error_shape(call(root_client, method, f"{fill(path)}?{query}"), 422)
    assert body["field"] == field


@pytest.mark.parametrize("method,path,payload,field", [
    ("post", "/api/auth/sms-code", {}, "phone"),
    ("post", "/api/auth/sms-code", {"phone": 13800138000}, "phone"),
    ("post", "/api/auth/sms-code", {"phone": "1" * 21}, "phone"),
    ("post", "/api/auth/sms-code", {"phone": "12345"}, "phone"),
    ("post", "/api/auth/phone-login", {"phone": "13800138000"}, "code"),
    ("post", "/api/auth/phone-login", {"phone": "13800138000", "code": "12"}, "code"),
    ("post", "/api/auth/phone-login", {"phone": "13800138000", "code": "1" * 9}, "code"),
    ("post", "/api/auth/phone-login", {"code": "123456"}, "phone"),
    ("post", "/api/tokens", {"scopes": ["read"]}, "name"),
    ("post", "/api/tokens", {"name": "", "scopes": ["read"]}, "name"),
    ("post", "/api/tokens", {"name": "x" * 101, "scopes": ["read"]}, "name"),
    ("post", "/api/tokens", {"name": "x", "scopes": "read"}, "scopes"),
    ("post", "/api/tokens", {"name": "x", "scopes": []}, "scopes"),
    ("post", "/api/tokens", {"name": "x", "scopes": ["root"]}, "scopes"),
    ("post", "/api/tokens", {"name": "x", "scopes": ["read"], "expires_at": "soon"}, "expires_at"),
    ("put", "/api/notification-preferences", {"kind": "k" * 81}, "kind"),
    ("put", "/api/notification-preferences", {"in_app": "perhaps"}, "in_app"),
    ("post", "/api/calendar/deadline", {"start": "2025-01-01T00:00:00+08:00", "amount": 1}, "unit"),
    ("post", "/api/calendar/deadline", {"start": "2025-01-01T00:00:00+08:00", "amount": -1, "unit": "hours"},
     "amount"),
    ("post", "/api/calendar/deadline", {"start": "2025-01-01T00:00:00+08:00", "amount": 1, "unit": "eons"}, "unit"),
])
def test_bad_bodies_are_refused_naming_the_field(root_client, method, path, payload, field):
    response = call(root_client, method, path, body=payload)
    assert 400 <= response.status_code < 500
    assert assert_error_shape(response)["field"] == field


@pytest.mark.parametrize("path", ["/api/auth/sms-code", "/api/calendar/deadline", "/api/tokens"])
def test_unparseable_json_is_a_400_about_the_body(root_client, path):
    response = root_client.post(path, data="{not json", content_type="application/json")
    body = assert_error_shape(response, 400)
    assert body["field"] == "body"


@pytest.mark.parametrize("url,field", [
    ("/api/org-units?q=a%00b", "q"),
    ("/api/stations?q=%00", "q"),
    ("/api/audit/events?code=x%00", "code"),
    ("/api/org-units?q%00=1", "q"),
])
def test_nul_characters_in_queries_are_refused(root_client, url, field):
    # PostgreSQL cannot store or compare text with NUL: without this check the query itself fails (500).
    body = assert_error_shape(root_client.get(url), 422)
    assert body["field"] == field


@pytest.mark.parametrize("method,path,payload,field", [
    ("post", "/api/tokens", '{"name": "a\\u0000b", "scopes": ["read"]}', "name"),
    ("post", "/api/tokens", '{"name": "ok", "scopes": ["re\\u0000ad"]}', "scopes.0"),
    ("post", "/api/tokens", '{"name": "a\\ud800b", "scopes": ["read"]}', "name"),
    ("put", "/api/notification-preferences", '{"kind": "\\u0000"}', "kind"),
    ("post", "/api/auth/sms-code", '{"phone": "138\\u000000138000"}', "phone"),
])
def test_unstorable_text_in_bodies_is_refused(root_client, method, path, payload, field):
    response = getattr(root_client, method)(path, data=payload, content_type="application/json")
    body = assert_error_shape(response, 422)
    assert body["field"] == field


def _text_path_params() -> list[tuple[str, str]]:
    """(method, path) of every operation of any app with a text path parameter."""
    found = []
    for path, ops in api.get_openapi_schema()["paths"].items():
        for method, op in ops.items():
            if any(p["in"] == "path" and p.get("schema", {}).get("type") == "string" for p in op.get("parameters", [])):
                found.append((method, path))
    return found


@pytest.mark.parametrize("method,path", _text_path_params() or [pytest.param("get", "", marks=pytest.mark.skip)])
def test_nul_characters_in_text_path_parameters_are_refused(root_client, method, path):
    # Path parameters do not go through the parser; the database's refusal is answered as bad input.
    response = call(root_client, method, fill(path, "x%00y"), body={})
    assert 400 <= response.status_code < 500
    assert_error_shape(response)


def test_oversized_ids_are_not_found(root_client):
    for url in ("/api/org-units/99999999999999999999", "/api/org-units/9223372036854775808"):
        response = root_client.get(url)
        assert response.status_code in (404, 422)
        assert_error_shape(response)


# --- languages ---------------------------------------------------------------------------------------------------

def test_messages_follow_accept_language(root_client):
    zh = assert_error_shape(root_client.get("/api/org-units/999999"), 404)
    en = assert_error_shape(root_client.get("/api/org-units/999999", headers={"Accept-Language": "en"}), 404)
    assert (zh["code"], en["code"]) == ("not_found", "not_found")
    assert zh["message"] == "对象不存在" and en["message"] == "Not found"

    anonymous = Client()
    assert anonymous.get("/api/me", headers={"Accept-Language": "en"}).json()["message"] == "Authentication required"
    assert anonymous.get("/api/me").json()["message"] == "请先登录或提供有效令牌"

    bad = {"start": "2025-01-01T00:00:00+08:00", "amount": 5000, "unit": "hours"}
    en = call(anonymous, "post", "/api/calendar/deadline", bad, **{"Accept-Language": "en"}).json()
    assert en["message"] == "amount must be between 0 and 3650"
    assert call(anonymous, "post", "/api/calendar/deadline", bad).json()["message"] == "时限必须在 0 到 3650 之间"

    en = call(anonymous, "post", "/api/auth/sms-code", {}, **{"Accept-Language": "en"}).json()
    assert en["message"].startswith("phone: ") and en["field"] == "phone"
    assert call(anonymous, "post", "/api/auth/sms-code", {}).json()["message"].startswith("字段 phone 无效")


# --- pagination --------------------------------------------------------------------------------------------------

def test_pagination_shape(tree, district_staff, make_client):
    client = make_client(district_staff)
    first = client.get("/api/org-units?page_size=3").json()
    assert set(first) == {"items", "count", "count_capped", "page", "pages"} and first["count_capped"] is False
    assert (len(first["items"]), first["count"], first["page"], first["pages"]) == (3, 7, 1, 3)
    last = client.get("/api/org-units?page=3&page_size=3").json()
    assert (len(last["items"]), last["page"]) == (1, 3)
    beyond = client.get("/api/org-units?page=9&page_size=3").json()
    assert (beyond["items"], beyond["count"], beyond["page"], beyond["pages"]) == ([], 7, 9, 3)
    seen = [u["id"] for p in (1, 2, 3) for u in client.get(f"/api/org-units?page={p}&page_size=3").json()["items"]]
    assert len(seen) == len(set(seen)) == 7
    empty = make_client(make_user()).get("/api/org-units").json()
    assert (empty["items"], empty["count"], empty["page"], empty["pages"]) == ([], 0, 1, 1)


def test_pagination_count_stops_at_the_cap(tree, district_staff, make_client, monkeypatch):
    monkeypatch.setattr("yishi.core.pagination.COUNT_CAP", 5)
    client = make_client(district_staff)
    first = client.get("/api/org-units?page_size=2").json()
    assert (len(first["items"]), first["count"], first["count_capped"], first["pages"]) == (2, 5, True, 3)
    last = client.get("/api/org-units?page=3&page_size=2").json()
    assert len(last["items"]) == 2  # the page reaching past the cap is served whole
    assert client.get("/api/org-units?page=4&page_size=2").json()["items"] == []
    exact = client.get("/api/org-units?page_size=2&parent_id=999999").json()
    assert (exact["count"], exact["count_capped"]) == (0, False)


def test_audit_events_need_the_audit_role(tree, district_staff, street_a_staff, make_client):
    assert assert_error_shape(make_client(street_a_staff).get("/api/audit/events"), 403)["code"] == "permission_denied"
    body = make_client(district_staff).get("/api/audit/events?code=orgs.unit.created&page_size=5").json()
    assert body["count"] == 7 and len(body["items"]) == 5
    assert body["items"][0]["seq"] > body["items"][1]["seq"]  # newest first


# --- schemathesis ------------------------------------------------------------------------------------------------

@pytest.fixture
def keep_test_connection():
    # Requests go straight to the WSGI handler, which would close the test's database connection (and with it the
    # test transaction) at the end of each request; the test client avoids that the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(tree, keep_test_connection):
    staff = make_user("district_staff", tree.district)
    return token_create(actor=staff, user=staff, name="schemathesis", scopes=["admin"])[1]


# Loaded when the module is collected (schemathesis' lazy fixture loader does not work with pytest 9 yet); loading
# the document touches no database.
wsgi_schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application()).include(
    lambda ctx: bool(ctx.operation.tags) and ctx.operation.tags[0].split(" ")[0] in FOUNDATION_TAGS
    and (ctx.operation.method.upper() == "GET"
         or ctx.operation.path in ("/api/calendar/deadline", "/api/auth/sms-code"))
)


@wsgi_schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case, admin_token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_token}"},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )

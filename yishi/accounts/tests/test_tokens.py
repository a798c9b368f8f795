"""API tokens: creation, lookup, revocation, expiry, and scope enforcement on the API."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from yishi.accounts.models import ApiToken
from yishi.accounts.services import token_create, token_lookup, token_revoke
from yishi.audit.services import events_for
from yishi.core.errors import InvalidInput, PermissionDenied
from yishi.core.testing import make_user


def bearer(secret: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_create_and_lookup(street_a_staff):
    token, secret = token_create(actor=street_a_staff, user=street_a_staff, name="  报表  ", scopes=["write", "read"])
    assert secret.startswith("ysk_") and len(secret) > 40
    assert token.prefix == secret[:12] and token.name == "报表" and token.scopes == ["read", "write"]
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in token.key_hash
    found = token_lookup(secret)
    assert found == token and found.user == street_a_staff and found.last_used_at is not None
    assert events_for(token).get(code="accounts.token.created").after == {
        "user": street_a_staff.pk, "scopes": ["read", "write"]}
    for bad in ("", "ysk_", secret + "x", secret[4:], "Bearer " + secret):
        assert token_lookup(bad) is None


def test_last_used_is_written_at_most_every_five_minutes(street_a_staff):
    token, secret = token_create(actor=street_a_staff, user=street_a_staff, name="t", scopes=["read"])
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = token_lookup(secret).last_used_at
        clock.shift(timedelta(minutes=4))
        token_lookup(secret)
        assert ApiToken.objects.get(pk=token.pk).last_used_at == first
        clock.shift(timedelta(minutes=2))
        token_lookup(secret)
        assert ApiToken.objects.get(pk=token.pk).last_used_at > first


@pytest.mark.parametrize("scopes,name,field", [
    ([], "t", "scopes"), (["root"], "t", "scopes"), (["read", "sudo"], "t", "scopes"), (["read"], "  ", "name"),
])
def test_create_rejects_bad_input(street_a_staff, scopes, name, field):
    with pytest.raises(InvalidInput) as info:
        token_create(actor=street_a_staff, user=street_a_staff, name=name, scopes=scopes)
    assert info.value.field == field
    assert not ApiToken.objects.exists()


def test_tokens_for_someone_else_need_user_management(tree, street_a_staff, resident):
    with pytest.raises(PermissionDenied):
        token_create(actor=resident, user=street_a_staff, name="t", scopes=["read"])
    token, _ = token_create(actor=street_a_staff, user=resident, name="t", scopes=["read"])
    with pytest.raises(PermissionDenied):
        token_revoke(actor=make_user(), token=token)
    token_revoke(actor=resident, token=token)


def test_revoked_expired_and_deactivated_tokens_stop_working(street_a_staff):
    revoked, revoked_secret = token_create(actor=street_a_staff, user=street_a_staff, name="r", scopes=["read"])
    token_revoke(actor=street_a_staff, token=revoked)
    token_revoke(actor=street_a_staff, token=revoked)  # twice is harmless and audited once
    assert token_lookup(revoked_secret) is None
    assert events_for(revoked).filter(code="accounts.token.revoked").count() == 1

    soon = timezone.now() + timedelta(hours=1)
    _, expiring_secret = token_create(actor=street_a_staff, user=street_a_staff, name="e", scopes=["read"],
                                      expires_at=soon)
    assert token_lookup(expiring_secret) is not None
    with time_machine.travel(soon + timedelta(seconds=1)):
        assert token_lookup(expiring_secret) is None

    other = make_user()
    _, secret = token_create(actor=other, user=other, name="o", scopes=["read"])
    other.is_active = False
    other.save()
    assert token_lookup(secret) is None


@pytest.fixture
def secrets(street_a_staff):
    def make(*scopes: str) -> str:
        return token_create(actor=street_a_staff, user=street_a_staff, name="t", scopes=list(scopes))[1]

    return make


@pytest.mark.parametrize("scope,read,write,admin", [
    ("read", 200, 403, 403),
    ("write", 200, 200, 403),
    ("admin", 200, 200, 200),
])
def test_scopes_are_enforced_on_the_api(secrets, scope, read, write, admin):
    client = bearer(secrets(scope))
    assert client.get("/api/me").status_code == read
    response = client.post("/api/notifications/read-all")
    assert response.status_code == write
    if write == 403:
        assert response.json()["code"] == "insufficient_scope"
    response = client.get("/api/tokens")
    assert response.status_code == admin
    if admin == 403:
        assert response.json()["code"] == "insufficient_scope"


def test_read_token_cannot_create_tokens(secrets):
    response = bearer(secrets("read")).post("/api/tokens", {"name": "x", "scopes": ["admin"]},
                                            content_type="application/json")
    assert response.status_code == 403 and response.json()["code"] == "insufficient_scope"
    assert ApiToken.objects.count() == 1


def test_revoked_and_expired_tokens_get_401(street_a_staff):
    revoked, revoked_secret = token_create(actor=street_a_staff, user=street_a_staff, name="r", scopes=["admin"])
    token_revoke(actor=street_a_staff, token=revoked)
    _, expired_secret = token_create(actor=street_a_staff, user=street_a_staff, name="e", scopes=["admin"],
                                     expires_at=timezone.now() - timedelta(seconds=1))
    for secret in (revoked_secret, expired_secret, "ysk_made-up", "not-even-a-token"):
        for method, url in (("get", "/api/me"), ("post", "/api/notifications/read-all")):
            response = getattr(bearer(secret), method)(url)
            assert response.status_code == 401, (secret, url)
            assert response.json()["code"] == "not_authenticated"


def test_token_endpoints(street_a_staff, make_client):
    client = make_client(street_a_staff)
    created = client.post("/api/tokens", {"name": "ci", "scopes": ["read"]}, content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("ysk_") and body["scopes"] == ["read"]
    listed = client.get("/api/tokens").json()
    assert [t["id"] for t in listed] == [body["id"]] and "secret" not in listed[0]
    assert bearer(body["secret"]).get("/api/me").json()["id"] == street_a_staff.pk
    revoked = client.delete(f"/api/tokens/{body['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert bearer(body["secret"]).get("/api/me").status_code == 401


def test_cannot_revoke_someone_elses_token(street_a_staff, street_b_staff, make_client):
    token, secret = token_create(actor=street_b_staff, user=street_b_staff, name="b", scopes=["read"])
    response = make_client(street_a_staff).delete(f"/api/tokens/{token.pk}")
    assert response.status_code == 404
    assert token_lookup(secret) is not None


def test_session_writes_need_csrf(street_a_staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(street_a_staff, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get("/api/me").status_code == 200
    response = client.post("/api/tokens", {"name": "x", "scopes": ["read"]}, content_type="application/json")
    assert response.status_code in (401, 403)
    assert not ApiToken.objects.exists()


def test_a_token_is_looked_up_once_per_request_and_its_scope_still_checked(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    body = {"nature": "complaint", "category": world.cat_lift.pk, "title": "路灯不亮", "text": "小区门口路灯坏了。",
            "org_unit": world.tree.community_a1.pk}
    _, secret = token_create(actor=world.resident, user=world.resident, name="手机", scopes=["write"])
    with CaptureQueriesContext(connection) as queries:
        response = bearer(secret).post("/api/appeals", body, content_type="application/json")
    assert response.status_code == 201
    lookups = [q for q in queries.captured_queries if q["sql"].startswith("SELECT") and '"accounts_apitoken"' in q["sql"]]
    assert len(lookups) == 1
    _, read_only = token_create(actor=world.resident, user=world.resident, name="只读", scopes=["read"])
    refused = bearer(read_only).post("/api/appeals", body, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"


# --- the per-process cache ----------------------------------------------------------------------------------------


def _token_queries(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if "accounts_apitoken" in q["sql"]]


def test_a_token_is_looked_up_once_per_few_seconds(street_a_staff, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.YISHI_TOKEN_CACHE_SECONDS = 5
    token, secret = token_create(actor=street_a_staff, user=street_a_staff, name="t", scopes=["read"])
    client = bearer(secret)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert client.get("/api/me").status_code == 200
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/me").status_code == 200
        assert _token_queries(ctx) == []
        # Revoked by another process (no signal here): refused once the few seconds are over.
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
        clock.shift(timedelta(seconds=6))
        assert client.get("/api/me").status_code == 401


def test_a_revocation_or_deactivation_in_this_process_takes_effect_at_once(street_a_staff, settings):
    settings.YISHI_TOKEN_CACHE_SECONDS = 60
    token, secret = token_create(actor=street_a_staff, user=street_a_staff, name="t", scopes=["read"])
    assert bearer(secret).get("/api/me").status_code == 200
    token_revoke(actor=street_a_staff, token=token)
    assert bearer(secret).get("/api/me").status_code == 401
    _, secret = token_create(actor=street_a_staff, user=street_a_staff, name="u", scopes=["read"])
    assert bearer(secret).get("/api/me").status_code == 200
    street_a_staff.is_active = False
    street_a_staff.save(update_fields=["is_active"])
    assert bearer(secret).get("/api/me").status_code == 401
    # An expiry is checked on every use, cached or not.
    street_a_staff.is_active = True
    street_a_staff.save(update_fields=["is_active"])
    _, secret = token_create(actor=street_a_staff, user=street_a_staff, name="v", scopes=["read"],
                                 expires_at=timezone.now() + timedelta(seconds=30))
    assert bearer(secret).get("/api/me").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        assert bearer(secret).get("/api/me").status_code == 401

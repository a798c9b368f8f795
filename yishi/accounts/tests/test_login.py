"""Signing in: staff with a password (locked after repeated failures), residents with a phone code."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from yishi.accounts.models import User
from yishi.core.testing import make_user
from yishi.notifications import sms

PASSWORD = "pw-Yishi-2026"


@pytest.fixture
def staff(tree):
    return make_user("street_staff", tree.street_a, username="wang", password=PASSWORD)


def _logged_in_user(client: Client) -> User | None:
    from django.contrib.auth import get_user

    user = get_user(client)
    return user if user.is_authenticated else None


# --- staff ------------------------------------------------------------------------------------------------------

def test_staff_login_page_renders_accessible_form(client, db):
    html = client.get("/accounts/login/").content.decode()
    assert '<label for="id_username">' in html and '<label for="id_password">' in html
    assert 'autocomplete="current-password"' in html


def test_staff_login_succeeds_and_follows_next(client, staff):
    response = client.post("/accounts/login/?next=/orgs/units/", {"username": "wang", "password": PASSWORD, "next": "/orgs/units/"})
    assert response.status_code == 302 and response["Location"] == "/orgs/units/"
    assert _logged_in_user(client) == staff


def test_staff_login_ignores_offsite_next(client, staff):
    response = client.post("/accounts/login/", {"username": "wang", "password": PASSWORD, "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_wrong_password_shows_an_error(client, staff):
    response = client.post("/accounts/login/", {"username": "wang", "password": "wrong"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html
    assert _logged_in_user(client) is None


def test_missing_field_is_marked_invalid(client, db):
    html = client.post("/accounts/login/", {"username": "", "password": "x"}).content.decode()
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_username_error"' in html and 'id="id_username_error"' in html


def test_staff_login_locks_after_repeated_failures(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "wang", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "wang", "password": PASSWORD})
    assert response.status_code == 429
    assert "暂时无法登录" in response.content.decode()
    assert _logged_in_user(client) is None


def test_lockout_is_per_username(client, staff, tree, settings):
    make_user("street_staff", tree.street_a, username="zhao", password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "wang", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "zhao", "password": PASSWORD})
    assert response.status_code == 302


def test_logout_needs_post(client, staff):
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and _logged_in_user(client) is None


# --- residents ------------------------------------------------------------------------------------------------------

def _request_code(client: Client, phone: str, capture, path: str = "/accounts/phone-login/") -> tuple[str, str]:
    with capture(execute=True):
        response = client.post(path, {"phone": phone})
    assert response.status_code == 200
    return response.content.decode(), code_sent_to(phone.replace(" ", ""))


def code_sent_to(phone: str) -> str:
    """The code in the newest SMS to ``phone`` (the SMS record masks it; the logging gateway's outbox has it)."""
    text = next(text for to, text in reversed(sms.outbox) if to == phone)
    return re.search(r"验证码是 (\d{6})", text).group(1)


def test_phone_login_first_step_renders(client, db):
    html = client.get("/accounts/phone-login/").content.decode()
    assert '<label for="id_phone">' in html and 'inputmode="tel"' in html and "获取验证码" in html


def test_resident_signs_in_with_phone_code_end_to_end(client, tree, django_capture_on_commit_callbacks):
    html, code = _request_code(client, "139 0000 1111", django_capture_on_commit_callbacks)
    assert "验证码已发送" in html and 'name="code"' in html and 'value="13900001111"' in html
    assert 'autocomplete="one-time-code"' in html
    assert code not in html  # not shown outside demo mode
    response = client.post("/accounts/phone-login/", {"phone": "13900001111", "code": code})
    assert response.status_code == 302 and response["Location"] == "/"
    user = _logged_in_user(client)
    assert user is not None and user.phone == "13900001111" and not user.has_usable_password()
    assert "居民1111" in client.get("/").content.decode()


def test_existing_resident_gets_their_account(client, resident, django_capture_on_commit_callbacks):
    _, code = _request_code(client, resident.phone, django_capture_on_commit_callbacks)
    client.post("/accounts/phone-login/?next=/notifications/", {"phone": resident.phone, "code": code})
    assert _logged_in_user(client) == resident


def test_phone_login_follows_only_local_next(client, resident, django_capture_on_commit_callbacks):
    _, code = _request_code(client, resident.phone, django_capture_on_commit_callbacks, "/accounts/phone-login/?next=/notifications/")
    response = client.post("/accounts/phone-login/?next=/notifications/", {"phone": resident.phone, "code": code})
    assert response["Location"] == "/notifications/"
    client.post("/accounts/logout/")
    _, code = _request_code(client, resident.phone, django_capture_on_commit_callbacks)
    response = client.post("/accounts/phone-login/?next=//evil.example/", {"phone": resident.phone, "code": code})
    assert response["Location"] == "/"


def test_wrong_code_is_refused(client, tree, django_capture_on_commit_callbacks):
    _, code = _request_code(client, "13900002222", django_capture_on_commit_callbacks)
    wrong = "000000" if code != "000000" else "111111"
    response = client.post("/accounts/phone-login/", {"phone": "13900002222", "code": wrong})
    assert response.status_code == 200
    html = response.content.decode()
    assert "验证码错误或已过期" in html and 'aria-invalid="true"' in html
    assert _logged_in_user(client) is None


def test_invalid_phone_is_refused(client, db):
    response = client.post("/accounts/phone-login/", {"phone": "12345"})
    html = response.content.decode()
    assert "请输入11位手机号码" in html and 'name="code"' not in html


def test_wrong_codes_lock_only_that_phone(client, tree, settings, django_capture_on_commit_callbacks):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/phone-login/", {"phone": "13900004444", "code": "999999"})
    # Another resident behind the same IP address is not affected…
    _, code = _request_code(client, "13900005555", django_capture_on_commit_callbacks)
    assert client.post("/accounts/phone-login/", {"phone": "13900005555", "code": code}).status_code == 302
    client.post("/accounts/logout/")
    # …while the phone that failed is locked even with the right code.
    _, code = _request_code(client, "139 0000 4444", django_capture_on_commit_callbacks)
    response = client.post("/accounts/phone-login/", {"phone": "13900004444", "code": code})
    assert response.status_code == 429 and _logged_in_user(client) is None


def test_demo_mode_shows_the_code(client, db, settings):
    settings.YISHI_DEMO = True
    html = client.post("/accounts/phone-login/", {"phone": "13900003333"}).content.decode()
    match = re.search(r'<strong class="code">(\d{6})</strong>', html)
    assert match is not None
    response = client.post("/accounts/phone-login/", {"phone": "13900003333", "code": match.group(1)})
    assert response.status_code == 302

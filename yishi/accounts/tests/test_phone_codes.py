"""Sign-in by SMS code: hashing, lifetime, attempts, the hourly limit of the policy profile, first sign-in."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client, override_settings

from yishi.accounts.models import PhoneCode, User
from yishi.accounts.services import phone_code_send, phone_code_verify
from yishi.audit.services import events_for
from yishi.core.errors import InvalidInput, RateLimited
from yishi.notifications.models import SmsMessage
from yishi.notifications.sms import outbox
from yishi.policy.services import default_profile, profile_update

PHONE = "13912345678"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def set_policy(**values):
    profile = default_profile()
    params = {**profile.params, **{f"accounts.{k}": v for k, v in values.items()}}
    profile_update(actor=None, profile=profile, params=params)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_code_is_sent_after_commit_and_stored_hashed(db, clock, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        row = phone_code_send(phone=PHONE)
        assert not SmsMessage.objects.exists()
    code = row.plain_code
    assert len(code) == 6 and code.isdigit()
    stored = PhoneCode.objects.get(pk=row.pk)
    assert code not in stored.code_hash and len(stored.code_hash) == 64
    assert stored.expires_at == T0 + timedelta(minutes=10)  # the default profile's lifetime
    sms = SmsMessage.objects.get()
    assert sms.phone == PHONE and sms.status == "sent"
    # The record of the SMS must not give the code away either; only the message itself carries it.
    assert code not in sms.text and "验证码" in sms.text
    assert outbox[-1] == (PHONE, f"【议事】您的登录验证码是 {code}，10 分钟内有效。")


def test_correct_code_signs_in_a_new_resident(db, clock):
    code = phone_code_send(phone=PHONE).plain_code
    user = phone_code_verify(phone=PHONE, code=code)
    assert user is not None and user.phone == PHONE
    assert not user.has_usable_password() and user.display_name == "居民5678"
    event = events_for(user).get(code="accounts.user.registered")
    assert event.after == {"phone": "139****5678"}
    # The code is used up; the next sign-in finds the same person.
    assert phone_code_verify(phone=PHONE, code=code) is None
    again = phone_code_verify(phone=PHONE, code=phone_code_send(phone=PHONE).plain_code)
    assert again == user and User.objects.filter(phone=PHONE).count() == 1


def test_existing_user_is_found_by_phone(resident, clock):
    code = phone_code_send(phone=resident.phone).plain_code
    assert phone_code_verify(phone=resident.phone, code=code) == resident


def test_phone_forms_are_normalised(db, clock):
    code = phone_code_send(phone="+86 139-1234-5678").plain_code
    assert phone_code_verify(phone=" 139 1234 5678", code=f" {code} ").phone == PHONE


@pytest.mark.parametrize("phone", ["", "12345", "23912345678", "139123456789", "1391234567a", "电话"])
def test_bad_phone_numbers(db, phone):
    with pytest.raises(InvalidInput) as info:
        phone_code_send(phone=phone)
    assert info.value.field == "phone"
    assert phone_code_verify(phone=phone, code="123456") is None


def test_code_expires(db, clock):
    code = phone_code_send(phone=PHONE).plain_code
    clock.shift(timedelta(minutes=10, seconds=1))
    assert phone_code_verify(phone=PHONE, code=code) is None


def test_code_valid_until_its_lifetime_from_the_profile(db, clock):
    set_policy(phone_code_ttl_minutes=3)
    code = phone_code_send(phone=PHONE).plain_code
    clock.shift(timedelta(minutes=2, seconds=59))
    assert phone_code_verify(phone=PHONE, code=code) is not None
    code = phone_code_send(phone=PHONE).plain_code
    clock.shift(timedelta(minutes=3))
    assert phone_code_verify(phone=PHONE, code=code) is None


def test_attempts_are_limited(db, clock):
    set_policy(phone_code_max_attempts=3)
    code = phone_code_send(phone=PHONE).plain_code
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):
        assert phone_code_verify(phone=PHONE, code=wrong) is None
    assert PhoneCode.objects.get().attempts == 3
    assert phone_code_verify(phone=PHONE, code=code) is None  # locked even with the right code
    # A new code starts over.
    assert phone_code_verify(phone=PHONE, code=phone_code_send(phone=PHONE).plain_code) is not None


def test_only_the_latest_code_counts(db, clock):
    first = phone_code_send(phone=PHONE).plain_code
    clock.shift(timedelta(seconds=30))
    second = phone_code_send(phone=PHONE).plain_code
    if first != second:
        assert phone_code_verify(phone=PHONE, code=first) is None
    assert phone_code_verify(phone=PHONE, code=second) is not None


def test_a_code_is_bound_to_its_phone(db, clock):
    code = phone_code_send(phone=PHONE).plain_code
    other = phone_code_send(phone="13700000000").plain_code
    if other != code:
        assert phone_code_verify(phone="13700000000", code=code) is None
    assert phone_code_verify(phone=PHONE, code=code) is not None


def test_hourly_limit_comes_from_the_policy_profile(db, clock):
    set_policy(phone_code_per_hour=2)
    phone_code_send(phone=PHONE)
    phone_code_send(phone=PHONE)
    with pytest.raises(RateLimited) as info:
        phone_code_send(phone=PHONE)
    assert info.value.field == "phone" and info.value.status == 429
    phone_code_send(phone="13700000000")  # per number
    clock.shift(timedelta(minutes=59))
    with pytest.raises(RateLimited):
        phone_code_send(phone=PHONE)
    clock.shift(timedelta(minutes=1, seconds=1))
    phone_code_send(phone=PHONE)


def test_sms_code_and_phone_login_endpoints(db, clock):
    client = Client()
    response = client.post("/api/auth/sms-code", {"phone": PHONE}, content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert body["sent"] is True and body["demo_code"] is None  # never revealed outside demo mode
    code = PhoneCode.objects.get()
    wrong = client.post("/api/auth/phone-login", {"phone": PHONE, "code": "000000"}, content_type="application/json")
    assert wrong.status_code == 400 and wrong.json()["field"] == "code"
    assert client.get("/api/me").status_code == 401
    # The plain code only exists in the SMS; read it back from a fresh send in demo mode.
    with override_settings(YISHI_DEMO=True):
        demo = client.post("/api/auth/sms-code", {"phone": PHONE}, content_type="application/json").json()
    assert demo["demo_code"] and PhoneCode.objects.exclude(pk=code.pk).exists()
    ok = client.post("/api/auth/phone-login", {"phone": PHONE, "code": demo["demo_code"]},
                     content_type="application/json")
    assert ok.status_code == 200 and ok.json()["phone"] == PHONE
    assert client.get("/api/me").json()["phone"] == PHONE


def test_sms_code_endpoint_rate_limit_answers_429(db, clock):
    set_policy(phone_code_per_hour=1)
    client = Client()
    client.post("/api/auth/sms-code", {"phone": PHONE}, content_type="application/json")
    response = client.post("/api/auth/sms-code", {"phone": PHONE}, content_type="application/json")
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited" and response.json()["field"] == "phone"

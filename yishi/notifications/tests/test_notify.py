"""notify(): in-app rows in the caller's transaction, e-mail and SMS only after the commit, preferences."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction
from django.test import override_settings

from yishi.core.testing import make_user
from yishi.notifications.models import Notification, SmsMessage
from yishi.notifications.services import notify, preference_set
from yishi.notifications.sms import SmsGateway, SmsResult, send_sms


class ExplodingGateway(SmsGateway):
    name = "exploding"

    def send(self, phone: str, text: str) -> SmsResult:
        raise ConnectionError("provider unreachable")


class RefusingGateway(SmsGateway):
    name = "refusing"

    def send(self, phone: str, text: str) -> SmsResult:
        return SmsResult(ok=False, error="blacklisted number")


def person(n: int, *, email: bool = True, phone: bool = True):
    user = make_user()
    user.email = f"p{n}@example.org" if email else ""
    user.phone = f"1390000{n:04d}" if phone else None
    user.save()
    return user


@pytest.fixture
def people(db):
    return [person(i) for i in range(3)]


def test_notify_writes_one_inbox_row_per_recipient(people):
    a, b, _c = people
    rows = notify(recipients=[a, b, a, None], kind="appeal.assigned", title="新工单", body="请签收", url="/a/1")
    assert len(rows) == 2 and all(r.pk for r in rows)
    assert set(Notification.objects.values_list("recipient_id", flat=True)) == {a.pk, b.pk}
    row = Notification.objects.get(recipient=a)
    assert (row.kind, row.title, row.body, row.url, row.read_at) == ("appeal.assigned", "新工单", "请签收", "/a/1", None)
    assert notify(recipients=[], kind="x", title="nobody") == []


def test_long_titles_are_cut_to_fit(people):
    notify(recipients=people[:1], kind="x", title="长" * 500, url="/" + "u" * 500)
    row = Notification.objects.get()
    assert len(row.title) == 200 and len(row.url) == 300


def test_email_is_sent_only_after_commit(people, django_capture_on_commit_callbacks):
    a, b, _c = people
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify(recipients=[a, b], kind="appeal.assigned", title="新工单", body="请签收", url="/a/1")
        assert mail.outbox == []
    assert len(callbacks) == 1
    assert sorted(m.to[0] for m in mail.outbox) == [a.email, b.email]
    assert mail.outbox[0].subject == "新工单" and "请签收" in mail.outbox[0].body and "/a/1" in mail.outbox[0].body
    assert Notification.objects.filter(emailed_at__isnull=False).count() == 2


def test_nothing_is_sent_or_kept_on_rollback(people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            notify(recipients=people, kind="appeal.assigned", title="新工单", sms=True)
            raise RuntimeError("the service failed after notifying")
    assert callbacks == [] and mail.outbox == []
    assert not Notification.objects.exists() and not SmsMessage.objects.exists()


def test_users_without_an_address_get_no_email(db, django_capture_on_commit_callbacks):
    silent = person(7, email=False)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify(recipients=[silent], kind="x", title="t")
    assert callbacks == [] and mail.outbox == []
    assert Notification.objects.filter(recipient=silent).exists()


def test_kind_preference_beats_the_catch_all(people, django_capture_on_commit_callbacks):
    a, b, c = people
    preference_set(user=a, kind="*", in_app=False, email=False, sms=False)
    preference_set(user=a, kind="appeal.assigned", in_app=True, email=True, sms=False)
    preference_set(user=b, kind="*", in_app=True, email=True, sms=False)
    preference_set(user=b, kind="appeal.assigned", in_app=False, email=False, sms=False)
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=people, kind="appeal.assigned", title="t1")
        notify(recipients=people, kind="digest.weekly", title="t2")
    inbox = set(Notification.objects.values_list("recipient_id", "title"))
    assert inbox == {(a.pk, "t1"), (c.pk, "t1"), (b.pk, "t2"), (c.pk, "t2")}
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == sorted(
        [(a.email, "t1"), (c.email, "t1"), (b.email, "t2"), (c.email, "t2")]
    )


def test_email_without_an_inbox_copy(people, django_capture_on_commit_callbacks):
    # Turning the inbox copy off must not silence the other channels the user asked for.
    a = people[0]
    preference_set(user=a, kind="*", in_app=False, email=True, sms=True)
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[a], kind="appeal.assigned", title="新工单", body="请签收", sms=True)
    assert not Notification.objects.exists()
    assert [m.to for m in mail.outbox] == [[a.email]] and mail.outbox[0].subject == "新工单"
    assert SmsMessage.objects.get().phone == a.phone


def test_sms_only_when_marked_and_accepted(people, django_capture_on_commit_callbacks):
    a, b, c = people
    preference_set(user=a, kind="*", in_app=True, email=False, sms=True)
    preference_set(user=b, kind="*", in_app=True, email=False, sms=False)
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[a, b, c], kind="appeal.overdue", title="工单即将超时")
    assert not SmsMessage.objects.exists()  # not marked worth a text
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[a, b, c], kind="appeal.overdue", title="工单已超时", sms=True)
    sms = SmsMessage.objects.get()  # c has no preference row: SMS is opt-in
    assert (sms.phone, sms.gateway, sms.status) == (a.phone, "logging", "sent")
    assert sms.text == "【议事】工单已超时" and sms.gateway_ref
    assert Notification.objects.get(recipient=a, title="工单已超时").texted_at is not None
    assert Notification.objects.get(recipient=b, title="工单已超时").texted_at is None


def test_send_sms_records_every_attempt(db):
    result = send_sms("13800138000", "你好")
    assert result.ok and result.ref
    row = SmsMessage.objects.get()
    assert (row.phone, row.text, row.status, row.gateway_ref) == ("13800138000", "你好", "sent", result.ref)


@pytest.mark.parametrize("gateway,error", [
    ("yishi.notifications.tests.test_notify.ExplodingGateway", "provider unreachable"),
    ("yishi.notifications.tests.test_notify.RefusingGateway", "blacklisted number"),
])
def test_a_failing_gateway_is_recorded_and_does_not_raise(people, django_capture_on_commit_callbacks, gateway, error):
    a = people[0]
    preference_set(user=a, kind="*", in_app=True, email=True, sms=True)
    with override_settings(YISHI_SMS_GATEWAY=gateway):
        result = send_sms("13800138000", "你好")
        assert not result.ok and result.error == error
        with django_capture_on_commit_callbacks(execute=True):
            notify(recipients=[a], kind="x", title="t", sms=True)
    assert list(SmsMessage.objects.values_list("status", "gateway_ref")) == [("failed", error)] * 2
    note = Notification.objects.get()
    assert note.texted_at is None and note.emailed_at is not None  # e-mail still went out
    assert len(mail.outbox) == 1

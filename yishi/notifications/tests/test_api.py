"""The notifications API touches only the caller's own notifications."""

from __future__ import annotations

import pytest
from django.test import Client

from yishi.core.testing import make_user
from yishi.notifications.models import Notification, NotificationPreference
from yishi.notifications.services import notify


@pytest.fixture
def two_inboxes(db):
    mine, theirs = make_user(), make_user()
    notify(recipients=[mine], kind="a", title="m1")
    notify(recipients=[mine], kind="a", title="m2")
    notify(recipients=[theirs], kind="a", title="t1")
    return mine, theirs


def test_list_shows_only_my_notifications(two_inboxes, make_client):
    mine, _theirs = two_inboxes
    body = make_client(mine).get("/api/notifications").json()
    assert {n["title"] for n in body["items"]} == {"m1", "m2"}
    assert (body["count"], body["page"], body["pages"]) == (2, 1, 1)


def test_read_one(two_inboxes, make_client):
    mine, _theirs = two_inboxes
    client = make_client(mine)
    note = Notification.objects.get(title="m1")
    response = client.post(f"/api/notifications/{note.pk}/read")
    assert response.status_code == 200 and response.json() == {"marked": 1}
    assert Notification.objects.get(pk=note.pk).read_at is not None
    assert client.post(f"/api/notifications/{note.pk}/read").json() == {"marked": 0}  # already read
    unread = client.get("/api/notifications?unread=true").json()
    assert [n["title"] for n in unread["items"]] == ["m2"]


def test_someone_elses_notification_does_not_exist(two_inboxes, make_client):
    mine, _theirs = two_inboxes
    other = Notification.objects.get(title="t1")
    for target in (other.pk, 999_999):
        response = make_client(mine).post(f"/api/notifications/{target}/read")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert Notification.objects.get(pk=other.pk).read_at is None


def test_read_all_marks_only_mine(two_inboxes, make_client):
    mine, _theirs = two_inboxes
    assert make_client(mine).post("/api/notifications/read-all").json() == {"marked": 2}
    assert not Notification.objects.filter(recipient=mine, read_at__isnull=True).exists()
    assert Notification.objects.get(title="t1").read_at is None


def test_set_preference(db, make_client):
    user = make_user()
    client = make_client(user)
    body = {"kind": "appeal.assigned", "in_app": True, "email": False, "sms": True}
    response = client.put("/api/notification-preferences", body, content_type="application/json")
    assert response.status_code == 200 and response.json() == body
    pref = NotificationPreference.objects.get(user=user)
    assert (pref.kind, pref.in_app, pref.email, pref.sms) == ("appeal.assigned", True, False, True)
    client.put("/api/notification-preferences", {**body, "sms": False}, content_type="application/json")
    assert NotificationPreference.objects.get(user=user).sms is False


@pytest.mark.parametrize("body,field", [
    ({"kind": "k" * 81}, "kind"),
    ({"kind": "x", "email": "sometimes"}, "email"),
    ({"kind": ["x"]}, "kind"),
])
def test_bad_preference_names_the_field(db, make_client, body, field):
    response = make_client(make_user()).put("/api/notification-preferences", body, content_type="application/json")
    assert response.status_code == 422 and response.json()["field"] == field
    assert not NotificationPreference.objects.exists()


@pytest.mark.parametrize("method,url", [
    ("get", "/api/notifications"),
    ("post", "/api/notifications/1/read"),
    ("post", "/api/notifications/read-all"),
    ("put", "/api/notification-preferences"),
])
def test_anonymous_gets_401(db, method, url):
    response = getattr(Client(), method)(url, content_type="application/json")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"

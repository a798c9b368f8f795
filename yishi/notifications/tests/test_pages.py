"""The inbox page: own messages only, mark one read (plain POST or HTMX), mark all read."""

from __future__ import annotations

import pytest

from yishi.notifications.models import Notification
from yishi.notifications.services import notify


@pytest.fixture
def messages_for(tree, street_a_staff, street_b_staff):
    mine = notify(recipients=[street_a_staff], kind="test", title="请处理直冲社区的诉求", body="第一行\n第二行", url="/orgs/units/")
    notify(recipients=[street_a_staff], kind="test", title="第二条", url="javascript:alert(1)")
    theirs = notify(recipients=[street_b_staff], kind="test", title="礼乐街道的消息")
    return mine[0], theirs[0]


def test_inbox_needs_login(client, db):
    response = client.get("/notifications/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_inbox_lists_only_own_notifications(messages_for, street_a_staff, make_client):
    html = make_client(street_a_staff).get("/notifications/").content.decode()
    assert "请处理直冲社区的诉求" in html and "第二条" in html
    assert "礼乐街道的消息" not in html
    assert "第一行<br>第二行" in html
    assert 'href="/orgs/units/"' in html
    assert "javascript:" not in html  # only site-relative links are rendered as links
    assert "全部标为已读" in html


def test_empty_inbox(tree, resident, make_client):
    html = make_client(resident).get("/notifications/").content.decode()
    assert "暂时没有消息" in html and "全部标为已读" not in html


def test_mark_one_read_with_a_plain_post(messages_for, street_a_staff, make_client):
    mine, _ = messages_for
    response = make_client(street_a_staff).post(f"/notifications/{mine.pk}/read/")
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert Notification.objects.filter(recipient=street_a_staff, read_at__isnull=True).count() == 1


def test_mark_one_read_with_htmx_returns_the_item_and_badge(messages_for, street_a_staff, make_client):
    mine, _ = messages_for
    response = make_client(street_a_staff).post(f"/notifications/{mine.pk}/read/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith(f'<li id="notification-{mine.pk}">')
    assert "标为已读" not in html
    assert '<span id="unread-badge" hx-swap-oob="true">' in html and '<span aria-hidden="true">1</span>' in html


def test_cannot_mark_someone_elses_notification(messages_for, street_a_staff, make_client):
    _, theirs = messages_for
    client = make_client(street_a_staff)
    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    assert client.post("/notifications/999999/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_requires_post(messages_for, street_a_staff, make_client):
    mine, _ = messages_for
    assert make_client(street_a_staff).get(f"/notifications/{mine.pk}/read/").status_code == 405


def test_mark_all_read(messages_for, street_a_staff, street_b_staff, make_client):
    client = make_client(street_a_staff)
    response = client.post("/notifications/read-all/", follow=True)
    assert "已将 2 条消息标为已读" in response.content.decode()
    assert not Notification.objects.filter(recipient=street_a_staff, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=street_b_staff, read_at__isnull=True).count() == 1

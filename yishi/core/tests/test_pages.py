"""The shared pages: home, language switch, error pages."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.views.defaults import permission_denied

from yishi.core.testing import make_user


def test_home_for_anonymous_offers_login_and_public_actions(client, db):
    html = client.get("/").content.decode()
    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main"' in html and "<header" in html and "<footer" in html and "<nav" in html
    assert "<h1>欢迎来到议事</h1>" in html
    assert 'href="/accounts/phone-login/"' in html and 'href="/accounts/login/"' in html
    assert "代表联络站与议事室" in html
    assert "组织架构" not in html  # staff-only action
    assert "消息通知" not in html


def test_home_for_staff_lists_their_actions(tree, street_a_staff, make_client):
    html = make_client(street_a_staff).get("/").content.decode()
    assert "street_a_staff，您好" in html
    assert 'href="/orgs/units/"' in html and "组织架构" in html
    assert 'href="/notifications/"' in html
    assert "退出" in html and "工作人员登录" not in html


def test_home_for_resident_hides_staff_actions(tree, resident, make_client):
    html = make_client(resident).get("/").content.decode()
    assert "消息通知" in html
    assert "组织架构" not in html


def test_demo_logins_only_in_demo_mode(db, client, settings):
    make_user(username="demo_street1")
    settings.YISHI_DEMO = False
    assert "demo_street1" not in client.get("/").content.decode()
    settings.YISHI_DEMO = True
    html = client.get("/").content.decode()
    assert "演示账号" in html and "demo_street1" in html


def test_unread_badge_counts_unread_notifications(tree, street_a_staff, make_client):
    from yishi.notifications.services import notify

    notify(recipients=[street_a_staff], kind="test", title="一")
    notify(recipients=[street_a_staff], kind="test", title="二")
    html = make_client(street_a_staff).get("/").content.decode()
    assert '<span id="unread-badge"> <span class="badge"><span aria-hidden="true">2</span>' in html


def test_language_switch_to_english_and_back(db):
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/orgs/stations/"})
    assert response.status_code == 302 and response["Location"] == "/orgs/stations/"
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Welcome to Yishi" in html and "Skip to content" in html
    assert "欢迎来到议事" not in html
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    html = client.get("/").content.decode()
    assert '<html lang="zh-Hans">' in html and "欢迎来到议事" in html


def test_language_switch_keeps_the_current_page(db, client):
    html = client.get("/orgs/stations/?kind=members_home").content.decode()
    assert '<input name="next" type="hidden" value="/orgs/stations/?kind=members_home">' in html


def test_404_page_is_friendly_and_reveals_nothing(db, client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "页面不存在" in html and '<main id="main"' in html


def test_403_page(db):
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    response = permission_denied(request, PermissionDenied())
    assert response.status_code == 403
    assert "没有权限" in response.content.decode()


def test_500_page_renders_without_request_or_database():
    html = render_to_string("500.html")
    assert "服务器出错了" in html and "/static/core/yishi.css" in html


@pytest.mark.parametrize("path", ["core/htmx.min.js", "core/echarts.min.js", "core/yishi.css"])
def test_static_assets_are_vendored(path):
    from django.contrib.staticfiles import finders

    found = finders.find(path)
    assert found is not None
    with open(found, "rb") as handle:
        assert len(handle.read(2048)) > 1000

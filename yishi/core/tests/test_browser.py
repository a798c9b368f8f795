"""Real-browser checks of the pages (Debian's chromium through Playwright): sign-in flows, the home page at phone and
desktop sizes, the language switch and the HTMX interactions. Screenshots land in test-artifacts/."""

from __future__ import annotations

import re

import pytest

from yishi.conftest_browser import DESKTOP, PHONE
from yishi.core.testing import build_tree, make_user

pytestmark = pytest.mark.browser

PASSWORD = "pw-Yishi-2026"


def _staff_login(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))  # the home page itself, not the login page (which also ends in /)


def _assert_landmarks(page) -> None:
    assert page.locator("header.site-header").count() == 1
    assert page.get_by_role("navigation", name="主导航").count() == 1
    assert page.locator("main#main").count() == 1
    assert page.get_by_role("contentinfo").count() == 1
    assert page.locator("h1").count() == 1


def _fits_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_staff_signs_in_and_sees_home(size, new_page, screenshot, live_server):
    tree = build_tree()
    make_user("street_staff", tree.street_a, username=f"staff_{size}", password=PASSWORD)
    page = new_page(viewport=PHONE if size == "phone" else DESKTOP)
    _staff_login(page, f"staff_{size}")

    _assert_landmarks(page)
    assert page.locator("h1").inner_text() == f"staff_{size}，您好"
    cards = page.locator(".cards .card a")
    assert cards.filter(has_text="组织架构").count() == 1
    assert cards.filter(has_text="消息通知").count() == 1
    for box in (cards.nth(i).bounding_box() for i in range(cards.count())):
        assert box is not None and box["height"] >= 44
    assert _fits_width(page)

    # The first Tab reaches the skip link, which becomes visible.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    skip_box = page.locator(".skip-link").bounding_box()
    assert skip_box is not None and skip_box["y"] >= 0
    page.evaluate("document.activeElement.blur()")
    screenshot(page, f"home-{size}")

    page.locator("#lang-select").select_option("en")
    page.get_by_role("button", name="切换").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == f"Hello, staff_{size}"
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Home").count() == 1
    assert page.locator(".cards .card a").filter(has_text="Organisation").count() == 1
    assert _fits_width(page)
    screenshot(page, f"home-{size}-en")


def test_resident_signs_in_with_a_phone_code(new_page, screenshot, live_server):
    from yishi.accounts.tests.test_login import code_sent_to

    build_tree()
    page = new_page(viewport=PHONE)
    page.goto("/")
    page.get_by_role("link", name="居民用手机号登录").click()
    page.get_by_label("手机号码").fill("13900009999")
    screenshot(page, "phone-login-step1")
    page.get_by_role("button", name="获取验证码").click()

    code_field = page.get_by_label("验证码")
    code_field.wait_for()
    code = code_sent_to("13900009999")
    assert _fits_width(page)
    code_field.fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="登录").click()
    assert page.locator(".field .errors").inner_text() == "验证码错误或已过期"
    assert page.get_by_label("验证码").get_attribute("aria-invalid") == "true"
    screenshot(page, "phone-login-step2-error")

    page.get_by_label("验证码").fill(code)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))  # the home page itself, not the login page (which also ends in /)
    assert page.locator("h1").inner_text() == "居民9999，您好"
    assert page.get_by_role("button", name="退出").count() == 1
    screenshot(page, "phone-login-done")


def test_station_finder_filters_in_place_with_htmx(new_page, screenshot, live_server):
    build_tree()
    page = new_page(viewport=PHONE)
    page.goto("/orgs/stations/")
    page.evaluate("window.__notReloaded = true")
    assert page.locator("#station-results li").count() == 2

    page.locator("#station-kind").select_option("members_home")
    page.wait_for_url(re.compile(r"kind=members_home"))
    page.locator("#station-results li").first.wait_for()
    page.wait_for_function("document.querySelectorAll('#station-results li').length === 1")
    assert page.locator("#station-results").inner_text().count("威东社区委员之家") == 1
    assert page.evaluate("window.__notReloaded === true")  # swapped in place, not a new page
    assert _fits_width(page)
    screenshot(page, "stations-phone-filtered")

    page.get_by_role("link", name="威东社区委员之家").click()
    assert page.locator("h1").inner_text() == "威东社区委员之家"
    assert page.get_by_text("威东路8号").count() == 1


def test_inbox_marks_one_read_in_place(new_page, screenshot, live_server):
    from yishi.notifications.services import notify

    tree = build_tree()
    user = make_user("street_staff", tree.street_a, username="inbox_user", password=PASSWORD)
    notify(recipients=[user], kind="test", title="第一条消息")
    notify(recipients=[user], kind="test", title="第二条消息")
    page = new_page(viewport=PHONE)
    _staff_login(page, "inbox_user")
    page.goto("/notifications/")
    page.evaluate("window.__notReloaded = true")
    assert page.locator("#unread-badge [aria-hidden]").inner_text() == "2"

    page.get_by_role("button", name=re.compile(r"^标为已读\s*：第一条消息$")).click()
    page.wait_for_function("document.querySelector('#unread-badge [aria-hidden]').textContent === '1'")
    item = page.locator("li", has_text="第一条消息")
    assert item.get_by_role("button").count() == 0
    assert page.evaluate("window.__notReloaded === true")
    screenshot(page, "inbox-phone")

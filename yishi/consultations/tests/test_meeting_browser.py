"""An online consultation in three real browsers (Debian's chromium through Playwright): the chair on a desktop and
two participants on phones. The chair opens a motion; 李明 asks for the floor in favour, gets it, sees his timer
count down and ends his speech; 王芳 speaks against; the chair opens the vote, both vote, the chair closes it, and
every page shows the result without a reload (HTMX polling). Screenshots: test-artifacts/meeting-*.png."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from yishi.conftest_browser import DESKTOP, PHONE
from yishi.consultations.meeting_testing import build_meeting_world, schedule
from yishi.consultations.models import FloorRequest, Vote
from yishi.core.testing import build_tree

pytestmark = pytest.mark.browser


def _sign_in(page, user, live_server) -> None:
    """Sign-in itself is tested in core; here the session is made directly."""
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])


def _settled(page) -> None:
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")


def _fits_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _seconds(text: str) -> int:
    minutes, seconds = re.fullmatch(r"(\d\d):(\d\d)", text.strip()).groups()
    return int(minutes) * 60 + int(seconds)


def test_chair_and_two_participants_speak_and_vote(new_page, screenshot, live_server):
    mw = build_meeting_world(build_tree(), voters=2)
    # The notice went out three days ago for a meeting that started an hour ago: the room can open now.
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=3), tick=True):
        meeting = schedule(mw, starts_at=now - timedelta(hours=1))
    li, wang = mw.voters
    room = f"/consultations/meetings/{meeting.pk}/"

    chair = new_page(viewport=DESKTOP)
    p1 = new_page(viewport=PHONE)
    p2 = new_page(viewport=PHONE)
    for page, user in ((chair, mw.chair), (p1, li), (p2, wang)):
        _sign_in(page, user, live_server)
        page.goto(room)
        assert page.locator("h1").inner_text() == "3号楼加装电梯"
    chair.on("dialog", lambda dialog: dialog.accept())

    # --- check-in and opening -------------------------------------------------------------------------------------
    for page in (p1, p2):
        page.get_by_role("button", name="签到").click()
        page.get_by_text("我已签到").wait_for()
    chair.get_by_text("已达法定人数").wait_for()  # the chair's page followed the check-ins by itself
    chair.get_by_role("button", name="宣布开会").click()
    chair.get_by_label("动议*").fill("同意在3号楼北侧加装电梯")
    chair.get_by_label("具体内容").fill("费用按楼层分摊，低层住户不出资。")
    chair.get_by_role("button", name="提出动议").click()
    chair.get_by_role("heading", name=re.compile("动议 1：同意在3号楼北侧加装电梯")).wait_for()

    # --- 李明 asks for the floor in favour, the chair grants it, the timer runs ----------------------------------
    p1.get_by_role("button", name="申请发言：赞成").click()
    p1.get_by_text("您已在发言队列中").wait_for()
    chair.get_by_role("button", name="准许 李明 发言").click()
    for page in (chair, p1, p2):
        page.locator("[data-testid=speaker]", has_text="李明").wait_for()
    timer = p1.locator("[data-testid=timer] .clock")
    first = _seconds(timer.inner_text())
    assert 110 <= first <= 120
    p1.wait_for_function(
        "s => { const t = document.querySelector('[data-testid=timer] .clock').textContent.split(':');"
        " return (+t[0]) * 60 + (+t[1]) < s; }", arg=first, timeout=15_000,
    )
    assert p2.locator("[data-testid=timer]").get_attribute("role") == "timer"
    p2.wait_for_function("document.getElementById('room-announcer').textContent.includes('李明 正在发言（赞成）')")
    screenshot(p1, "meeting-speaker-phone")
    screenshot(chair, "meeting-speaker-chair")

    # What 李明 types survives the room changing under him (王芳 joins the queue meanwhile).
    p1.get_by_label("我的发言要点（记入纪要）").fill("电梯井在北侧，对低层采光影响很小。")
    p2.get_by_role("button", name="申请发言：反对").click()
    p1.locator("[data-testid=queue]", has_text="王芳").wait_for()
    assert p1.get_by_label("我的发言要点（记入纪要）").input_value() == "电梯井在北侧，对低层采光影响很小。"
    p1.get_by_role("button", name="结束发言").click()
    p1.get_by_text("现在无人发言。").wait_for()

    # --- 王芳 speaks against ---------------------------------------------------------------------------------------
    chair.get_by_role("button", name="准许 王芳 发言").click()
    p2.get_by_label("我的发言要点（记入纪要）").fill("施工噪声和费用分摊还没有说清楚。")
    p2.get_by_role("button", name="结束发言").click()
    chair.locator(".speeches", has_text="施工噪声和费用分摊还没有说清楚。").wait_for()
    assert list(FloorRequest.objects.order_by("id").values_list("stance", "state")) == [("for", "done"), ("against", "done")]

    # --- the vote ---------------------------------------------------------------------------------------------------
    chair.get_by_role("button", name="开始表决").click()
    p1.get_by_role("button", name="投赞成票").click()
    p1.locator("[data-testid=my-vote]", has_text="您已表决：赞成").wait_for()
    p2.get_by_role("button", name="投反对票").click()
    p2.locator("[data-testid=my-vote]", has_text="您已表决：反对").wait_for()
    chair.locator("[data-testid=vote-status]", has_text="已投 2 票").wait_for()
    assert p1.get_by_role("button", name="投赞成票").count() == 0  # one vote each
    screenshot(p2, "meeting-voting-phone")
    chair.get_by_role("button", name="结束表决并计票").click()
    for page in (chair, p1, p2):
        result = page.locator("[data-testid=result-1]")
        result.wait_for()
        assert "未通过" in result.inner_text()
        assert re.search(r"赞成\s*1\s*反对\s*1\s*弃权\s*0", result.inner_text())
    assert sorted(Vote.objects.values_list("choice", flat=True)) == ["no", "yes"]
    for page in (p1, p2):
        assert _fits_width(page)
    screenshot(p1, "meeting-result-phone")
    screenshot(chair, "meeting-result-chair")

    # --- closing: the minutes say who said what ----------------------------------------------------------------------
    chair.get_by_role("button", name="结束会议").click()
    chair.get_by_role("link", name="查看纪要草稿").click()
    minutes = chair.locator("[data-testid=minutes]").inner_text()
    assert "李明【赞成】" in minutes and "电梯井在北侧，对低层采光影响很小。" in minutes
    assert "王芳【反对】" in minutes and "结果：未通过" in minutes and "结论：议而未决。" in minutes
    p2.get_by_text("会议已结束。").wait_for()
    screenshot(chair, "meeting-minutes")

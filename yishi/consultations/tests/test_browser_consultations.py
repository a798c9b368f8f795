"""The loop through the pages in a real browser: a resident proposes on a phone, the party organisation approves,
the organisers run each step with the HTMX forms of the topic page, a member researches and judges the result."""

from __future__ import annotations

import re
from typing import Any

import pytest

from yishi.conftest_browser import DESKTOP, PHONE
from yishi.consultations.models import Topic
from yishi.consultations.testing import build_consult_world
from yishi.core.testing import build_tree

pytestmark = pytest.mark.browser
PASSWORD = "pw-Yishi-2026"


def _login(page: Any, user: Any) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))  # the home page itself, not the login page (which also ends in /)


def _label(text: str) -> re.Pattern[str]:
    """A field's label, with or without its required mark."""
    return re.compile(rf"^{re.escape(text)}\s*\*?$")


def _settled(page: Any) -> None:
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")


def _act(page: Any, button: str, done: str, fill: dict[str, str] | None = None, select: dict[str, str] | None = None,
         check: str | None = None) -> None:
    """Open the form whose summary is ``button`` (or press the quick button), fill it, submit, wait for ``done``."""
    detail = page.locator("#topic-detail")
    details = detail.locator("details.action-item", has=page.locator("summary", has_text=button))
    scope = detail
    if details.count():
        scope = details.first
        if scope.get_attribute("open") is None:
            scope.locator("summary").click()
    for label, value in (fill or {}).items():
        scope.get_by_label(_label(label)).fill(value)
    for label, option in (select or {}).items():
        scope.get_by_label(_label(label)).select_option(label=option)
    if check:
        scope.get_by_label(check, exact=True).check()
    scope.get_by_role("button", name=re.compile(rf"^{re.escape(button)}")).first.click()  # "：<record>" may follow
    page.locator("#topic-detail .notice.ok", has_text=done).wait_for()
    _settled(page)


def test_the_loop_through_the_pages(new_page, screenshot, live_server):
    cw = build_consult_world(build_tree())

    # --- a resident proposes, on a phone ---------------------------------------------------------------------------
    resident = new_page(viewport=PHONE)
    _login(resident, cw.resident)
    resident.goto(f"/consultations/rooms/{cw.home.pk}/")
    resident.get_by_role("link", name="提出议题").click()
    resident.wait_for_url(re.compile(r"/propose/$"))
    resident.get_by_label(_label("议题")).fill("直冲路路灯一直不亮")
    resident.get_by_label(_label("说明")).fill("直冲路 3 号楼到菜市场一段路灯坏了一个多月，晚上很黑。")
    resident.get_by_role("button", name="提交议题").click()
    resident.wait_for_url(re.compile(r"/consultations/topics/\d+/$"))
    topic = Topic.objects.get(title="直冲路路灯一直不亮")
    assert topic.source == "residents" and topic.proposer_name == "王小明"
    assert resident.locator(".loop > li").count() == 8
    assert resident.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert resident.get_by_role("button", name=re.compile("附议")).count() == 0  # not one's own topic
    screenshot(resident, "consultations-topic-proposed-phone")

    # --- the party organisation approves ---------------------------------------------------------------------------
    party = new_page(viewport=DESKTOP)
    _login(party, cw.party_a1)
    party.goto(f"/consultations/topics/{topic.pk}/")
    _act(party, "审定通过", "审定通过", fill={"意见": "同意列入协商。"})
    assert party.locator(".badge.state").first.inner_text() == "已审定·确定参与主体"

    # --- the organisers: participants, research -----------------------------------------------------------------------
    staff = new_page(viewport=DESKTOP)
    _login(staff, cw.community_staff)
    staff.goto(f"/consultations/topics/{topic.pk}/")
    _act(staff, "邀请参与主体", "已邀请参与主体", select={"类别": "政协委员", "用户": f"{cw.member}（{cw.member.username}）"})
    _act(staff, "邀请参与主体", "已邀请参与主体", select={"类别": "居民代表", "用户": f"{cw.resident}（{cw.resident.username}）"})
    _act(staff, "开始商前调研", "开始商前调研")
    member = new_page(viewport=PHONE)
    _login(member, cw.member)
    member.goto(f"/consultations/topics/{topic.pk}/")
    # A refused form comes back in the panel with its errors (a 400 swapped in) and focus on the first field in error.
    research = member.locator("#topic-detail details.action-item", has=member.locator("summary", has_text="提交调研记录"))
    research.locator("summary").click()
    research.get_by_role("button", name=re.compile(r"^提交调研记录")).first.click()
    member.locator("#topic-detail .has-error").first.wait_for()
    _settled(member)
    assert member.evaluate("!!document.activeElement.closest('#topic-detail .has-error')")
    _act(member, "提交调研记录", "已提交调研记录", select={"类型": "实地走访"},
         fill={"标题": "夜间走访", "内容": "晚上八点走访，12 盏路灯不亮。"})
    party.goto(f"/consultations/topics/{topic.pk}/")
    _act(party, "审核通过", "调研记录已通过")

    # --- the meeting (held offline here), results, tasks, effects -------------------------------------------------------
    staff.goto(f"/consultations/topics/{topic.pk}/")
    _act(staff, "进入协商会议阶段（线下会议，事后录入结果）", "召集协商会议")
    _act(staff, "形成协商意见", "形成协商意见", fill={"说明": "与会各方一致同意尽快修复。"})
    _act(staff, "增加意见建议", "已加入意见建议清单", fill={"意见建议": "两周内修复直冲路路灯", "理由": "夜间出行安全"})
    _act(staff, "报送成果", "报送成果", select={"报送至": "直冲社区党委、政府"})
    _act(staff, "增加任务", "已加入工作责任清单", fill={"任务": "修复直冲路路灯", "时限（工作日）": "10"},
         select={"责任单位": cw.tree.unit_housing.name})
    _act(staff, "转化落实", "转化落实")
    task = topic.responsibilities.get()
    assert task.appeal is not None and staff.get_by_role("link", name=task.appeal.tracking_code).count() == 1
    _act(staff, "记录落实效果", "已记录落实效果", fill={"落实效果": "路灯已全部修复"})
    _act(staff, "评估质效", "评估质效")

    # --- judged and closed -------------------------------------------------------------------------------------------
    member.goto(f"/consultations/topics/{topic.pk}/")
    _act(member, "评价落实效果", "感谢您的评价", check="5 非常满意")
    staff.goto(f"/consultations/topics/{topic.pk}/")
    _act(staff, "闭环", "闭环", check="5 ★")
    assert staff.locator(".badge.state").first.inner_text() == "已闭环"
    assert staff.locator(".loop > li.done").count() == 8
    screenshot(staff, "consultations-topic-closed-desktop")
    topic.refresh_from_db()
    assert topic.state == "closed" and topic.final_rating == 5

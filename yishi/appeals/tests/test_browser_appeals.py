"""One appeal through real browsers (Debian's chromium through Playwright): a resident on a phone submits it and gets
a tracking code, the dispatcher dispatches it, the unit's liaison accepts and replies, the dispatcher approves the
reply, and the resident opens the callback link and rates it; the appeal ends 已办结. Screenshots: test-artifacts/."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client

from yishi.appeals.models import Appeal
from yishi.appeals.testing import build_world, submit
from yishi.conftest_browser import DESKTOP, PHONE
from yishi.core.testing import build_tree

pytestmark = pytest.mark.browser

PASSWORD = "pw-Yishi-2026"


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 60, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


def _sign_in(page, user, live_server) -> None:
    """Residents sign in with an SMS code (tested in core); here the session is made directly."""
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])


def _staff_login(page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))  # the home page itself, not the login page (which also ends in /)


def _settled(page) -> None:
    """Wait until HTMX has swapped and wired the new content: a change made before that would not be sent."""
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")


def _cascade(page, label: str, option: str, next_select: str, next_option: str) -> None:
    """Pick an option of a cascading select and wait for the select below to offer ``next_option``."""
    page.get_by_label(label).select_option(label=option)
    page.locator(f"{next_select} option", has_text=next_option).wait_for(state="attached")
    _settled(page)


def _fits_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _run_action(page, label: str) -> None:
    """Open the action's form (if it has one) in the actions panel, submit it, wait for the HTMX swap."""
    panel = page.locator("aside.detail-actions")
    details = panel.locator("details.action-item", has=page.locator("summary", has_text=label))
    if details.count():
        if details.first.get_attribute("open") is None:
            details.first.locator("summary").click()
        details.first.get_by_role("button", name=label).click()
    else:
        panel.get_by_role("button", name=label).click()
    page.locator("#appeal-detail .notice.ok", has_text=f"已完成：{label}").wait_for()


def test_an_appeal_from_phone_to_closed(new_page, screenshot, live_server):
    world = build_world(build_tree())

    # --- the resident, on a phone --------------------------------------------------------------------------------
    resident = new_page(viewport=PHONE)
    resident.context.grant_permissions(["geolocation"])
    resident.context.set_geolocation({"latitude": 22.58, "longitude": 113.12})
    _sign_in(resident, world.resident, live_server)
    resident.goto("/")
    resident.get_by_role("link", name=re.compile("我要反映诉求")).click()
    resident.wait_for_url(re.compile(r"/appeals/new/$"))
    assert resident.locator("h1").inner_text() == "反映诉求"

    resident.get_by_text("投诉", exact=True).click()
    _cascade(resident, "一级分类", "城乡建设", "#id_category_2", "住房保障")
    _cascade(resident, "二级分类", "住房保障", "#id_category_3", "老旧小区加装电梯")
    resident.get_by_label("三级分类").select_option(label="老旧小区加装电梯")
    resident.get_by_label("标题").fill("小区加装电梯半年没开工")
    text = "我们小区3号楼加装电梯去年就通过了业主表决，申请半年了还没有开工，请相关部门尽快推进。"
    resident.get_by_label("诉求内容").fill(text)
    assert resident.locator(".char-count").inner_text() == f"已输入 {len(text)} / 2000 字"
    _cascade(resident, "街道/镇", "外海街道", "#id_org_unit", "直冲社区")
    resident.get_by_label("社区/村").select_option(label="直冲社区")
    resident.get_by_label("详细地址").fill("直冲花园3号楼")
    resident.get_by_role("button", name="使用我的位置").click()
    resident.get_by_text("已获取位置：22.580000, 113.120000").wait_for()
    resident.get_by_label("照片").set_input_files([{"name": "lift.png", "mimeType": "image/png", "buffer": _png()}])
    assert _fits_width(resident)
    screenshot(resident, "appeals-submit-phone")
    resident.get_by_role("button", name="提交诉求").click()

    resident.wait_for_url(re.compile(r"/appeals/submitted/$"))
    code = resident.locator("#tracking-code").inner_text().strip()
    appeal = Appeal.objects.get()
    assert code == appeal.tracking_code and re.fullmatch(r"YS\d{6}[0-9A-Z]{6}", code)
    assert appeal.latitude == pytest.approx(22.58) and appeal.attachments.count() == 1
    box = resident.locator("#tracking-code strong").bounding_box()
    assert box is not None and box["height"] >= 44
    assert _fits_width(resident)
    screenshot(resident, "appeals-submitted-phone")

    # --- the dispatcher, at a desk -----------------------------------------------------------------------------------
    dispatcher = new_page(viewport=DESKTOP)
    _staff_login(dispatcher, world.dispatcher)
    dispatcher.get_by_role("link", name=re.compile("诉求工单")).click()
    # Change the filter only once the list page has loaded and HTMX has wired it: a change made earlier fires no
    # request (the page still works without HTMX through its 筛选 button; this test checks the live refresh).
    dispatcher.wait_for_url(re.compile(r"/appeals/$"))
    dispatcher.get_by_label("状态").select_option(label="已受理")
    dispatcher.wait_for_url(re.compile(r"state=received"))  # HTMX refreshed the results and pushed the URL
    dispatcher.locator("#appeal-results").get_by_role("link", name="小区加装电梯半年没开工").wait_for()
    screenshot(dispatcher, "appeals-list-desktop")
    dispatcher.locator("#appeal-results").get_by_role("link", name="小区加装电梯半年没开工").click()
    dispatcher.wait_for_url(re.compile(rf"/appeals/{appeal.pk}/$"))
    assert dispatcher.get_by_text("派单规则建议：区住房和城乡建设局").count() == 1
    _run_action(dispatcher, "派单")
    assert dispatcher.locator(".badge.state").first.inner_text() == "已派单"
    screenshot(dispatcher, "appeals-detail-dispatched-desktop")

    # --- the housing bureau's liaison, on a phone -------------------------------------------------------------------
    liaison = new_page(viewport=PHONE)
    _staff_login(liaison, world.housing_liaison)
    liaison.goto("/appeals/queue/")
    liaison.get_by_role("link", name="小区加装电梯半年没开工").click()
    _run_action(liaison, "签收")
    # A return without its basis is refused next to the field, in place.
    panel = liaison.locator("aside.detail-actions")
    panel.locator("summary", has_text="退单").click()
    panel.get_by_label("退单理由").fill("不属于本单位职责")
    panel.get_by_role("button", name="退单").click()
    error = liaison.locator("#id_request_return-basis_error")
    error.wait_for()
    assert "必填" in error.inner_text()
    # Focus moves to the field in error once the swap settles.
    liaison.wait_for_function("document.activeElement && document.activeElement.id === 'id_request_return-basis'")
    screenshot(liaison, "appeals-detail-error-phone")
    panel.locator("summary", has_text="提交答复").click()
    panel.get_by_label("答复内容").fill("已协调施工单位，本月 20 日进场施工，预计两个月完工。")
    _run_action(liaison, "提交答复")
    assert liaison.locator(".badge.state").first.inner_text() == "回复待审"
    assert _fits_width(liaison)
    screenshot(liaison, "appeals-detail-replied-phone")

    # --- the dispatcher approves the reply -----------------------------------------------------------------------------
    dispatcher.reload()
    _run_action(dispatcher, "审核通过答复")
    assert dispatcher.locator(".badge.state").first.inner_text() == "已答复待回访"

    # --- the resident rates it through the link in the notification ----------------------------------------------------
    resident.goto("/notifications/")
    resident.get_by_role("link", name=re.compile("诉求已答复")).click()
    resident.wait_for_url(re.compile(r"/appeals/callback/[^/]+/$"))
    assert "已协调施工单位" in resident.locator(".reply").first.inner_text()
    resident.get_by_role("group", name="问题是否解决").get_by_text("解决", exact=True).click()
    resident.get_by_role("group", name="对办理结果是否满意").get_by_text("满意", exact=True).click()
    resident.get_by_label("意见和建议").fill("办得很快，谢谢！")
    assert _fits_width(resident)
    screenshot(resident, "appeals-callback-phone")
    resident.get_by_role("button", name="提交评价").click()
    resident.get_by_text("感谢您的评价！").wait_for()
    assert resident.locator(".badge.state").first.inner_text() == "已办结"
    screenshot(resident, "appeals-callback-done-phone")

    resident.goto(f"/appeals/track/?code={code}")
    assert resident.locator(".badge.state").first.inner_text() == "已办结"
    steps = resident.locator("ol.timeline li .what").all_inner_texts()
    assert steps[0] == "诉求已受理" and "已答复，请您评价" in steps and steps[-1] == "已评价，诉求办结"
    assert str(world.dispatcher) not in resident.content()
    screenshot(resident, "appeals-track-phone")
    appeal.refresh_from_db()
    assert appeal.state == "closed" and appeal.resolution == "resolved" and appeal.satisfaction == "satisfied"

    # Their own list and page: the outcome, without staff names.
    resident.goto("/appeals/mine/")
    resident.get_by_role("link", name="小区加装电梯半年没开工").click()
    assert resident.locator(".badge.state").first.inner_text() == "已办结"
    assert str(world.housing_liaison) not in resident.content()
    assert _fits_width(resident)
    screenshot(resident, "appeals-detail-owner-phone")


def test_grid_worker_records_a_visit_on_a_phone(new_page, screenshot, live_server):
    world = build_world(build_tree())
    page = new_page(viewport=PHONE)
    _staff_login(page, world.grid_worker)
    page.get_by_role("link", name=re.compile("代群众录入诉求")).click()
    page.wait_for_url(re.compile(r"/appeals/enter/$"))
    assert page.get_by_label("网格走访").is_checked()
    assert page.get_by_label("社区/村").input_value() == str(world.tree.grid_a1.pk)
    page.get_by_text("求助", exact=True).click()
    _cascade(page, "一级分类", "水电气热", "#id_category_2", "供水")
    page.get_by_label("二级分类").select_option(label="供水")
    _settled(page)
    page.get_by_label("标题").fill("独居老人家中停水两天")
    page.get_by_label("诉求内容").fill("走访时发现直冲社区独居老人家中停水两天，老人行动不便，请供水公司尽快上门。")
    page.get_by_label("群众姓名").fill("陈大爷")
    page.get_by_label("群众手机号码").fill("13700137000")
    assert _fits_width(page)
    screenshot(page, "appeals-enter-phone")
    page.get_by_role("button", name="录入诉求").click()
    page.wait_for_url(re.compile(r"/appeals/submitted/$"))
    appeal = Appeal.objects.get()
    assert page.locator("#tracking-code").inner_text().strip() == appeal.tracking_code
    assert appeal.channel == "grid_visit" and appeal.org_unit == world.tree.grid_a1 and appeal.urgency == "utility"
    page.get_by_role("link", name="打开工单").click()
    assert page.locator("h1").inner_text() == "独居老人家中停水两天"


def test_public_board_on_a_phone_masks_and_filters_in_place(new_page, screenshot, live_server):
    world = build_world(build_tree())
    submit(world, title="3栋502室楼上漏水", text="我家3栋502室天花板漏水，联系电话13812345678，请物业尽快处理。", contact_name="王小明")
    submit(world, title="威东路路灯不亮", text="威东路东段路灯连续一周不亮，晚上出行不安全。", unit=world.tree.community_b1)
    page = new_page(viewport=PHONE)
    page.goto("/appeals/board/")
    content = page.content()
    assert "13812345678" not in content and "3栋502室" not in content and "王小明" not in content
    assert page.get_by_text("138****5678", exact=False).count() == 1
    _cascade(page, "街道/镇", "礼乐街道", "#id_community", "威东社区")
    page.wait_for_url(re.compile(r"street="))
    assert page.locator("#board-results").get_by_text("威东路路灯不亮").count() == 1
    assert page.locator("#board-results").get_by_text("漏水").count() == 0
    assert _fits_width(page)
    screenshot(page, "appeals-board-phone")

    from yishi.appeals.services import wish_submit
    from yishi.core.testing import make_user

    wish_submit(actor=world.resident, title="楼道装一盏感应灯", text="3栋楼道晚上太黑，老人上下楼不方便。", org_unit_id=world.tree.community_a1.pk, contact_name="李阿姨")
    deputy = make_user("deputy", world.tree.street_a, password=PASSWORD)
    page = new_page(viewport=PHONE)
    _staff_login(page, deputy)
    page.goto("/appeals/wishes/")
    page.get_by_role("button", name=re.compile("我来认领")).click()
    page.get_by_text("您已认领心愿").wait_for()
    assert page.get_by_role("link", name=re.compile("标记已实现")).count() == 1
    assert _fits_width(page)
    screenshot(page, "appeals-wishes-phone")

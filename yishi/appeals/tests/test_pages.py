"""The appeals pages: who sees what, forms that refuse bad input next to the field, masking, and the action panel."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from yishi.appeals import services
from yishi.appeals.choices import AppealState
from yishi.appeals.models import Appeal, MicroWish
from yishi.appeals.testing import submit
from yishi.appeals.views import ACTIONS
from yishi.appeals.workflow import appeal_workflow
from yishi.conftest import client_for
from yishi.core.testing import make_user

HX = {"HTTP_HX_REQUEST": "true"}


def html(response) -> str:
    return response.content.decode()


def form_data(world, **overrides):
    """A resident's submission as the browser posts it."""
    data = {
        "nature": "complaint",
        "category_1": world.cat_building.pk,
        "category_2": world.cat_lift.parent_id,
        "category_3": world.cat_lift.pk,
        "title": "小区加装电梯进展缓慢",
        "text": "我们小区加装电梯申请半年了还没有开工，请尽快推进。",
        "street": world.tree.street_a.pk,
        "org_unit": world.tree.community_a1.pk,
        "address": "直冲路 8 号",
        "consent_contact": "on",
        "contact_name": "王小明",
        "contact_phone": "13912345678",
        "idempotency_key": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def png(name: str = "photo.png") -> SimpleUploadedFile:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def to_replied(world, appeal):
    appeal = services.appeal_dispatch(actor=world.dispatcher, appeal=appeal)
    appeal = services.appeal_accept(actor=world.housing_liaison, appeal=appeal)
    appeal = services.appeal_submit_reply(actor=world.housing_liaison, appeal=appeal, text="已安排施工队进场，本月开工。")
    return services.appeal_approve_reply(actor=world.dispatcher, appeal=appeal)


# --- submitting ---------------------------------------------------------------------------------------------------

def test_submit_page_renders_for_anyone(world, client):
    page = html(client.get("/appeals/new/"))
    assert "<h1>反映诉求</h1>" in page
    assert 'name="category_1"' in page and "城乡建设" in page
    assert 'name="nature"' in page and "投诉" in page
    assert 'hx-get="/appeals/options/categories/"' in page
    assert 'data-locate' in page and 'name="latitude"' in page
    assert 'type="file" name="photos"' in page and "multiple" in page


def test_anonymous_submit_gives_a_tracking_code_and_a_masked_tracking_page(world, client):
    data = form_data(world, anonymous="on", contact_phone="", contact_name="",
                     text="我住3栋502室，电话13812345678，楼下夜市噪音太大，请处理。")
    response = client.post("/appeals/new/", data)
    assert response.status_code == 302 and response["Location"] == "/appeals/submitted/"
    appeal = Appeal.objects.get()
    assert appeal.anonymous and appeal.submitter is None and appeal.contact_phone == ""
    page = html(client.get("/appeals/submitted/"))
    assert f'<p class="tracking-code" id="tracking-code"><strong>{appeal.tracking_code}</strong></p>' in page
    assert f"/appeals/callback/{appeal.callback_token}/" in page  # no contact left: the link is the way back
    # The tracking page: masked, with the steps and no staff names.
    services.appeal_dispatch(actor=world.dispatcher, appeal=appeal)
    page = html(Client().get("/appeals/track/", {"code": appeal.tracking_code.lower()}))
    assert "已派给承办单位" in page and "区住房和城乡建设局" in page
    assert "13812345678" not in page and "3栋502室" not in page
    assert str(world.dispatcher) not in page


def test_tracking_with_an_unknown_code_says_so(db, client):
    page = html(client.get("/appeals/track/", {"code": "YS260101ABCDEF"}))
    assert "没有找到这个查询码对应的诉求" in page


def test_named_submit_without_sign_in_needs_a_phone(world, client):
    response = client.post("/appeals/new/", form_data(world, contact_phone=""))
    assert response.status_code == 400
    assert re.search(r'id="id_contact_phone_error".*实名反映请留下手机号码', html(response), re.S)
    assert not Appeal.objects.exists()


def test_anonymous_submit_refused_when_the_profile_forbids_it(world, client):
    from yishi.policy.models import PolicyProfile
    from yishi.policy.services import default_profile, profile_copy, profile_update

    strict = profile_copy(actor=None, source=default_profile(), code="strict", name="严格")
    profile_update(actor=None, profile=strict, params={**strict.params, "appeals.anonymous_submit": False})
    world.tree.district.policy_profile = PolicyProfile.objects.get(pk=strict.pk)
    world.tree.district.save(update_fields=["policy_profile"])
    response = client.post("/appeals/new/", form_data(world, anonymous="on"))
    assert response.status_code == 401
    assert "本地区需要登录后才能提交诉求" in html(response)
    assert not Appeal.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"text": "   "}, "text", "必填"),
        ({"text": "长" * 2001}, "text", "2000"),
        ({"category_1": 999999, "category_2": None, "category_3": None}, "category_1", "选择一个有效的选项"),
        ({"latitude": "39.9", "longitude": "116.4"}, "latitude", "坐标不在本辖区范围内"),
        ({"org_unit": ""}, "org_unit", "必填"),
    ],
)
def test_submit_errors_are_shown_next_to_the_field(world, client, overrides, field, message):
    response = client.post("/appeals/new/", form_data(world, **overrides))
    assert response.status_code == 400
    page = html(response)
    error = re.search(rf'id="id_{field}_error">(.*?)</ul>', page, re.S)
    assert error and message in error.group(1), page
    assert not Appeal.objects.exists()


def test_a_photo_that_is_not_an_image_is_refused(world, client):
    fake = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    response = client.post("/appeals/new/", {**form_data(world), "photos": [fake]})
    assert response.status_code == 400
    assert "不是有效的图片" in re.search(r'id="id_photos_error">(.*?)</ul>', html(response), re.S).group(1)


def test_resubmitting_the_same_form_creates_one_appeal(world, client):
    data = form_data(world, idempotency_key="k-123")
    client.post("/appeals/new/", data)
    client.post("/appeals/new/", data)
    assert Appeal.objects.count() == 1


def test_signed_in_resident_submits_with_photos_and_finds_it_in_my_appeals(world):
    resident = client_for(world.resident)
    response = resident.post("/appeals/new/", {**form_data(world, contact_phone=""), "photos": [png(), png("b.png")]})
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.submitter == world.resident and appeal.attachments.count() == 2
    assert "答复后会在“消息”中通知您" in html(resident.get("/appeals/submitted/"))
    page = html(resident.get("/appeals/mine/"))
    assert appeal.tracking_code in page and f'href="/appeals/{appeal.pk}/"' in page
    # The owner's view of the appeal: no staff names, no action forms.
    page = html(resident.get(f"/appeals/{appeal.pk}/"))
    assert "可办理的操作" not in page and "actions/dispatch" not in page and "诉求已受理" in page
    # Another resident cannot open it.
    assert client_for(make_user()).get(f"/appeals/{appeal.pk}/").status_code == 404


def test_category_cascade_returns_the_levels_below(world, client):
    response = client.get("/appeals/options/categories/", {"category_1": world.cat_building.pk, "changed": 1})
    page = html(response)
    assert page.lstrip().startswith('<div id="id_category_2-wrap"')
    assert "住房保障" in page
    assert '<div id="id_category_3-wrap" class="cascade" hx-swap-oob="true">' in page


def test_place_cascade_offers_the_street_communities(world, client):
    page = html(client.get("/appeals/options/places/", {"street": world.tree.street_a.pk}))
    assert "直冲社区" in page and "麻园社区" in page and "威东社区" not in page
    assert "第1网格" not in page  # residents pick a community


def test_cascade_without_javascript_redraws_the_form(world, client):
    response = client.post("/appeals/new/", {"refresh": "category", "category_1": world.cat_building.pk, "street": world.tree.street_a.pk})
    page = html(response)
    assert response.status_code == 200 and "住房保障" in page and "直冲社区" in page
    assert 'class="errors"' not in page


# --- staff entry ----------------------------------------------------------------------------------------------------

def test_grid_worker_enters_an_appeal_defaulting_to_their_grid(world):
    grid = client_for(world.grid_worker)
    page = html(grid.get("/appeals/enter/"))
    assert f'<option value="{world.tree.grid_a1.pk}" selected>' in page
    assert 'value="grid_visit"' in page and "checked" in page
    assert "麻园社区" not in page  # outside the grid worker's scope
    response = grid.post("/appeals/enter/", {**form_data(world, org_unit=world.tree.grid_a1.pk), "channel": "grid_visit"})
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.channel == "grid_visit" and appeal.entered_by == world.grid_worker and appeal.submitter is None
    assert appeal.org_unit == world.tree.grid_a1 and appeal.contact_phone == "13912345678"


def test_staff_entry_is_not_offered_to_residents(world):
    assert client_for(world.resident).get("/appeals/enter/").status_code == 404


# --- staff lists --------------------------------------------------------------------------------------------------

def test_list_filters_and_marks_deadlines_in_words(world):
    ok = services.appeal_dispatch(actor=world.dispatcher, appeal=submit(world, title="按时的诉求"))
    late = services.appeal_dispatch(actor=world.dispatcher, appeal=submit(world, title="超期的诉求"))
    Appeal.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(days=1))
    Appeal.objects.filter(pk=ok.pk).update(warn_at=timezone.now() - timedelta(hours=1), due_at=timezone.now() + timedelta(days=1))
    dispatcher = client_for(world.dispatcher)
    page = html(dispatcher.get("/appeals/"))
    assert "超期的诉求" in page and "按时的诉求" in page
    assert "已超期" in page and "临期" in page
    response = dispatcher.get("/appeals/", {"overdue": "on"}, **HX)
    page = html(response)
    assert "超期的诉求" in page and "按时的诉求" not in page
    assert "<html" not in page and 'hx-target="#appeal-results"' not in page  # the fragment only
    page = html(dispatcher.get("/appeals/", {"q": ok.tracking_code}))
    assert "按时的诉求" in page and "超期的诉求" not in page


def test_list_is_scoped_and_closed_to_residents(world):
    submit(world, title="外海的诉求")
    submit(world, title="礼乐的诉求", unit=world.tree.community_b1)
    page = html(client_for(world.street_a_staff).get("/appeals/"))
    assert "外海的诉求" in page and "礼乐的诉求" not in page
    assert client_for(world.resident).get("/appeals/").status_code == 404
    assert Client().get("/appeals/").status_code == 302  # to the sign-in page


def test_list_page_queries_do_not_grow_with_rows(world, django_assert_max_num_queries):
    for i in range(30):
        a = submit(world, title=f"诉求 {i}")
        if i % 2:
            services.appeal_dispatch(actor=world.dispatcher, appeal=a)
    dispatcher = client_for(world.dispatcher)
    with django_assert_max_num_queries(12):
        response = dispatcher.get("/appeals/")
    assert html(response).count('<a href="/appeals/') >= 30


def test_unit_queue_is_sorted_by_deadline(world):
    first = services.appeal_dispatch(actor=world.dispatcher, appeal=submit(world, title="较晚到期"))
    second = services.appeal_dispatch(actor=world.dispatcher, appeal=submit(world, title="最先到期"))
    Appeal.objects.filter(pk=second.pk).update(due_at=first.due_at - timedelta(days=2))
    submit(world, title="未派单的")
    page = html(client_for(world.housing_liaison).get("/appeals/queue/"))
    assert page.index("最先到期") < page.index("较晚到期") and "未派单的" not in page
    assert client_for(world.street_a_staff).get("/appeals/queue/").status_code == 404


# --- the appeal page ------------------------------------------------------------------------------------------------

def test_detail_shows_the_appeal_timeline_and_the_actions_of_the_user(world):
    appeal = submit(world, photos=[png()])
    page = html(client_for(world.dispatcher).get(f"/appeals/{appeal.pk}/"))
    assert appeal.title in page and "提交诉求" in page
    for verb in ("triage", "reject", "answer", "dispatch", "escalate", "merge", "mark_duplicate"):
        assert f"/appeals/{appeal.pk}/actions/{verb}/" in page
    assert "/actions/accept/" not in page
    photo = appeal.attachments.get()
    assert f"/appeals/{appeal.pk}/files/{photo.pk}/" in page
    response = client_for(world.dispatcher).get(f"/appeals/{appeal.pk}/files/{photo.pk}/")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert client_for(world.street_b_staff).get(f"/appeals/{appeal.pk}/files/{photo.pk}/").status_code == 404


def test_detail_outside_scope_is_404(world):
    appeal = submit(world)
    assert client_for(world.street_b_staff).get(f"/appeals/{appeal.pk}/").status_code == 404
    assert client_for(world.water_liaison).get(f"/appeals/{appeal.pk}/").status_code == 404
    assert client_for(world.street_a_staff).get(f"/appeals/{appeal.pk}/").status_code == 200
    assert client_for(world.dispatcher).get("/appeals/999999/").status_code == 404


def test_every_transition_has_an_action_form():
    assert set(ACTIONS) == set(appeal_workflow.transitions)


def test_dispatch_through_htmx_returns_the_refreshed_page_body(world):
    appeal = submit(world)
    response = client_for(world.dispatcher).post(
        f"/appeals/{appeal.pk}/actions/dispatch/", {"dispatch-lead_unit": "", "dispatch-note": "按规则派单"}, **HX,
    )
    assert response.status_code == 200
    page = html(response)
    assert page.startswith('<div id="appeal-detail"') and "已完成：派单" in page
    appeal.refresh_from_db()
    assert appeal.state == AppealState.DISPATCHED and appeal.lead_unit == world.tree.unit_housing
    # The dispatcher's timeline names who did it and against which deadline.
    assert str(world.dispatcher) in page and "办结时限" in page


def test_action_without_htmx_redirects_with_a_message(world):
    appeal = services.appeal_dispatch(actor=world.dispatcher, appeal=submit(world))
    liaison = client_for(world.housing_liaison)
    response = liaison.post(f"/appeals/{appeal.pk}/actions/accept/")
    assert response.status_code == 302 and response["Location"] == f"/appeals/{appeal.pk}/"
    assert "已完成：签收" in html(liaison.get(response["Location"]))
    appeal.refresh_from_db()
    assert appeal.state == AppealState.ACCEPTED


def test_action_errors_are_shown_next_to_the_field(world):
    appeal = submit(world)
    dispatcher = client_for(world.dispatcher)
    response = dispatcher.post(f"/appeals/{appeal.pk}/actions/reject/", {"reject-reason": ""}, **HX)
    assert response.status_code == 400
    page = html(response)
    assert re.search(r'id="id_reject-reason_error">.*必填', page, re.S)
    assert '<details class="action-item danger" open>' in page
    # A service refusal that names a field: the unit is not a known one.
    response = dispatcher.post(f"/appeals/{appeal.pk}/actions/merge/", {"merge-into": "YS000000XXXXXX"}, **HX)
    assert response.status_code == 400
    assert re.search(r'id="id_merge-into_error">.*找不到该查询码对应的诉求', html(response), re.S)
    # A state refusal (no field) is shown above the actions.
    services.appeal_dispatch(actor=world.dispatcher, appeal=appeal)
    response = dispatcher.post(f"/appeals/{appeal.pk}/actions/answer/", {"answer-text": "已答复"}, **HX)
    assert response.status_code == 409
    assert "当前状态下不能执行此操作" in html(response)
    appeal.refresh_from_db()
    assert appeal.state == AppealState.DISPATCHED


def test_action_of_someone_else_is_refused(world):
    appeal = submit(world)
    response = client_for(world.street_a_staff).post(f"/appeals/{appeal.pk}/actions/supervise/", {"supervise-note": "抓紧"}, **HX)
    assert response.status_code == 409  # street staff may supervise, but not an appeal not yet dispatched
    assert client_for(world.street_b_staff).post(f"/appeals/{appeal.pk}/actions/dispatch/").status_code == 404
    assert client_for(world.dispatcher).post(f"/appeals/{appeal.pk}/actions/nonsense/").status_code == 404
    on_grid = submit(world, unit=world.tree.grid_a1)  # the grid worker sees it but does not dispatch
    response = client_for(world.grid_worker).post(f"/appeals/{on_grid.pk}/actions/dispatch/", **HX)
    assert response.status_code == 403 and "您无权执行此操作" in html(response)


def test_extension_and_return_reviews_through_the_page(world):
    appeal = services.appeal_dispatch(actor=world.dispatcher, appeal=submit(world))
    liaison, dispatcher = client_for(world.housing_liaison), client_for(world.dispatcher)
    liaison.post(f"/appeals/{appeal.pk}/actions/accept/")
    response = liaison.post(f"/appeals/{appeal.pk}/actions/request_extension/", {"request_extension-working_days": "3", "request_extension-reason": "需要协调施工方"}, **HX)
    assert response.status_code == 200 and "/actions/request_extension/" not in html(response)  # one pending at a time
    page = html(dispatcher.get(f"/appeals/{appeal.pk}/"))
    assert "延期 3 个工作日" in page and "/actions/approve_extension/" in page
    old_due = Appeal.objects.get(pk=appeal.pk).due_at
    dispatcher.post(f"/appeals/{appeal.pk}/actions/approve_extension/", {"approve_extension-note": "同意"})
    assert Appeal.objects.get(pk=appeal.pk).due_at > old_due
    response = liaison.post(f"/appeals/{appeal.pk}/actions/request_return/", {"request_return-reason": "非本单位职责", "request_return-basis": ""}, **HX)
    assert response.status_code == 400 and re.search(r'id="id_request_return-basis_error">.*必填', html(response), re.S)
    liaison.post(f"/appeals/{appeal.pk}/actions/request_return/", {"request_return-reason": "非本单位职责", "request_return-basis": "三定方案"})
    response = dispatcher.post(f"/appeals/{appeal.pk}/actions/approve_return/", {"approve_return-lead_unit": world.tree.unit_housing.pk}, **HX)
    assert response.status_code == 400 and "改派单位不能是退单单位" in html(response)
    dispatcher.post(f"/appeals/{appeal.pk}/actions/approve_return/", {"approve_return-lead_unit": world.tree.unit_street_a.pk})
    appeal.refresh_from_db()
    assert appeal.state == AppealState.DISPATCHED and appeal.lead_unit == world.tree.unit_street_a


def test_reply_with_evidence_then_review(world):
    appeal = services.appeal_dispatch(actor=world.dispatcher, appeal=submit(world))
    liaison = client_for(world.housing_liaison)
    liaison.post(f"/appeals/{appeal.pk}/actions/accept/")
    response = liaison.post(f"/appeals/{appeal.pk}/actions/submit_reply/", {"submit_reply-text": "已开工", "submit_reply-photos": [png()]}, **HX)
    assert response.status_code == 200
    appeal.refresh_from_db()
    assert appeal.state == AppealState.REPLY_SUBMITTED and appeal.attachments.filter(purpose="reply").count() == 1
    client_for(world.dispatcher).post(f"/appeals/{appeal.pk}/actions/approve_reply/")
    appeal.refresh_from_db()
    assert appeal.state == AppealState.REPLIED


def test_possible_duplicates_are_listed_and_can_be_marked(world):
    first = submit(world, title="第一次反映")
    again = submit(world, title="再次反映")
    dispatcher = client_for(world.dispatcher)
    page = html(dispatcher.get(f"/appeals/{again.pk}/"))
    assert "可能的重复件" in page and first.tracking_code in page
    dispatcher.post(f"/appeals/{again.pk}/actions/mark_duplicate/", {"mark_duplicate-original": first.tracking_code})
    again.refresh_from_db()
    assert again.state == AppealState.DUPLICATE and again.duplicate_of == first


def test_overdue_appeal_detail_marks_it_in_words(world):
    appeal = services.appeal_dispatch(actor=world.dispatcher, appeal=submit(world))
    with time_machine.travel(appeal.due_at + timedelta(days=1), tick=False):
        page = html(client_for(world.dispatcher).get(f"/appeals/{appeal.pk}/"))
    assert '<span class="mark overdue"><span aria-hidden="true">●</span> 已超期</span>' in page


# --- callback and reopen by link --------------------------------------------------------------------------------

def test_callback_link_is_refused_before_the_reply(world, client):
    appeal = submit(world)
    url = f"/appeals/callback/{appeal.callback_token}/"
    page = html(client.get(url))
    assert "还没有答复，答复后才能评价" in page and 'name="resolution"' not in page
    response = client.post(url, {"resolution": "resolved", "satisfaction": "satisfied"})
    assert response.status_code == 409 and "还没有答复" in html(response)
    assert not appeal.callbacks.exists()
    assert client.get("/appeals/callback/not-a-token/").status_code == 404


def test_callback_link_works_once_replied_and_only_once(world, client):
    appeal = to_replied(world, submit(world))
    url = f"/appeals/callback/{appeal.callback_token}/"
    page = html(client.get(url))
    assert 'name="resolution"' in page and "部分解决" in page and "基本满意" in page and "未回答" not in page
    response = client.post(url, {"resolution": "", "satisfaction": "satisfied"})
    assert response.status_code == 400 and re.search(r'id="id_resolution_error"', html(response))
    response = client.post(url, {"resolution": "resolved", "satisfaction": "satisfied", "comment": "很快"})
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.state == AppealState.CLOSED and appeal.satisfaction == "satisfied"
    page = html(client.get(url))
    assert "感谢您的评价" in page and "已办结" in page and 'name="resolution"' not in page
    assert client.post(url, {"resolution": "unresolved", "satisfaction": "unsatisfied"}).status_code == 409
    assert appeal.callbacks.count() == 1


def test_unresolved_callback_then_reopen_request(world, client):
    appeal = to_replied(world, submit(world))
    url = f"/appeals/callback/{appeal.callback_token}/"
    client.post(url, {"resolution": "unresolved", "satisfaction": "unsatisfied"})
    page = html(client.get(url))
    assert "您已评价：未解决，不满意" in page and "申请重办" in page
    response = client.post(f"{url}reopen/", {"reason": ""})
    assert response.status_code == 400 and re.search(r'id="id_reason_error"', html(response))
    response = client.post(f"{url}reopen/", {"reason": "电梯仍未开工"})
    assert response.status_code == 302
    assert "您的重办申请已提交" in html(client.get(url))
    page = html(client_for(world.dispatcher).get(f"/appeals/{appeal.pk}/"))
    assert "群众申请重办" in page and "电梯仍未开工" in page and "/actions/reopen/" in page


def test_resident_finds_the_callback_link_on_my_appeals(world):
    appeal = to_replied(world, submit(world))
    page = html(client_for(world.resident).get("/appeals/mine/"))
    assert f"/appeals/callback/{appeal.callback_token}/" in page and "去评价" in page


# --- the public board -------------------------------------------------------------------------------------------

def test_public_board_masks_phones_and_house_numbers(world, client):
    submit(world, title="3栋502室漏水", text="我家3栋502室楼上漏水，联系电话13812345678，请物业处理。", contact_name="王小明")
    submit(world, title="礼乐的路灯坏了", unit=world.tree.community_b1)
    page = html(client.get("/appeals/board/"))
    assert "13812345678" not in page and "3栋502室" not in page and "王小明" not in page
    assert "138****5678" in page and "*栋***室" in page and "王**" in page
    page = html(client.get("/appeals/board/", {"street": world.tree.street_a.pk}))
    assert "漏水" in page and "礼乐的路灯" not in page
    # Changing the street through HTMX also redraws the community select, out of band.
    response = client.get("/appeals/board/", {"street": world.tree.street_b.pk, "community": world.tree.community_a1.pk}, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER_NAME="street")
    page = html(response)
    assert "礼乐的路灯" in page and "漏水" not in page
    assert 'hx-swap-oob="true"' in page and "威东社区" in page


def test_public_board_paginates(world, client):
    for i in range(25):
        submit(world, title=f"第{i}件")
    page = html(client.get("/appeals/board/"))
    assert "第 1 / 2 页" in page and 'rel="next"' in page


# --- wishes --------------------------------------------------------------------------------------------------------

def test_wish_posted_adopted_and_fulfilled(world, client):
    resident = client_for(world.resident)
    assert client.get("/appeals/wishes/new/").status_code == 302  # sign in first
    response = resident.post("/appeals/wishes/new/", {"title": "楼道装感应灯", "text": "3栋楼道太黑，老人晚上上下楼不便。", "street": world.tree.street_a.pk, "org_unit": world.tree.community_a1.pk, "contact_name": "李阿姨"})
    assert response.status_code == 302
    wish = MicroWish.objects.get()
    page = html(client.get("/appeals/wishes/"))
    assert "楼道装感应灯" in page and "李**" in page and "我来认领" not in page
    deputy = make_user("deputy", world.tree.street_a)
    deputy_client = client_for(deputy)
    assert "我来认领" in html(deputy_client.get("/appeals/wishes/"))
    assert deputy_client.post(f"/appeals/wishes/{wish.pk}/adopt/").status_code == 302
    wish.refresh_from_db()
    assert wish.state == "adopted" and wish.adopter == deputy
    response = deputy_client.post(f"/appeals/wishes/{wish.pk}/fulfil/", {"note": ""})
    assert response.status_code == 400
    deputy_client.post(f"/appeals/wishes/{wish.pk}/fulfil/", {"note": "已装好感应灯"})
    wish.refresh_from_db()
    assert wish.state == "fulfilled"
    assert "已装好感应灯" in html(client.get("/appeals/wishes/", {"state": "fulfilled"}))
    # Someone else cannot mark it.
    assert client_for(world.resident).get(f"/appeals/wishes/{wish.pk}/fulfil/").status_code == 404


def test_wish_adopt_refused_outside_the_area(world):
    wish = services.wish_submit(actor=world.resident, title="修路灯", text="路灯坏了", org_unit_id=world.tree.community_b1.pk)
    deputy = make_user("deputy", world.tree.street_a)
    response = client_for(deputy).post(f"/appeals/wishes/{wish.pk}/adopt/")
    assert response.status_code == 302
    wish.refresh_from_db()
    assert wish.state == "open"


# --- home -----------------------------------------------------------------------------------------------------------

def test_home_offers_appeals_by_role(world, client):
    page = html(client.get("/"))
    assert 'href="/appeals/new/"' in page and 'href="/appeals/track/"' in page and 'href="/appeals/board/"' in page
    assert 'href="/appeals/"' not in page
    page = html(client_for(world.dispatcher).get("/"))
    assert 'href="/appeals/"' in page and 'href="/appeals/enter/"' in page
    page = html(client_for(world.housing_liaison).get("/"))
    assert 'href="/appeals/queue/"' in page
    page = html(client_for(world.resident).get("/"))
    assert 'href="/appeals/mine/"' in page and 'href="/appeals/enter/"' not in page

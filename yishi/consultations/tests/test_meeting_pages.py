"""The meeting pages: calling a meeting, the online room with its polled state fragment, the forms (HTMX and plain),
and the minutes."""

from __future__ import annotations

from django.test import Client
from django.utils import timezone

from yishi.conftest import client_for
from yishi.consultations import meetings as svc
from yishi.consultations.meeting_testing import T0
from yishi.consultations.meeting_views import _version_key
from yishi.consultations.models import FloorRequest, Meeting, WrittenOpinion

HX = {"HTTP_HX_REQUEST": "true"}


def url(meeting, name: str = "", verb: str = "") -> str:
    base = f"/consultations/meetings/{meeting.pk}/"
    return base + (f"actions/{verb}/" if verb else name)


def test_the_room_is_open_to_those_who_follow_the_meeting(mw, opened):
    for user in (mw.chair, mw.voters[0], mw.resident, mw.staff):
        response = client_for(user).get(url(opened))
        assert response.status_code == 200
        assert b'id="room-state"' in response.content and "议程".encode() in response.content
    assert client_for(mw.outsider).get(url(opened)).status_code == 404
    assert Client().get(url(opened)).status_code == 302  # to sign in


def test_each_person_sees_their_own_buttons(mw, opened):
    svc.motion_open(actor=mw.chair, meeting=opened, title="北侧方案")
    chair = client_for(mw.chair).get(url(opened)).content.decode()
    voter = client_for(mw.voters[0]).get(url(opened)).content.decode()
    resident = client_for(mw.resident).get(url(opened)).content.decode()
    assert "开始表决" in chair and "申请发言：赞成" not in chair
    assert "申请发言：赞成" in voter and "开始表决" not in voter
    assert "申请发言：赞成" not in resident and "提交书面意见" in resident and "开始表决" not in resident


def test_the_state_fragment_is_empty_while_nothing_changed(mw, opened, django_assert_max_num_queries):
    client = client_for(mw.voters[0])
    key = _version_key(Meeting.objects.get(pk=opened.pk))
    with django_assert_max_num_queries(8):
        unchanged = client.get(url(opened, "state/"), {"v": key}, **HX)
    assert unchanged.status_code == 204 and unchanged.content == b""
    fresh = client.get(url(opened, "state/"), **HX)
    assert fresh.status_code == 200 and fresh.content.decode().lstrip().startswith("<section id=\"room-state\"")
    assert f"?v={key}" in fresh.content.decode()
    again = client.get(url(opened, "state/"), HTTP_IF_NONE_MATCH=fresh["ETag"], **HX)
    assert again.status_code == 304
    svc.motion_open(actor=mw.chair, meeting=opened, title="北侧方案")
    changed = client.get(url(opened, "state/"), {"v": key}, **HX)
    assert changed.status_code == 200 and "北侧方案" in changed.content.decode()
    signed_out = Client().get(url(opened, "state/"), {"v": key}, **HX)
    assert signed_out.status_code == 204 and signed_out["HX-Refresh"] == "true"
    assert client_for(mw.outsider).get(url(opened, "state/"), **HX).status_code == 404


def test_htmx_actions_answer_the_new_fragment(mw, opened):
    response = client_for(mw.chair).post(url(opened, verb="open_motion"), {"title": "北侧方案", "text": "费用分摊"}, **HX)
    assert response.status_code == 200 and "北侧方案" in response.content.decode()
    motion = opened.motions.get()
    response = client_for(mw.voters[0]).post(url(opened, verb="request_floor"), {"motion": motion.pk, "stance": "against"}, **HX)
    assert response.status_code == 200 and "您已在发言队列中" in response.content.decode()
    assert FloorRequest.objects.get().stance == "against"
    chair_view = client_for(mw.chair).get(url(opened)).content.decode()
    assert "准许 李明 发言" in chair_view


def test_refusals_come_back_in_the_fragment_with_their_status(mw, opened):
    response = client_for(mw.voters[0]).post(url(opened, verb="open_motion"), {"title": "我的动议"}, **HX)
    assert response.status_code == 403
    body = response.content.decode()
    assert 'role="alert"' in body and "只有本议事室的主持人可以执行此操作" in body
    svc.motion_open(actor=mw.chair, meeting=opened, title="北侧方案")
    motion = opened.motions.get()
    response = client_for(mw.voters[0]).post(url(opened, verb="request_floor"), {"motion": motion.pk}, **HX)
    assert response.status_code == 400 and "请先表明立场" in response.content.decode()
    response = client_for(mw.voters[0]).post(url(opened, verb="request_floor"), {"motion": "x", "stance": "for"}, **HX)
    assert response.status_code == 400
    assert client_for(mw.chair).post(url(opened, verb="no_such_verb"), **HX).status_code == 404
    assert client_for(mw.outsider).post(url(opened, verb="open_motion"), {"title": "x"}, **HX).status_code == 404
    assert client_for(mw.chair).get(url(opened, verb="open_motion")).status_code == 405


def test_plain_forms_redirect_back_with_a_message(mw, opened):
    client = client_for(mw.chair)
    response = client.post(url(opened, verb="open_motion"), {"title": "北侧方案"}, follow=True)
    assert response.redirect_chain[-1][0] == url(opened)
    assert "动议已提出" in response.content.decode()
    response = client.post(url(opened, verb="open_motion"), {"title": "第二项"}, follow=True)
    assert "一次只议一项动议" in response.content.decode()
    motion = opened.motions.get()
    client.post(url(opened, verb="withdraw_motion"), {"motion": motion.pk})
    response = client.post(url(opened, verb="close"))
    assert response.status_code == 302 and response["Location"] == url(opened, "minutes/")


def test_written_opinions_from_the_room(mw, scheduled):
    client = client_for(mw.resident)
    response = client.post(url(scheduled, verb="write_opinion"), {"text": "  "}, **HX)
    assert response.status_code == 400 and 'aria-invalid="true"' in response.content.decode()
    response = client.post(url(scheduled, verb="write_opinion"), {"text": "请保障老人出行"}, **HX)
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<section id="opinion-box"')
    assert "书面意见已提交" in body and "请保障老人出行" in body
    assert WrittenOpinion.objects.get().author_id == mw.resident.pk


def test_minutes_page_shows_the_draft_and_lets_the_chair_approve(mw, opened):
    svc.meeting_close(actor=mw.chair, meeting=opened)
    page = client_for(mw.voters[0]).get(url(opened, "minutes/")).content.decode()
    assert "草稿" in page and "《3号楼加装电梯》协商会议纪要" in page and "审定纪要" not in page
    chair = client_for(mw.chair)
    assert "审定纪要" in chair.get(url(opened, "minutes/")).content.decode()
    response = chair.post(url(opened, verb="approve_minutes"), {"text": "纪要全文（修改后）"})
    assert response.status_code == 302 and response["Location"] == url(opened, "minutes/")
    page = client_for(mw.resident).get(url(opened, "minutes/")).content.decode()
    assert "已审定" in page and "纪要全文（修改后）" in page
    assert client_for(mw.outsider).get(url(opened, "minutes/")).status_code == 404


def test_staff_call_a_meeting_from_the_page(mw, time_machine):
    time_machine.move_to(T0, tick=False)
    page = f"/consultations/meetings/new/{mw.topic.pk}/"
    staff = client_for(mw.staff)
    assert staff.get(page).status_code == 200
    for user in (mw.chair, mw.voters[0], mw.outsider_staff):
        assert client_for(user).get(page).status_code == 404
    too_soon = staff.post(page, {"mode": "online", "starts_at": "2026-03-03T19:00", "agenda": "议程"})
    assert too_soon.status_code == 400 and "会议须至少提前 2 天通知" in too_soon.content.decode()
    no_place = staff.post(page, {"mode": "in_person", "starts_at": "2026-03-04T19:00", "agenda": "议程"})
    assert no_place.status_code == 400 and "请填写地点" in no_place.content.decode()
    response = staff.post(page, {"mode": "online", "starts_at": "2026-03-04T19:00", "agenda": "议程"})
    meeting = Meeting.objects.get()
    assert response.status_code == 302 and response["Location"] == url(meeting)
    assert timezone.localtime(meeting.starts_at).strftime("%Y-%m-%d %H:%M") == "2026-03-04 19:00"

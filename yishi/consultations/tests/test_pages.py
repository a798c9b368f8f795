"""The consultation pages: the topic page with its 8 steps, panel and forms for what the user may do now; actions
posted with and without HTMX; residents proposing and supporting; lists, supervisors' page; outside scope = 404."""

from __future__ import annotations

import json
import re

from django.test import Client

from yishi.conftest import client_for
from yishi.consultations import services
from yishi.consultations.choices import TopicState as S
from yishi.consultations.models import Topic
from yishi.consultations.testing import drive_topic, fresh
from yishi.core.testing import make_user

HX = {"HTTP_HX_REQUEST": "true"}


def html(response) -> str:
    return response.content.decode()


def page(user, url: str) -> str:
    response = client_for(user).get(url)
    assert response.status_code == 200, (url, response.status_code)
    return html(response)


def test_the_topic_page_shows_the_eight_steps_with_artefacts_or_what_is_missing(cw):
    topic = drive_topic(cw, S.RESEARCHING)
    text = page(cw.community_staff, f"/consultations/topics/{topic.pk}/")
    steps = re.findall(r'<li class="(done|current|failed|todo)"', text)
    assert steps == ["done", "done", "done", "current", "todo", "todo", "todo", "todo"]
    for name in ["搭建平台", "确定议题", "明确主体", "商前调研", "开展协商", "报送成果", "转化落实", "评估质效"]:
        assert name in text
    assert "不调研不协商：至少需要 1 份已通过的调研记录（已通过 0 份）" in text
    assert "3 个参与主体" in text and "缺" in text  # the representativeness panel
    assert 'aria-current="step"' in text


def test_failed_steps_and_failure_badges(cw):
    topic = drive_topic(cw, S.NO_DECISION)
    text = page(cw.community_staff, f"/consultations/topics/{topic.pk}/")
    assert re.findall(r'<li class="(done|current|failed|todo)"', text)[4] == "failed"
    assert "议而不决" in text and "失效预警" in text
    listing = page(cw.community_staff, "/consultations/")
    assert topic.title in listing and "议而不决" in listing
    declined = drive_topic(cw, S.DECLINED)
    assert "未通过审定：不属于本级协商事项" in page(cw.community_staff, f"/consultations/topics/{declined.pk}/")


def test_forms_only_for_what_the_user_may_do_now(cw):
    topic = drive_topic(cw, S.PROPOSED)
    url = f"/consultations/topics/{topic.pk}/"
    party = page(cw.party_a1, url)
    assert f'action="/consultations/topics/{topic.pk}/actions/approve/"' in party
    assert f'action="/consultations/topics/{topic.pk}/actions/decline/"' in party
    staff = page(cw.community_staff, url)
    assert "/actions/approve/" not in staff and "当前没有需要您办理的操作" in staff
    resident = page(cw.resident, url)
    assert f'action="/consultations/topics/{topic.pk}/actions/support/"' in resident and "/actions/approve/" not in resident
    researching = drive_topic(cw, S.RESEARCHING)
    member = page(cw.member, f"/consultations/topics/{researching.pk}/")
    assert "/actions/research/" in member and "/actions/invite/" not in member
    staff = page(cw.community_staff, f"/consultations/topics/{researching.pk}/")
    assert "/actions/invite/" in staff and "/actions/call_meeting/" not in staff  # the gate hides it
    assert "/actions/escalate/" in staff


def test_actions_posted_without_and_with_htmx(cw):
    topic = drive_topic(cw, S.PROPOSED)
    client = client_for(cw.party_a1)
    url = f"/consultations/topics/{topic.pk}/actions/"
    refused = client.post(url + "decline/", {"decline-reason": ""})
    assert refused.status_code == 400 and "理由" in html(refused) and fresh(topic).state == S.PROPOSED
    done = client.post(url + "approve/", {"approve-note": "同意"})
    assert done.status_code == 302 and done["Location"] == f"/consultations/topics/{topic.pk}/"
    assert fresh(topic).state == S.APPROVED
    staff = client_for(cw.community_staff)
    fragment = staff.post(url + "invite/", {"invite-kind": "cppcc_member", "invite-user": cw.member.pk, "invite-can_vote": "on"}, **HX)
    assert fragment.status_code == 200 and html(fragment).startswith('<div id="topic-detail"')
    assert "已完成：已邀请参与主体" in html(fragment)
    again = staff.post(url + "invite/", {"invite-kind": "cppcc_member", "invite-user": cw.member.pk}, **HX)
    assert again.status_code == 409 and "已邀请此人" in html(again)
    gate = staff.post(url + "start_research/", {}, **HX)
    assert gate.status_code == 200 and fresh(topic).state == S.RESEARCHING
    blocked = staff.post(url + "call_meeting/", {}, **HX)
    assert blocked.status_code == 409 and "不调研不协商" in html(blocked)
    assert staff.post(url + "nonsense/", {}).status_code == 404
    assert staff.get(url + "approve/").status_code == 405


def test_outside_scope_is_404_on_pages(cw):
    topic = drive_topic(cw, S.APPROVED, with_appeal=False)
    for user in (cw.community_b_staff, cw.street_b_staff, cw.party_b1, cw.outsider, make_user()):
        client = client_for(user)
        assert client.get(f"/consultations/topics/{topic.pk}/").status_code == 404
        assert client.post(f"/consultations/topics/{topic.pk}/actions/start_research/", {}).status_code == 404
        assert client.post(f"/consultations/topics/{topic.pk}/actions/invite/", {"invite-kind": "expert", "invite-name": "x"}).status_code == 404
    anonymous = Client().get(f"/consultations/topics/{topic.pk}/")
    assert anonymous.status_code == 302 and "/accounts/" in anonymous["Location"]
    assert client_for(cw.community_staff).get("/consultations/topics/999999/").status_code == 404


def test_residents_propose_in_their_area_and_support(cw):
    url = f"/consultations/rooms/{cw.home.pk}/propose/"
    form = page(cw.resident, url)
    assert 'value="residents"' in form and 'value="party"' not in form and 'value="王小明"' in form
    client = client_for(cw.resident)
    bad = client.post(url, {"source": "residents", "title": "", "description": "y", "proposer_name": "王小明"})
    assert bad.status_code == 400
    done = client.post(url, {"source": "residents", "title": "楼道灯不亮", "description": "坏了一个月", "proposer_name": "王小明"})
    topic = Topic.objects.get(title="楼道灯不亮")
    assert done.status_code == 302 and done["Location"] == f"/consultations/topics/{topic.pk}/"
    assert topic.source == "residents" and topic.proposer_name == "王小明"
    assert client_for(cw.outsider).get(url).status_code == 403
    assert client_for(cw.outsider).post(url, {"source": "residents", "title": "x", "description": "y"}).status_code == 403
    # the room page shows the button to those who may propose
    assert "提出议题" in page(cw.resident, f"/consultations/rooms/{cw.home.pk}/")
    assert f"/consultations/rooms/{cw.home.pk}/propose/" not in page(cw.outsider, f"/consultations/rooms/{cw.home.pk}/")
    neighbour = make_user()
    neighbour.home_unit = cw.tree.community_a1
    neighbour.save()
    support = client_for(neighbour).post(f"/consultations/topics/{topic.pk}/actions/support/", {})
    assert support.status_code == 302 and topic.supports.count() == 1
    assert "/actions/support/" not in page(neighbour, f"/consultations/topics/{topic.pk}/")  # once
    assert "1 人附议" in page(neighbour, f"/consultations/topics/{topic.pk}/")


def test_members_and_staff_see_their_sources(cw):
    member = page(cw.member, f"/consultations/rooms/{cw.home.pk}/propose/")
    assert 'value="members"' in member and 'value="party"' not in member
    staff = page(cw.community_staff, f"/consultations/rooms/{cw.home.pk}/propose/")
    assert 'value="party"' in staff
    assert client_for(cw.community_staff).post(
        f"/consultations/rooms/{cw.home.pk}/propose/", {"source": "party", "title": "党政点题", "description": "说明"}
    ).status_code == 302


def test_topic_from_appeals_page(cw):
    from yishi.appeals.testing import submit

    appeal = submit(cw.aw)
    url = f"/consultations/rooms/{cw.home.pk}/from-appeals/"
    client = client_for(cw.community_staff)
    unknown = client.post(url, {"codes": "YS000000AAAAAA", "title": "电梯"})
    assert unknown.status_code == 400 and "YS000000AAAAAA" in html(unknown)
    done = client.post(url, {"codes": appeal.tracking_code.lower(), "title": "电梯"})
    assert done.status_code == 302
    topic = Topic.objects.get(title="电梯")
    assert list(topic.appeals.all()) == [appeal]
    assert appeal.tracking_code in page(cw.community_staff, f"/consultations/topics/{topic.pk}/")
    assert client_for(cw.resident).get(url).status_code == 404


def test_the_lists_and_links_of_a_closed_topic(cw):
    topic = drive_topic(cw, S.CLOSED)
    text = page(cw.community_staff, f"/consultations/topics/{topic.pk}/")
    item = topic.responsibilities.get()
    assert item.appeal.tracking_code in text and f'href="/appeals/{item.appeal.pk}/"' in text
    assert "尽快修复直冲路路灯" in text and "路灯已全部修复" in text and "综合评价 5/5" in text
    assert re.findall(r'<li class="(done|current|failed|todo)"', text) == ["done"] * 8
    for label in ["提出议题", "审定通过", "邀请参与主体", "调研记录审核通过", "形成协商意见", "报送成果", "任务派单", "闭环"]:
        assert label in text, label
    # a resident whose appeal it took up follows it
    assert "综合评价 5/5" in page(cw.aw.resident, f"/consultations/topics/{topic.pk}/")


def test_topic_list_filters_with_htmx(cw):
    stuck = drive_topic(cw, S.NO_DECISION)
    fine = drive_topic(cw, S.DECIDED, title="另一个议题")
    client = client_for(cw.community_staff)
    fragment = client.get("/consultations/", {"failure": "no_decision"}, **HX)
    assert fragment.status_code == 200 and not html(fragment).lstrip().startswith("<!doctype")
    assert stuck.title in html(fragment) and fine.title not in html(fragment)
    full = client.get("/consultations/", {"state": "decided"})
    assert fine.title in html(full) and "<!doctype" in html(full)


def test_rooms_catalogue_talents_and_supervision(cw):
    rooms = html(Client().get("/consultations/rooms/"))
    assert cw.hall.name in rooms and cw.home.name in rooms
    assert cw.chair.display_name in html(Client().get(f"/consultations/rooms/{cw.home.pk}/"))
    # members are managed by the area's staff
    client = client_for(cw.community_staff)
    done = client.post(f"/consultations/rooms/{cw.home.pk}/", {"user": cw.member.pk, "role": "chair"})
    assert done.status_code == 302 and cw.home.members.get(role="chair").user == cw.member
    assert client_for(cw.resident).post(f"/consultations/rooms/{cw.home.pk}/", {"user": cw.member.pk, "role": "chair"}).status_code == 404
    added = client.post("/consultations/catalogue/", {"org_unit": cw.tree.community_a1.pk, "title": "楼道照明", "mandatory": "on"})
    assert added.status_code == 302 and "楼道照明" in html(Client().get("/consultations/catalogue/"))
    assert Client().post("/consultations/catalogue/", {"title": "x"}).status_code == 404
    talents = page(cw.community_staff, "/consultations/talents/?q=照明")
    assert "李教授" in talents
    assert client_for(cw.resident).get("/consultations/talents/").status_code == 404
    drive_topic(cw, S.NO_DECISION)
    supervision = page(cw.district_staff, "/consultations/supervision/")
    charts = json.loads(re.search(r'<script id="failure-charts" type="application/json">(.*?)</script>', supervision).group(1))
    assert charts["levels"]["labels"] and charts["levels"]["series"][0]["data"] == [1]
    assert "core/echarts.min.js" in supervision and cw.home.name in supervision
    assert client_for(cw.resident).get("/consultations/supervision/").status_code == 404


def test_home_page_offers_consultations(cw):
    home = page(cw.community_staff, "/")
    assert "/consultations/rooms/" in home and "/consultations/supervision/" in home
    assert "/consultations/supervision/" not in page(cw.resident, "/")


def test_research_review_and_task_unit_forms_on_the_page(cw):
    topic = drive_topic(cw, S.RESEARCHING)
    research = services.research_add(actor=cw.member, topic=topic, kind="note", title="笔记", text="内容")
    text = page(cw.party_a1, f"/consultations/topics/{topic.pk}/")
    assert f'name="approve_research-research" value="{research.pk}"' in text
    assert 'name="approve_research-research"' not in page(cw.member, f"/consultations/topics/{topic.pk}/")
    rejected = client_for(cw.party_a1).post(f"/consultations/topics/{topic.pk}/actions/reject_research/",
                                            {"reject_research-research": research.pk, "reject_research-reason": "不完整"})
    assert rejected.status_code == 302
    assert "不完整" in page(cw.community_staff, f"/consultations/topics/{topic.pk}/")
    submitted = drive_topic(cw, S.SUBMITTED)
    item = services.responsibility_add(actor=cw.community_staff, topic=submitted,
                                       opinion_item_id=submitted.opinion_items.get().pk, task="待定任务")
    text = page(cw.community_staff, f"/consultations/topics/{submitted.pk}/")
    assert "决而不行" in text and f'name="set_unit-responsibility" value="{item.pk}"' in text
    done = client_for(cw.community_staff).post(f"/consultations/topics/{submitted.pk}/actions/set_unit/",
                                               {"set_unit-responsibility": item.pk, "set_unit-handling_unit": cw.tree.unit_water.pk})
    assert done.status_code == 302
    item.refresh_from_db()
    assert item.handling_unit == cw.tree.unit_water


def test_the_topic_list_costs_the_same_queries_for_more_topics(cw):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    drive_topic(cw, S.NO_DECISION)
    drive_topic(cw, S.PROPOSED)
    client = client_for(cw.district_staff)
    client.get("/consultations/")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/consultations/").status_code == 200
    for state in (S.CLOSED, S.SUBMITTED, S.APPROVED):
        drive_topic(cw, state, room=cw.street_room)
    client.get("/consultations/")  # the writes above moved the reference cache's generation: warm it again
    with CaptureQueriesContext(connection) as more:
        assert client.get("/consultations/").status_code == 200
    assert len(more) == len(few) <= 15

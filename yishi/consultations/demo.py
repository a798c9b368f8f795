"""Demo consultations for ``yishi demo`` (step "consultations"): the three-level platform of the demo district and
topics in every state of the 8-step loop, among them seed 004's street-light story end to end.

What it adds after the core steps (places, stations, people) and, when loaded, the appeals:

* the platform "1+5+N": the district 委员议事厅, a 委员议事室 in each of the 5 streets, a 委员之家 in each community
  that has one, and the 医药卫生界 sector room, each with its chair and members taken from the people serving at
  its station (the chair of the station chairs the room; else its first CPPCC member), parents set up the tree;
* a consultation catalogue (议事协商目录) for the district and two communities, and a talent pool (the demo experts
  and a few outside talents). The demo people have party approvers for the district, 外海街道 and 直冲社区; the
  district's (demo_party1, whose scope covers every level) approves the story's topics in 江南街道 and 朝翠社区;
* topics in every state, each step taken through the services at its own time (``time_machine.travel``), so the
  audit trail, deadlines and notifications are what the system would have recorded; 议而不决, 决而不行 and
  行而不久 each appear at least once;
* **朝翠路** (seed 004): workers and students report that the street lights were never switched on two years after
  the road opened (the appeals demo's appeals when loaded, else two appeals entered here) → CPPCC member 冯
  (demo_member2, whose company lies on the road) raises it at 朝翠社区委员之家 → escalated to 江南街道委员议事室 →
  escalated to 江海区政协委员议事厅 → departments, members and an expert inspect the road (research approved) →
  a meeting (in the online room when the meeting services are installed, else recorded by the organisers) →
  opinion list sent to the district → responsibility list: 城管 (lights), 供电 (power), 住建 (handover), each a
  dispatched appeal with its working days, replied within about a month → effect list, satisfaction,
  third-party evaluation, closed, and the residents of the linked appeals told the outcome.

Idempotent: rooms, members, catalogue items and talents are ensured one by one; topics are replayed only when
the demo district has none.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any

import time_machine
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from yishi.accounts.models import User
from yishi.core.demo import DISTRICT_CODE, STREETS, DemoContext, DemoStep
from yishi.core.demo_accounts import DEMO_PREFIX
from yishi.orgs.models import OrgUnit, Station, StationMember
from yishi.policy import workdays
from yishi.policy.services import workday_overrides

from . import services as svc
from .choices import ParticipantKind, RoomLevel, RoomMemberRole, TopicSource
from .models import CatalogueItem, ResponsibilityItem, Room, RoomMember, Talent, Topic

KEY_PREFIX = "demo-consultation-"

CATALOGUE = [
    (None, "老旧小区改造与加装电梯", "涉及多数业主利益、需要分摊费用的改造事项", True),
    (None, "道路照明、市政设施建设与移交", "新建道路、路灯、井盖等市政设施的建设、移交和管养", True),
    (None, "停车与交通组织", "小区及周边停车位规划、交通组织调整", True),
    (None, "物业管理与专项维修资金使用", "物业服务标准、收费调整和维修资金使用", True),
    (None, "民生实事项目", "纳入年度民生实事的项目选择与实施", True),
    (None, "公共空间与绿化改造", "口袋公园、健身场地、绿化调整", False),
    ("朝翠社区", "居民公约修订", "社区居民公约的起草和修订", True),
    ("直冲社区", "长者饭堂运营", "长者饭堂的选址、定价和运营方式", False),
]
OUTSIDE_TALENTS = [
    ("梁工", ParticipantKind.EXPERT, "城市照明、市政电气工程", "江门市市政工程设计院"),
    ("何律师", ParticipantKind.EXPERT, "物业纠纷、业主自治", "广东侨乡律师事务所"),
    ("陈社工", ParticipantKind.SOCIAL_ORG, "社区营造、居民议事", "江海区乐善社会工作服务中心"),
    ("周规划师", ParticipantKind.EXPERT, "交通组织、停车规划", "江门市城市规划设计研究院"),
]


# --- time -----------------------------------------------------------------------------------------------------------


class Clock:
    """Office hours on the working-day calendar of the demo (holidays and 调休 included)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.overrides = workday_overrides()
        self.tz = timezone.get_current_timezone()

    def day(self, days_ago: float, clock: time = time(10, 0)) -> datetime:
        """The working day on or after ``days_ago`` days before now, at ``clock``."""
        day = (timezone.localtime(self.now, self.tz) - timedelta(days=days_ago)).date()
        while not workdays.is_workday(day, self.overrides):
            day += timedelta(days=1)
        return timezone.make_aware(datetime.combine(day, clock), self.tz)

    def after(self, start: datetime, days: int, clock: time) -> datetime:
        """The working day on or after ``days`` days after ``start``, at ``clock``."""
        day = (timezone.localtime(start, self.tz) + timedelta(days=days)).date()
        while not workdays.is_workday(day, self.overrides):
            day += timedelta(days=1)
        return timezone.make_aware(datetime.combine(day, clock), self.tz)


class Replay:
    """Runs each step at its time; a step that would fall after now is not run (the topic stays where it is)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def at(self, when: datetime, step: Callable[[], Any]) -> Any:
        if when > self.now:
            return None
        with time_machine.travel(when, tick=False):
            return step()


# --- the platform ---------------------------------------------------------------------------------------------------


def _station_people(station: Station) -> list[StationMember]:
    return list(StationMember.objects.filter(station=station).select_related("user").order_by("user__username", "pk"))


def _ensure_room(ctx: DemoContext, actor: User, *, name: str, level: str, unit: OrgUnit, parent: Room | None,
                 station: Station | None, **extra: Any) -> Room:
    room = Room.objects.filter(name=name, org_unit=unit).first()
    if room is None:
        room = svc.room_create(actor=actor, name=name, level=level, org_unit=unit, parent=parent, station=station,
                               description=station.description if station else "", **extra)
        ctx.created["consultation rooms"] += 1
    if station is not None:
        people = _station_people(station)
        chair = next((p.user for p in people if p.role == "chair"), None) or next(
            (p.user for p in people if p.role == "cppcc_member"), None)
        if chair is None and unit.parent_id is not None:
            # A 委员之家 without a member in residence is chaired by a CPPCC member serving the street.
            chair = User.objects.filter(roles__role="cppcc_member", roles__org_unit_id=unit.parent_id).order_by("username").first()
            if chair is not None:
                people.append(StationMember(station=station, user=chair, role="cppcc_member"))
        # The NPC deputies of the area sit in its room too: those scoped to the district or the street, or serving
        # at the community's own liaison station.
        deputies = User.objects.filter(roles__role="deputy", roles__is_active=True).order_by("username")
        if unit.level == "community":
            deputies = deputies.filter(roles__station__org_unit=unit)
        elif level in (RoomLevel.DISTRICT, RoomLevel.STREET):
            deputies = deputies.filter(roles__org_unit=unit)
        else:
            deputies = deputies.none()
        people += [StationMember(station=station, user=d, role="deputy") for d in deputies.distinct()]
        existing = set(RoomMember.objects.filter(room=room).values_list("user_id", flat=True))
        for p in people:
            if p.user_id in existing:
                continue
            role = (RoomMemberRole.CHAIR if p.user_id == getattr(chair, "pk", None)
                    else RoomMemberRole.SECRETARY if p.role in ("staff", "head") else RoomMemberRole.MEMBER)
            svc.room_member_set(actor=actor, room=room, user=p.user, role=role)
            existing.add(p.user_id)
            ctx.created["room members"] += 1
    return room


def build_platform(ctx: DemoContext) -> dict[str, Room]:
    """The district hall, the street rooms, the community 委员之家 and the medical sector's room."""
    actor = ctx.user(f"{DEMO_PREFIX}district1")
    district = ctx.district()
    rooms: dict[str, Room] = {}
    hall_station = Station.objects.get(name="江海区政协委员议事厅", org_unit=district)
    rooms["district"] = _ensure_room(ctx, actor, name="江海区政协委员议事厅", level=RoomLevel.DISTRICT, unit=district,
                                     parent=None, station=hall_station)
    for suffix, street_name, _road, communities in STREETS:
        street = ctx.unit(f"{DISTRICT_CODE}{suffix}")
        station = Station.objects.filter(name=f"{street_name}委员议事室", org_unit=street).first()
        rooms[street_name] = _ensure_room(ctx, actor, name=f"{street_name}委员议事室", level=RoomLevel.STREET,
                                          unit=street, parent=rooms["district"], station=station)
        for community_name, _r in communities:
            home = Station.objects.filter(name=f"{community_name}委员之家", kind="members_home").first()
            if home is None:
                continue
            rooms[community_name] = _ensure_room(
                ctx, actor, name=f"{community_name}委员之家", level=RoomLevel.COMMUNITY, unit=ctx.community(community_name),
                parent=rooms[street_name], station=home,
            )
    sector_station = Station.objects.filter(name="医药卫生界委员之家").select_related("org_unit").first()
    if sector_station is not None:
        rooms["sector:06"] = _ensure_room(ctx, actor, name="医药卫生界委员之家", level=RoomLevel.SECTOR,
                                          unit=sector_station.org_unit, parent=rooms["district"], station=sector_station,
                                          sector=ctx.sector("06"))
    for where, title, description, mandatory in CATALOGUE:
        unit = ctx.community(where) if where else district
        if not CatalogueItem.objects.filter(org_unit=unit, title=title).exists():
            svc.catalogue_item_create(actor=actor, org_unit=unit, title=title, description=description, mandatory=mandatory)
            ctx.created["catalogue items"] += 1
    for expert in User.objects.filter(username__startswith=f"{DEMO_PREFIX}expert").order_by("username"):
        if not Talent.objects.filter(user=expert).exists():
            svc.talent_add(actor=actor, name=str(expert), expertise=expert.expertise or "协商议事", org_unit=district,
                           organisation=expert.bio.split("，")[-1][:150], user=expert, phone=expert.phone or "")
            ctx.created["talents"] += 1
    for name, kind, expertise, organisation in OUTSIDE_TALENTS:
        if not Talent.objects.filter(name=name, org_unit=district).exists():
            svc.talent_add(actor=actor, name=name, kind=kind, expertise=expertise, organisation=organisation, org_unit=district)
            ctx.created["talents"] += 1
    return rooms


# --- the topics -------------------------------------------------------------------------------------------------------


class Story:
    """The topics of the demo, each a script of steps at their times."""

    def __init__(self, ctx: DemoContext, rooms: dict[str, Room], now: datetime) -> None:
        self.ctx = ctx
        self.rooms = rooms
        self.clock = Clock(now)
        self.replay = Replay(now)
        self.u = lambda name: ctx.user(f"{DEMO_PREFIX}{name}")
        self.unit = ctx.handling_unit
        self.topics = 0
        self.last: datetime | None = None

    def at(self, days_ago: float, step: Callable[[], Any], clock: time = time(10, 0)) -> Any:
        """Run a step of the current script ``days_ago`` (on a working day); a script's steps never go back in
        time (two steps moved past the same weekend keep their order)."""
        when = self.clock.day(days_ago, clock)
        if self.last is not None and when <= self.last:
            when = self.last + timedelta(minutes=1)
        self.last = when
        return self.replay.at(when, step)

    def raw(self, days_ago: float, step: Callable[[], Any], clock: time = time(10, 0)) -> Any:
        """A step at its own time inside another step (a unit's reply weeks after the dispatch)."""
        return self.replay.at(self.clock.day(days_ago, clock), step)

    def topic(self, days_ago: float, *, room: str, by: str, source: str, title: str, text: str,
              proposer_name: str = "") -> Topic:
        self.topics += 1
        return self.at(days_ago, lambda: svc.topic_propose(
            actor=self.u(by), room=self.rooms[room], source=source, title=title, description=text,
            proposer_name=proposer_name,
        ))

    def appeal(self, key: str, days_ago: float, *, community: str, category: str, title: str, text: str,
               resident: str | None = None, clock: time = time(19, 30)) -> Any:
        """A resident's appeal entered through the appeals service (kept once by its idempotency key)."""
        from yishi.appeals import services as appeals
        from yishi.appeals.models import Category

        cat = Category.objects.get(code=category)
        data = appeals.AppealInput(nature="complaint", category_id=cat.pk, title=title, text=text,
                                   org_unit_id=self.ctx.community(community).pk)
        actor = self.u(resident) if resident else None
        if actor is None:
            data.contact_name, data.contact_phone = "匿名群众", ""
        return self.at(days_ago, lambda: appeals.appeal_submit(actor=actor, data=data, idempotency_key=f"{KEY_PREFIX}{key}"),
                       clock=clock)

    # the states ---------------------------------------------------------------------------------------------------
    def proposed(self) -> None:
        """群众出题 at 直冲社区委员之家, with residents' support, waiting for the party's approval."""
        t = self.topic(6, room="直冲社区", by="resident1", source=TopicSource.RESIDENTS, title="直冲路菜市场周边早高峰拥堵",
                       text="每天早上七点到八点，菜市场门口电动车、三轮车乱停，学生上学和居民买菜都很挤，希望协商划定临时摊位和停车区。")
        for i, who in enumerate(["resident21"], start=1):
            self.at(5 - i, partial(svc.topic_support, actor=self.u(who), topic=t))

    def declined(self) -> None:
        t = self.topic(40, room="直冲社区", by="community1", source=TopicSource.PARTY, title="统一更换小区外墙涂料颜色",
                       text="部分居民希望统一外墙颜色，费用由各小区业主自行承担。")
        self.at(38, lambda: svc.topic_decline(actor=self.u("party3"), topic=t,
                                              reason="属于各小区业主大会决定的事项，不纳入社区协商目录，建议由业委会组织业主表决。"))

    def approved(self) -> None:
        t = self.topic(9, room="外海街道", by="member3", source=TopicSource.MEMBERS, title="外海中心小学周边交通安全",
                       text="放学时段家长车辆占道，学生过马路不安全，建议协商设置护学岗和临时停车区。")
        self.at(7, lambda: svc.topic_approve(actor=self.u("party2"), topic=t, note="同意列入本季度协商议题。"))

    def researching(self) -> None:
        t = self.topic(20, room="直冲社区", by="community1", source=TopicSource.PARTY, title="长者饭堂选址与运营",
                       text="社区老人多，希望在社区党群服务中心附近开办长者饭堂，需协商选址、定价和运营方式。")
        self.at(18, lambda: svc.topic_approve(actor=self.u("party3"), topic=t))
        self.at(16, lambda: self._invite(t, "community1", [("cppcc_member", "member12"), ("resident_rep", "resident1"),
                                                           ("deputy", "deputy1")], units=["civil"]))
        self.at(15, lambda: svc.topic_start_research(actor=self.u("community1"), topic=t))
        self.at(6, lambda: svc.research_add(actor=self.u("member12"), topic=t, kind="survey", title="老人就餐需求问卷",
                                            text="发放问卷 120 份，回收 108 份；七成老人愿意每餐支付 8–12 元，希望步行 10 分钟内可到。"))

    def meeting(self) -> None:
        """Research approved, the meeting called (in the online room when installed), not yet held."""
        t = self.topic(25, room="外海街道", by="street1", source=TopicSource.PARTY, title="外海大道夜市占道经营整治",
                       text="夜市摊档占用人行道，噪声和油烟扰民，同时也是不少居民的生计，需要协商规范经营的办法。")
        self.at(24, lambda: svc.topic_approve(actor=self.u("party2"), topic=t))
        self.at(22, lambda: self._invite(t, "street1", [("cppcc_member", "member5"), ("deputy", "deputy9"),
                                                        ("resident_rep", "resident2"), ("resident_rep", "resident22")],
                                         units=["urban", "market"]))
        self.at(21, lambda: svc.topic_start_research(actor=self.u("street1"), topic=t))
        r = self.at(12, lambda: svc.research_add(actor=self.u("member5"), topic=t, kind="site_visit", title="夜市实地走访",
                                                 text="晚上八点至十一点走访外海大道夜市，摊档 46 个，其中占用盲道 17 个。"))
        self.at(10, lambda: svc.research_approve(actor=self.u("party2"), topic=t, research_id=r.pk))
        self._call_meeting(t, "street1", days_ago=1, starts_in=timedelta(days=3), mode="online",
                           agenda="一、通报夜市走访情况；二、协商夜市经营时段与摊位划定；三、表决。")

    def no_decision(self) -> None:
        """议而不决 at the district hall: the meeting could not agree."""
        t = self.topic(60, room="district", by="district1", source=TopicSource.PARTY, title="江海区公办幼儿园学位调配",
                       text="部分片区学位紧张、部分片区空置，拟调整招生片区，需协商。")
        self.at(58, lambda: svc.topic_approve(actor=self.u("party1"), topic=t))
        self.at(57, lambda: self._invite(t, "district1", [("cppcc_member", "member3"), ("deputy", "deputy5"),
                                                          ("resident_rep", "resident4")], units=["education"]))
        self.at(56, lambda: svc.topic_start_research(actor=self.u("district1"), topic=t))
        r = self.at(50, lambda: svc.research_add(actor=self.u("district1"), topic=t, kind="policy", title="学位供需测算",
                                                 text="测算三年学位供需：江南、外海片区缺口约 300 个，礼乐片区空余约 180 个。"))
        self.at(48, lambda: svc.research_approve(actor=self.u("party1"), topic=t, research_id=r.pk))
        self.at(45, lambda: svc.topic_call_meeting(actor=self.u("district1"), topic=t))
        self.at(40, lambda: svc.topic_record_outcome(actor=self.u("district1"), topic=t, decided=False,
                                                     reason="家长代表与教育部门对跨片区调配意见分歧较大，需补充交通接送方案后再议。"),
                clock=time(16, 30))

    def decided(self) -> None:
        t = self._through_meeting(30, room="直冲社区", by="community1", party="party3",
                                  title="直冲社区健身广场夜间噪声", people=[("cppcc_member", "member12"), ("resident_rep", "resident21")],
                                  text="广场舞音响音量大、时间晚，周边住户休息受影响。")
        self.at(8, lambda: svc.opinion_add(actor=self.u("community1"), topic=t, text="晚上九点后停止使用音响",
                                           rationale="兼顾锻炼需求与居民休息，协商会议形成共识。"))

    def submitted(self) -> None:
        """决而不行 in waiting: one task of the responsibility list still has no unit."""
        t = self._through_meeting(40, room="外海街道", by="street1", party="party2", title="外海大道公交站台遮阳改造",
                                  people=[("deputy", "deputy9"), ("resident_rep", "resident2")],
                                  text="多个公交站台没有遮阳棚，夏季候车暴晒。")
        o = self.at(12, lambda: svc.opinion_add(actor=self.u("street1"), topic=t, text="为 6 个站台加装遮阳棚",
                                                rationale="站台候车人数多，夏季高温。"))
        self.at(11, lambda: svc.topic_submit_results(actor=self.u("street1"), topic=t, sent_to_id=t.room.org_unit.parent_id))
        self.at(10, lambda: svc.responsibility_add(actor=self.u("street1"), topic=t, opinion_item_id=o.pk,
                                                   task="为外海大道 6 个公交站台加装遮阳棚", handling_unit_id=None, working_days=20))

    def implementing(self) -> None:
        """决而不行: the task is overdue at the unit."""
        t = self._through_meeting(70, room="district", by="district1", party="party1", title="礼乐大道积水点改造",
                                  people=[("cppcc_member", "member4"), ("deputy", "deputy4"), ("resident_rep", "resident6")],
                                  text="每逢暴雨礼乐大道多处积水，车辆熄火，行人难行。")
        o = self.at(50, lambda: svc.opinion_add(actor=self.u("district1"), topic=t, text="改造礼乐大道 3 处积水点排水管网",
                                                rationale="调研发现管径偏小、雨水口堵塞。"))
        self.at(49, lambda: svc.topic_submit_results(actor=self.u("district1"), topic=t, sent_to_id=t.room.org_unit_id))
        self.at(48, lambda: svc.responsibility_add(actor=self.u("district1"), topic=t, opinion_item_id=o.pk,
                                                   task="改造礼乐大道 3 处积水点", handling_unit_id=self.unit("water_affairs").pk,
                                                   working_days=15))
        self.at(47, lambda: svc.topic_start_implementation(actor=self.u("district1"), topic=t))
        self.at(46, lambda: self._unit_accepts(t, "water_affairs"))

    def evaluating(self) -> None:
        t = self._through_meeting(75, room="直冲社区", by="community1", party="party3", title="直冲路 3 号楼加装电梯费用分摊",
                                  people=[("cppcc_member", "member12"), ("resident_rep", "resident1"), ("resident_rep", "resident21")],
                                  text="3 号楼加装电梯，低层住户与高层住户对费用分摊意见不一。")
        o = self.at(55, lambda: svc.opinion_add(actor=self.u("community1"), topic=t, text="按楼层系数分摊，一楼不出资",
                                                rationale="协商会议多数赞成。"))
        self.at(54, lambda: svc.topic_submit_results(actor=self.u("community1"), topic=t, sent_to_id=t.room.org_unit_id))
        self.at(53, lambda: svc.responsibility_add(actor=self.u("community1"), topic=t, opinion_item_id=o.pk,
                                                   task="指导 3 号楼办理加装电梯报建", handling_unit_id=self.unit("housing").pk,
                                                   working_days=20))
        self.at(52, lambda: svc.topic_start_implementation(actor=self.u("community1"), topic=t))
        self.at(51, lambda: self._unit_replies(t, "housing", "已完成报建审批，电梯已于上周开工。", days_ago=30))
        self.at(20, lambda: svc.effect_add(actor=self.u("community1"), topic=t, text="电梯已开工，预计两个月后投入使用",
                                           evidence="施工许可证、现场照片"))
        self.at(19, lambda: svc.topic_start_evaluation(actor=self.u("community1"), topic=t))
        self.at(15, lambda: svc.satisfaction_respond(actor=self.u("resident1"), topic=t, score=4, comment="进度可以再快一点。"))

    def regressed(self) -> None:
        """行而不久: closed, then the same problem keeps coming back in the same place."""
        a1 = self.appeal("parking-1", 100, community="直冲社区", category="030401", resident="resident1",
                         title="直冲路小区停车难", text="小区车位太少，晚上车停满消防通道。")
        a2 = self.appeal("parking-2", 99, community="直冲社区", category="030401", resident="resident21",
                         title="晚上回家找不到车位", text="下班回来绕三圈找不到车位，只能停在路边被贴罚单。")
        t = self._through_meeting(95, room="直冲社区", by="community1", party="party3", title="直冲路小区停车难",
                                  people=[("cppcc_member", "member12"), ("resident_rep", "resident1")],
                                  text="小区车位不足，占用消防通道现象严重。", appeals=[a1, a2])
        o = self.at(80, lambda: svc.opinion_add(actor=self.u("community1"), topic=t, text="夜间开放学校操场临时停车",
                                                rationale="周边学校夜间场地闲置。"))
        self.at(79, lambda: svc.topic_submit_results(actor=self.u("community1"), topic=t, sent_to_id=t.room.org_unit_id))
        self.at(78, lambda: svc.responsibility_add(actor=self.u("community1"), topic=t, opinion_item_id=o.pk,
                                                   task="协调外海中心小学夜间开放操场停车", handling_unit_id=self.unit("street1").pk,
                                                   working_days=10))
        self.at(77, lambda: svc.topic_start_implementation(actor=self.u("community1"), topic=t))
        self.at(76, lambda: self._unit_replies(t, "street1", "已与学校签订夜间停车协议，开放车位 60 个。", days_ago=70))
        self.at(68, lambda: svc.effect_add(actor=self.u("community1"), topic=t, text="夜间新增临时车位 60 个"))
        self.at(67, lambda: svc.topic_start_evaluation(actor=self.u("community1"), topic=t))
        self.at(64, lambda: svc.topic_close(actor=self.u("community1"), topic=t, final_rating=3))
        for i, (days, title) in enumerate([(40, "学校操场停车又取消了"), (25, "小区停车难问题反弹"), (9, "消防通道又被占满")], start=1):
            self.appeal(f"parking-again-{i}", days, community="直冲社区", category="030401",
                        resident="resident1" if i % 2 else "resident21", title=title,
                        text="学校暑假后不再开放操场，晚上又没地方停车了。")

    # the street-light story -------------------------------------------------------------------------------------
    def chaocui(self) -> None:
        """Seed 004: 朝翠路's lights, from the community 委员之家 to the district 委员议事厅 and back to the residents."""
        from yishi.appeals import demo_texts as texts
        from yishi.appeals.models import Appeal

        titles = [texts.CHAOCUI_MAIN[0], *[c[0] for c in texts.CHAOCUI_CHILDREN]]
        appeals = list(Appeal.objects.filter(title__in=titles, org_unit__name="朝翠社区").order_by("received_at"))
        if not appeals:  # the appeals demo was skipped: the workers and students report it here
            appeals = [
                self.appeal("chaocui-1", 118, community="朝翠社区", category="140301", title=texts.CHAOCUI_MAIN[0],
                            text=texts.CHAOCUI_MAIN[1], resident="resident9"),
                self.appeal("chaocui-2", 116, community="朝翠社区", category="140301", title=texts.CHAOCUI_CHILDREN[0][0],
                            text=texts.CHAOCUI_CHILDREN[0][1], resident="resident29"),
            ]
        d = 110  # days ago when 冯 raises it
        home = self.topic(d, room="朝翠社区", by="member2", source=TopicSource.MEMBERS, title="朝翠路通车两年路灯未亮",
                          text="我们公司就在朝翠路边上。员工和旁边学校的学生反映，道路通车已经两年多了，路灯杆都装好了却一直没有通电。"
                               "晚上黑灯瞎火，电动车和行人经常险些相撞。建议协调有关部门尽快开通路灯。")
        self.at(d, lambda: svc.topic_link_appeals(actor=self.u("community9"), topic=home, appeal_ids=[a.pk for a in appeals]),
                clock=time(11, 0))
        self.at(d - 1, lambda: svc.topic_approve(actor=self.u("party1"), topic=home, note="事关群众夜间出行安全，同意审定。"))
        self.at(d - 1, lambda: self._invite(home, "community9", [("cppcc_member", "member2"), ("resident_rep", "resident9")],
                                            enterprises=["huating"]), clock=time(15, 0))
        street = self.at(d - 2, lambda: svc.topic_escalate(actor=self.u("community9"), topic=home,
                                                           reason=texts.CHAOCUI_STEPS["escalate_street"]))
        self.at(d - 3, lambda: svc.topic_approve(actor=self.u("party1"), topic=street))
        hall = self.at(d - 3, lambda: svc.topic_escalate(actor=self.u("street3"), topic=street,
                                                         reason=texts.CHAOCUI_STEPS["escalate_district"]), clock=time(15, 30))
        self.at(d - 4, lambda: svc.topic_approve(actor=self.u("party1"), topic=hall, note="由区政协委员议事厅组织部门和委员调研协商。"))
        lamp_expert = Talent.objects.get(name="梁工", org_unit=self.ctx.district())
        self.at(d - 4, lambda: self._invite(hall, "district1", [("deputy", "deputy10"), ("deputy", "deputy11"), ("expert", "expert1")],
                                            units=["urban", "power", "housing"], talents=[lamp_expert]), clock=time(14, 0))
        self.at(d - 5, lambda: svc.topic_start_research(actor=self.u("district1"), topic=hall))
        r1 = self.at(d - 7, lambda: svc.research_add(
            actor=self.u("member2"), topic=hall, kind="site_visit", title="朝翠路夜间实地走访",
            text="晚上八点与城管、供电、住建部门同志及政协委员一起走访朝翠路全线约 1.8 公里：路灯杆 86 根全部安装到位，均未通电；"
                 "沿线有 3 家企业、1 所学校，晚高峰电动车流量大，已发生多起险情。"), clock=time(20, 30))
        r2 = self.at(d - 8, lambda: svc.research_add(
            actor=self.u("deputy11"), topic=hall, kind="policy", title="路灯管养与供电接驳责任梳理",
            text="朝翠路由开发单位代建，尚未办理市政设施移交，路灯管养主体不明确；按《江海区城市照明设施管理职责分工》，"
                 "移交后由城管部门管养，供电部门负责电源接驳。"))
        self.at(d - 9, lambda: svc.research_approve(actor=self.u("party1"), topic=hall, research_id=r1.pk, note="情况清楚。"))
        self.at(d - 9, lambda: svc.research_approve(actor=self.u("party1"), topic=hall, research_id=r2.pk))
        decided = self._story_meeting(hall, d - 10)
        if not decided:
            self.at(d - 13, lambda: svc.topic_record_outcome(actor=self.u("district1"), topic=hall, decided=True,
                                                             reason="与会各方一致同意由城管接管、供电接驳、住建加快移交。"), clock=time(17, 0))
        if decided:
            self.at(d - 14, lambda: svc.opinions_from_motions(actor=self.u("district1"), topic=hall))
        else:
            for text, why in [
                ("由城管部门接管朝翠路路灯设施并负责开通和日常管养", "路灯杆已安装到位，缺的是管养主体和通电；城管是城市照明的主管部门。"),
                ("供电部门完成朝翠路两处路灯电源接驳", "现场勘察两处电源点可接驳，工期约两周。"),
                ("住建部门加快朝翠路市政设施移交手续", "未移交是管养主体不明确的根源，不解决还会反复。"),
            ]:
                self.at(d - 14, partial(svc.opinion_add, actor=self.u("district1"), topic=hall, text=text, rationale=why))
        self.at(d - 14, lambda: svc.topic_submit_results(actor=self.u("district1"), topic=hall, sent_to_id=hall.room.org_unit_id,
                                                         note="报区委、区政府研究落实。"), clock=time(16, 0))
        items = list(hall.opinion_items.order_by("number"))
        tasks = [("urban", "开通朝翠路路灯并纳入城市照明日常维护", 20), ("power", "完成朝翠路路灯两处电源接驳", 10),
                 ("housing", "完成朝翠路市政设施移交手续", 15)]
        for (key, task, days), item in zip(tasks, items + items[-1:] * (len(tasks) - len(items)), strict=False):
            self.at(d - 15, partial(svc.responsibility_add, actor=self.u("district1"), topic=hall, opinion_item_id=item.pk,
                                    task=task, handling_unit_id=self.unit(key).pk, working_days=days))
        self.at(d - 15, lambda: svc.topic_start_implementation(actor=self.u("district1"), topic=hall), clock=time(15, 0))
        self.at(d - 16, lambda: self._unit_replies(hall, "power", texts.CHAOCUI_STEPS["co_power"], days_ago=d - 26))
        self.at(d - 16, lambda: self._unit_replies(hall, "housing", texts.CHAOCUI_STEPS["co_housing"], days_ago=d - 33))
        self.at(d - 16, lambda: self._unit_replies(hall, "urban", texts.CHAOCUI_STEPS["reply"], days_ago=d - 44))
        tasks_by_unit = {r.handling_unit.code: r for r in hall.responsibilities.select_related("handling_unit")}
        for key, text, evidence in [
            ("urban", "朝翠路全线 86 盏路灯已通电亮灯，纳入城市照明日常巡查和维护。", "城管局答复、夜间巡查照片"),
            ("power", "两处电源点接驳完成，供电稳定。", "供电局接驳验收单"),
            ("housing", "朝翠路市政设施已移交城管部门管养，管养责任明确。", "市政设施移交确认书"),
        ]:
            item = tasks_by_unit.get(self.unit(key).code)
            self.at(d - 46, partial(svc.effect_add, actor=self.u("district1"), topic=hall, text=text, evidence=evidence,
                                    responsibility_id=item.pk if item else None))
        self.at(d - 46, lambda: svc.topic_start_evaluation(actor=self.u("district1"), topic=hall), clock=time(15, 0))
        for who, score, comment in [("member2", 5, "一个多月路灯就亮了，员工晚上下班安全多了。"),
                                    ("deputy10", 5, "网格里群众都很满意。"), ("resident9", 5, "感谢政协委员和各部门！")]:
            self.at(d - 48, partial(svc.satisfaction_respond, actor=self.u(who), topic=hall, score=score, comment=comment))
        residents = {a.submitter_id: a.submitter for a in hall.appeals.select_related("submitter") if a.submitter_id}
        for uid, resident in sorted(residents.items()):
            if not hall.satisfaction.filter(user_id=uid).exists() and not hall.participants.filter(user_id=uid).exists():
                self.at(d - 49, partial(svc.satisfaction_respond, actor=resident, topic=hall, score=5, comment="路灯亮了，谢谢！"))
        self.at(d - 50, lambda: svc.evaluation_add(
            actor=self.u("evaluator"), topic=hall, organisation="江门市社会治理评估中心", score=92,
            report="三级协商平台上下联动：社区委员之家发现问题，两级上报后由区委员议事厅组织部门和委员实地调研、协商，"
                   "形成 3 条意见并转化为 3 项责任任务，均按期答复，路灯在一个多月内开通。建议建立新建道路市政设施移交的常态化机制。"))
        self.at(d - 52, lambda: svc.topic_close(actor=self.u("district1"), topic=hall, final_rating=5,
                                                note="路灯全部开通，群众满意，闭环。"))

    # helpers -------------------------------------------------------------------------------------------------------
    def _invite(self, topic: Topic, by: str, people: list[tuple[str, str]], *, units: list[str] = (),  # type: ignore[assignment]
                enterprises: list[str] = (), talents: list[Talent] = ()) -> None:  # type: ignore[assignment]
        actor = self.u(by)
        for kind, who in people:
            svc.participant_invite(actor=actor, topic=topic, kind=kind, user_id=self.u(who).pk)
        for key in units:
            svc.participant_invite(actor=actor, topic=topic, kind=ParticipantKind.DEPARTMENT,
                                   handling_unit_id=self.unit(key).pk, can_vote=False)
        for key in enterprises:
            enterprise = self.ctx.enterprise(key)
            kind = ParticipantKind.PROPERTY_COMPANY if enterprise.kind == "property_company" else ParticipantKind.STAKEHOLDER
            svc.participant_invite(actor=actor, topic=topic, kind=kind, enterprise_id=enterprise.pk)
        for talent in talents:
            svc.participant_invite(actor=actor, topic=topic, kind=talent.kind, talent_id=talent.pk)

    def _through_meeting(self, days_ago: float, *, room: str, by: str, party: str, title: str, text: str,
                         people: list[tuple[str, str]], appeals: list[Any] = ()) -> Topic:  # type: ignore[assignment]
        """A topic taken to 已形成意见 in ten working days: approved, participants, research, a meeting."""
        if appeals:  # 民呼热点: made from the cluster of appeals
            self.topics += 1
            t = self.at(days_ago, lambda: svc.topic_from_appeals(actor=self.u(by), room=self.rooms[room], title=title,
                                                                 description=text, appeal_ids=[a.pk for a in appeals]))
        else:
            t = self.topic(days_ago, room=room, by=by, source=TopicSource.PARTY, title=title, text=text)
        self.at(days_ago - 1, lambda: svc.topic_approve(actor=self.u(party), topic=t))
        self.at(days_ago - 2, lambda: self._invite(t, by, people))
        self.at(days_ago - 2, lambda: svc.topic_start_research(actor=self.u(by), topic=t), clock=time(15, 0))
        r = self.at(days_ago - 4, lambda: svc.research_add(actor=self.u(people[0][1]), topic=t, kind="site_visit",
                                                           title="实地走访", text=f"走访了解{title}的情况，听取居民意见。"))
        self.at(days_ago - 5, lambda: svc.research_approve(actor=self.u(party), topic=t, research_id=r.pk))
        self.at(days_ago - 6, lambda: svc.topic_call_meeting(actor=self.u(by), topic=t))
        self.at(days_ago - 8, lambda: svc.topic_record_outcome(actor=self.u(by), topic=t, decided=True, reason="协商会议形成一致意见。"),
                clock=time(17, 0))
        return t

    def _call_meeting(self, topic: Topic, by: str, *, days_ago: float, starts_in: timedelta, mode: str, agenda: str) -> Any:
        """Schedule the meeting in the online room when the meeting services are installed, else move on bare."""
        try:
            from .meetings import meeting_schedule
        except ImportError:
            return self.at(days_ago, lambda: svc.topic_call_meeting(actor=self.u(by), topic=topic))
        called = self.clock.day(days_ago)
        if self.last is not None and called <= self.last:
            called = self.last + timedelta(minutes=1)
        self.last = called
        starts = timezone.make_aware(datetime.combine((called + starts_in).date(), time(19, 0)), self.clock.tz)
        return self.replay.at(called, lambda: meeting_schedule(actor=self.u(by), topic=topic, mode=mode, starts_at=starts,
                                                               agenda=agenda, location=""))

    def _story_meeting(self, hall: Topic, days_ago: float) -> bool:
        """The district hall's meeting on 朝翠路 through the online room (when installed). True when decided there."""
        try:
            from . import meetings as m
        except ImportError:
            self.at(days_ago, lambda: svc.topic_call_meeting(actor=self.u("district1"), topic=hall))
            return False
        staff, chair = self.u("district1"), self.u("member1")
        called = self.clock.day(days_ago)
        if self.last is not None and called <= self.last:
            called = self.last + timedelta(minutes=1)
        starts = self.clock.after(called, 3, time(14, 30))
        meeting = self.replay.at(called, lambda: m.meeting_schedule(
            actor=staff, topic=hall, mode="hybrid", starts_at=starts, location="江海区政协大楼二楼委员议事厅",
            agenda="一、通报朝翠路调研情况；二、各方发言；三、表决协商意见。"))
        tick = [starts - timedelta(minutes=20)]

        def then(minutes: float, step: Callable[[], Any]) -> Any:
            tick[0] += timedelta(minutes=minutes)
            return self.replay.at(tick[0], step)

        for p in hall.participants.all():
            then(0.5, partial(m.meeting_check_in, actor=staff, meeting=meeting, participant=p))
        then(20, lambda: m.meeting_open(actor=chair, meeting=meeting))
        motions = [
            ("由城管部门接管朝翠路路灯设施并负责开通和日常管养", "路灯杆已安装到位，缺的是管养主体和通电。",
             [("member2", "for", "我们公司员工每天晚上走这条路，路灯早一天亮，安全就多一分。"),
              ("expert1", "for", "技术上只需完成电源接驳和线路检测，一个月内可以亮灯。")]),
            ("供电部门完成朝翠路两处路灯电源接驳", "现场勘察两处电源点可接驳。",
             [("deputy11", "for", "两处电源点距离近，工期约两周，供电局可以安排。")]),
            ("住建部门加快朝翠路市政设施移交手续", "未移交是管养主体不明确的根源。",
             [("deputy10", "for", "不移交的话，以后坏了又没人管，要从根子上解决。")]),
        ]
        voters = [self.u(name) for name in ("member2", "deputy10", "deputy11", "expert1")]
        for title, text, speeches in motions:
            motion = then(3, partial(m.motion_open, actor=chair, meeting=meeting, title=title, text=text))
            for who, stance, said in speeches:
                req = then(1, partial(m.floor_request, actor=self.u(who), meeting=meeting, motion=motion, stance=stance))
                then(0.5, partial(m.floor_grant, actor=chair, meeting=meeting, request=req))
                then(1.5, partial(m.speech_end, actor=self.u(who), meeting=meeting, request=req, text=said))
            then(1, partial(m.vote_open, actor=chair, meeting=meeting, motion=motion))
            for voter in voters:
                then(0.5, partial(m.vote_cast, actor=voter, meeting=meeting, motion=motion, choice="yes"))
            then(1, partial(m.vote_close, actor=chair, meeting=meeting, motion=motion))
        then(5, lambda: m.meeting_close(actor=chair, meeting=meeting))
        then(60, lambda: m.minutes_approve(actor=chair, meeting=meeting))
        self.last = tick[0]
        return True

    def _unit_user(self, key: str) -> User:
        return self.u(f"unit_{key}") if not key.startswith("street") else self.u(key)

    def _task_appeal(self, topic: Topic, key: str) -> Any:
        item = topic.responsibilities.select_related("appeal").filter(handling_unit=self.unit(key)).first()
        return item.appeal if item else None

    def _unit_accepts(self, topic: Topic, key: str) -> None:
        from yishi.appeals import services as appeals

        appeal = self._task_appeal(topic, key)
        if appeal is not None:
            appeals.appeal_accept(actor=self._unit_user(key), appeal=appeal)

    def _unit_replies(self, topic: Topic, key: str, reply: str, *, days_ago: float) -> None:
        """The unit accepts its task now, contacts the organiser, replies ``days_ago``; the reply is approved and the
        callback recorded the next working day."""
        from yishi.appeals import services as appeals

        appeal = self._task_appeal(topic, key)
        if appeal is None:
            return
        unit_user = self._unit_user(key)
        organiser = self.u("district1")
        appeals.appeal_accept(actor=unit_user, appeal=appeal)
        appeals.appeal_contact(actor=unit_user, appeal=appeal, text="已与议事厅联系，明确任务要求和时限。")
        # On time (the reply approved by the task's deadline), whatever holidays fall in between.
        replied = min(self.clock.day(days_ago, time(10, 0)), appeal.due_at - timedelta(hours=6))
        self.replay.at(replied, lambda: appeals.appeal_submit_reply(actor=unit_user, appeal=appeal, text=reply))
        self.replay.at(replied + timedelta(hours=2), lambda: appeals.appeal_approve_reply(actor=organiser, appeal=appeal))
        self.replay.at(self.clock.after(replied, 1, time(15, 0)), lambda: appeals.appeal_callback(
            actor=organiser, appeal=appeal, resolution="resolved", satisfaction="satisfied", comment="任务已落实。"))


# --- the step ------------------------------------------------------------------------------------------------------


def demo_topics_exist(ctx: DemoContext) -> bool:
    return Topic.objects.filter(room__org_unit__path__startswith=ctx.district().path).exists()


def load_consultations_demo(ctx: DemoContext | None = None, *, now: datetime | None = None) -> int:
    """Ensure the platform; replay the topics unless the demo district has some. Returns the topics created."""
    from yishi.appeals.catalogue import load_catalogue

    ctx = ctx or DemoContext()
    rooms = build_platform(ctx)
    if demo_topics_exist(ctx):
        return 0
    loaded = load_catalogue()  # the story's appeals need the shipped categories (the appeals step loads them too)
    if loaded.created:
        ctx.created["categories"] += loaded.created
    story = Story(ctx, rooms, now or timezone.now())
    with transaction.atomic():
        pending = len(connection.run_on_commit)
        for script in (story.chaocui, story.regressed, story.evaluating, story.implementing, story.no_decision,
                       story.submitted, story.decided, story.declined, story.meeting, story.researching, story.approved,
                       story.proposed):
            story.last = None
            script()
        # The replay is history: the texts and e-mails its steps queued must not go out now. In-app rows stay.
        del connection.run_on_commit[pending:]
    ctx.created["consultation topics"] += Topic.objects.filter(room__org_unit__path__startswith=ctx.district().path).count()
    return story.topics


def build_consultations(ctx: DemoContext) -> None:
    load_consultations_demo(ctx)


def reset_consultations(ctx: DemoContext) -> None:
    """Delete the demo district's topics (with their records), rooms, catalogue and talents."""
    district = OrgUnit.objects.filter(code=DISTRICT_CODE).first()
    if district is None:
        return
    in_tree = Q(room__org_unit__path__startswith=district.path)
    topics = Topic.objects.filter(in_tree)
    topics.update(escalated_from=None)
    ResponsibilityItem.objects.filter(topic__in=topics).delete()  # they protect the opinion items they came from
    ctx.deleted["consultation topics"] += topics.delete()[1].get("consultations.Topic", 0)
    rooms = Room.objects.filter(org_unit__path__startswith=district.path)
    rooms.update(parent=None)
    ctx.deleted["consultation rooms"] += rooms.delete()[1].get("consultations.Room", 0)
    ctx.deleted["catalogue items"] += CatalogueItem.objects.filter(org_unit__path__startswith=district.path).delete()[1].get(
        "consultations.CatalogueItem", 0)
    ctx.deleted["talents"] += Talent.objects.filter(org_unit__path__startswith=district.path).delete()[1].get("consultations.Talent", 0)


DEMO_STEPS = [DemoStep("consultations", build_consultations, reset_consultations,
                       "有事好商量：三级协商平台、议事协商目录、人才库、各环节议题与朝翠路路灯")]

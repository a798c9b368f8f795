"""Demo appeals for ``yishi demo`` (step "appeals"): six months of a living 接诉即办 system in the demo district.

What it adds after the core steps (places, stations, people):

* the shipped category catalogue (``fixtures/categories.csv``) and routing rules for the demo district: every
  first-level class to the right district department, utilities by kind of service, small 城市管理 and 物业 matters
  to the street office of the area, 社区服务 to the community office, village rubbish to the village committee;
* about 300 appeals replayed through the real services (``yishi.appeals.services``) at their own times with
  ``time_machine.travel``, so deadlines, on-time flags, supervision flags and the audit trail are what the system
  would have recorded. Older appeals run their whole course (returns, extensions, escalations 社区 → 街道 → 区,
  merges, duplicates, reopenings, callbacks of every kind, archiving); recent ones are caught in every state of
  the lifecycle, some at risk and some overdue now. The supervision sweep runs every morning of the replay;
* about 20 micro-wishes (微心愿) in every state, adopted by demo deputies, members and volunteers.

Each appeal is a *case*: a script of steps (submit, dispatch, accept…) on one or more appeals (a family for merges
and duplicates). Older cases time their steps relative to the previous step or to the appeal's own deadline
(during working hours for offices, 7:00–22:00 for the hotline centre, utilities and residents); recent cases
place their steps a fixed time before now. All cases run in one timeline, ordered by time, so the audit trail
and the sweep see the district as it was at each moment. A step whose time would be after now is not run.

Deterministic: every case draws from its own generator seeded with the demo seed and its number, so the same
cases in the same states come out on every load (tracking codes and callback tokens are random by design).
Idempotent: nothing is replayed when demo appeals (or wishes) exist; the catalogue and rules are ensured one by one.
"""

from __future__ import annotations

import heapq
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import time_machine
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from yishi.accounts.models import RoleAssignment, User
from yishi.core.demo import DISTRICT_CODE, STREETS, DemoContext, DemoStep
from yishi.core.demo_accounts import DEMO_PREFIX
from yishi.core.errors import YishiError
from yishi.notifications.services import notification_mark_read
from yishi.orgs.models import HandlingUnit, OrgUnit
from yishi.policy import workdays
from yishi.policy.services import workday_overrides

from . import demo_texts as texts
from . import services as svc
from .catalogue import load_catalogue, routing_rule_set
from .choices import Channel, Urgency
from .models import Appeal, Category, MicroWish, RoutingRule

logger = logging.getLogger("yishi.demo")

KEY_PREFIX = "demo-appeal-"
DAYS_BACK = 182

# --- routing rules ---------------------------------------------------------------------------------------------

# Category code → (lead unit key, co-unit keys), at the district level.
DISTRICT_RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "01": ("housing", ()), "02": ("environment", ()), "03": ("transport", ()), "04": ("market", ()),
    "05": ("health", ()), "06": ("hrss", ()), "07": ("education", ()), "08": ("police", ()), "09": ("civil", ()),
    "10": ("water", ()), "11": ("market", ()), "12": ("agriculture", ()), "13": ("housing", ()), "14": ("urban", ()),
    "0104": ("natural_resources", ()), "0402": ("culture", ()), "0704": ("culture", ()), "1001": ("water", ()),
    "1002": ("power", ()), "1003": ("gas", ()), "1004": ("water_affairs", ("urban",)), "1005": ("telecom", ()),
    "1501": ("emergency", ()),
    "010101": ("housing", ("natural_resources", "market")),  # 加装电梯: planning and lift safety co-handle
    "010403": ("urban", ()),  # 违章搭建 is enforced by 城管
    "020201": ("police", ()),  # 社会生活噪声 is the police's under the noise law
}


def has_co_units(code: str) -> bool:
    rule = DISTRICT_RULES.get(code) or DISTRICT_RULES.get(code[:4])
    return bool(rule and rule[1])


# Small matters the street office handles (物业监管, 市容, 环卫, 调解), one rule per street.
STREET_RULES = ["0103", "1401", "1402", "0804"]
COMMUNITY_RULES = ["0903"]  # 社区服务 → the community's own office
VILLAGE_RULES = ["120203"]  # 村内垃圾 → the village committee


def ensure_routing_rules(ctx: DemoContext) -> None:
    cats = {c.code: c for c in Category.objects.filter(code__in=[*DISTRICT_RULES, *STREET_RULES, *COMMUNITY_RULES, *VILLAGE_RULES])}
    district = ctx.district()
    existing = set(RoutingRule.objects.filter(area__path__startswith=district.path).values_list("category__code", "area_id"))

    def ensure(code: str, area: OrgUnit, lead: HandlingUnit, co: list[HandlingUnit]) -> None:
        if code in cats and (code, area.pk) not in existing:
            routing_rule_set(actor=None, category=cats[code], area=area, lead_unit=lead, co_units=co)
            ctx.created["routing rules"] += 1

    for code, (lead, co) in DISTRICT_RULES.items():
        ensure(code, district, ctx.handling_unit(lead), [ctx.handling_unit(k) for k in co])
    for s, street in enumerate(ctx.units("street"), start=1):
        for code in STREET_RULES:
            ensure(code, street, ctx.handling_unit(f"street{s}"), [])
    for n, community in enumerate(ctx.units("community"), start=1):
        office = ctx.handling_unit(f"community{n}")
        for code in COMMUNITY_RULES + (VILLAGE_RULES if community.name.endswith("村") else []):
            ensure(code, community, office, [])


# --- time --------------------------------------------------------------------------------------------------------

# (start, end, working days only)
WINDOWS = {"office": (time(8, 30), time(17, 30), True), "daytime": (time(7, 0), time(22, 0), False)}


class Clock:
    """Working hours in the calendar of the demo (holidays and 调休 included)."""

    def __init__(self) -> None:
        self.overrides = workday_overrides()
        self.tz = timezone.get_current_timezone()

    def _ok(self, day: date, kind: str) -> bool:
        return not WINDOWS[kind][2] or workdays.is_workday(day, self.overrides)

    def at(self, day: date, clock: time) -> datetime:
        return timezone.make_aware(datetime.combine(day, clock), self.tz)

    def forward(self, t: datetime, kind: str, rng: random.Random) -> datetime:
        """``t`` when it falls in the window, else the next opening plus a little."""
        jitter = timedelta(minutes=rng.randint(3, 80))
        start, end, _ = WINDOWS[kind]
        local = timezone.localtime(t, self.tz)
        day = local.date()
        if self._ok(day, kind) and start <= local.time() < end:
            return t
        if not (self._ok(day, kind) and local.time() < start):
            day += timedelta(days=1)
            while not self._ok(day, kind):
                day += timedelta(days=1)
        return self.at(day, start) + jitter

    def backward(self, t: datetime, kind: str, rng: random.Random) -> datetime:
        """``t`` when it falls in the window, else the last closing minus a little."""
        jitter = timedelta(minutes=rng.randint(3, 80))
        start, end, _ = WINDOWS[kind]
        local = timezone.localtime(t, self.tz)
        day = local.date()
        if self._ok(day, kind) and start <= local.time() < end:
            return t
        if not (self._ok(day, kind) and local.time() >= end):
            day -= timedelta(days=1)
            while not self._ok(day, kind):
                day -= timedelta(days=1)
        return self.at(day, end) - jitter


# --- cases -------------------------------------------------------------------------------------------------------


@dataclass
class Step:
    action: str
    when: tuple[Any, ...]  # ("after", lo_h, hi_h) | ("due", lo, hi, bound) | ("ago", hours) | ("at", datetime)
    target: str = "main"
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Intake:
    data: svc.AppealInput
    channel: str
    actor: Any
    on_behalf: bool
    key: str
    who: str  # how staff address the resident in notes


@dataclass
class Case:
    no: int
    rng: random.Random
    template: texts.Template | None
    center: bool  # the hotline centre (dispatcher) manages it rather than the community
    steps: list[Step] = field(default_factory=list)
    intakes: dict[str, Intake] = field(default_factory=dict)
    appeals: dict[str, Appeal] = field(default_factory=dict)  # as the services last returned them
    pos: int = 0
    last: datetime | None = None
    wish: int | None = None
    community: OrgUnit | None = None
    fill: dict[str, str] = field(default_factory=dict)

    @property
    def wish_id(self) -> int:
        """The wish this case submitted: the other wish steps come after ``wish_submit``."""
        assert self.wish is not None, "a wish step before wish_submit"
        return self.wish


def A(lo: float, hi: float) -> tuple[Any, ...]:
    return ("after", lo, hi)


def D(lo: float, hi: float, bound: bool = False) -> tuple[Any, ...]:
    return ("due", lo, hi, bound)


def AGO(hours: float) -> tuple[Any, ...]:
    return ("ago", hours)


@dataclass
class AppealsDemoReport:
    appeals: int = 0
    wishes: int = 0
    steps: int = 0
    sweeps: int = 0
    not_reached: int = 0  # steps that would have fallen after now
    stalls: list[str] = field(default_factory=list)  # steps the services refused, ending their case (should stay empty)
    skipped_steps: list[str] = field(default_factory=list)  # optional steps the calendar made impossible
    states: Counter[str] = field(default_factory=Counter)
    skipped: bool = False


class People:
    """The demo logins the replay acts as, found through their roles."""

    def __init__(self, district: OrgUnit) -> None:
        roles = (
            RoleAssignment.objects.filter(user__username__startswith=DEMO_PREFIX, is_active=True, org_unit__path__startswith=district.path)
            .select_related("user", "org_unit")
            .order_by("user__username", "id")
        )
        self.dispatchers: list[User] = []
        self.district_staff: list[User] = []
        self.community_staff: dict[int, User] = {}
        self.street_staff: dict[int, User] = {}
        self.unit_users: dict[int, User] = {}  # handling unit pk → its liaison
        self.unit_heads: dict[int, User] = {}
        self.grid_workers: dict[int, User] = {}
        self.intake_reps: list[tuple[User, OrgUnit]] = []
        self.adopters: list[User] = []
        self.residents: dict[int, list[User]] = {}  # community pk → residents living there
        users: dict[int, User] = {}
        for ra in roles:
            user = users.setdefault(ra.user_id, ra.user)
            if ra.role == "dispatcher":
                self.dispatchers.append(user)
            elif ra.role == "district_staff":
                self.district_staff.append(user)
            elif ra.role == "community_staff":
                self.community_staff.setdefault(ra.org_unit_id, user)
            elif ra.role == "street_staff":
                self.street_staff.setdefault(ra.org_unit_id, user)
            elif ra.role == "unit_liaison" and ra.handling_unit_id:
                self.unit_users.setdefault(ra.handling_unit_id, user)
            elif ra.role == "unit_head" and ra.handling_unit_id:
                self.unit_heads.setdefault(ra.handling_unit_id, user)
            elif ra.role == "grid_worker":
                self.grid_workers.setdefault(ra.org_unit_id, user)
            elif ra.role in ("deputy", "cppcc_member"):
                self.intake_reps.append((user, ra.org_unit))
                self.adopters.append(user)
            elif ra.role == "volunteer":
                self.adopters.append(user)
            elif ra.role == "resident" and ra.org_unit.level == "community":
                self.residents.setdefault(ra.org_unit_id, []).append(user)
        if not (self.dispatchers and self.community_staff and self.unit_users):
            raise RuntimeError("the appeals demo needs the demo people: run the core demo steps first")


# --- the replay ----------------------------------------------------------------------------------------------


class Replay:
    def __init__(self, ctx: DemoContext, now: datetime, report: AppealsDemoReport) -> None:
        self.ctx = ctx
        self.now = now
        self.start = now - timedelta(days=DAYS_BACK)
        self.report = report
        self.clock = Clock()
        self.district = ctx.district()
        self.people = People(self.district)
        self.streets = ctx.units("street")
        self.communities = ctx.units("community")
        self.orgs = {u.pk: u for u in OrgUnit.objects.subtree(self.district)}
        self.grids: dict[int, list[OrgUnit]] = {}
        for grid in ctx.units("grid"):
            self.grids.setdefault(grid.parent_id, []).append(grid)  # type: ignore[arg-type]
        self.street_no = {s.pk: i for i, s in enumerate(self.streets, start=1)}
        self.community_no = {c.pk: i for i, c in enumerate(self.communities, start=1)}
        self.roads = {name: road for _s, _n, _r, cs in STREETS for name, road in cs}
        self.street_roads = {s.pk: [self.roads.get(c.name, "") for c in self.communities if c.parent_id == s.pk] for s in self.streets}
        self.categories = {c.code: c for c in Category.objects.all()}
        self.units = {u.pk: u for u in HandlingUnit.objects.filter(org_unit__path__startswith=self.district.path)}
        self.cases: list[Case] = []
        self.templates = {t.key: t for t in texts.TEMPLATES}
        self.phone_no = 0
        self.actor: Any = None
        self.inbox_days: set[tuple[int, date]] = set()

    # people ----------------------------------------------------------------------------------------------
    def hu(self, key: str, appeal: Appeal | None = None) -> HandlingUnit:
        if key == "street" and appeal is not None:
            path = self.orgs[appeal.org_unit_id].path
            street = next(s for s in self.streets if path.startswith(s.path))
            key = f"street{self.street_no[street.pk]}"
        return self.ctx.handling_unit(key)

    def manager(self, case: Case, appeal: Appeal, local: bool = False) -> User:
        level = self.orgs[appeal.handling_level_id]
        if level.level == "district" or (case.center and not local):
            user = self.people.dispatchers[case.no % len(self.people.dispatchers)]
        elif level.level == "street":
            user = self.people.street_staff[level.pk]
        else:
            user = self.people.community_staff[level.pk]
        return self.acting(user)

    def unit_user(self, unit_id: int) -> User:
        return self.acting(self.people.unit_users[unit_id])

    def supervisor(self, case: Case, appeal: Appeal) -> User:
        staff = self.people.district_staff or self.people.dispatchers
        return self.acting(staff[case.no % len(staff)])

    def read_notifications(self, user: User, t: datetime) -> None:
        """Staff open their inbox when they start work: what was sent before their first action of a day is read."""
        key = (user.pk, timezone.localtime(t).date())
        if key not in self.inbox_days:
            self.inbox_days.add(key)
            notification_mark_read(user=user)

    def acting(self, user: Any) -> Any:
        """Remember who acts in the current step: they have read their notifications by then."""
        self.actor = user
        return user

    # planning helpers ----------------------------------------------------------------------------------
    def new_case(self, template: texts.Template | None, *, center: bool | None = None) -> Case:
        no = len(self.cases) + 1
        rng = random.Random(f"{self.ctx.seed}:appeals:{no}")
        case = Case(no=no, rng=rng, template=template, center=bool(center))
        self.cases.append(case)
        return case

    def pick_community(self, rng: random.Random, template: texts.Template | None, streets: int = 5) -> OrgUnit:
        pool = [c for c in self.communities if self.street_no[c.parent_id] <= streets]  # type: ignore[index]
        if template is not None and template.where == "village":
            pool = [c for c in pool if c.name.endswith("村")] or pool
        elif template is not None and template.where == "urban":
            pool = [c for c in pool if not c.name.endswith("村")] or pool
        return rng.choice(pool)

    def pick_template(self, rng: random.Random, *, keys: list[str] | None = None, handling: bool = False) -> texts.Template:
        pool = [self.templates[k] for k in keys] if keys else list(texts.TEMPLATES)
        if handling:  # recent cases whose state depends on a deadline in days: no 2 h / 24 h / fast-lane matters
            pool = [t for t in pool if self._limit_kind(t) == "days"] or pool
        return rng.choices(pool, weights=[t.weight for t in pool])[0]

    def _limit_kind(self, t: texts.Template) -> str:
        cat = self.categories[t.category]
        if cat.fast_lane:
            return "fast"
        return "hours" if cat.default_urgency in (Urgency.URGENT, Urgency.UTILITY) else "days"

    def fill(self, rng: random.Random, community: OrgUnit) -> dict[str, str]:
        base = community.name.removesuffix("社区").removesuffix("村")
        if community.name.endswith("村"):
            estate = base + rng.choice(["村东坊", "村西坊", "村南队", "村北队", "村新村"])
        else:
            estate = rng.choice([f"{base}花园", f"{base}新村", f"{base}雅苑", f"{base}小区", f"{base}华庭"])
        street = next(s for s in self.streets if s.pk == community.parent_id)
        road = self.roads.get(community.name) or street.name
        others = [r for r in self.street_roads[street.pk] if r and r != road] or [road]
        return {
            "estate": estate, "road": road, "community": community.name, "street": street.name,
            "bld": f"{rng.randint(1, 16)}栋", "floor": str(rng.randint(3, 8)),
            "landmark": rng.choice([*texts.LANDMARKS, f"{rng.choice(others)}路口"]),
            "days": rng.choice(texts.DAYS), "ago": rng.choice(texts.AGOS), "shop": rng.choice(texts.SHOPS),
            "school": rng.choice(texts.SCHOOLS), "destination": rng.choice(texts.DESTINATIONS),
        }

    def person(self, rng: random.Random) -> tuple[str, str]:
        self.phone_no += 1
        block, n = 6 + (self.phone_no - 1) // 999, (self.phone_no - 1) % 999 + 1
        surname = rng.choice("陈黄李梁林何张吴刘谭冯罗郑叶周麦邓余赵杨谢许胡关曾苏朱卢彭伍钟")
        name = surname + (rng.choice(["女士", "先生", "阿姨", "伯"]) if rng.random() < 0.6 else rng.choice(
            ["志明", "秀兰", "国华", "丽娟", "伟强", "月好", "家明", "少玲", "锦荣", "美华", "建新", "慧琳"]))
        return name, f"1380000{block}{n:03d}"

    def intake(self, case: Case, target: str, *, title: str, text: str, nature: str, category: str,
               community: OrgUnit, channel: str | None = None, same_as: Intake | None = None,
               anonymous: bool | None = None) -> Intake:
        rng = case.rng
        if same_as is not None:  # the same resident again (a duplicate)
            channel = same_as.channel if same_as.channel != Channel.HOTLINE_IMPORT else Channel.PHONE
        if channel is None:
            channel = rng.choices(
                [Channel.WEB, Channel.PHONE, Channel.HOTLINE_IMPORT, Channel.WALK_IN, Channel.GRID_VISIT, Channel.STATION],
                weights=[30, 20, 15, 10, 15, 10],
            )[0]
        grids = self.grids.get(community.pk, [])
        unit = rng.choice(grids) if grids and rng.random() < 0.7 else community
        actor: Any = None
        on_behalf = True
        contact_name = contact_phone = ""
        is_anonymous = False
        residents = self.people.residents.get(community.pk, [])
        if channel == Channel.WEB:
            on_behalf = False
            named = residents and (anonymous is False or (anonymous is None and rng.random() < 0.65))
            if same_as is not None:
                actor, is_anonymous = same_as.actor, same_as.data.anonymous
            elif named:
                actor = rng.choice(residents)
            else:
                is_anonymous = True
        elif channel in (Channel.PHONE, Channel.HOTLINE_IMPORT):
            actor = self.people.dispatchers[case.no % len(self.people.dispatchers)]
            case.center = True
        elif channel == Channel.WALK_IN:
            actor = self.people.community_staff[community.pk]
        elif channel == Channel.GRID_VISIT:
            unit = rng.choice(grids) if grids else community
            actor = self.people.grid_workers.get(unit.pk) or self.people.community_staff[community.pk]
        elif channel == Channel.STATION:
            reps = [u for u, scope in self.people.intake_reps if community.path.startswith(scope.path)]
            actor = rng.choice(reps) if reps else self.people.community_staff[community.pk]
        if on_behalf:
            if same_as is not None:
                contact_name, contact_phone = same_as.data.contact_name, same_as.data.contact_phone
                is_anonymous = same_as.data.anonymous
            elif anonymous or (anonymous is None and channel in (Channel.PHONE, Channel.HOTLINE_IMPORT) and rng.random() < 0.1):
                is_anonymous = True
            else:
                contact_name, contact_phone = self.person(rng)
        lat = lng = None
        if channel in (Channel.WEB, Channel.GRID_VISIT) and rng.random() < 0.5 and unit.min_lat is not None:
            lat = round(unit.min_lat + (unit.max_lat - unit.min_lat) * (0.1 + 0.8 * rng.random()), 6)  # type: ignore[operator]
            lng = round(unit.min_lng + (unit.max_lng - unit.min_lng) * (0.1 + 0.8 * rng.random()), 6)  # type: ignore[operator]
        f = case.fill
        address = f"江海区{f['street']}{f['road']}{rng.randint(1, 180)}号" if rng.random() < 0.5 else f"{f['community']}{f['estate']}"
        data = svc.AppealInput(
            nature=nature, category_id=self.categories[category].pk, title=title[:60], text=text, org_unit_id=unit.pk,
            address=address, latitude=lat, longitude=lng, anonymous=is_anonymous,
            consent_contact=not is_anonymous and rng.random() < 0.95, contact_name=contact_name, contact_phone=contact_phone,
            external_ref=(f"JM12345-{case.no:04d}" + ("" if target == "main" else f"-{target}")) if channel == Channel.HOTLINE_IMPORT else "",
        )
        who = "匿名群众" if is_anonymous else (contact_name or (str(actor) if actor else "群众"))
        intake = Intake(data=data, channel=channel, actor=actor, on_behalf=on_behalf, key=f"{KEY_PREFIX}{case.no:03d}-{target}", who=who)
        case.intakes[target] = intake
        return intake

    def template_intake(self, case: Case, target: str = "main", *, community: OrgUnit | None = None,
                        channel: str | None = None, same_as: Intake | None = None, misfiled: bool = False,
                        anonymous: bool | None = None) -> Intake:
        t = case.template
        assert t is not None
        rng = case.rng
        if community is None:
            community = case.community or self.pick_community(rng, t)
        case.community = community
        if not case.fill:
            case.fill = self.fill(rng, community)
        title = rng.choice(t.titles).format(**case.fill)
        text = rng.choice(t.texts).format(**case.fill)
        if same_as is not None:
            title, text = "再次反映：" + same_as.data.title, f"{text}（之前已经反映过，到现在还没有人处理。）"
        category = "150401" if misfiled else t.category
        return self.intake(case, target, title=title, text=text, nature=t.nature, category=category,
                           community=community, channel=channel, same_as=same_as, anonymous=anonymous)

    def reply_text(self, case: Case) -> str:
        assert case.template is not None
        return case.rng.choice(case.template.replies).format(**case.fill)

    # scripts -----------------------------------------------------------------------------------------------
    def cycle(self, case: Case, target: str = "main", *, on_time: bool = True, late_accept: bool = False,
              extension: str = "", reply_returned: bool = False, co: bool = False, supervise: bool = False) -> list[Step]:
        """A handling unit's work on a dispatched appeal, up to the approved reply."""
        quick = case.template is not None and self._limit_kind(case.template) == "hours"
        st: list[Step] = []
        if quick:
            st += [Step("accept", D(0.05, 0.15, True), target), Step("contact", D(0.15, 0.3, True), target)]
        else:
            st += [Step("accept", A(28, 50) if late_accept else A(0.3, 5), target), Step("contact", A(0.2, 4), target)]
        if co:
            st.append(Step("co_report", A(3, 30), target))
        st.append(Step("progress", D(0.3, 0.5, True), target))
        if supervise:
            st.append(Step("supervise", D(0.9, 1.4), target))
        if extension:
            st.append(Step("request_extension", D(0.5, 0.7, True), target))
            st.append(Step(f"{extension}_extension", A(1, 7), target))
        if reply_returned:
            st += [Step("submit_reply", D(0.45, 0.6, True), target, {"draft": True}), Step("return_reply", A(1, 5), target),
                   Step("progress", A(2, 20), target)]
        st.append(Step("submit_reply", D(0.65, 0.85, True) if on_time else D(1.15, 1.9), target))
        st.append(Step("approve_reply", A(0.3, 4), target))
        return st

    def callback(self, case: Case, kind: str, target: str = "main", *, soon: bool = False) -> list[Step]:
        """The resident's judgement, and what follows it."""
        if kind == "no_answer":
            return []
        res, sat = {
            "resolved_satisfied": ("resolved", "satisfied"), "resolved_basic": ("resolved", "basic"),
            "resolved_unsatisfied": ("resolved", "unsatisfied"), "resolved_noanswer": ("resolved", "no_answer"),
            "partial_basic": ("partial", "basic"), "partial_unsatisfied": ("partial", "unsatisfied"),
            "unresolved_notfault": ("unresolved", "unsatisfied"), "unresolved_reopen": ("unresolved", "unsatisfied"),
            "link_reopen": ("partial", "unsatisfied"),
        }[kind]
        st = [Step("callback", A(0.3, 5) if soon else A(3, 30), target, {"resolution": res, "satisfaction": sat, "fault": kind != "unresolved_notfault"})]
        if res != "resolved" and kind not in ("unresolved_reopen", "link_reopen"):
            st.append(Step("close", A(2, 24), target))
        if kind == "link_reopen":
            st.append(Step("request_reopen", A(2, 30), target))
        if kind in ("unresolved_reopen", "link_reopen"):
            st.append(Step("reopen", A(1, 20), target))
            st += self.cycle(case, target)
            st += self.callback(case, "resolved_basic", target)
        return st

    def callback_kind(self, case: Case) -> str:
        kinds = {
            "resolved_satisfied": 45, "resolved_basic": 18, "resolved_unsatisfied": 3, "resolved_noanswer": 2,
            "partial_basic": 7, "partial_unsatisfied": 4, "unresolved_notfault": 3, "unresolved_reopen": 5,
            "link_reopen": 3, "no_answer": 8,
        }
        return case.rng.choices(list(kinds), weights=list(kinds.values()))[0]

    def archive(self, case: Case, target: str = "main", p: float = 0.8) -> list[Step]:
        """归档 some weeks after closing (the monthly filing); some closed appeals are never filed in the demo."""
        return [Step("archive", A(300, 900), target)] if case.rng.random() < p else []

    def start_at(self, case: Case, t: datetime, *, backward: bool = False) -> None:
        """The case begins with its first submission at ``t`` (moved into the hours its channel is open)."""
        target = case.steps[0].target if case.steps else "main"
        if target in case.intakes:
            window = submit_window(case.intakes[target].channel)
            t = self.clock.backward(t, window, case.rng) if backward else self.clock.forward(t, window, case.rng)
        case.steps.insert(0, Step("submit", ("at", min(t, self.now - timedelta(minutes=30))), target))

    def history_time(self, rng: random.Random, min_age_days: float) -> datetime:
        """A start for an older case: anywhere between six months ago and ``min_age_days`` ago, more recent more likely."""
        span = DAYS_BACK - min_age_days
        return self.start + timedelta(days=span * (rng.random() ** 0.75))

    # older cases: their whole course ----------------------------------------------------------------------
    def plan_history(self) -> None:
        for _ in range(106):
            self.plan_normal()
        for _ in range(12):
            self.plan_answer()
        for i in range(10):
            self.plan_reject(i)
        for i in range(len(texts.RETURNS_APPROVED)):
            self.plan_return_approved(i)
        for i in range(len(texts.RETURNS_REFUSED)):
            self.plan_return_refused(i)
        for i in range(12):
            self.plan_extension("approve" if i % 3 else "refuse")
        for _ in range(6):
            self.plan_reply_returned()
        for i in range(10):
            self.plan_escalation(to_district=i % 2 == 1)
        self.plan_chaocui()
        for _ in range(3):
            self.plan_merge_family()
        for _ in range(8):
            self.plan_duplicate()
        for _ in range(6):
            self.plan_late(supervise=True)
        for _ in range(6):
            self.plan_late(supervise=False)

    def plan_normal(self) -> None:
        case = self.new_case(None)
        case.template = self.pick_template(case.rng)
        misfiled = case.rng.random() < 0.08
        self.template_intake(case, misfiled=misfiled)
        t = self.history_time(case.rng, 12)
        steps: list[Step] = []
        if misfiled:
            steps.append(Step("triage", A(0.3, 3), args={"category": case.template.category}))
        steps.append(Step("dispatch", A(0.2, 5), args={"lead": case.template.lead}))
        steps += self.cycle(case, on_time=case.rng.random() < 0.88, late_accept=case.rng.random() < 0.1,
                            co=has_co_units(case.template.category))
        steps += self.callback(case, self.callback_kind(case))
        steps += self.archive(case)
        case.steps = steps
        self.start_at(case, t)

    def plan_answer(self) -> None:
        case = self.new_case(None)
        case.template = self.pick_template(case.rng, keys=[t.key for t in texts.TEMPLATES if t.nature == "consult"])
        self.template_intake(case)
        case.steps = [Step("answer", A(0.3, 4)), *self.callback(case, case.rng.choice(["resolved_satisfied", "resolved_satisfied", "resolved_basic", "no_answer"])),
                      *self.archive(case)]
        self.start_at(case, self.history_time(case.rng, 8))

    def plan_reject(self, i: int) -> None:
        case = self.new_case(None)
        title, text, nature, category, reason = texts.REJECTIONS[i % len(texts.REJECTIONS)]
        community = self.pick_community(case.rng, None)
        case.fill = self.fill(case.rng, community)
        self.intake(case, "main", title=title, text=text, nature=nature, category=category, community=community)
        case.steps = [Step("reject", A(0.5, 8), args={"reason": reason}), *self.archive(case, p=0.6)]
        self.start_at(case, self.history_time(case.rng, 5))

    def plan_return_approved(self, i: int) -> None:
        key, wrong, reason, basis = texts.RETURNS_APPROVED[i]
        case = self.new_case(self.templates[key])
        self.template_intake(case)
        case.steps = [
            Step("dispatch", A(0.2, 5), args={"lead": wrong}),
            Step("request_return", A(1, 10), args={"reason": reason, "basis": basis}),
            Step("approve_return", A(0.5, 6), args={"note": "经核实退单理由成立，按职责改派。"}),
            *self.cycle(case), *self.callback(case, "resolved_basic"), *self.archive(case),
        ]
        self.start_at(case, self.history_time(case.rng, 20))

    def plan_return_refused(self, i: int) -> None:
        key, reason, basis, refusal = texts.RETURNS_REFUSED[i]
        case = self.new_case(self.templates[key])
        self.template_intake(case)
        accepted_first = i % 2 == 1
        steps = [Step("dispatch", A(0.2, 5))]
        if accepted_first:
            steps.append(Step("accept", A(0.5, 4)))
        steps += [Step("request_return", A(1, 10), args={"reason": reason, "basis": basis}),
                  Step("refuse_return", A(0.5, 6), args={"reason": refusal})]
        cycle = self.cycle(case, on_time=i != 2)
        steps += cycle[1:] if accepted_first else cycle
        steps += self.callback(case, self.callback_kind(case)) + self.archive(case)
        case.steps = steps
        self.start_at(case, self.history_time(case.rng, 20))

    def plan_extension(self, decision: str) -> None:
        case = self.new_case(None)
        case.template = self.pick_template(case.rng, handling=True)
        self.template_intake(case)
        case.steps = [Step("dispatch", A(0.2, 5)), *self.cycle(case, extension=decision, on_time=decision == "approve" or case.rng.random() < 0.5),
                      *self.callback(case, self.callback_kind(case)), *self.archive(case)]
        self.start_at(case, self.history_time(case.rng, 30))

    def plan_reply_returned(self) -> None:
        case = self.new_case(None)
        case.template = self.pick_template(case.rng, handling=True)
        self.template_intake(case)
        case.steps = [Step("dispatch", A(0.2, 5)), *self.cycle(case, reply_returned=True),
                      *self.callback(case, self.callback_kind(case)), *self.archive(case)]
        self.start_at(case, self.history_time(case.rng, 20))

    def plan_escalation(self, *, to_district: bool) -> None:
        case = self.new_case(None)
        case.template = self.pick_template(case.rng, handling=True)
        self.template_intake(case, channel=case.rng.choice([Channel.WEB, Channel.WALK_IN, Channel.GRID_VISIT, Channel.STATION]))
        steps = [Step("escalate", A(2, 30), args={"reason": case.rng.choice(texts.ESCALATE_TO_STREET)})]
        if to_district:
            steps.append(Step("escalate", A(2, 30), args={"reason": case.rng.choice(texts.ESCALATE_TO_DISTRICT)}))
            steps.append(Step("dispatch", A(0.3, 6)))
        else:
            steps.append(Step("dispatch", A(0.5, 10), args={"lead": "street" if case.rng.random() < 0.5 else ""}))
        steps += self.cycle(case) + self.callback(case, self.callback_kind(case)) + self.archive(case)
        case.steps = steps
        self.start_at(case, self.history_time(case.rng, 25))

    def plan_late(self, *, supervise: bool) -> None:
        case = self.new_case(None)
        case.template = self.pick_template(case.rng, handling=True)
        self.template_intake(case)
        case.steps = [Step("dispatch", A(0.2, 5)), *self.cycle(case, on_time=False, late_accept=case.rng.random() < 0.5, supervise=supervise),
                      *self.callback(case, case.rng.choice(["resolved_basic", "resolved_unsatisfied", "partial_unsatisfied", "resolved_satisfied"])),
                      *self.archive(case)]
        self.start_at(case, self.history_time(case.rng, 35))

    def plan_merge_family(self) -> None:
        """Several residents about one object: the children are merged into the first and judged one by one."""
        case = self.new_case(None, center=True)
        case.template = self.pick_template(case.rng, keys=["waterlogging", "black_river", "square_dance", "night_construction", "street_vending"])
        community = self.pick_community(case.rng, case.template)
        self.template_intake(case, community=community)
        children = [f"child{i}" for i in range(case.rng.randint(2, 3))]
        steps = [Step("dispatch", A(0.2, 3)), Step("accept", A(0.3, 4)), Step("contact", A(0.2, 3))]
        for child in children:
            t = case.template
            text = case.rng.choice(t.texts).format(**case.fill)
            self.intake(case, child, title=case.rng.choice(t.titles).format(**case.fill), text=text, nature=t.nature,
                        category=t.category, community=community)
            steps += [Step("submit", A(2, 20), child), Step("merge", A(0.3, 4), child, {"into": "main"})]
        steps += self.cycle(case)[2:]
        steps += self.callback(case, "resolved_satisfied")
        for child in children:
            steps += self.callback(case, case.rng.choice(["resolved_satisfied", "resolved_basic", "no_answer"]), child, soon=True)
        steps += self.archive(case, p=1.0)
        for child in children:
            steps += self.archive(case, child, p=0.8)
        case.steps = steps
        self.start_at(case, self.history_time(case.rng, 30))

    def plan_chaocui(self) -> None:
        """Seed 004: 朝翠路's street lights never switched on; three levels, one month, lights on."""
        case = self.new_case(self.templates["street_light"])
        community = next((c for c in self.communities if c.name == "朝翠社区"), self.communities[0])
        case.fill = self.fill(case.rng, community)
        title, text = texts.CHAOCUI_MAIN
        self.intake(case, "main", title=title, text=text, nature="suggest", category="140301", community=community, channel=Channel.STATION)
        steps = [Step("escalate", A(3, 20), args={"reason": texts.CHAOCUI_STEPS["escalate_street"], "local": True})]
        for i, (ctitle, ctext) in enumerate(texts.CHAOCUI_CHILDREN):
            child = f"child{i}"
            self.intake(case, child, title=ctitle, text=ctext, nature="complaint", category="140301", community=community,
                        channel=[Channel.WEB, Channel.PHONE, Channel.GRID_VISIT][i], anonymous=False)
            steps.append(Step("submit", A(4, 40), child))
        steps += [
            Step("escalate", A(3, 30), args={"reason": texts.CHAOCUI_STEPS["escalate_district"], "local": True}),
            *[Step("merge", A(0.5, 4), f"child{i}", {"into": "main"}) for i in range(len(texts.CHAOCUI_CHILDREN))],
            Step("triage", A(0.5, 3), args={"urgency": Urgency.COMPLEX, "fast_lane": False}),
            Step("dispatch", A(0.5, 4), args={"lead": "urban", "co": ["power", "housing"], "note": "区指挥中心协调：城管主办，供电、住建协办。"}),
            Step("accept", A(0.5, 3)), Step("contact", A(0.5, 4)),
            Step("progress", A(20, 60), args={"text": texts.CHAOCUI_STEPS["progress"]}),
            Step("co_report", A(10, 40), args={"unit": "power", "text": texts.CHAOCUI_STEPS["co_power"]}),
            Step("request_extension", D(0.6, 0.75, True), args={"days": 10, "reason": texts.CHAOCUI_STEPS["extension"]}),
            Step("approve_extension", A(1, 5), args={"note": "同意延期，请各单位按调研意见抓紧推进。"}),
            Step("co_report", A(24, 60), args={"unit": "housing", "text": texts.CHAOCUI_STEPS["co_housing"]}),
            Step("submit_reply", D(0.7, 0.85, True), args={"text": texts.CHAOCUI_STEPS["reply"]}),
            Step("approve_reply", A(0.5, 3)),
            *self.callback(case, "resolved_satisfied"),
            *[s for i in range(len(texts.CHAOCUI_CHILDREN)) for s in self.callback(case, "resolved_satisfied", f"child{i}", soon=True)],
            *self.archive(case, p=1.0),
        ]
        case.steps = steps
        self.start_at(case, self.now - timedelta(days=118))

    def plan_duplicate(self, *, recent: bool = False) -> None:
        """The same resident about the same matter again: marked a duplicate of the first."""
        case = self.new_case(None)
        case.template = self.pick_template(case.rng, handling=True)
        first = self.template_intake(case, channel=case.rng.choice([Channel.WEB, Channel.PHONE]), anonymous=False)
        self.template_intake(case, "dup", same_as=first)
        if recent:
            hours = case.rng.uniform(30, 90)
            case.steps = [Step("dispatch", AGO(hours - 2)), Step("accept", AGO(hours - 4)), Step("contact", AGO(hours - 6)),
                          Step("submit", AGO(case.rng.uniform(4, 20)), "dup"), Step("mark_duplicate", AGO(case.rng.uniform(0.5, 3)), "dup", {"original": "main"})]
            self.start_at(case, self.now - timedelta(hours=hours), backward=True)
            return
        case.steps = [Step("dispatch", A(0.2, 5)), Step("accept", A(0.3, 5)), Step("submit", A(20, 90), "dup"),
                      Step("mark_duplicate", A(0.5, 6), "dup", {"original": "main"}), *self.cycle(case)[1:],
                      *self.callback(case, self.callback_kind(case)), *self.archive(case), *self.archive(case, "dup", p=0.7)]
        self.start_at(case, self.history_time(case.rng, 25))

    # recent cases: caught in every state now ----------------------------------------------------------------
    def recent(self, steps: list[tuple[str, float, dict[str, Any]]], *, keys: list[str] | None = None, handling: bool = True,
               channel: str | None = None) -> Case:
        case = self.new_case(None)
        case.template = self.pick_template(case.rng, keys=keys, handling=handling)
        community = self.pick_community(case.rng, case.template, streets=4 if handling else 5)
        self.template_intake(case, community=community, channel=channel)
        submit_h, *rest = steps
        case.steps = [Step(a, AGO(h), args=args) for a, h, args in rest]
        self.start_at(case, self.now - timedelta(hours=submit_h[1]), backward=True)
        return case

    def plan_recent(self, rng: random.Random) -> None:
        def u(lo: float, hi: float) -> float:
            return rng.uniform(lo, hi)

        no: dict[str, Any] = {}
        for _ in range(6):  # received, waiting for triage
            self.recent([("submit", u(0.5, 14), no)], handling=False)
        for i in range(3):  # escalated, waiting at the street (or the district)
            h = u(20, 60)
            steps = [("submit", h, no), ("escalate", h - u(3, 10), {"reason": rng.choice(texts.ESCALATE_TO_STREET), "local": True})]
            if i == 2:
                steps.append(("escalate", u(1, 8), {"reason": rng.choice(texts.ESCALATE_TO_DISTRICT), "local": True}))
            self.recent(steps, channel=Channel.WALK_IN)
        for i in range(3):
            h = u(5, 60)
            case = self.new_case(None)
            title, text, nature, category, reason = texts.REJECTIONS[(i + 3) % len(texts.REJECTIONS)]
            community = self.pick_community(case.rng, None)
            case.fill = self.fill(case.rng, community)
            self.intake(case, "main", title=title, text=text, nature=nature, category=category, community=community)
            case.steps = [Step("reject", AGO(h - u(1, 4)), args={"reason": reason})]
            self.start_at(case, self.now - timedelta(hours=h), backward=True)
        for i in range(10):  # dispatched, not yet accepted (two of them long overdue for acceptance)
            h = u(40, 90) if i < 2 else u(1, 18)
            self.recent([("submit", h + u(1, 5), no), ("dispatch", h, no)], handling=False)
        for i in range(4):  # a return waiting for the dispatcher
            h = u(20, 60)
            key, wrong, reason, basis = texts.RETURNS_APPROVED[i]
            steps = [("submit", h + 3, no), ("dispatch", h, {"lead": wrong})]
            if i % 2:
                steps.append(("accept", h - u(1, 6), no))
            steps.append(("request_return", u(1, 12), {"reason": reason, "basis": basis}))
            self.recent(steps, keys=[key], handling=False)
        for _ in range(7):  # accepted, resident not yet contacted
            h = u(2, 20)
            self.recent([("submit", h + 6, no), ("dispatch", h + 2, no), ("accept", h, no)], handling=False)
        for kind in ["normal"] * 6 + ["at_risk"] * 4 + ["overdue"] * 6 + ["ext_pending"] * 2 + ["ext_approved"] * 2 + [
                "ext_refused", "supervised", "supervised", "reply_returned", "reply_returned"]:
            self.recent_in_progress(kind, u)
        for _ in range(6):  # a reply waiting for review
            d = u(2, 5) * 24
            self.recent([("submit", d + 3, no), ("dispatch", d, no), ("accept", d - 2, no), ("contact", d - 4, no),
                         ("progress", d / 2, no), ("submit_reply", u(1, 20), no)])
        for kind in ["waiting"] * 6 + ["unresolved"] * 2 + ["reopen_asked"] * 2:
            d = u(3, 6) * 24
            steps = [("submit", d + 3, no), ("dispatch", d, no), ("accept", d - 2, no), ("contact", d - 4, no),
                     ("progress", d / 2, no), ("submit_reply", 44, no)]
            if kind == "waiting":
                steps.append(("approve_reply", u(2, 36), no))
            elif kind == "unresolved":
                steps += [("approve_reply", 40, no), ("callback", u(4, 12), {"resolution": "unresolved", "satisfaction": "unsatisfied", "fault": True})]
            else:
                steps += [("approve_reply", 40, no), ("callback", 20, {"resolution": "partial", "satisfaction": "unsatisfied", "fault": True, "link": True}),
                          ("request_reopen", u(2, 10), no)]
            self.recent(steps)
        for _ in range(2):  # a direct answer waiting for the callback
            h = u(4, 20)
            self.recent([("submit", h + 2, no), ("answer", h, no)], keys=["school_place", "medical_insurance", "family_doctor", "public_housing"])
        for _ in range(2):  # families whose parent is still being handled: the children stay merged
            self.recent_family(u)
        for _ in range(5):
            self.plan_duplicate(recent=True)

    def recent_in_progress(self, kind: str, u: Callable[[float, float], float]) -> None:
        d = {"normal": u(1, 4), "at_risk": u(5.75, 6.5), "overdue": u(9, 26), "ext_pending": u(2, 4), "ext_approved": u(5, 6),
             "ext_refused": u(5, 5.5), "supervised": u(9, 13), "reply_returned": u(3, 5)}[kind] * 24
        no: dict[str, Any] = {}
        steps: list[tuple[str, float, dict[str, Any]]] = [
            ("submit", d + u(1, 6), no), ("dispatch", d, no), ("accept", d - u(0.5, 3), no), ("contact", d - u(3, 8), no),
            ("progress", d * u(0.3, 0.6), no)]
        if kind == "ext_pending":
            steps.append(("request_extension", u(1, 10), no))
        elif kind in ("ext_approved", "ext_refused"):
            decision = "approve_extension" if kind == "ext_approved" else "refuse_extension"
            steps += [("request_extension", 30, no), (decision, u(20, 26), no)]
        elif kind == "supervised":
            steps.append(("supervise", u(5, 40), no))
        elif kind == "reply_returned":
            steps += [("submit_reply", 30, {"draft": True}), ("return_reply", u(20, 26), no), ("progress", u(1, 8), no)]
        # Where the state now hangs on the exact deadline, the hotline centre (open every day) dispatches, so a
        # holiday just before now cannot push the dispatch days back.
        timed = kind in ("at_risk", "ext_pending", "ext_approved", "ext_refused")
        self.recent(steps, channel=rng_choice_hotline(u) if timed else None)

    def recent_family(self, u: Callable[[float, float], float]) -> None:
        d = u(3, 5) * 24
        case = self.new_case(None, center=True)
        case.template = self.pick_template(case.rng, keys=["street_light", "waterlogging", "black_river", "night_construction"])
        community = self.pick_community(case.rng, case.template, streets=4)
        self.template_intake(case, community=community)
        t = case.template
        case.steps = [Step("dispatch", AGO(d)), Step("accept", AGO(d - 2)), Step("contact", AGO(d - 4))]
        for i in range(case.rng.randint(2, 3)):
            child = f"child{i}"
            self.intake(case, child, title=case.rng.choice(t.titles).format(**case.fill), text=case.rng.choice(t.texts).format(**case.fill),
                        nature=t.nature, category=t.category, community=community)
            h = u(6, d - 8)
            case.steps += [Step("submit", AGO(h), child), Step("merge", AGO(h - u(0.5, 4)), child, {"into": "main"})]
        case.steps.append(Step("progress", AGO(u(0.5, 3))))
        case.steps.sort(key=lambda s: -s.when[1])
        self.start_at(case, self.now - timedelta(hours=d + 3), backward=True)

    # wishes ------------------------------------------------------------------------------------------------
    def plan_wishes(self, rng: random.Random) -> None:
        fates = ["fulfilled"] * 7 + ["adopted"] * 5 + ["open"] * 5 + ["withdrawn"] * 3
        communities = [c for c in self.communities if self.people.residents.get(c.pk)]
        for i, (title, text, note) in enumerate(texts.WISHES):
            fate = fates[i % len(fates)]
            case = self.new_case(None)
            community = communities[(i * 7) % len(communities)]
            resident = case.rng.choice(self.people.residents[community.pk])
            if fate in ("open", "withdrawn"):
                t0 = self.now - timedelta(days=case.rng.uniform(6, 40))
            elif fate == "adopted":
                t0 = self.now - timedelta(days=case.rng.uniform(8, 60))
            else:
                t0 = self.now - timedelta(days=case.rng.uniform(30, DAYS_BACK - 5))
            t0 = self.clock.forward(t0, "daytime", case.rng)
            case.steps = [Step("wish_submit", ("at", t0), args={"title": title, "text": text, "community": community, "resident": resident})]
            if fate in ("adopted", "fulfilled"):
                case.steps.append(Step("wish_adopt", A(10, 120)))
            if fate == "fulfilled":
                case.steps.append(Step("wish_fulfil", A(72, 480), args={"note": note}))
            if fate == "withdrawn":
                case.steps.append(Step("wish_withdraw", A(10, 100)))

    # running -----------------------------------------------------------------------------------------------
    def appeal(self, case: Case, target: str) -> Appeal:
        """The appeal as the last service call returned it: its level, units and deadlines change only through the
        replay's own calls, so no query is needed (the state may be stale; the services check it)."""
        return case.appeals[target]

    def window_for(self, case: Case, step: Step) -> str:
        if step.action == "submit":
            return submit_window(case.intakes[step.target].channel)
        if step.action.startswith("wish") or step.action == "request_reopen" or (step.action == "callback" and step.args.get("link")):
            return "daytime"
        if step.target not in case.appeals:
            return "daytime"
        appeal = self.appeal(case, step.target)
        if step.action in UNIT_ACTIONS:
            unit = self.units.get(appeal.lead_unit_id) if appeal.lead_unit_id else None
            return "daytime" if unit is not None and unit.kind == "utility" else "office"
        if step.action == "supervise":
            return "office"
        level = self.orgs[appeal.handling_level_id]
        center = level.level == "district" or (case.center and not step.args.get("local", False))
        return "daytime" if center else "office"

    def time_of(self, case: Case, step: Step) -> datetime:
        kind, *spec = step.when
        last = case.last or self.start
        if kind == "at":
            return spec[0]
        window = self.window_for(case, step)
        rng = case.rng
        if kind == "ago":
            t = self.clock.backward(self.now - timedelta(hours=spec[0]), window, rng)
            return max(t, last + timedelta(minutes=rng.randint(2, 9)))
        if kind == "after":
            lo, hi = spec
            return self.clock.forward(last + timedelta(hours=rng.uniform(lo, hi)), window, rng)
        lo, hi, bound = spec
        appeal = self.appeal(case, step.target)
        base, due = appeal.dispatched_at or last, appeal.due_at or (last + timedelta(days=3))
        frac = rng.uniform(lo, hi)
        t = max(base + (due - base) * frac, last + timedelta(minutes=10))
        t = self.clock.forward(t, window, rng)
        if bound:
            cap = base + (due - base) * min(0.97, hi + 0.1)
            if t > cap:
                t = max(cap, last + timedelta(minutes=rng.randint(2, 9)))
        return t

    def run(self) -> None:
        queue: list[tuple[datetime, int, int]] = []
        seq = 0

        def push(case: Case) -> None:
            nonlocal seq
            while case.pos < len(case.steps):
                t = self.time_of(case, case.steps[case.pos])
                if t > self.now - timedelta(minutes=1):
                    self.report.not_reached += len(case.steps) - case.pos
                    return
                seq += 1
                heapq.heappush(queue, (t, seq, case.no))
                return

        for case in self.cases:
            push(case)
        sweep_day = timezone.localtime(self.start).date() + timedelta(days=1)
        by_no = {c.no: c for c in self.cases}
        while queue:
            t, _seq, no = heapq.heappop(queue)
            while (sweep_at := self.clock.at(sweep_day, time(7, 0))) <= t:
                self.sweep(sweep_at, sweep_day)
                sweep_day += timedelta(days=1)
            case = by_no[no]
            step = case.steps[case.pos]
            if self.execute(case, step, t):
                case.last = t
                case.pos += 1
                push(case)
        while (sweep_at := self.clock.at(sweep_day, time(7, 0))) < self.now:
            self.sweep(sweep_at, sweep_day)
            sweep_day += timedelta(days=1)
        self.sweep(self.now)

    def sweep(self, at: datetime, day: date | None = None) -> None:
        """The supervision sweep, as the worker runs it each working morning (and once more now)."""
        if day is not None and not workdays.is_workday(day, self.clock.overrides):
            return
        with time_machine.travel(at, tick=False):
            svc.supervision_sweep(now=at)
        self.report.sweeps += 1

    def execute(self, case: Case, step: Step, t: datetime) -> bool:
        handler = getattr(self, f"do_{step.action}")
        self.actor = None
        try:
            with time_machine.travel(t, tick=False):
                result = handler(case, step)
                if self.actor is not None:
                    self.read_notifications(self.actor, t)
            if isinstance(result, Appeal):
                case.appeals[step.target] = result
        except (YishiError, _Stall) as exc:
            where = f"case {case.no} step {case.pos} {step.action}@{step.target}: {exc}"
            if step.action in OPTIONAL_ACTIONS:  # e.g. a holiday ate the time to ask for an extension: go on without
                self.report.skipped_steps.append(where)
                return True
            self.report.stalls.append(where)
            case.pos = len(case.steps)
            return False
        self.report.steps += 1
        return True

    # actions (each runs at its own time) -------------------------------------------------------------------
    def do_submit(self, case: Case, step: Step) -> Any:
        intake = case.intakes[step.target]
        appeal = svc.appeal_submit(actor=self.acting(intake.actor), data=intake.data, channel=intake.channel,
                                   idempotency_key=intake.key, on_behalf=intake.on_behalf)
        self.report.appeals += 1
        return appeal

    def do_triage(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        cat = self.categories[step.args["category"]].pk if "category" in step.args else None
        return svc.appeal_triage(actor=self.manager(case, a), appeal=a, category_id=cat, urgency=step.args.get("urgency"),
                          fast_lane=step.args.get("fast_lane"))

    def do_dispatch(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        lead = step.args.get("lead") or ""
        co = [self.hu(k, a).pk for k in step.args.get("co", [])]
        actor = self.manager(case, a)
        try:
            return svc.appeal_dispatch(actor=actor, appeal=a, lead_unit_id=self.hu(lead, a).pk if lead else None,
                                       co_unit_ids=co, note=step.args.get("note", ""))
        except YishiError as exc:  # no rule for the category (其他): the dispatcher chooses the unit
            if exc.code != "no_routing_rule":
                raise
            lead = case.template.lead if case.template and case.template.lead else "urban"
            return svc.appeal_dispatch(actor=actor, appeal=a, lead_unit_id=self.hu(lead, a).pk, note="无对应派单规则，人工指定主办单位。")

    def _lead_user(self, a: Appeal) -> User:
        if a.lead_unit_id is None:
            raise _Stall("no lead unit")
        return self.unit_user(a.lead_unit_id)

    def do_accept(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_accept(actor=self._lead_user(a), appeal=a)

    def do_contact(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        who = case.intakes[step.target].who
        text = "匿名诉求，已到现场核实情况。" if a.anonymous else case.rng.choice(texts.CONTACT_NOTES).format(who=who)
        return svc.appeal_contact(actor=self._lead_user(a), appeal=a, text=text)

    def do_progress(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_progress(actor=self._lead_user(a), appeal=a, text=step.args.get("text") or case.rng.choice(texts.PROGRESS_NOTES))

    def do_co_report(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        if "unit" in step.args:
            unit = self.hu(step.args["unit"], a)
        else:
            co = a.assignments.filter(role="co").exclude(status="cancelled").first()
            if co is None:
                return
            unit = co.unit
        return svc.appeal_co_report(actor=self.unit_user(unit.pk), appeal=a, text=step.args.get("text") or case.rng.choice(texts.CO_REPORTS))

    def do_request_return(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_request_return(actor=self._lead_user(a), appeal=a, reason=step.args["reason"], basis=step.args["basis"])

    def do_approve_return(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_approve_return(actor=self.manager(case, a), appeal=a, note=step.args.get("note", ""))

    def do_refuse_return(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_refuse_return(actor=self.manager(case, a), appeal=a, reason=step.args["reason"])

    def do_request_extension(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        days = step.args.get("days") or case.rng.choice([3, 5, 5, 7, 10])
        head = self.people.unit_heads.get(a.lead_unit_id) if a.lead_unit_id else None  # 延期 is signed by the unit's head
        return svc.appeal_request_extension(actor=self.acting(head) if head else self._lead_user(a), appeal=a, working_days=days,
                                     reason=step.args.get("reason") or case.rng.choice(texts.EXTENSION_REASONS))

    def do_approve_extension(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_approve_extension(actor=self.manager(case, a), appeal=a, note=step.args.get("note", "同意延期，请按期办结。"))

    def do_refuse_extension(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_refuse_extension(actor=self.manager(case, a), appeal=a, reason=case.rng.choice(texts.EXTENSION_REFUSALS))

    def do_submit_reply(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        if step.args.get("draft"):
            text = "已转物业处理。"
        else:
            text = step.args.get("text") or (self.reply_text(case) if case.template else "已按规定处理。")
        return svc.appeal_submit_reply(actor=self._lead_user(a), appeal=a, text=text)

    def do_return_reply(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_return_reply(actor=self.manager(case, a), appeal=a, reason=case.rng.choice(texts.REPLY_RETURNS))

    def do_approve_reply(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_approve_reply(actor=self.manager(case, a), appeal=a)

    def do_answer(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_answer(actor=self.manager(case, a), appeal=a, text=self.reply_text(case))

    def do_callback(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        res, sat = step.args["resolution"], step.args["satisfaction"]
        comment = case.rng.choice(texts.COMMENTS[(res, sat)])
        if step.args.get("link") or a.submitter_id or a.anonymous or (a.contact_phone and case.rng.random() < 0.3):
            return svc.appeal_callback_by_link(token=a.callback_token, resolution=res, satisfaction=sat, comment=comment)
        else:
            return svc.appeal_callback(actor=self.manager(case, a), appeal=a, resolution=res, satisfaction=sat, comment=comment,
                                unit_at_fault=step.args.get("fault", True))

    def do_request_reopen(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_request_reopen_by_link(token=a.callback_token, reason="问题没有真正解决，申请重新办理。")

    def do_close(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_close(actor=self.manager(case, a), appeal=a, note="已回访，按规定办结。")

    def do_reopen(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_reopen(actor=self.manager(case, a), appeal=a, reason=case.rng.choice(texts.REOPEN_REASONS))

    def do_archive(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_archive(actor=self.manager(case, a), appeal=a)

    def do_escalate(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_escalate(actor=self.manager(case, a, local=True), appeal=a, reason=step.args["reason"])

    def do_reject(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_reject(actor=self.manager(case, a), appeal=a, reason=step.args["reason"])

    def do_merge(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        actor = self.acting(self.people.dispatchers[case.no % len(self.people.dispatchers)])
        return svc.appeal_merge(actor=actor, appeal=a, into_id=case.appeals[step.args["into"]].pk, reason="同一事项，多位群众反映，合并办理。")

    def do_mark_duplicate(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_mark_duplicate(actor=self.manager(case, a), appeal=a, original_id=case.appeals[step.args["original"]].pk)

    def do_supervise(self, case: Case, step: Step) -> Any:
        a = self.appeal(case, step.target)
        return svc.appeal_supervise(actor=self.supervisor(case, a), appeal=a, note=case.rng.choice(texts.SUPERVISE_NOTES))

    def do_wish_submit(self, case: Case, step: Step) -> Any:
        a = step.args
        wish = svc.wish_submit(actor=a["resident"], title=a["title"], text=a["text"], org_unit_id=a["community"].pk)
        case.wish = wish.pk
        self.report.wishes += 1

    def do_wish_adopt(self, case: Case, step: Step) -> Any:
        from yishi.core.permissions import can

        wish = MicroWish.objects.select_related("org_unit").get(pk=case.wish_id)
        candidates = [u for u in self.people.adopters if can(u, "wishes.adopt", wish)]
        if not candidates:
            raise _Stall("nobody may adopt")
        svc.wish_adopt(actor=case.rng.choice(candidates), wish_id=wish.pk)

    def do_wish_fulfil(self, case: Case, step: Step) -> Any:
        wish = MicroWish.objects.select_related("adopter").get(pk=case.wish_id)
        svc.wish_fulfil(actor=wish.adopter, wish_id=wish.pk, note=step.args["note"])

    def do_wish_withdraw(self, case: Case, step: Step) -> Any:
        wish = MicroWish.objects.select_related("submitter").get(pk=case.wish_id)
        svc.wish_withdraw(actor=wish.submitter, wish_id=wish.pk)


def rng_choice_hotline(u: Callable[[float, float], float]) -> str:
    return Channel.PHONE if u(0, 1) < 0.6 else Channel.HOTLINE_IMPORT


class _Stall(Exception):
    pass


def submit_window(channel: str) -> str:
    """Walk-ins, grid visits and station receptions happen in office hours; the web and the hotline all day."""
    return "office" if channel in (Channel.WALK_IN, Channel.GRID_VISIT, Channel.STATION) else "daytime"


# Steps a case can do without when the calendar makes them impossible (the deadline passed over a long holiday).
OPTIONAL_ACTIONS = {"request_extension", "approve_extension", "refuse_extension"}
UNIT_ACTIONS = {"accept", "contact", "progress", "co_report", "request_return", "request_extension", "submit_reply"}


# --- the step --------------------------------------------------------------------------------------------------


def demo_appeals_exist() -> bool:
    return Appeal.objects.filter(idempotency_key__startswith=KEY_PREFIX).exists()


def load_appeals_demo(ctx: DemoContext | None = None, *, now: datetime | None = None) -> AppealsDemoReport:
    """Load the catalogue, the demo routing rules, and (unless demo appeals exist) replay the demo appeals and
    micro-wishes up to ``now``. Needs the core demo steps (places, people) loaded first."""
    ctx = ctx or DemoContext()
    report = AppealsDemoReport()
    loaded = load_catalogue()
    if loaded.created:
        ctx.created["categories"] += loaded.created
    ensure_routing_rules(ctx)
    district = ctx.district()
    wishes_exist = MicroWish.objects.filter(org_unit__path__startswith=district.path, submitter__username__startswith=DEMO_PREFIX).exists()
    if demo_appeals_exist() and wishes_exist:
        report.skipped = True
        return report
    now = now or timezone.now()
    replay = Replay(ctx, now, report)
    rng = ctx.rng("appeals")
    if not demo_appeals_exist():
        replay.plan_history()
        replay.plan_recent(rng)
    if not wishes_exist:
        replay.plan_wishes(rng)
    with transaction.atomic():
        pending = len(connection.run_on_commit)
        replay.run()
        # The replay is history: the texts and e-mails its steps queued belong to the past and must not go out
        # now (an installation with a real SMS gateway would text the demo's numbers). In-app notifications stay.
        del connection.run_on_commit[pending:]
    for label, count in (("appeals", report.appeals), ("micro-wishes", report.wishes)):
        if count:
            ctx.created[label] += count
    report.states = Counter(dict(
        Appeal.objects.filter(idempotency_key__startswith=KEY_PREFIX).values_list("state").annotate(n=Count("id")).order_by()
    ))
    return report


def reset_appeals(ctx: DemoContext) -> None:
    """Delete the appeals, wishes and routing rules of the demo district (the catalogue stays: it is shipped data)."""
    district = OrgUnit.objects.filter(code=DISTRICT_CODE).first()
    if district is None:
        return
    appeals = Appeal.objects.filter(Q(org_unit__path__startswith=district.path) | Q(idempotency_key__startswith=KEY_PREFIX))
    appeals.update(merged_into=None, duplicate_of=None)
    ctx.deleted["appeals"] += appeals.delete()[1].get("appeals.Appeal", 0)
    ctx.deleted["micro-wishes"] += MicroWish.objects.filter(org_unit__path__startswith=district.path).delete()[1].get("appeals.MicroWish", 0)
    ctx.deleted["routing rules"] += RoutingRule.objects.filter(area__path__startswith=district.path).delete()[1].get("appeals.RoutingRule", 0)


def build_appeals(ctx: DemoContext) -> None:
    report = load_appeals_demo(ctx)
    for stall in report.stalls:  # a script the services refused: the demo still loads, with that case cut short
        logger.warning("appeals demo: %s", stall)


DEMO_STEPS = [DemoStep("appeals", build_appeals, reset_appeals, "诉求分类目录、派单规则、演示诉求与微心愿")]

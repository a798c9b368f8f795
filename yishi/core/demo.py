"""The demo district 江海区: places, stations and people, loaded by ``yishi demo``.

The load is a list of *steps*. Each Yishi app may add its own in ``<app>/demo.py`` as ``DEMO_STEPS`` (the command
collects them in ``INSTALLED_APPS`` order, core first), so a later app — appeals, consultations — adds its demo
records without touching this file. A step's ``build`` must be idempotent row by row: it looks a row up by a
natural key and creates it only when missing (the ``DemoContext.ensure_*`` helpers do this), so running the
command twice changes nothing and running it on a database loaded by an older version adds only what is new.
A step's ``reset`` deletes its rows; resets run in reverse order. Audit events are never deleted.

Everything is deterministic: each step draws from its own ``random.Random`` seeded with the step's name, so a
new step never changes what the others produce. Names, addresses and phone numbers are invented; phone numbers
use the fake 138-0000-xxxx range.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Q

from yishi.accounts.models import RoleAssignment, User
from yishi.accounts.services import role_assign
from yishi.audit.services import record
from yishi.orgs.models import Enterprise, HandlingUnit, OrgUnit, Sector, Station, StationMember
from yishi.orgs.services import org_unit_create
from yishi.policy.models import PolicyProfile

from .demo_accounts import DEMO_PASSWORD, DEMO_PREFIX

SEED = "yishi-demo-2026"
DISTRICT_CODE = "440704"  # the national division code of 江门市江海区
DISTRICT_NAME = "江海区"
# The same box as the test tree (yishi/core/testing.py); streets, communities and grids split it in strips.
DISTRICT_BOX = (22.50, 22.65, 113.05, 113.20)  # min_lat, max_lat, min_lng, max_lng
AREA_CODE = "0750"  # 江门's telephone area code

# (street code suffix, name, main road, [(community or village, its road)])
STREETS: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    ("001", "外海街道", "外海大道", [("直冲社区", "直冲路"), ("麻园社区", "麻园路"), ("金溪社区", "金溪路"), ("南庚村", "南庚路")]),
    ("002", "礼乐街道", "礼乐大道", [("威东社区", "威东路"), ("乌纱村", "乌纱路"), ("英南村", "英南路"), ("五四社区", "五四路")]),
    ("003", "江南街道", "江南路", [("朝翠社区", "朝翠路"), ("东海社区", "东海路"), ("江翠社区", "江翠路"), ("丰乐社区", "丰乐路")]),
    ("004", "滘北街道", "滘北路", [("滘北社区", "滘北路"), ("滘头村", "滘头大街"), ("白石社区", "白石路"), ("龙溪社区", "龙溪路")]),
    ("005", "高新街道", "高新路", [("金瓯社区", "金瓯路"), ("彩虹社区", "彩虹路"), ("永康社区", "永康路"), ("科苑社区", "科苑路")]),
]
GRIDS_PER_COMMUNITY = (2, 4)
# This street chooses another shipped policy profile, to show per-unit profiles and their inheritance.
STREET_WITH_OWN_PROFILE = ("005", "generic-province")

SECTORS = [
    ("01", "中共界"), ("02", "民主党派界"), ("03", "经济界"), ("04", "工商联界"),
    ("05", "教育界"), ("06", "医药卫生界"), ("07", "科学技术界"), ("08", "侨联界"),
]

# (key, name, kind, community — None for the district)
ENTERPRISES = [
    ("huating", "江海华庭物业服务有限公司", "property_company", "朝翠社区"),
    ("qiaocheng", "侨城物业管理有限公司", "property_company", "东海社区"),
    ("cuihu", "翠湖物业服务有限公司", "property_company", "金溪社区"),
    ("anju", "滘北安居物业有限公司", "property_company", "滘北社区"),
    ("oc_chaocui", "朝翠花园业主委员会", "owners_committee", "朝翠社区"),
    ("oc_donghai", "东海明珠小区业主委员会", "owners_committee", "东海社区"),
    ("oc_jinxi", "金溪华府业主委员会", "owners_committee", "金溪社区"),
    ("oc_caihong", "彩虹新村业主委员会", "owners_committee", "彩虹社区"),
    ("optics", "江海光电科技有限公司", "enterprise", "金瓯社区"),
    ("electronics", "江门高新电子实业有限公司", "enterprise", "科苑社区"),
    ("hardware", "礼乐五金制品厂", "enterprise", "英南村"),
    ("hospital", "江海区人民医院", "institution", "东海社区"),
    ("school", "江海区第一中学", "institution", "江翠社区"),
    ("primary", "外海中心小学", "institution", "直冲社区"),
    ("volunteers", "江海区志愿者协会", "social_org", None),
    ("social_work", "江海区乐善社会工作服务中心", "social_org", None),
]

# District departments (职能部门) and public utilities, all attached to the district: (key, name).
DEPARTMENTS = [
    ("housing", "江海区住房和城乡建设局"),
    ("urban", "江海区城市管理和综合执法局"),
    ("transport", "江海区交通运输局"),
    ("environment", "江门市生态环境局江海分局"),
    ("market", "江海区市场监督管理局"),
    ("police", "江门市公安局江海分局"),
    ("education", "江海区教育局"),
    ("health", "江海区卫生健康局"),
    ("hrss", "江海区人力资源和社会保障局"),
    ("civil", "江海区民政局"),
    ("water_affairs", "江海区水务局"),
    ("natural_resources", "江门市自然资源局江海分局"),
    ("agriculture", "江海区农业农村局"),
    ("emergency", "江海区应急管理局"),
    ("culture", "江海区文化广电旅游体育局"),
]
UTILITIES = [
    ("water", "江海供水有限公司"),
    ("power", "江海供电局"),
    ("gas", "江海燃气有限公司"),
    ("telecom", "江海通信网络服务中心"),
]

HOURS = {
    "hall": "工作日 9:00–12:00，14:30–17:30；每月第二个周四下午委员议事",
    "members_home": "每月第一个周五 14:30–17:30 委员接待；其余工作日预约开放",
    "liaison": "每月 15 日 9:00–12:00 代表进站接待；工作日 9:00–17:30 开放",
    "party": "周一至周日 8:30–21:00",
    "office": "工作日 8:30–12:00，14:30–17:30",
    "evening": "每周三 19:00–21:00（“19点议事厅”）；工作日 9:00–17:30",
}

SURNAMES = "陈黄李梁林何张吴刘谭区冯罗郑叶周麦邓余赵杨谢许胡关曾苏朱卢彭伍钟甄司徒"
GIVEN_NAMES = [
    "志强", "丽华", "建国", "秀英", "伟明", "嘉欣", "国栋", "婉婷", "锦华", "少芳", "永康", "美玲", "家豪",
    "晓燕", "振华", "惠珍", "文杰", "淑仪", "耀明", "慧敏", "国强", "凤仪", "子健", "雪梅", "汉文", "玉珍",
    "明辉", "碧霞", "俊杰", "翠萍", "浩然", "桂芳", "德明", "静怡", "卓伦", "月娥", "世荣", "诗琪", "炳坤",
    "巧玲", "瑞祥", "海燕", "锐锋", "佩珊", "正良", "雅雯", "坚", "敏", "勇", "红",
]

# (occupation, expertise, duty, promise, station key, level) — station keys are made by build_stations.
DEPUTIES = [
    ("外海街道直冲社区党委书记", "社区治理、老旧小区改造", "收集直冲片区群众意见，督办民生诉求", "每月进站接待一次，群众意见件件有回音", "liaison:直冲社区", "区人大代表"),
    ("江海区人民医院副院长", "医疗卫生、公共卫生", "联系医疗卫生行业，反映就医难题", "每季度组织一次义诊和政策宣讲", "industry:medical", "市人大代表"),
    ("江海区人民医院护理部主任", "护理、养老服务", "关注医养结合与社区护理", "每月进站接待一次", "industry:medical", "区人大代表"),
    ("礼乐街道威东社区居委会主任", "社区服务、民生实事", "推动民生实事项目落地", "群众微心愿认领不少于每年十件", "liaison:威东社区", "区人大代表"),
    ("江海区第一中学校长", "教育、青少年成长", "关注学位供给与校园周边安全", "每学期走访家长代表", "liaison:江南街道", "区人大代表"),
    ("江门高新电子实业有限公司工程师", "制造业、安全生产", "反映企业职工诉求", "每季度走访园区企业", "liaison:高新街道", "区人大代表"),
    ("广东侨乡律师事务所律师", "法律、物业纠纷调解", "参与基层立法意见征集", "每月提供一次免费法律咨询", "liaison:礼乐街道", "区人大代表"),
    ("滘头村党总支书记", "农村集体经济、乡村振兴", "推动四议两公开落实", "村务公开事项按时公开", "liaison:滘北街道", "区人大代表"),
    ("外海个体工商户", "商贸、市场管理", "反映个体工商户经营难题", "每月走访市场商户", "liaison:外海街道", "区人大代表"),
    ("朝翠社区网格长", "网格治理、交通出行", "收集网格民情，跟踪路灯、停车等问题", "网格内诉求当日登记", "liaison:朝翠社区", "区人大代表"),
    ("江海供电局配电班班长", "电力、城市照明", "关注道路照明和用电安全", "每季度开展一次用电安全宣传", "liaison:金瓯社区", "区人大代表"),
    ("退休教师", "文化教育、志愿服务", "组织居民参与社区议事", "每月参加一次社区协商", "liaison:滘北社区", "区人大代表"),
]

# Deputies also serving at a legislative contact point (by their number above).
DEPUTY_EXTRA_STATIONS = {6: ["legislative:optics"], 7: ["legislative:礼乐街道"]}

# (occupation, sector code, street code, expertise, extra station keys, ":chair"/":head" for that role)
MEMBERS = [
    ("江海区政协副主席", "01", "003", "协商议事、基层治理", ["hall:district:chair"]),
    ("江海光电科技有限公司董事长", "03", "003", "光电照明、企业管理", ["hall:district", "home:朝翠社区", "legislative:optics:head"]),
    ("民盟盟员，江海区第一中学教师", "02", "001", "教育、青少年心理", []),
    ("礼乐五金制品厂厂长", "04", "002", "民营经济、营商环境", []),
    ("外海中心小学校长", "05", "001", "基础教育", []),
    ("江海区人民医院主任医师", "06", "003", "心血管内科、健康科普", ["hall:district", "home:sector:06"]),
    ("高新区企业研发总监", "07", "005", "电子信息、科技创新", []),
    ("侨商，江海侨商会副会长", "08", "004", "侨务、招商引资", []),
    ("江海农商银行支行行长", "03", "002", "金融、小微企业融资", []),
    ("滘北街道党工委委员", "01", "004", "党建、社区治理", []),
    ("致公党党员，执业律师", "02", "005", "法律、社会治理", []),
    ("归侨，江海区乐善社会工作服务中心主任", "08", "001", "社会工作、养老服务", ["home:sector:06"]),
]

EXPERTS = [("城市规划", "华南理工大学城市规划教授"), ("法律", "五邑大学法学院副教授"),
           ("社会治理", "市委党校教授"), ("公共卫生", "市疾控中心副主任医师")]
# Handling units whose head is also a demo login (a liaison exists for every unit).
UNITS_WITH_HEAD = ["housing", "urban", "transport", "water", "power", "street1"]


# --- the step machinery --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoStep:
    """One part of the demo: ``build`` creates what is missing, ``reset`` deletes what ``build`` made."""

    name: str
    build: Callable[[DemoContext], None]
    reset: Callable[[DemoContext], None] | None = None
    label: str = ""


@dataclass
class DemoContext:
    """What steps share: lookups of earlier steps' rows, idempotent creators, per-step random generators and
    the count of rows created (reported by the command and written to the audit trail)."""

    seed: str = SEED
    created: Counter[str] = field(default_factory=Counter)
    deleted: Counter[str] = field(default_factory=Counter)
    _password: str = ""
    _cache: dict[tuple[str, str], Any] = field(default_factory=dict)

    # random ------------------------------------------------------------------------------------------------
    def rng(self, step: str) -> random.Random:
        """A generator of its own for ``step``: a string seed is hashed the same way on every run."""
        return random.Random(f"{self.seed}:{step}")

    # lookups -----------------------------------------------------------------------------------------------
    def _cached(self, kind: str, key: str, load: Callable[[], Any]) -> Any:
        if (kind, key) not in self._cache:
            self._cache[(kind, key)] = load()
        return self._cache[(kind, key)]

    def district(self) -> OrgUnit:
        return self.unit(DISTRICT_CODE)

    def unit(self, code: str) -> OrgUnit:
        return self._cached("unit", code, lambda: OrgUnit.objects.get(code=code))

    def units(self, level: str) -> list[OrgUnit]:
        """The demo district's units of one level, in tree order."""
        return list(OrgUnit.objects.subtree(self.district()).filter(level=level).order_by("code"))

    def community(self, name: str) -> OrgUnit:
        return self._cached(
            "community", name, lambda: OrgUnit.objects.subtree(self.district()).get(level="community", name=name)
        )

    def handling_unit(self, key: str) -> HandlingUnit:
        return self._cached("hu", key, lambda: HandlingUnit.objects.get(code=handling_unit_code(key)))

    def sector(self, code: str) -> Sector:
        return self._cached("sector", code, lambda: Sector.objects.get(code=sector_code(code)))

    def enterprise(self, key: str) -> Enterprise:
        name = next(e[1] for e in ENTERPRISES if e[0] == key)
        return self._cached("enterprise", key, lambda: Enterprise.objects.get(name=name))

    def station(self, key: str) -> Station:
        return self._cached("station", key, lambda: Station.objects.get(pk=self._station_ids[key]))

    def user(self, username: str) -> User:
        return self._cached("user", username, lambda: User.objects.get(username=username))

    @property
    def _station_ids(self) -> dict[str, int]:
        return self._cached("station_ids", "", dict)

    # idempotent creators -----------------------------------------------------------------------------------
    def ensure_unit(self, *, code: str, name: str, level: str, parent: OrgUnit | None, **fields: Any) -> OrgUnit:
        """An org unit through ``org_unit_create`` (so its path and audit event are right), unless it exists."""
        unit = OrgUnit.objects.filter(code=code).first()
        if unit is None:
            unit = org_unit_create(actor=None, name=name, code=code, level=level, parent=parent, **fields)
            self.created["org units"] += 1
        self._cache[("unit", code)] = unit
        return unit

    def ensure(self, model: type[Any], label: str, lookup: dict[str, Any], defaults: dict[str, Any]) -> Any:
        obj, created = model.objects.get_or_create(**lookup, defaults=defaults)
        if created:
            self.created[label] += 1
        return obj

    def ensure_user(self, username: str, *, display_name: str, **fields: Any) -> User:
        """A demo user with the demo password (hashed once per load: every demo user shares the hash)."""
        if not username.startswith(DEMO_PREFIX):
            raise ValueError(f"demo usernames start with {DEMO_PREFIX!r}: {username!r}")
        user = User.objects.filter(username=username).first()
        if user is None:
            if not self._password:
                self._password = make_password(DEMO_PASSWORD)
            user = User.objects.create(username=username, password=self._password, display_name=display_name, **fields)
            self.created["users"] += 1
        self._cache[("user", username)] = user
        return user

    def ensure_role(self, user: User, role: str, org_unit: OrgUnit, **extra: Any) -> RoleAssignment:
        """A role through ``role_assign`` (audited), unless the user already holds it there."""
        existing = RoleAssignment.objects.filter(
            user=user, role=role, org_unit=org_unit, handling_unit=extra.get("handling_unit")
        ).first()
        if existing is not None:
            return existing
        self.created["role assignments"] += 1
        return role_assign(actor=None, user=user, role=role, org_unit=org_unit, **extra)

    def ensure_member(self, station: Station, user: User, role: str) -> StationMember:
        return self.ensure(StationMember, "station members", {"station": station, "user": user, "role": role}, {})


def handling_unit_code(key: str) -> str:
    return f"HU-JH-{key.upper()}"


def sector_code(code: str) -> str:
    return f"{DISTRICT_CODE}-JB{code}"


def demo_steps() -> list[DemoStep]:
    """Every app's ``DEMO_STEPS``, in ``INSTALLED_APPS`` order (core first)."""
    steps: list[DemoStep] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("yishi."):
            continue
        try:
            module = import_module(f"{config.name}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.demo":
                raise
            continue
        steps.extend(getattr(module, "DEMO_STEPS", []))
    return steps


def demo_load(steps: list[DemoStep] | None = None, *, seed: str = SEED) -> DemoContext:
    """Run every step's build in one transaction. Writes one summary audit event when anything was created."""
    ctx = DemoContext(seed=seed)
    with transaction.atomic():
        for step in steps if steps is not None else demo_steps():
            step.build(ctx)
        if ctx.created:
            record(actor=None, code="core.demo.loaded", subject=("orgs.orgunit", ctx.district().pk),
                   after={"created": dict(ctx.created)})
    return ctx


def demo_reset(steps: list[DemoStep] | None = None) -> DemoContext:
    """Delete the demo rows, last step first. Audit events stay: the reset itself is one more event."""
    ctx = DemoContext()
    with transaction.atomic():
        for step in reversed(steps if steps is not None else demo_steps()):
            if step.reset is not None:
                step.reset(ctx)
        if ctx.deleted:
            record(actor=None, code="core.demo.reset", after={"deleted": dict(ctx.deleted)})
    return ctx


def demo_loaded() -> bool:
    return OrgUnit.objects.filter(code=DISTRICT_CODE).exists()


# --- geometry and small generators ---------------------------------------------------------------------------

Box = tuple[float, float, float, float]


def _split(box: Box, parts: int, index: int, *, along: str) -> Box:
    """The ``index``-th of ``parts`` equal strips of ``box`` (``along`` "lng": west→east; "lat": south→north)."""
    min_lat, max_lat, min_lng, max_lng = box
    if along == "lng":
        step = (max_lng - min_lng) / parts
        return (min_lat, max_lat, round(min_lng + index * step, 6), round(min_lng + (index + 1) * step, 6))
    step = (max_lat - min_lat) / parts
    return (round(min_lat + index * step, 6), round(min_lat + (index + 1) * step, 6), min_lng, max_lng)


def _box_fields(box: Box) -> dict[str, float]:
    return dict(zip(("min_lat", "max_lat", "min_lng", "max_lng"), box, strict=True))


def _point_in(unit: OrgUnit, rng: random.Random) -> tuple[float, float]:
    """A point well inside the unit's box (10 % margin)."""
    lat_span = unit.max_lat - unit.min_lat  # type: ignore[operator]
    lng_span = unit.max_lng - unit.min_lng  # type: ignore[operator]
    lat = unit.min_lat + lat_span * (0.1 + 0.8 * rng.random())  # type: ignore[operator]
    lng = unit.min_lng + lng_span * (0.1 + 0.8 * rng.random())  # type: ignore[operator]
    return round(lat, 6), round(lng, 6)


def _landline(rng: random.Random) -> str:
    return f"{AREA_CODE}-38{rng.randint(10000, 99999)}"


def fake_mobile(block: int, n: int) -> str:
    """A fake number of the 138-0000-xxxx range: ``block`` (0–9) picks the thousand, ``n`` (1–999) the rest."""
    if not (0 <= block <= 9 and 1 <= n <= 999):
        raise ValueError("block 0–9, n 1–999")
    return f"1380000{block}{n:03d}"


class NameMaker:
    """Distinct invented Chinese names, in a fixed order for a given generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def __call__(self) -> str:
        for _ in range(1000):
            surname = self.rng.choice(["司徒"] if self.rng.random() < 0.02 else list(SURNAMES.replace("司徒", "")))
            name = surname + self.rng.choice(GIVEN_NAMES)
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError("ran out of demo names")


def _communities() -> Iterator[tuple[int, str, str, str, str, str]]:
    """(global index from 1, street code, street name, community code, community name, road)."""
    n = 0
    for street_suffix, street_name, _road, communities in STREETS:
        for i, (name, road) in enumerate(communities, start=1):
            n += 1
            yield n, f"{DISTRICT_CODE}{street_suffix}", street_name, f"{DISTRICT_CODE}{street_suffix}{i:03d}", name, road


# --- step 1: places ------------------------------------------------------------------------------------------


def build_places(ctx: DemoContext) -> None:
    """The tree (district → 5 streets → 20 communities/villages → 2–4 grids each), sectors, enterprises and
    handling units (departments, utilities, every street and community office)."""
    rng = ctx.rng("places")
    own_profile_street, own_profile = STREET_WITH_OWN_PROFILE
    # Absent when the shipped profiles were not synced (they are, after migrate); the street then inherits.
    profile = PolicyProfile.objects.filter(code=own_profile).first()
    district = ctx.ensure_unit(
        code=DISTRICT_CODE, name=DISTRICT_NAME, level="district", parent=None,
        address="江门市江海区东海路288号", **_box_fields(DISTRICT_BOX),
    )
    for s, (suffix, street_name, road, communities) in enumerate(STREETS):
        street_box = _split(DISTRICT_BOX, len(STREETS), s, along="lng")
        street = ctx.ensure_unit(
            code=f"{DISTRICT_CODE}{suffix}", name=street_name, level="street", parent=district,
            address=f"江海区{street_name}{road}{rng.randint(1, 200)}号", **_box_fields(street_box),
            **({"policy_profile": profile} if suffix == own_profile_street and profile else {}),
        )
        for c, (community_name, community_road) in enumerate(communities):
            community_box = _split(street_box, len(communities), c, along="lat")
            community = ctx.ensure_unit(
                code=f"{street.code}{c + 1:03d}", name=community_name, level="community", parent=street,
                address=f"江海区{street_name}{community_road}{rng.randint(1, 120)}号", **_box_fields(community_box),
            )
            grids = rng.randint(*GRIDS_PER_COMMUNITY)
            for g in range(grids):
                ctx.ensure_unit(
                    code=f"{community.code}-G{g + 1:02d}", name=f"{community_name}第{g + 1}网格", level="grid",
                    parent=community, **_box_fields(_split(community_box, grids, g, along="lng")),
                )


    for code, name in SECTORS:
        ctx.ensure(Sector, "sectors", {"code": sector_code(code)}, {"name": name, "org_unit": district})

    for _key, name, kind, home_community in ENTERPRISES:
        unit = ctx.community(home_community) if home_community else district
        ctx.ensure(Enterprise, "enterprises", {"name": name, "org_unit": unit},
                   {"kind": kind, "contact": _landline(rng)})

    for key, name in DEPARTMENTS:
        ctx.ensure(HandlingUnit, "handling units", {"code": handling_unit_code(key)},
                   {"name": name, "kind": "department", "org_unit": district, "phone": _landline(rng)})
    for key, name in UTILITIES:
        ctx.ensure(HandlingUnit, "handling units", {"code": handling_unit_code(key)},
                   {"name": name, "kind": "utility", "org_unit": district, "phone": _landline(rng)})
    for s, (suffix, street_name, _road, _c) in enumerate(STREETS, start=1):
        ctx.ensure(HandlingUnit, "handling units", {"code": handling_unit_code(f"street{s}")},
                   {"name": f"{street_name}办事处", "kind": "street_office",
                    "org_unit": ctx.unit(f"{DISTRICT_CODE}{suffix}"), "phone": _landline(rng)})
    for n, _street_code, _street_name, code, name, _road in _communities():
        office = f"{name}村民委员会" if name.endswith("村") else f"{name}居民委员会"
        ctx.ensure(HandlingUnit, "handling units", {"code": handling_unit_code(f"community{n}")},
                   {"name": office, "kind": "community_office", "org_unit": ctx.unit(code), "phone": _landline(rng)})


def reset_places(ctx: DemoContext) -> None:
    district = OrgUnit.objects.filter(code=DISTRICT_CODE).first()
    if district is None:
        return
    in_tree = Q(org_unit__path__startswith=district.path)
    sectors = Sector.objects.filter(in_tree)
    handling_units = HandlingUnit.objects.filter(in_tree)
    # Anyone's roles over demo places go with them (role assignments protect their unit).
    roles = RoleAssignment.objects.filter(
        in_tree | Q(handling_unit__in=handling_units) | Q(sector__in=sectors) | Q(station__org_unit__path__startswith=district.path)
    )
    ctx.deleted["role assignments"] += roles.delete()[1].get("accounts.RoleAssignment", 0)
    for model, label in ((Station, "stations"), (Enterprise, "enterprises"), (HandlingUnit, "handling units"),
                         (Sector, "sectors")):
        ctx.deleted[label] += model.objects.filter(in_tree).delete()[1].get(model._meta.label, 0)
    units = OrgUnit.objects.subtree(district)
    # Deepest first: a unit protects its children.
    for depth in sorted(set(units.values_list("depth", flat=True)), reverse=True):
        ctx.deleted["org units"] += units.filter(depth=depth).delete()[0]


# --- step 2: stations ----------------------------------------------------------------------------------------

# Community stations beyond the street ones: (kind, community, name pattern, hours key).
COMMUNITY_STATIONS = [
    *[("members_home", c, "{c}委员之家", "members_home")
      for c in ["直冲社区", "金溪社区", "威东社区", "英南村", "朝翠社区", "江翠社区", "滘北社区", "白石社区", "金瓯社区", "永康社区"]],
    *[("deputy_liaison", c, "{c}人大代表联络站", "liaison") for c in ["直冲社区", "威东社区", "朝翠社区", "滘北社区", "金瓯社区"]],
    *[("party_service_center", c, "{c}党群服务中心", "party") for c in ["直冲社区", "威东社区", "朝翠社区", "滘北社区", "金瓯社区"]],
    *[("consultation_room", c, "{c}“有事好商量”协商议事室", "evening") for c in ["麻园社区", "乌纱村", "东海社区"]],
    ("practice_base", "朝翠社区", "朝翠社区民主实践基地", "office"),
    ("practice_base", "滘头村", "滘头村民主实践基地", "office"),
    ("suggestion_point", "彩虹社区", "彩虹社区人民建议征集点", "office"),
]

DESCRIPTIONS = {
    "consultation_room": "政协委员与群众、部门面对面协商议事的平台，议题来自群众出题、委员荐题、党政点题。",
    "members_home": "政协委员下沉社区联系服务群众的阵地，委员定期接待、收集社情民意。",
    "deputy_liaison": "人大代表联系选民的阵地：代表进站接待、收集意见建议、督办民生诉求。",
    "industry_liaison": "行业人大代表联络站，联系本行业从业人员和服务对象，反映行业共性问题。",
    "legislative_point": "基层立法联系点：征集群众对法律法规草案的意见，逐条整理上报。",
    "practice_base": "全过程人民民主实践基地，展示并开展基层民主协商、决策、管理、监督实践。",
    "suggestion_point": "人民建议征集点：收集群众对经济社会发展的意见建议。",
    "party_service_center": "党群服务中心：党员活动、政务服务、志愿服务和议事协商的综合阵地。",
}


def build_stations(ctx: DemoContext) -> None:
    """Stations of every kind, with address, hours, phone and position inside their unit: the district
    委员议事厅, a 委员议事室, 人大代表联络站 and 党群服务中心 in every street, community stations, a medical
    行业联络站, legislative contact points, practice bases and suggestion points."""
    rng = ctx.rng("stations")
    district = ctx.district()
    streets = ctx.units("street")

    def station(key: str, *, kind: str, name: str, unit: OrgUnit, hours: str, address: str, **extra: Any) -> None:
        lat, lng = _point_in(unit, rng)
        obj = ctx.ensure(Station, "stations", {"name": name, "org_unit": unit}, {
            "kind": kind, "address": address, "opening_hours": HOURS[hours], "phone": _landline(rng),
            "latitude": lat, "longitude": lng, "description": DESCRIPTIONS[kind], **extra,
        })
        ctx._station_ids[key] = obj.pk

    station("hall:district", kind="consultation_room", name="江海区政协委员议事厅", unit=district, hours="hall",
            address="江海区东海路288号区政协大楼二楼")
    station("suggestion:district", kind="suggestion_point", name="江海区人民建议征集点（区政务服务中心）",
            unit=district, hours="office", address="江海区五邑路20号区政务服务中心一楼")
    for street in streets:
        base = street.address.split("号")[0] + "号"
        station(f"hall:{street.name}", kind="consultation_room", name=f"{street.name}委员议事室", unit=street,
                hours="hall", address=f"{base}党群服务中心三楼")
        station(f"liaison:{street.name}", kind="deputy_liaison", name=f"{street.name}人大代表联络站", unit=street,
                hours="liaison", address=f"{base}党群服务中心二楼")
        station(f"party:{street.name}", kind="party_service_center", name=f"{street.name}党群服务中心", unit=street,
                hours="party", address=base)
    by_name = {s.name: s for s in streets}
    station("legislative:礼乐街道", kind="legislative_point", name="礼乐街道基层立法联系点", unit=by_name["礼乐街道"],
            hours="office", address=by_name["礼乐街道"].address.split("号")[0] + "号党群服务中心四楼")
    station("legislative:optics", kind="legislative_point", name="江海光电科技有限公司企业基层立法联系点",
            unit=ctx.community("金瓯社区"), hours="office", address="江海区高新街道金瓯路88号",
            enterprise=ctx.enterprise("optics"))
    station("practice:外海街道", kind="practice_base", name="外海街道全过程人民民主实践基地", unit=by_name["外海街道"],
            hours="office", address=by_name["外海街道"].address)
    station("suggestion:江南街道", kind="suggestion_point", name="江南街道人民建议征集点", unit=by_name["江南街道"],
            hours="office", address=by_name["江南街道"].address)
    for kind, community_name, pattern, hours in COMMUNITY_STATIONS:
        community = ctx.community(community_name)
        key = {"members_home": "home", "deputy_liaison": "liaison", "party_service_center": "party"}.get(kind, kind)
        station(f"{key}:{community_name}", kind=kind, name=pattern.format(c=community_name), unit=community,
                hours=hours, address=community.address)
    station("industry:medical", kind="industry_liaison", name="江海区医疗卫生行业人大代表联络站",
            unit=ctx.community("东海社区"), hours="liaison", address="江海区东海路66号江海区人民医院门诊楼五楼",
            sector=ctx.sector("06"), enterprise=ctx.enterprise("hospital"))
    station("home:sector:06", kind="members_home", name="医药卫生界委员之家", unit=ctx.community("东海社区"),
            hours="members_home", address="江海区东海路66号江海区人民医院行政楼三楼", sector=ctx.sector("06"),
            enterprise=ctx.enterprise("hospital"))


def reset_stations(ctx: DemoContext) -> None:
    district = OrgUnit.objects.filter(code=DISTRICT_CODE).first()
    if district is not None:
        stations = Station.objects.filter(org_unit__path__startswith=district.path)
        RoleAssignment.objects.filter(station__in=stations).update(station=None)
        ctx.deleted["stations"] += stations.delete()[1].get("orgs.Station", 0)


# --- step 3: people ------------------------------------------------------------------------------------------


def build_people(ctx: DemoContext) -> None:
    """Demo logins for every role, each scoped as in real life, plus station memberships."""
    rng = ctx.rng("people")
    names = NameMaker(rng)
    district = ctx.district()
    streets = ctx.units("street")
    communities = ctx.units("community")
    grids = ctx.units("grid")
    R = ctx.ensure_role
    hall = ctx.station("hall:district")

    admin = ctx.ensure_user(f"{DEMO_PREFIX}admin", display_name="平台管理员", is_staff=True, is_superuser=True,
                            email="admin@demo.yishi.invalid")
    R(admin, "platform_admin", district)

    for i in (1, 2):
        user = ctx.ensure_user(f"{DEMO_PREFIX}dispatcher" + ("" if i == 1 else str(i)), display_name=names(),
                               bio="江海区社会治理指挥中心派单员")
        R(user, "dispatcher", district)
        district_staff = ctx.ensure_user(f"{DEMO_PREFIX}district{i}", display_name=names(), is_staff=True,
                                         bio="江海区政务服务数据管理局工作人员")
        R(district_staff, "district_staff", district)
        ctx.ensure_member(hall if i == 1 else ctx.station("suggestion:district"), district_staff,
                          "staff" if i == 1 else "head")

    for s, street in enumerate(streets, start=1):
        user = ctx.ensure_user(f"{DEMO_PREFIX}street{s}", display_name=names(), bio=f"{street.name}办事处工作人员")
        R(user, "street_staff", street)
        R(user, "unit_liaison", street, handling_unit=ctx.handling_unit(f"street{s}"))
        for key in ("hall", "liaison", "party"):
            ctx.ensure_member(ctx.station(f"{key}:{street.name}"), user, "head" if key != "hall" else "staff")
        if street.name == "礼乐街道":
            ctx.ensure_member(ctx.station("legislative:礼乐街道"), user, "head")
        if street.name == "外海街道":
            ctx.ensure_member(ctx.station("practice:外海街道"), user, "head")
        if street.name == "江南街道":
            ctx.ensure_member(ctx.station("suggestion:江南街道"), user, "head")

    community_stations = {(kind, c): pattern for kind, c, pattern, _h in COMMUNITY_STATIONS}
    for n, community in enumerate(communities, start=1):
        user = ctx.ensure_user(f"{DEMO_PREFIX}community{n}", display_name=names(), phone=fake_mobile(2, n),
                               bio=f"{community.name}{'村委会' if community.name.endswith('村') else '居委会'}工作人员")
        R(user, "community_staff", community)
        R(user, "unit_liaison", community, handling_unit=ctx.handling_unit(f"community{n}"))
        for kind, key in (("members_home", "home"), ("deputy_liaison", "liaison"), ("party_service_center", "party"),
                          ("consultation_room", "consultation_room"), ("practice_base", "practice_base"),
                          ("suggestion_point", "suggestion_point")):
            if (kind, community.name) in community_stations:
                ctx.ensure_member(ctx.station(f"{key}:{community.name}"), user, "staff" if key == "home" else "head")

    for g, grid in enumerate(grids, start=1):
        user = ctx.ensure_user(f"{DEMO_PREFIX}grid{g}", display_name=names(), phone=fake_mobile(1, g),
                               home_unit=grid, bio=f"{grid.name}专职网格员")
        R(user, "grid_worker", grid)

    district_units = [*DEPARTMENTS, *UTILITIES]
    for key, unit_name in district_units:
        unit = ctx.handling_unit(key)
        user = ctx.ensure_user(f"{DEMO_PREFIX}unit_{key}", display_name=names(), bio=f"{unit_name}承办联络员")
        R(user, "unit_liaison", district, handling_unit=unit)
    for key in UNITS_WITH_HEAD:
        unit = ctx.handling_unit(key)
        user = ctx.ensure_user(f"{DEMO_PREFIX}head_{key}", display_name=names(), bio=f"{unit.name}分管负责人")
        R(user, "unit_head", unit.org_unit, handling_unit=unit)

    street_of = {community.pk: street for street in streets for community in communities if community.parent_id == street.pk}
    for d, (occupation, expertise, duty, promise, station_key, level) in enumerate(DEPUTIES, start=1):
        station = ctx.station(station_key)
        scope = district if station.kind == "industry_liaison" else street_of.get(station.org_unit_id, station.org_unit)
        user = ctx.ensure_user(
            f"{DEMO_PREFIX}deputy{d}", display_name=names(), phone=fake_mobile(3, d), expertise=expertise,
            bio=f"【身份】{level}，{occupation}。【职责】{duty}。【承诺】{promise}。",
        )
        R(user, "deputy", scope, station=station)
        ctx.ensure_member(station, user, "deputy")
        for extra_station in DEPUTY_EXTRA_STATIONS.get(d, ()):
            ctx.ensure_member(ctx.station(extra_station), user, "deputy")
        if station_key == "industry:medical" and d == 2:
            ctx.ensure_member(station, user, "head")

    streets_by_code = {s.code: s for s in streets}
    for m, (occupation, sector, street_suffix, expertise, stations) in enumerate(MEMBERS, start=1):
        street = streets_by_code[f"{DISTRICT_CODE}{street_suffix}"]
        user = ctx.ensure_user(
            f"{DEMO_PREFIX}member{m}", display_name=names(), phone=fake_mobile(4, m), expertise=expertise,
            bio=f"江海区政协委员（{dict(SECTORS)[sector]}），{occupation}。下沉{street.name}履职。",
        )
        R(user, "cppcc_member", street, sector=ctx.sector(sector))
        ctx.ensure_member(ctx.station(f"hall:{street.name}"), user, "cppcc_member")
        for key in stations:
            station_key, _sep, role = key.rpartition(":")
            if role in ("chair", "head"):
                ctx.ensure_member(ctx.station(station_key), user, role)
            else:
                ctx.ensure_member(ctx.station(key), user, "cppcc_member")
        homes = [c for c in communities if c.parent_id == street.pk and ("members_home", c.name) in community_stations]
        if homes:
            ctx.ensure_member(ctx.station(f"home:{homes[m % len(homes)].name}"), user, "cppcc_member")

    for p, (party_unit, title) in enumerate(
        [(district, "中共江海区委社会工作部"), (streets[0], "中共外海街道工作委员会"), (communities[0], "中共直冲社区委员会")],
        start=1,
    ):
        user = ctx.ensure_user(f"{DEMO_PREFIX}party{p}", display_name=names(), bio=f"{title}，负责议题审定")
        R(user, "party_approver", party_unit)

    for e, (expertise, title) in enumerate(EXPERTS, start=1):
        user = ctx.ensure_user(f"{DEMO_PREFIX}expert{e}", display_name=names(), expertise=expertise,
                               bio=f"江海区协商议事人才库专家，{title}")
        R(user, "expert", district)

    evaluator = ctx.ensure_user(f"{DEMO_PREFIX}evaluator", display_name=names(),
                                bio="江门市社会治理评估中心评估员（第三方评估）")
    R(evaluator, "evaluator", district)

    for v in range(1, 7):
        community = communities[(v - 1) * 3 % len(communities)]
        user = ctx.ensure_user(f"{DEMO_PREFIX}volunteer{v}", display_name=names(), phone=fake_mobile(5, v),
                               home_unit=community, bio=f"{community.name}志愿者" + ("、党员" if v % 2 else ""))
        R(user, "volunteer", community)

    grids_of: dict[int, list[OrgUnit]] = {}
    for grid in grids:
        grids_of.setdefault(grid.parent_id, []).append(grid)  # type: ignore[arg-type]
    for r in range(1, 31):
        community = communities[(r - 1) % len(communities)]
        home = rng.choice(grids_of[community.pk])
        user = ctx.ensure_user(f"{DEMO_PREFIX}resident{r}", display_name=names(), phone=fake_mobile(0, r),
                               home_unit=home)
        R(user, "resident", community)


def reset_people(ctx: DemoContext) -> None:
    users = User.objects.filter(username__startswith=DEMO_PREFIX)
    ctx.deleted["users"] += users.delete()[1].get("accounts.User", 0)


DEMO_STEPS = [
    DemoStep("places", build_places, reset_places, "区、街道、社区、网格、界别、企事业单位、承办单位"),
    DemoStep("stations", build_stations, reset_stations, "阵地：议事厅、议事室、委员之家、联络站等"),
    DemoStep("people", build_people, reset_people, "演示账号与角色"),
]

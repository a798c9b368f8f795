"""The shipped category catalogue and the demo appeals (``yishi demo``, step "appeals").

The demo district is loaded once per module (core steps through the command, then the appeals replay, timed) in a
transaction rolled back at the end; each test runs in a savepoint of its own.
"""

from __future__ import annotations

import time
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from yishi.appeals.catalogue import SHIPPED_CATALOGUE, load_catalogue
from yishi.appeals.choices import (
    AppealState,
    Channel,
    Resolution,
    Satisfaction,
    SupervisionKind,
    Urgency,
    WishState,
)
from yishi.appeals.demo import KEY_PREFIX, AppealsDemoReport, Replay, load_appeals_demo
from yishi.appeals.models import (
    Appeal,
    Assignment,
    Callback,
    Category,
    ExtensionRequest,
    MicroWish,
    ReopenRequest,
    ReturnRequest,
    RoutingRule,
    SupervisionFlag,
)
from yishi.appeals.selectors import AppealFilter, appeal_list
from yishi.audit.models import AuditEvent
from yishi.audit.services import verify_chain
from yishi.core.demo import DemoContext, demo_reset, demo_steps
from yishi.core.errors import InvalidInput
from yishi.orgs.models import OrgUnit

# --- the catalogue ---------------------------------------------------------------------------------------------


def test_catalogue_has_three_levels_and_loads_idempotently(db):
    loaded = load_catalogue()
    levels = Counter(Category.objects.values_list("level", flat=True))
    assert loaded.created == Category.objects.count() and loaded.existing == 0
    assert levels[1] == 15 and 55 <= levels[2] <= 70 and 140 <= levels[3] <= 170 and set(levels) == {1, 2, 3}
    for cat in Category.objects.select_related("parent"):
        assert cat.level == (cat.parent.level + 1 if cat.parent else 1)
        assert cat.path == f"{cat.parent.path if cat.parent else '/'}{cat.pk}/"
        assert cat.keywords
    assert {c.name for c in Category.objects.filter(level=1)} >= {"城乡建设", "水电气热", "城市管理", "民政", "其他"}
    water = Category.objects.get(name="水电气热")
    assert set(Category.objects.filter(path__startswith=water.path, name__in=["停水", "停电", "燃气维修"])
               .values_list("default_urgency", flat=True)) == {Urgency.UTILITY}
    assert Category.objects.get(name="燃气泄漏").default_urgency == Urgency.URGENT
    fast = set(Category.objects.filter(fast_lane=True).values_list("name", flat=True))
    assert {"路灯不亮", "井盖缺失破损", "楼道灯损坏"} <= fast
    assert Category.objects.get(name="路灯不亮").full_name == "城市管理 › 市政设施 › 路灯不亮"

    events = AuditEvent.objects.count()
    again = load_catalogue(SHIPPED_CATALOGUE)
    assert (again.created, again.existing) == (0, Category.objects.count())
    assert AuditEvent.objects.count() == events


def test_catalogue_keeps_an_operators_edits_and_adds_only_new_codes(db, tmp_path):
    load_catalogue()
    Category.objects.filter(code="140301").update(name="路灯故障")
    extra = tmp_path / "extra.csv"
    extra.write_text("code,name,parent_code,default_urgency,fast_lane,keywords\n"
                     "140301,路灯不亮,1403,,1,路灯\n140304,交通护栏损坏,1403,,是,护栏\n", encoding="utf-8")
    loaded = load_catalogue(extra)
    assert (loaded.created, loaded.existing) == (1, 1)
    assert Category.objects.get(code="140301").name == "路灯故障"
    added = Category.objects.get(code="140304")
    assert added.level == 3 and added.fast_lane and added.default_urgency == Urgency.GENERAL


def test_a_bad_row_names_its_line_and_keeps_nothing(db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,parent_code\nA1,一级,\nA101,二级,A1\nA10101,三级,A9\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="Line 4") as exc:
        load_catalogue(bad)
    assert exc.value.field == "file" and "第 4 行" in exc.value.message_zh
    assert not Category.objects.exists()
    deep = tmp_path / "deep.csv"
    deep.write_text("code,name,parent_code\nA1,一,\nA2,二,A1\nA3,三,A2\nA4,四,A3\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="Line 5"):
        load_catalogue(deep)
    assert not Category.objects.exists()


def test_load_categories_command(db, tmp_path):
    out = StringIO()
    call_command("load_categories", stdout=out)
    assert f"{Category.objects.count()} created" in out.getvalue()
    out = StringIO()
    call_command("load_categories", str(SHIPPED_CATALOGUE), stdout=out)
    assert "0 created" in out.getvalue()
    with pytest.raises(CommandError, match="No such file"):
        call_command("load_categories", str(tmp_path / "missing.csv"), stdout=StringIO())
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\nX,没有上级列\n", encoding="utf-8")
    with pytest.raises(CommandError, match="parent_code"):
        call_command("load_categories", str(bad), stdout=StringIO())


# --- the demo ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("demo", "--force", "--skip", "appeals", stdout=StringIO())
        started, cpu = time.monotonic(), time.process_time()
        with transaction.atomic():  # as the command runs a step: inside one transaction
            report = load_appeals_demo(DemoContext())
        report.wall_seconds = time.monotonic() - started  # type: ignore[attr-defined]
        report.cpu_seconds = time.process_time() - cpu  # type: ignore[attr-defined]
        yield report
        transaction.set_rollback(True)


def demo_appeals():
    return Appeal.objects.filter(idempotency_key__startswith=KEY_PREFIX)


def test_the_step_is_hooked_into_the_command():
    names = [s.name for s in demo_steps()]
    assert names[:3] == ["places", "stations", "people"] and "appeals" in names


def test_every_state_is_present_and_nothing_was_refused(demo: AppealsDemoReport, db):
    states = Counter(demo_appeals().values_list("state", flat=True))
    assert set(states) == set(AppealState.values), states
    assert 280 <= sum(states.values()) <= 330
    assert demo.stalls == []
    assert Counter(MicroWish.objects.values_list("state", flat=True)).keys() == set(WishState.values)
    assert 18 <= MicroWish.objects.count() <= 25
    # the load's own count matches the rows
    assert demo.appeals == sum(states.values()) and demo.states == states


def test_load_is_fast_enough(demo: AppealsDemoReport):
    # CPU time, not wall time: a busy test machine stretches the latter. The target is < 30 s on SQLite.
    assert demo.cpu_seconds < 30  # type: ignore[attr-defined]


def test_audit_chain_verifies_and_records_the_past(demo, db):
    assert verify_chain() == []
    first = AuditEvent.objects.filter(code="appeals.appeal.submitted").order_by("at").first()
    assert first is not None and (timezone.now() - first.at).days >= 150
    appeal = demo_appeals().filter(state=AppealState.ARCHIVED).order_by("received_at").first()
    times = list(AuditEvent.objects.filter(subject_type="appeals.appeal", subject_id=str(appeal.pk)).order_by("seq").values_list("at", flat=True))
    assert times == sorted(times) and times[0] == appeal.received_at


def test_running_twice_creates_nothing_twice(demo, db):
    models = [Appeal, MicroWish, Category, RoutingRule, Callback, AuditEvent]
    before = {m.__name__: m.objects.count() for m in models}
    out = StringIO()
    call_command("demo", "--force", stdout=out)
    assert "nothing to do" in out.getvalue()
    assert {m.__name__: m.objects.count() for m in models} == before
    again = load_appeals_demo(DemoContext())
    assert again.skipped and again.appeals == 0


def test_the_lifecycle_is_all_there(demo, db):
    appeals = demo_appeals()
    assert set(ReturnRequest.objects.values_list("status", flat=True)) == {"approved", "refused", "pending"}
    assert set(ExtensionRequest.objects.values_list("status", flat=True)) == {"approved", "refused", "pending"}
    assert set(SupervisionFlag.objects.values_list("kind", flat=True)) == set(SupervisionKind.values)
    assert appeals.filter(supervised=True).exists()
    # merges: children of open parents stay merged; the others got the parent's reply and their own callback
    merged = appeals.filter(merged_into__isnull=False)
    assert merged.filter(state=AppealState.MERGED).exists() and merged.filter(callbacks__isnull=False).exists()
    assert not merged.filter(counted=True).exists()
    duplicates = appeals.filter(duplicate_of__isnull=False)
    assert duplicates.filter(state=AppealState.DUPLICATE).exists() and duplicates.filter(state=AppealState.ARCHIVED).exists()
    for dup in duplicates.select_related("duplicate_of"):
        assert (dup.submitter_id and dup.submitter_id == dup.duplicate_of.submitter_id) or dup.contact_phone == dup.duplicate_of.contact_phone
    # escalations 社区 → 街道 → 区
    assert appeals.filter(escalation_count=2, handling_level__level="district").exists()
    assert appeals.filter(escalation_count=1, handling_level__level="street").exists()
    # reopenings after unresolved callbacks, asked by staff and by residents
    assert appeals.filter(reopen_count__gt=0, state__in=[AppealState.CLOSED, AppealState.ARCHIVED]).exists()
    assert set(ReopenRequest.objects.values_list("status", flat=True)) >= {"approved", "pending"}
    # callbacks of every resolution and satisfaction, through the link and by staff
    callbacks = Callback.objects.filter(appeal__in=appeals)
    assert set(callbacks.values_list("resolution", flat=True)) >= set(Resolution.values)
    assert set(callbacks.values_list("satisfaction", flat=True)) == set(Satisfaction.values)
    assert callbacks.filter(by_link=True).exists() and callbacks.filter(by_link=False, recorded_by__isnull=False).exists()
    # on time and late
    assert appeals.filter(closed_on_time=True).count() > appeals.filter(closed_on_time=False).count() > 10
    assert appeals.filter(accepted_on_time=False).exists() and appeals.filter(contacted_on_time=False).exists()


def test_deadlines_are_running_now(demo, db):
    from yishi.accounts.models import User

    dispatcher = User.objects.get(username="demo_dispatcher")
    assert appeal_list(user=dispatcher, filters=AppealFilter(overdue=True)).count() >= 5
    assert appeal_list(user=dispatcher, filters=AppealFilter(at_risk=True)).count() >= 2
    open_ = demo_appeals().filter(state__in=[AppealState.DISPATCHED, AppealState.ACCEPTED, AppealState.IN_PROGRESS])
    assert not open_.filter(due_at__isnull=True).exists()


def test_intake_is_varied(demo, db):
    appeals = demo_appeals()
    channels = set(appeals.values_list("channel", flat=True))
    assert channels >= {Channel.WEB, Channel.PHONE, Channel.WALK_IN, Channel.GRID_VISIT, Channel.STATION, Channel.HOTLINE_IMPORT}
    assert appeals.filter(anonymous=True).exists() and appeals.filter(submitter__isnull=False).exists()
    assert appeals.filter(channel=Channel.HOTLINE_IMPORT).exclude(external_ref="").count() == appeals.filter(channel=Channel.HOTLINE_IMPORT).count()
    assert len(set(appeals.values_list("nature", flat=True))) == 5
    months = appeals.values_list("month", flat=True).distinct()
    assert len(months) >= 6
    assert len(set(appeals.values_list("org_unit__parent", flat=True))) >= 15  # spread over the communities
    # routing rules do most of the dispatching
    leads = Assignment.objects.filter(appeal__in=appeals, role="lead")
    assert leads.filter(by_rule=True).count() >= 0.75 * leads.count()
    assert Assignment.objects.filter(appeal__in=appeals, role="co").exists()
    assert leads.filter(unit__kind="street_office").exists() and leads.filter(unit__kind="community_office").exists()


def test_the_chaocui_road_story(demo, db):
    story = demo_appeals().get(title="朝翠路通车两年路灯一直没亮")
    community = OrgUnit.objects.get(level="community", name="朝翠社区")
    assert story.state == AppealState.ARCHIVED and story.org_unit.path.startswith(community.path)
    assert story.escalation_count == 2 and story.lead_unit.name == "江海区城市管理和综合执法局"
    assert story.merged_children.count() == 3 and story.extension_requests.get().status == "approved"
    co = set(story.assignments.filter(role="co").values_list("unit__name", flat=True))
    assert co == {"江海供电局", "江海区住房和城乡建设局"}
    assert story.satisfaction == Satisfaction.SATISFIED
    took = story.replied_at - story.received_at
    assert 20 <= took.days <= 45


def test_wishes_are_adopted_by_deputies_members_and_volunteers(demo, db):
    from yishi.core.permissions import can

    adopted = MicroWish.objects.filter(state__in=[WishState.ADOPTED, WishState.FULFILLED]).select_related("adopter", "org_unit")
    assert adopted.exists()
    for wish in adopted:
        assert wish.adopter.username.startswith("demo_") and can(wish.adopter, "wishes.adopt", wish)
    assert not MicroWish.objects.filter(state=WishState.FULFILLED, fulfilment_note="").exists()


def test_the_plan_is_deterministic(demo, db):
    now = timezone.now()

    def plan() -> list[tuple]:
        replay = Replay(DemoContext(), now, AppealsDemoReport())
        replay.plan_history()
        replay.plan_recent(DemoContext().rng("appeals"))
        replay.plan_wishes(DemoContext().rng("appeals"))
        return [
            (c.no, [(s.action, s.target, s.when) for s in c.steps],
             sorted((k, i.data.title, i.data.text, i.channel, i.data.contact_phone) for k, i in c.intakes.items()))
            for c in replay.cases
        ]

    assert plan() == plan()


def test_reset_deletes_the_demo_appeals(demo, db):
    demo_reset(demo_steps())
    district = OrgUnit.objects.filter(code="440704").first()
    assert district is None
    assert not demo_appeals().exists() and not MicroWish.objects.exists() and not RoutingRule.objects.exists()
    assert Category.objects.exists()  # the catalogue is shipped data, not demo data
    assert verify_chain() == []

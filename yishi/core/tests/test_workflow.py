"""The workflow machinery, exercised through the sample work order (yishi/core/tests/sample).

The tables below are the specification: which roles may run each transition and from which states. Every
(actor × state × transition) combination is run and must end exactly as the table says.
"""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.db.models.signals import pre_save

from yishi.audit.models import AuditEvent
from yishi.audit.services import events_for, verify_chain
from yishi.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from yishi.core.testing import build_tree, make_user
from yishi.core.tests.sample.models import SampleOrder, SampleState
from yishi.core.tests.sample.workflow import SAMPLE_WORKFLOW
from yishi.core.workflow import Transition, Workflow, run_transition

STATES = [s.value for s in SampleState]

# transition → (source states, actors allowed by role, target or None to stay)
SPEC: dict[str, tuple[set[str], set[str], str | None]] = {
    "submit": ({"draft"}, {"community", "street"}, "submitted"),
    "accept": ({"submitted"}, {"liaison"}, "accepted"),
    "finish": ({"accepted"}, {"liaison"}, "done"),
    "cancel": ({"draft", "submitted"}, {"community", "street"}, "cancelled"),
    "comment": ({"submitted", "accepted"}, {"community", "street", "liaison"}, None),
    "fast_track": ({"draft"}, {"street"}, "accepted"),
}
AUDIT_CODES = {
    "submit": "sample.order.submitted",
    "accept": "sample.order.accepted",
    "finish": "sample.order.finished",
    "cancel": "sample.order.cancelled",
    "comment": "sample.order.commented",
    "fast_track": "sample.order.fast_tracked",
}
# Actors that may see an order of community A1 (staff of the area, the liaison of a unit of street A, district).
VISIBLE = {"community", "street", "liaison", "district", "superuser", "platform_admin"}
ACTORS = [
    "community", "street", "liaison", "district", "superuser", "platform_admin",
    "outside_liaison", "outside_street", "resident", "anonymous",
]


def make_actor(key: str, tree):
    if key == "anonymous":
        return AnonymousUser()
    if key == "superuser":
        from yishi.accounts.models import User

        return User.objects.create_superuser(username="wf-root", password="pw-Yishi-2026")
    where = {
        "community": ("community_staff", tree.community_a1, {}),
        "street": ("street_staff", tree.street_a, {}),
        "liaison": ("unit_liaison", tree.street_a, {"handling_unit": tree.unit_street_a}),
        "district": ("district_staff", tree.district, {}),
        "platform_admin": ("platform_admin", tree.district, {}),
        "outside_liaison": ("unit_liaison", tree.street_b, {}),
        "outside_street": ("street_staff", tree.street_b, {}),
        "resident": ("resident", tree.community_a1, {}),
    }
    role, unit, extra = where[key]
    return make_user(role, unit, **extra)


def expected_error(actor: str, state: str, name: str) -> type[Exception] | None:
    sources, roles, _target = SPEC[name]
    if actor not in VISIBLE:
        return NotFound
    if actor not in roles and actor not in {"superuser", "platform_admin"}:
        return PermissionDenied
    if state not in sources:
        return TransitionNotAllowed
    return None


def make_order(tree, state: str = "draft", title: str = "紧急：路灯不亮") -> SampleOrder:
    return SampleOrder.objects.create(title=title, state=state, org_unit=tree.community_a1)


def set_note(text: str):
    def apply(order: SampleOrder) -> list[str]:
        order.note = text
        return ["note"]

    return apply


@pytest.mark.parametrize("actor_key", ACTORS)
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("name", list(SPEC))
def test_transition_matrix(tree, actor_key, state, name):
    actor = make_actor(actor_key, tree)
    order = make_order(tree, state)
    events_before = AuditEvent.objects.count()
    apply = set_note("已联系居民") if name == "comment" else None
    error = expected_error(actor_key, state, name)

    if error is not None:
        with pytest.raises(error):
            run_transition(SAMPLE_WORKFLOW, order, name, actor=actor, reason="理由", apply=apply)
        order.refresh_from_db()
        assert order.state == state and order.note == ""
        assert AuditEvent.objects.count() == events_before
        return

    result = run_transition(SAMPLE_WORKFLOW, order, name, actor=actor, reason="理由", apply=apply)
    target = SPEC[name][2] or state
    order.refresh_from_db()
    assert result.state == order.state == target
    event = AuditEvent.objects.get(seq=AuditEvent.objects.count())
    assert AuditEvent.objects.count() == events_before + 1
    assert event.code == AUDIT_CODES[name]
    assert (event.subject_type, event.subject_id) == ("sample.sampleorder", str(order.pk))
    assert event.actor_id == actor.pk and event.actor_label == str(actor)
    assert event.reason == "理由"
    assert event.before == {"state": state, "note": ""}
    assert event.after == {"state": target, "note": "已联系居民" if name == "comment" else ""}


@pytest.mark.parametrize("actor_key", ACTORS)
@pytest.mark.parametrize("state", STATES)
def test_available_lists_exactly_what_the_actor_may_do(tree, actor_key, state):
    actor = make_actor(actor_key, tree)
    order = make_order(tree, state)
    expected = {name for name in SPEC if expected_error(actor_key, state, name) is None}
    assert {t.name for t in SAMPLE_WORKFLOW.available(actor, order)} == expected


def test_available_hides_a_placeless_permission_outside_the_view_scope(tree):
    # "sample.comment" is granted to every liaison wherever they are; the order must still not exist for one
    # outside its area, in the list of actions as in run_transition.
    outsider = make_actor("outside_liaison", tree)
    order = make_order(tree, "submitted")
    assert SAMPLE_WORKFLOW.available(outsider, order) == []
    with pytest.raises(NotFound):
        run_transition(SAMPLE_WORKFLOW, order, "comment", actor=outsider, apply=set_note("x"))


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_finish_requires_a_reason(tree, reason):
    liaison = make_actor("liaison", tree)
    order = make_order(tree, "accepted")
    with pytest.raises(InvalidInput) as info:
        run_transition(SAMPLE_WORKFLOW, order, "finish", actor=liaison, reason=reason)
    assert info.value.field == "reason" and info.value.code == "reason_required"
    order.refresh_from_db()
    assert order.state == "accepted"
    assert not events_for(order).exists()


def test_guard_blocks_and_hides_the_transition(tree):
    street = make_actor("street", tree)
    order = make_order(tree, "draft", title="路灯不亮")
    assert "fast_track" not in {t.name for t in SAMPLE_WORKFLOW.available(street, order)}
    with pytest.raises(Conflict) as info:
        run_transition(SAMPLE_WORKFLOW, order, "fast_track", actor=street)
    assert info.value.code == "not_urgent"
    order.refresh_from_db()
    assert order.state == "draft" and not events_for(order).exists()


def test_unknown_transition_and_missing_object(tree):
    street = make_actor("street", tree)
    order = make_order(tree)
    with pytest.raises(InvalidInput) as info:
        run_transition(SAMPLE_WORKFLOW, order, "explode", actor=street)
    assert (info.value.code, info.value.field) == ("unknown_action", "action")
    for missing in (order.pk + 1000, "abc", None):
        with pytest.raises(NotFound):
            run_transition(SAMPLE_WORKFLOW, missing, "submit", actor=street)


def test_duplicate_transition_names_are_rejected():
    t = Transition("go", frozenset({"a"}), "b", "sample.view", "x.go")
    with pytest.raises(ValueError, match="duplicate"):
        Workflow(SampleOrder, view_permission="sample.view", transitions=[t, t])


def test_queryset_argument_narrows_what_can_be_found(tree):
    street = make_actor("street", tree)
    order = make_order(tree)
    with pytest.raises(NotFound):
        run_transition(
            SAMPLE_WORKFLOW, order.pk, "submit", actor=street, queryset=SampleOrder.objects.exclude(pk=order.pk)
        )


@pytest.fixture
def saved_fields():
    seen: list[frozenset[str] | None] = []

    def receiver(sender, instance, update_fields=None, **kwargs):
        seen.append(frozenset(update_fields) if update_fields is not None else None)

    pre_save.connect(receiver, sender=SampleOrder, weak=False)
    yield seen
    pre_save.disconnect(receiver, sender=SampleOrder)


def test_saves_only_the_changed_fields(tree, saved_fields):
    street = make_actor("street", tree)
    liaison = make_actor("liaison", tree)
    order = make_order(tree)
    saved_fields.clear()
    run_transition(SAMPLE_WORKFLOW, order, "submit", actor=street)
    assert saved_fields == [frozenset({"state", "updated_at"})]
    saved_fields.clear()
    run_transition(SAMPLE_WORKFLOW, order, "comment", actor=liaison, apply=set_note("已到现场"))
    assert saved_fields == [frozenset({"note", "updated_at"})]
    saved_fields.clear()
    # A note-only transition that changes nothing writes no row, only its audit event.
    run_transition(SAMPLE_WORKFLOW, order, "comment", actor=liaison, apply=lambda o: None)
    assert saved_fields == []
    assert events_for(order).count() == 3


def test_after_commit_runs_only_after_commit(tree, django_capture_on_commit_callbacks):
    street = make_actor("street", tree)
    order = make_order(tree)
    calls: list[str] = []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run_transition(SAMPLE_WORKFLOW, order, "submit", actor=street, after_commit=lambda o: calls.append(o.state))
        assert calls == []
    assert len(callbacks) == 1
    assert calls == ["submitted"]


def test_after_commit_dropped_on_rollback(tree, django_capture_on_commit_callbacks):
    street = make_actor("street", tree)
    order = make_order(tree)
    calls: list[str] = []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            run_transition(SAMPLE_WORKFLOW, order, "submit", actor=street, after_commit=lambda o: calls.append("x"))
            raise RuntimeError("the caller fails after the transition")
    assert callbacks == [] and calls == []
    order.refresh_from_db()
    assert order.state == "draft" and not events_for(order).exists()


def test_after_commit_not_run_when_the_transition_fails(tree, django_capture_on_commit_callbacks):
    community = make_actor("community", tree)
    order = make_order(tree, "accepted")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(TransitionNotAllowed):
            run_transition(SAMPLE_WORKFLOW, order, "cancel", actor=community, after_commit=lambda o: None)
    assert callbacks == []


@pytest.mark.django_db(transaction=True)
def test_after_commit_with_real_transactions():
    tree = build_tree()
    street = make_user("street_staff", tree.street_a)
    committed = make_order(tree)
    rolled_back = make_order(tree)
    seen: list[str] = []

    def hook(order: SampleOrder) -> None:
        # Runs after the commit: a fresh read already sees the new state.
        seen.append(SampleOrder.objects.get(pk=order.pk).state)

    with transaction.atomic():
        run_transition(SAMPLE_WORKFLOW, committed, "submit", actor=street, after_commit=hook)
        assert seen == []
    assert seen == ["submitted"]

    with pytest.raises(RuntimeError), transaction.atomic():
        run_transition(SAMPLE_WORKFLOW, rolled_back, "submit", actor=street, after_commit=hook)
        raise RuntimeError("rollback")
    assert seen == ["submitted"]
    rolled_back.refresh_from_db()
    assert rolled_back.state == "draft"
    assert verify_chain() == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_concurrent_accepts_exactly_one_wins():
    import time

    tree = build_tree()
    liaisons = [make_user("unit_liaison", tree.street_a, handling_unit=tree.unit_street_a) for _ in range(2)]
    order = make_order(tree, "submitted")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def slow_apply(obj: SampleOrder) -> list[str]:
        # Hold the row lock a little, so that without it both threads would read "submitted".
        time.sleep(0.3)
        return []

    def accept(actor) -> None:
        try:
            barrier.wait(timeout=10)
            run_transition(SAMPLE_WORKFLOW, order.pk, "accept", actor=actor, apply=slow_apply)
            result = "won"
        except TransitionNotAllowed:
            result = "not_allowed"
        except Exception as exc:  # anything else is a failure of the test
            result = repr(exc)
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=accept, args=(u,)) for u in liaisons]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["not_allowed", "won"]
    order.refresh_from_db()
    assert order.state == "accepted"
    assert events_for(order).filter(code="sample.order.accepted").count() == 1
    assert verify_chain() == []

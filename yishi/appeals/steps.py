"""The appeal's recorded steps (audit events) turned into timeline entries for the pages.

Staff see every step with who did it and the deadline in force; residents (tracking page, their own appeal) see
the steps that matter to them, with dates and units but never a staff member's name or an internal reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from yishi.orgs.models import HandlingUnit

from . import selectors
from .choices import HANDLING_STATES, AppealState, SupervisionKind
from .models import Appeal
from .workflow import appeal_workflow

PREFIX = "appeals.appeal."

# Codes written outside the transition table.
EXTRA_LABELS: dict[str, Promise] = {
    "submitted": _("提交诉求"),
    "reopen_requested": _("群众申请重办"),
    "reply_propagated": _("随主件答复"),
    "closed_no_answer": _("回访期满未评价，自动办结"),
    SupervisionKind.REMINDER.value: SupervisionKind.REMINDER.label,
    SupervisionKind.URGE.value: SupervisionKind.URGE.label,
    SupervisionKind.ESCALATION.value: SupervisionKind.ESCALATION.label,
}

# What residents see, in their words; steps not listed here are internal.
PUBLIC_LABELS: dict[str, Promise] = {
    "submitted": _("诉求已受理"),
    "reject": _("不予受理"),
    "answer": _("已直接答复"),
    "dispatch": _("已派给承办单位"),
    "approve_return": _("已改派承办单位"),
    "accept": _("承办单位已签收"),
    "contact": _("承办单位已与您联系"),
    "approve_extension": _("办理期限已延长"),
    "approve_reply": _("已答复，请您评价"),
    "reply_propagated": _("已答复（与同类诉求一并办理），请您评价"),
    "callback": _("已评价"),
    "close": _("已办结"),
    "closed_no_answer": _("回访期满，已办结"),
    "reopen_requested": _("已申请重办"),
    "reopen": _("重新办理"),
    "escalate": _("已上报上级协调办理"),
    "merge": _("与同类诉求合并办理"),
    "mark_duplicate": _("与此前的诉求为同一事项，一并办理"),
    "supervise": _("已督办"),
    SupervisionKind.URGE.value: _("已催办"),
    SupervisionKind.ESCALATION.value: _("已升级督办"),
    "archive": _("已归档"),
}

# An anonymous resident answering through the callback link has no account to name.
RESIDENT_BY_LINK = _("群众（回访链接）")
# A "解决" callback closes the appeal in the same step.
CALLBACK_CLOSED = _("已评价，诉求办结")


@dataclass
class Step:
    at: datetime
    label: str | Promise
    actor: str | Promise = ""
    reason: str = ""
    state: str | Promise = ""
    unit: str = ""
    due_at: datetime | None = None
    late: bool = False


def _label(name: str) -> str | Promise:
    t = appeal_workflow.transitions.get(name)
    if t is not None:
        return t.label
    return EXTRA_LABELS.get(name, name)


def _when(value: Any) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None


def steps(appeal: Appeal, *, public: bool) -> list[Step]:
    """The timeline of one appeal: two queries (the events, the unit names they mention)."""
    events = list(selectors.timeline(appeal))
    unit_ids = {e.after["lead_unit"] for e in events if isinstance(e.after, dict) and e.after.get("lead_unit")}
    units = dict(HandlingUnit.objects.filter(pk__in=unit_ids).values_list("pk", "name")) if unit_ids else {}
    states: dict[str | None, str | Promise] = dict(AppealState.choices)
    result: list[Step] = []
    for event in events:
        name = event.code.removeprefix(PREFIX)
        after = event.after if isinstance(event.after, dict) else {}
        before = event.before if isinstance(event.before, dict) else {}
        lead = after.get("lead_unit")
        unit = units.get(lead, "") if lead and lead != before.get("lead_unit") else ""
        if public:
            if name not in PUBLIC_LABELS:
                continue
            # Residents see why an appeal was refused; other reasons are staff notes.
            reason = event.reason if name == "reject" else ""
            label = PUBLIC_LABELS[name]
            if name == "callback" and after.get("state") == AppealState.CLOSED:
                label = CALLBACK_CLOSED
            result.append(Step(at=event.at, label=label, unit=unit, reason=reason))
            continue
        due = _when(after.get("due_at"))
        # The deadline matters for what happens while the clock runs (and when it is set or moved); a callback
        # or an archive long after the reply is not "late".
        clocked = before.get("state") in HANDLING_STATES or (due is not None and after.get("due_at") != before.get("due_at"))
        result.append(
            Step(
                at=event.at,
                label=_label(name),
                actor=RESIDENT_BY_LINK if (name == "callback" and event.actor_id is None) else event.actor_label,
                reason=event.reason,
                state=states.get(after.get("state"), "") if after.get("state") != before.get("state") else "",
                unit=unit,
                due_at=due if clocked else None,
                late=bool(clocked and due and event.at > due),
            )
        )
    return result

"""The sample work order's workflow: draft → submitted → accepted → done, with cancel, comment and a guarded
fast track."""

from typing import Any

from yishi.core.errors import Conflict
from yishi.core.workflow import Transition, Workflow

from .models import SampleOrder, SampleState


def urgent_only(order: SampleOrder, user: Any) -> Exception | None:
    if order.title.startswith("紧急"):
        return None
    return Conflict("只有紧急工单可以快速签收", "Only urgent orders can be fast-tracked", code="not_urgent")


S = SampleState
SAMPLE_WORKFLOW = Workflow(
    SampleOrder,
    view_permission="sample.view",
    tracked_fields=["note"],
    transitions=[
        Transition("submit", frozenset({S.DRAFT}), S.SUBMITTED, "sample.submit", "sample.order.submitted"),
        Transition("accept", frozenset({S.SUBMITTED}), S.ACCEPTED, "sample.accept", "sample.order.accepted"),
        Transition(
            "finish", frozenset({S.ACCEPTED}), S.DONE, "sample.finish", "sample.order.finished", requires_reason=True
        ),
        Transition("cancel", frozenset({S.DRAFT, S.SUBMITTED}), S.CANCELLED, "sample.cancel", "sample.order.cancelled"),
        Transition("comment", frozenset({S.SUBMITTED, S.ACCEPTED}), None, "sample.comment", "sample.order.commented"),
        Transition(
            "fast_track", frozenset({S.DRAFT}), S.ACCEPTED, "sample.fast_track", "sample.order.fast_tracked",
            guard=urgent_only,
        ),
    ],
)

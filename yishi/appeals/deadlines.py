"""Which limit applies to an appeal, read from its area's policy profile."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from yishi.policy import workdays
from yishi.policy.models import PolicyProfile
from yishi.policy.services import (
    compute_deadline,
    compute_warning,
    effective_profile,
    limit_for,
    policy_value,
)


def profile_for(appeal: Any) -> PolicyProfile:
    return effective_profile(appeal.org_unit)


def handling_limit(appeal: Any, profile: PolicyProfile) -> workdays.Limit:
    """Fast lane first; then the urgency's limit when the profile lists it; then the nature's; then the default."""
    if appeal.fast_lane:
        return limit_for("appeals.limit.fast_lane", profile=profile)
    by_urgency = policy_value("appeals.limit.by_urgency", profile=profile, default={}) or {}
    if appeal.urgency in by_urgency:
        return workdays.Limit.parse(by_urgency[appeal.urgency])
    by_nature = policy_value("appeals.limit.by_nature", profile=profile, default={}) or {}
    if appeal.nature in by_nature:
        return workdays.Limit.parse(by_nature[appeal.nature])
    return limit_for("appeals.limit.default", profile=profile)


def start_clocks(appeal: Any, start: datetime, profile: PolicyProfile, limit: workdays.Limit | None = None) -> list[str]:
    """Set accept/contact/handling deadlines for a dispatch starting at ``start``. Returns changed fields.
    ``limit`` replaces the profile's handling limit (a consultation task carries its own working days)."""
    appeal.dispatched_at = start
    appeal.accept_due_at = compute_deadline(start, limit_for("appeals.limit.accept", profile=profile))
    appeal.contact_due_at = compute_deadline(start, limit_for("appeals.limit.first_contact", profile=profile))
    appeal.due_at = compute_deadline(start, limit or handling_limit(appeal, profile))
    appeal.warn_at = compute_warning(start, appeal.due_at, profile=profile)
    appeal.policy_version = f"{profile.code}@{profile.version}"
    return ["dispatched_at", "accept_due_at", "contact_due_at", "due_at", "warn_at", "policy_version"]

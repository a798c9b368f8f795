"""The codes of audit events are stable strings named ``<app>.<noun>.<verb>``; apps define their own."""

SYSTEM_ACTOR = "system"

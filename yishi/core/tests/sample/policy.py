"""The sample's policy parameter: a per-area switch letting anonymous visitors see orders."""

from yishi.policy.registry import declare

declare("sample.public_orders", "bool", "公开工单", "Anonymous visitors may see the orders of the area")

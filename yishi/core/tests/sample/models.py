"""A sample workflow (a small work order) used only by the tests of the workflow machinery."""

from django.db import models


class SampleState(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "已提交"
    ACCEPTED = "accepted", "已签收"
    DONE = "done", "已办结"
    CANCELLED = "cancelled", "已撤销"


class SampleOrder(models.Model):
    title = models.CharField(max_length=100)
    state = models.CharField(max_length=20, choices=SampleState.choices, default=SampleState.DRAFT)
    org_unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT)
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

"""The replica router: dashboards and statistics read the replica; every write, and every other read, the primary.

The test settings define ``replica`` as a test mirror of ``default`` (one database); these tests turn the router on.
"""

from __future__ import annotations

import pytest
from django.db import connections, router, transaction
from django.test.utils import CaptureQueriesContext

from yishi.appeals import stats
from yishi.appeals.models import Appeal
from yishi.appeals.testing import submit
from yishi.audit.models import AuditEvent
from yishi.core.db_router import REPLICA, ReplicaRouter, reads_from_replica, replica_reads

ROUTER = "yishi.core.db_router.ReplicaRouter"


@pytest.fixture
def routed(settings):
    settings.DATABASE_ROUTERS = [ROUTER]
    yield router


def test_inside_a_transaction_reads_stay_on_the_primary(routed, db):
    with replica_reads():
        with transaction.atomic():
            assert routed.db_for_read(Appeal) == "default"  # a service reads what it has just written


def test_decisions_outside_a_transaction(routed):
    choose = ReplicaRouter()
    assert choose.db_for_read(Appeal) == "default"
    with replica_reads():
        assert choose.db_for_read(Appeal) == REPLICA
        assert choose.db_for_read(AuditEvent) == REPLICA
        # Writes never go to the replica, whatever the context.
        assert choose.db_for_write(Appeal) == "default"
        assert routed.db_for_write(Appeal) == "default"
    assert choose.db_for_read(Appeal) == "default"  # the context ends with the block


def test_the_decorator_routes_only_while_the_function_runs(routed):
    seen = []

    @reads_from_replica
    def selector() -> str:
        seen.append(ReplicaRouter().db_for_read(Appeal))
        return "done"

    assert selector() == "done" and seen == [REPLICA]
    assert ReplicaRouter().db_for_read(Appeal) == "default"


def test_no_replica_configured_reads_the_primary(routed, settings):
    settings.DATABASES = {"default": settings.DATABASES["default"]}
    with replica_reads():
        assert ReplicaRouter().db_for_read(Appeal) == "default"


def test_migrations_run_on_the_primary_only(routed):
    choose = ReplicaRouter()
    assert choose.allow_migrate("default", "appeals") is True
    assert choose.allow_migrate(REPLICA, "appeals") is False


@pytest.mark.django_db(transaction=True, databases=["default", REPLICA])
def test_the_dashboard_reads_the_replica_and_intake_writes_the_primary(routed, world):
    with CaptureQueriesContext(connections["default"]) as primary, CaptureQueriesContext(connections[REPLICA]) as replica:
        appeal = submit(world)
    assert primary.captured_queries and not replica.captured_queries  # a service: reads and writes on the primary

    with CaptureQueriesContext(connections["default"]) as primary, CaptureQueriesContext(connections[REPLICA]) as replica:
        total = stats.kpis_total(user=world.district_staff, period=stats.Period.month(appeal.month))
    assert total.volume == 1
    assert any("appeals_appeal" in q["sql"] for q in replica.captured_queries)
    # The primary sees at most the policy cache's freshness check (raw SQL on the primary by design), no ORM read.
    assert all("policy_policygeneration" in q["sql"] for q in primary.captured_queries), primary.captured_queries

    # The dashboard reads the replica too; whatever it writes (e.g. a cached rollup) goes to the primary.
    with CaptureQueriesContext(connections[REPLICA]) as replica:
        board = stats.dashboard(user=world.district_staff, month=appeal.month)
    assert board.total.volume == 1 and replica.captured_queries
    writes = ("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE", "SAVEPOINT")
    assert not [q for q in replica.captured_queries if q["sql"].lstrip().upper().startswith(writes)]

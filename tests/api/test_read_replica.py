"""config.routers: reads of the read endpoint go to the `replica` alias inside replica_reads();
writes, transactions and everything outside the block stay on the primary."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.test.utils import CaptureQueriesContext

from config.routers import REPLICA, replica_reads
from customers.models import Customer
from targets.models import TargetGroup, UserTarget
from targets.selectors import Filters, user_target_groups
from tests.factories import CustomerFactory, UserTargetFactory, group_with_periods


@pytest.fixture
def routed(settings):
    """The router installed, as config.settings does when DATABASE_REPLICA_URL is set."""
    settings.DATABASE_ROUTERS = ["config.routers.ReadReplicaRouter"]


@pytest.fixture
def replica_alias(routed):
    """A `replica` alias configured as a TEST MIRROR of the default database (no connection)."""
    default = connections[DEFAULT_DB_ALIAS].settings_dict
    connections.settings[REPLICA] = {**default, "TEST": {**default["TEST"], "MIRROR": DEFAULT_DB_ALIAS}}
    yield
    if hasattr(connections._connections, REPLICA):
        del connections[REPLICA]
    del connections.settings[REPLICA]


@pytest.fixture
def replica(transactional_db, replica_alias):
    """The replica alias connected: it shares the default alias's DB-API connection, so that it
    reads the same test database on SQLite and PostgreSQL alike, while Django still sees two
    aliases and routes, logs and counts their queries separately."""
    default = connections[DEFAULT_DB_ALIAS]
    default.ensure_connection()
    wrapper = connections[REPLICA]
    wrapper.connection = default.connection
    wrapper.autocommit = default.get_autocommit()
    yield wrapper
    wrapper.connection = None  # the default alias owns (and closes) the shared connection


def test_reads_stay_on_the_primary_outside_the_block(replica_alias):
    assert Customer.objects.all().db == DEFAULT_DB_ALIAS
    assert router.db_for_read(TargetGroup) == DEFAULT_DB_ALIAS


def test_reads_go_to_the_replica_inside_the_block(replica_alias):
    with replica_reads():
        assert Customer.objects.all().db == REPLICA
        assert router.db_for_read(UserTarget) == REPLICA
        with replica_reads():
            assert router.db_for_read(UserTarget) == REPLICA
        assert router.db_for_read(UserTarget) == REPLICA  # leaving a nested block keeps the outer one
    assert router.db_for_read(UserTarget) == DEFAULT_DB_ALIAS


def test_the_block_ends_when_it_raises(replica_alias):
    with pytest.raises(RuntimeError), replica_reads():
        raise RuntimeError("boom")
    assert router.db_for_read(Customer) == DEFAULT_DB_ALIAS


def test_writes_always_go_to_the_primary(replica_alias):
    with replica_reads():
        assert router.db_for_write(Customer) == DEFAULT_DB_ALIAS
        assert Customer.objects.select_for_update().db == DEFAULT_DB_ALIAS
        assert Customer.objects.filter(id=1).db == REPLICA


def test_without_a_replica_everything_stays_on_the_primary(routed):
    assert REPLICA not in connections.settings
    with replica_reads():
        assert router.db_for_read(Customer) == DEFAULT_DB_ALIAS


def test_migrations_run_on_the_primary_only(replica_alias):
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "targets", model_name="usertarget")
    assert not router.allow_migrate(REPLICA, "targets", model_name="usertarget")


def test_reads_inside_a_transaction_stay_on_the_primary(replica):
    """Read-your-writes: a transaction on the primary (the engine's ingestion) never reads a
    replica that may not have its writes yet."""
    with replica_reads():
        assert router.db_for_read(Customer) == REPLICA
        with transaction.atomic():
            assert router.db_for_read(Customer) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Customer) == REPLICA


def test_the_selector_reads_from_the_replica(replica):
    group = group_with_periods(periods=3, triggers=["500"])
    customer = CustomerFactory(org=group.org)
    UserTargetFactory(
        rule=group.rules.get(), period=group.periods.order_by("sequence").first(), customer=customer
    )
    UserTarget.objects.update(achieved_value=Decimal("600"))
    query = {
        "customer_id": customer.id,
        "org_ids": {group.org_id},
        "now": datetime(2024, 8, 2, tzinfo=UTC),
        "filters": Filters(include_inactive=True),
    }
    expected = user_target_groups(**query)

    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
        CaptureQueriesContext(replica) as on_replica,
        replica_reads(),
    ):
        data = user_target_groups(**query)

    assert data == expected
    assert data["targetGroups"][0]["targets"][0]["milestones"][0]["isAchieved"] is True
    assert len(on_primary) == 0
    assert len(on_replica) >= 5


def test_the_read_endpoint_serves_its_data_from_the_replica(replica, client_for, settings):
    """The view wraps its selector in replica_reads(): the progress comes from the replica,
    while authentication (user, permissions) stays on the primary."""
    from tests.support import PASSWORD, READ, api_user, body

    group = group_with_periods(periods=3)
    customer = CustomerFactory(org=group.org)
    user = api_user(group.org)
    settings.TARGETS_NOW = "2024-08-02T00:00:00Z"

    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
        CaptureQueriesContext(replica) as on_replica,
    ):
        response = client_for(user.username, PASSWORD).get(READ.format(customer.id) + "?includeInactive=true")

    assert response.status_code == 200, response.content
    assert len(body(response)["data"]["targetGroups"][0]["targets"]) == 3
    replica_tables = " ".join(q["sql"] for q in on_replica.captured_queries)
    primary_tables = " ".join(q["sql"] for q in on_primary.captured_queries)
    assert "targets_usertarget" in replica_tables and "targets_targetperiod" in replica_tables
    assert "targets_usertarget" not in primary_tables and "auth_user" in primary_tables

"""A database outage (issue 8 §4): a write interrupted by the database answers a clean 503
envelope and applies nothing; retrying the same externalIds then applies them exactly once.

The outage is real on PostgreSQL: when the request has stored its activities and is about to run
its next statement, a second connection terminates the request's backend
(`pg_terminate_backend`), as a database restart or failover would. On SQLite the statement after
the activity insert fails with `OperationalError` at the driver boundary (Django's documented
`execute_wrapper` hook). Nothing of our own code is replaced."""

import json
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import OperationalError, close_old_connections, connection
from rest_framework.test import APIClient

from customers.models import Customer
from targets.models import Activity, UserMilestone, UserTarget
from tests.conftest import basic
from tests.factories import ActorFactory, CustomerFactory, UserFactory, group_with_periods
from tests.support import ACTIVITIES, READ, assert_error, body

PASSWORD = "outage-pass"
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="terminates a PostgreSQL backend"
)
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite variant")


@pytest.fixture
def world(settings):
    """An org with a till, a customer and a program with a milestone whose current period the
    posted activity falls in."""
    group = group_with_periods(periods=3, triggers=("100",), rule_kwargs={"target_value": Decimal("300")})
    org = group.org
    settings.TARGETS_NOW = (group.start + timedelta(hours=12)).isoformat()
    user = UserFactory(password=PASSWORD, perms=["targets.add_activity", "targets.view_targetgroup"])
    ActorFactory(org=org, user=user)
    customer = CustomerFactory(org=org)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(user.username, PASSWORD))
    return {"org": org, "customer": customer, "client": client, "group": group}


def batch(world, *external_ids):
    at = (world["group"].start + timedelta(hours=1)).isoformat()
    return [
        {
            "userId": world["customer"].id,
            "entity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "occurredAt": at,
            "amount": 150,
            "externalId": external_id,
        }
        for external_id in external_ids
    ]


def post(world, items):
    return world["client"].post(ACTIVITIES, data=json.dumps(items), content_type="application/json")


def state(world):
    """Everything a write of this customer may change."""
    customer = Customer.objects.get(id=world["customer"].id)
    return {
        "activities": sorted(
            Activity.objects.filter(customer=customer).values_list("external_id", flat=True)
        ),
        "user_targets": sorted(
            UserTarget.objects.filter(customer=customer).values_list("rule_id", "period_id", "achieved_value")
        ),
        "milestones": UserMilestone.objects.filter(user_target__customer=customer).count(),
        "lifetime_purchases": customer.lifetime_purchases,
        "last_updated_on": customer.last_updated_on,
    }


class AfterActivityInsert:
    """An execute_wrapper that lets the request store its activities, then calls `fail` before
    the next statement (the request's connection, already inside the batch's transaction).

    The activities are stored by INSERT or, on PostgreSQL, by COPY (which execute wrappers do not
    see); the statement right after them is the update of the customers' lifetime purchases."""

    def __init__(self, fail):
        self.fail = fail
        self.fired = 0

    def __call__(self, execute, sql, params, many, context):
        if not self.fired and 'UPDATE "CUSTOMERS_CUSTOMER"' in sql.upper():
            self.fired += 1
            self.fail(context)
        return execute(sql, params, many, context)


def terminate_backend(context):
    """Kill the request's PostgreSQL backend from a second connection."""
    pid = context["connection"].connection.info.backend_pid
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        terminated = admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
    assert terminated


def disk_failure(context):
    raise OperationalError("disk I/O error")


@contextmanager
def outage(fail):
    wrapper = AfterActivityInsert(fail)
    with connection.execute_wrapper(wrapper):
        yield wrapper
    assert wrapper.fired == 1, "the outage was never provoked"


def outage_then_retries(world, fail):
    before = state(world)
    items = batch(world, "outage-1", "outage-2")

    with outage(fail):
        response = post(world, items)
    payload = assert_error(response, 503, 503)
    assert "nothing was applied" in payload["errors"][0]["message"]
    assert state(world) == before  # nothing of the batch was kept

    retried = post(world, items)
    assert retried.status_code == 200, retried.content
    assert [r["status"] for r in body(retried)["data"]] == ["APPLIED", "APPLIED"]
    after = state(world)
    assert after["activities"] == ["outage-1", "outage-2"]
    assert after["lifetime_purchases"] == before["lifetime_purchases"] + Decimal("300")
    assert [value for _, _, value in after["user_targets"]] == [Decimal("300")]
    assert after["milestones"] == 1

    again = post(world, items)
    assert [r["status"] for r in body(again)["data"]] == ["DUPLICATE", "DUPLICATE"]
    assert state(world) == after


@postgres_only
def test_a_terminated_backend_during_a_write_is_a_503_and_a_retry_applies_once(transactional_db, world):
    outage_then_retries(world, terminate_backend)


@sqlite_only
def test_a_failing_write_is_a_503_and_a_retry_applies_once(db, world):
    outage_then_retries(world, disk_failure)


class OnFirstQuery:
    def __init__(self, fail):
        self.fail, self.fired = fail, 0

    def __call__(self, execute, sql, params, many, context):
        if not self.fired:
            self.fired += 1
            self.fail(context)
        return execute(sql, params, many, context)


@postgres_only
def test_a_terminated_backend_during_a_read_is_a_503_and_the_next_read_works(transactional_db, world):
    path = READ.format(world["customer"].id)
    # A fresh, established connection, so that the read's first statement is the one that fails.
    assert world["client"].get(path).status_code == 200
    wrapper = OnFirstQuery(terminate_backend)
    with connection.execute_wrapper(wrapper):
        response = world["client"].get(path)
    assert wrapper.fired == 1
    assert_error(response, 503, 503)
    close_old_connections()  # what the request_finished signal does on a server
    assert world["client"].get(path).status_code == 200

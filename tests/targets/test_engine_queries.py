"""Issue 12, "cost bounded by what changed": one activity through POST /v3.1/activities costs a
fixed number of SQL queries, whatever the customer's history — the demo customer of org 50363
(FIXED, CYCLIC and PERIOD_AGNOSTIC groups, a milestone trigger) at the pinned clock — and none
of them reads the customer's past activities."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.test_activities import activity, post, results
from tests.factories import CustomerFactory

# The request's authentication (user, permissions, org) before the engine's work.
AUTHENTICATION = 3
# The engine: transaction (2: SAVEPOINT/RELEASE in a test, BEGIN/COMMIT outside); the customer
# lock, which also reads the configuration version, the customer's running totals (the limit on
# sums, issue 15: targets/totals.py) and which of the batch's external ids are stored; the
# activity's insert with the customer's update; enrolments and episodes; the customer's cycles
# near the activity; the user targets with their milestones; their update. SQLite has no
# data-modifying WITH, so there the customer's update is a statement of its own: one more.
ONE_ACTIVITY = 8 if connection.vendor == "postgresql" else 9


def test_one_activity_costs_a_fixed_number_of_queries(till_client, django_assert_max_num_queries):
    results(post(till_client, activity("warm-1")))  # the configuration cache and the cycles
    with django_assert_max_num_queries(AUTHENTICATION + ONE_ACTIVITY):
        data = results(post(till_client, activity("one-1", occurredAt="2024-08-30T09:10:00Z")))
    assert data == [{"externalId": "one-1", "status": "APPLIED", "errors": None}]


def test_the_count_does_not_grow_with_the_history(till_client, django_assert_max_num_queries):
    past = [activity(f"past-{n}", occurredAt=f"2024-08-30T08:{n:02d}:00Z") for n in range(50)]
    results(post(till_client, past))
    with django_assert_max_num_queries(AUTHENTICATION + ONE_ACTIVITY):
        data = results(post(till_client, activity("one-2", occurredAt="2024-08-30T09:10:00Z")))
    assert data[0]["status"] == "APPLIED"


def shape(sql):
    """A query's text without its values (ids, amounts, instants, names)."""
    return re.sub(r"\d+", "N", re.sub(r"'(?:[^']|'')*'", "?", sql))


def reads_history(sql, external_id):
    """Whether a query reads activities other than by the new activity's external id (the lock's
    look-up of the batch's external ids already stored reads nothing else)."""
    return 'FROM "targets_activity"' in sql and external_id not in sql


@pytest.fixture
def two_customers(demo):
    """Two customers of org 50363 alike but for their history: 1 past activity, and 51."""
    few, many = CustomerFactory(org=demo).id, CustomerFactory(org=demo).id
    return few, many


def test_no_query_reads_the_history(till_client, two_customers):
    few, many = two_customers
    for customer in (few, many):
        results(post(till_client, activity(f"warm-{customer}", customer, occurredAt="2024-08-30T08:00:00Z")))
    # Activity no rule reads (the old limit on sums added up all of them), with a numeric attribute.
    past = [
        activity(f"visit-{n}", many, entity="EVENT", eventName="Visit", quantity=1, attributes={"n": 1})
        for n in range(50)
    ]
    assert {r["status"] for r in results(post(till_client, past))} == {"APPLIED"}

    captured = {}
    for customer in (few, many):
        one = activity(f"one-{customer}", customer, occurredAt="2024-08-30T09:10:00Z")
        with CaptureQueriesContext(connection) as queries:
            assert results(post(till_client, one))[0]["status"] == "APPLIED"
        captured[customer] = [q["sql"] for q in queries.captured_queries]
        assert not [sql for sql in captured[customer] if reads_history(sql, one["externalId"])]

    assert [shape(sql) for sql in captured[few]] == [shape(sql) for sql in captured[many]]
    assert len(captured[many]) <= AUTHENTICATION + ONE_ACTIVITY

"""Issue 12, "cost bounded by what changed": one activity through POST /v3.1/activities costs a
fixed number of SQL queries, whatever the customer's history — the demo customer of org 50363
(FIXED, CYCLIC and PERIOD_AGNOSTIC groups, a milestone trigger) at the pinned clock."""

from django.db import connection

from tests.api.test_activities import activity, post, results

# The request's authentication (user, permissions, org) before the engine's work.
AUTHENTICATION = 3
# The engine: transaction (2: SAVEPOINT/RELEASE in a test, BEGIN/COMMIT outside), customer lock
# with the configuration version, seen external ids, the totals' limit (issue 15), the
# activity's insert with the customer's update (two statements on SQLite), enrolments and
# episodes, the customer's cycles near the activity, the user targets with their milestones,
# their update.
ONE_ACTIVITY = 10 if connection.vendor == "postgresql" else 11


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

"""SPEC §3 "Cost": a fixed number of SQL queries per request, whatever the number of groups,
periods, rules, milestones and streaks — the same count for a customer with one group as for one
with fifty groups of twelve periods, two triggers per rule, and streaks."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import Application
from rest_framework.test import APIClient

from targets.models import StreakStatus, UserStreak
from tests.factories import (
    CustomerFactory,
    EnrolmentFactory,
    GroupFactory,
    OrgFactory,
    PeriodFactory,
    RuleFactory,
    StreakFactory,
    TriggerFactory,
    UserTargetFactory,
)
from tests.support import PASSWORD, READ, api_user, body

START = datetime(2024, 1, 1, tzinfo=UTC)
NOW = "2024-06-15T12:00:00Z"  # inside the sixth of twelve 30-day periods
GROUPS, PERIODS = 50, 12


def build_group(org, customer, *, tracking="DEFAULT", evaluation="FIXED_CALENDAR_WINDOW", streaks=0):
    group = GroupFactory(
        org=org,
        tracking_type=tracking,
        target_evaluation_type=evaluation,
        total_periods=PERIODS,
        start=START,
        end=START + timedelta(days=30 * PERIODS),
    )
    own = customer if evaluation == "CYCLIC_WINDOW" else None  # CYCLIC periods are the customer's
    periods = [
        PeriodFactory(
            group=group,
            customer=own,
            sequence=n,
            start=START + timedelta(days=30 * (n - 1)),
            end=START + timedelta(days=30 * n) - timedelta(seconds=1),
        )
        for n in range(1, PERIODS + 1)
    ]
    rule = RuleFactory(group=group, target_value=Decimal("100"))
    TriggerFactory(rule=rule, trigger_value=Decimal("25"))
    TriggerFactory(rule=rule, trigger_value=Decimal("50"))
    for period in periods[:5]:
        UserTargetFactory(
            rule=rule,
            period=period,
            customer=customer,
            achieved_value=Decimal("100"),
            achieved_at=period.start + timedelta(days=1),
        )
    UserTargetFactory(rule=rule, period=periods[5], customer=customer, achieved_value=Decimal("40"))
    for n in range(streaks):
        streak = StreakFactory(group=group, target_count_of_sequence=n + 2)
        UserStreak.objects.create(
            org=org, customer=customer, streak=streak, status=StreakStatus.IN_PROGRESS, current_count=n + 1
        )
    return group


@pytest.fixture
def light(db, client_for, settings):
    settings.TARGETS_NOW = NOW
    org = OrgFactory()
    customer = CustomerFactory(org=org)
    build_group(org, customer)
    return client_for(api_user(org).username, PASSWORD), customer


@pytest.fixture
def heavy(db, client_for, settings):
    settings.TARGETS_NOW = NOW
    org = OrgFactory()
    customer = CustomerFactory(org=org)
    kinds = [
        {"tracking": "DEFAULT"},
        {"tracking": "STREAKS", "streaks": 2},
        {"tracking": "NON_CONTINUOUS_STREAK", "streaks": 1},
        {"tracking": "CAPPING", "evaluation": "PERIOD_AGNOSTIC_WINDOW"},
        {"tracking": "DEFAULT", "evaluation": "CYCLIC_WINDOW"},
    ]
    groups = [build_group(org, customer, **kinds[n % len(kinds)]) for n in range(GROUPS)]
    EnrolmentFactory(group=groups[0], customer=customer)
    return client_for(api_user(org).username, PASSWORD), customer


def count_queries(client, customer, query):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(READ.format(customer.id) + query)
    assert response.status_code == 200, response.content
    return len(queries), body(response)


@pytest.mark.parametrize("query", ["?includeInactive=true", "", "?includeInactiveTargets=true"])
def test_one_group_and_fifty_heavy_groups_cost_the_same_number_of_queries(
    light, heavy, django_assert_max_num_queries, query
):
    light_client, light_customer = light
    heavy_client, heavy_customer = heavy
    light_client.get(READ.format(light_customer.id))  # warm the credential cache of both
    heavy_client.get(READ.format(heavy_customer.id))

    with django_assert_max_num_queries(10):
        light_count, light_payload = count_queries(light_client, light_customer, query)
    with django_assert_max_num_queries(10):
        heavy_count, heavy_payload = count_queries(heavy_client, heavy_customer, query)
    assert heavy_count == light_count

    # The heavy customer's answer really holds what the count is about.
    groups = heavy_payload["data"]["targetGroups"]
    assert len(groups) == GROUPS and len(light_payload["data"]["targetGroups"]) == 1
    targets = [t for g in groups for t in g["targets"]]
    if "includeInactive=true" in query:
        assert len(targets) == GROUPS * PERIODS
    assert all(len(t["milestones"]) == 2 for t in targets)
    assert sum(len(g.get("streaks", [])) for g in groups) == 10 * 2 + 10 * 1
    assert any(t["targetId"] for t in targets)


def test_both_url_forms_and_every_scope_stay_within_the_budget(heavy, django_assert_max_num_queries):
    client, customer = heavy
    client.get(READ.format(customer.id))
    counts = {}
    for prefix in ("", "/api_gateway/intouch-api-v3"):
        for scope in (None, "SELF", "ALL"):
            headers = {"HTTP_DATA_SCOPE": scope} if scope else {}
            with django_assert_max_num_queries(10), CaptureQueriesContext(connection) as queries:
                response = client.get(prefix + READ.format(customer.id) + "?includeInactive=true", **headers)
            assert response.status_code == 200
            counts[prefix, scope] = len(queries)
    for scope in (None, "SELF", "ALL"):
        assert counts["", scope] == counts["/api_gateway/intouch-api-v3", scope]


def test_an_oauth_token_costs_what_basic_costs(heavy, django_assert_max_num_queries):
    client, customer = heavy
    owner = customer.org.actors.get().user
    Application.objects.create(
        client_id="heavy-app",
        client_secret="heavy-secret",
        name="heavy-app",
        user=owner,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    token = body(
        APIClient().post(
            "/o/token/",
            {"grant_type": "client_credentials", "client_id": "heavy-app", "client_secret": "heavy-secret"},
        )
    )["access_token"]
    path = READ.format(customer.id) + "?includeInactive=true"
    client.get(path)
    basic_count, _ = count_queries(client, customer, "?includeInactive=true")
    for headers in ({"HTTP_AUTHORIZATION": f"Bearer {token}"}, {"HTTP_X_CAP_API_OAUTH_TOKEN": token}):
        with django_assert_max_num_queries(10), CaptureQueriesContext(connection) as queries:
            response = APIClient().get(path, **headers)
        assert response.status_code == 200, response.content
        assert len(queries) == basic_count

"""The configuration API, /v3/targetGroups (SPEC §5): creating groups of every kind and reading
them back, through this API and through the customer read endpoint (SPEC §3), and progress
from POST /v3.1/activities (SPEC §4).

The helpers at the top are shared by the other tests/api/test_config_*.py modules."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from targets.models import GroupEnrolment, Streak, TargetGroup

URL = "/v3/targetGroups"
GATEWAY_URL = "/api_gateway/intouch-api-v3/v3/targetGroups"
READ_URL = "/v3.1/users/{}/targetGroups"
CUSTOMER_50363 = 347286146
TILL_50363 = 50150886  # tillrustaging2's actor
EVALUATIONS = ["FIXED_CALENDAR_WINDOW", "CYCLIC_WINDOW", "PERIOD_AGNOSTIC_WINDOW"]
TRACKINGS = ["DEFAULT", "UNIFIED", "STREAKS", "CAPPING", "NON_CONTINUOUS_STREAK"]


def rule(**overrides):
    return {
        "name": "Spend",
        "targetEntity": "TRANSACTION",
        "eventName": "TransactionAdd",
        "targetType": "GROSS_SALES",
        "value": 1000,
        **overrides,
    }


def group_body(**overrides):
    """Five daily periods from 2024-08-28 (UTC), around the demo's pinned clock (2024-08-30)."""
    return {
        "name": "Daily spend",
        "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
        "trackingType": "DEFAULT",
        "frequencyType": "DAILY",
        "frequency": 1,
        "totalPeriods": 5,
        "startDate": "2024-08-28T00:00:00Z",
        "endDate": "2024-09-01T23:59:59Z",
        "targets": [rule()],
        **overrides,
    }


def body_of(response):
    return json.loads(response.content)


def error_list(response):
    """[(code, message)] of an error envelope, checking its shape."""
    body = body_of(response)
    assert body["data"] is None and body["warnings"] is None, body
    return [(e["code"], e["message"]) for e in body["errors"]]


def create(client, body, **headers):
    response = client.post(URL, body, format="json", **headers)
    assert response.status_code == 201, response.content
    envelope = body_of(response)
    assert envelope["errors"] is None
    return envelope["data"]


def read_groups(client, customer_id, **params):
    query = "&".join(f"{k}={v}" for k, v in {"includeInactive": "true", **params}.items())
    response = client.get(f"{READ_URL.format(customer_id)}?{query}")
    assert response.status_code == 200, response.content
    return {g["id"]: g for g in body_of(response)["data"]["targetGroups"]}


@pytest.fixture
def till(demo, client_for):
    return client_for("tillrustaging2")


@pytest.fixture
def coffee(demo, client_for):
    return client_for("democoffee")


# ---------------------------------------------------------------------------------------------
# Creating every kind of group and reading it back


def targets_for(tracking):
    if tracking == "UNIFIED":
        return [rule(name="Spend"), rule(name="Visits", targetType="VISIT", value=3)]
    return [rule(milestones=[{"triggerName": "Halfway", "triggerValue": 500}])]


def streaks_for(tracking):
    if tracking in ("STREAKS", "NON_CONTINUOUS_STREAK"):
        return [{"name": "Three of them", "targetCountOfSequence": 3}]
    return []


@pytest.mark.parametrize("tracking", TRACKINGS)
@pytest.mark.parametrize("evaluation", EVALUATIONS)
def test_every_evaluation_and_tracking_type_is_created_and_read_back(till, evaluation, tracking):
    body = group_body(
        name=f"{evaluation} {tracking}",
        targetEvaluationType=evaluation,
        trackingType=tracking,
        targets=targets_for(tracking),
        streaks=streaks_for(tracking),
    )

    created = create(till, body)

    response = till.get(f"{URL}/{created['id']}")
    assert response.status_code == 200
    envelope = body_of(response)
    assert envelope == {"data": created, "errors": None, "warnings": None}
    group = envelope["data"]
    assert (group["orgId"], group["targetEvaluationType"], group["trackingType"]) == (
        50363,
        evaluation,
        tracking,
    )
    assert [t["name"] for t in group["targets"]] == [t["name"] for t in body["targets"]]
    assert [(s["name"], s["targetCountOfSequence"]) for s in group["streaks"]] == [
        (s["name"], s["targetCountOfSequence"]) for s in body["streaks"]
    ]
    ref_codes = [p["refCode"] for p in group["periods"]]
    if evaluation == "FIXED_CALENDAR_WINDOW":
        assert ref_codes == [f"Cycle_{n}" for n in range(1, 6)]
    elif evaluation == "PERIOD_AGNOSTIC_WINDOW":
        assert ref_codes == [f"PERIOD_G_{group['id']}_{n}" for n in range(1, 6)]
    else:
        assert ref_codes == []  # CYCLIC: the engine creates each customer's cycles
    for streak in Streak.objects.filter(group_id=group["id"]):
        assert streak.continuous is (tracking == "STREAKS")


def test_a_created_group_carries_every_field_with_attribution_from_the_caller(till):
    body = group_body(
        description="Spend a thousand a day",
        preferredTillId=TILL_50363,
        enrolment="ALL_CUSTOMERS",
        targets=[rule(milestones=[{"triggerName": "Halfway", "triggerValue": 500.5}])],
    )

    group = create(till, body)

    assert {k: group[k] for k in ("name", "description", "active", "preferredTillId", "enrolment")} == {
        "name": "Daily spend",
        "description": "Spend a thousand a day",
        "active": True,
        "preferredTillId": TILL_50363,
        "enrolment": "ALL_CUSTOMERS",
    }
    assert (group["frequencyType"], group["frequency"], group["totalPeriods"]) == ("DAILY", 1, 5)
    assert (group["startDate"], group["endDate"]) == ("2024-08-28T00:00:00.000Z", "2024-09-01T23:59:59.000Z")
    assert group["periods"][0] == {
        "id": group["periods"][0]["id"],
        "refCode": "Cycle_1",
        "startDate": "2024-08-28T00:00:00.000Z",
        "endDate": "2024-08-28T23:59:59.000Z",
    }
    (target,) = group["targets"]
    assert target["value"] == 1000 and target["attribute"] == "" and target["active"] is True
    assert [(m["triggerName"], m["triggerValue"]) for m in target["milestones"]] == [("Halfway", 500.5)]
    till_block = {
        "id": TILL_50363,
        "code": "tillrustaging2",
        "description": "",
        "name": "tillrustaging2",
        "type": "TILL",
    }
    assert group["attribution"] == {
        "createdOn": "2024-08-30T09:21:43.741+0000",  # the service clock, pinned by the demo
        "lastUpdatedOn": "2024-08-30T09:21:43.741+0000",
        "lastUpdatedBy": till_block,
        "createdBy": till_block,
    }


def test_plain_dates_are_days_of_the_org_timezone(coffee):
    """Demo Coffee (60001) is in Asia/Kolkata (UTC+05:30)."""
    group = create(coffee, group_body(startDate="2024-09-01", endDate="2024-09-03", totalPeriods=None))

    assert (group["startDate"], group["endDate"]) == ("2024-08-31T18:30:00.000Z", "2024-09-03T18:29:59.000Z")
    assert [(p["refCode"], p["startDate"], p["endDate"]) for p in group["periods"]] == [
        ("Cycle_1", "2024-08-31T18:30:00.000Z", "2024-09-01T18:29:59.000Z"),
        ("Cycle_2", "2024-09-01T18:30:00.000Z", "2024-09-02T18:29:59.000Z"),
        ("Cycle_3", "2024-09-02T18:30:00.000Z", "2024-09-03T18:29:59.000Z"),
    ]


def test_instants_with_an_offset_are_stored_in_utc(coffee):
    group = create(
        coffee,
        group_body(
            startDate="2024-09-01T00:00:00+05:30", endDate="2024-09-01T23:59:59+05:30", totalPeriods=1
        ),
    )

    assert (group["startDate"], group["endDate"]) == ("2024-08-31T18:30:00.000Z", "2024-09-01T18:29:59.000Z")


def test_weekly_periods_are_generated_from_the_frequency_settings(till):
    group = create(
        till,
        group_body(
            frequencyType="WEEKLY",
            frequency=2,
            totalPeriods=None,
            startDate="2024-09-02",
            endDate="2024-09-30",
        ),
    )

    assert [(p["refCode"], p["startDate"][:10], p["endDate"][:10]) for p in group["periods"]] == [
        ("Cycle_1", "2024-09-02", "2024-09-15"),
        ("Cycle_2", "2024-09-16", "2024-09-29"),
        ("Cycle_3", "2024-09-30", "2024-09-30"),  # cut at the group's end
    ]


def test_explicit_periods_are_kept_as_given_in_date_order(till):
    periods = [
        {"refCode": "Late", "startDate": "2024-09-10", "endDate": "2024-09-20"},
        {"refCode": "Early", "startDate": "2024-09-01T00:00:00Z", "endDate": "2024-09-05T23:59:59Z"},
    ]
    group = create(
        till,
        group_body(frequencyType="CUSTOM", startDate="2024-09-01", endDate="2024-09-20", periods=periods),
    )

    assert [(p["refCode"], p["startDate"], p["endDate"]) for p in group["periods"]] == [
        ("Early", "2024-09-01T00:00:00.000Z", "2024-09-05T23:59:59.000Z"),
        ("Late", "2024-09-10T00:00:00.000Z", "2024-09-20T23:59:59.000Z"),
    ]


def test_the_gateway_prefix_serves_the_same_api(till):
    group = create(till, group_body())

    response = till.get(f"{GATEWAY_URL}/{group['id']}")

    assert response.status_code == 200
    assert body_of(response)["data"] == group


# ---------------------------------------------------------------------------------------------
# The read endpoint sees what the API configured


def test_a_group_created_by_the_api_appears_in_the_customer_read_endpoint(till):
    group = create(
        till, group_body(targets=[rule(milestones=[{"triggerName": "Halfway", "triggerValue": 500}])])
    )

    listed = read_groups(till, CUSTOMER_50363)[group["id"]]

    assert (listed["name"], listed["orgId"], listed["trackingType"]) == ("Daily spend", 50363, "DEFAULT")
    assert [t["periodRefCode"] for t in listed["targets"]] == [f"Cycle_{n}" for n in range(1, 6)]
    assert {t["targetRuleId"] for t in listed["targets"]} == {group["targets"][0]["id"]}
    assert listed["targets"][0]["milestones"][0]["triggerName"] == "Halfway"
    current = read_groups(till, CUSTOMER_50363, includeInactive="false")[group["id"]]
    assert [t["periodRefCode"] for t in current["targets"]] == ["Cycle_3"]  # 2024-08-30 is the third day


def test_a_cyclic_group_is_listed_without_targets_before_any_activity(till):
    group = create(till, group_body(targetEvaluationType="CYCLIC_WINDOW"))

    assert read_groups(till, CUSTOMER_50363)[group["id"]]["targets"] == []


def test_an_inactive_group_is_left_out_of_the_read_endpoint(till):
    group = create(till, group_body(active=False))

    assert group["id"] not in read_groups(till, CUSTOMER_50363)
    assert group["id"] in read_groups(till, CUSTOMER_50363, includeInactiveTargets="true")


def test_a_group_created_by_the_api_receives_progress_from_activities(till):
    group = create(
        till, group_body(targets=[rule(milestones=[{"triggerName": "Halfway", "triggerValue": 400}])])
    )
    activity = {
        "userId": CUSTOMER_50363,
        "entity": "TRANSACTION",
        "eventName": "TransactionAdd",
        "occurredAt": "2024-08-30T08:00:00Z",
        "amount": 500,
        "externalId": "config-api-x1",
    }

    posted = till.post("/v3.1/activities", activity, format="json")

    assert posted.status_code == 200, posted.content
    assert body_of(posted)["data"][0]["status"] == "APPLIED"
    (target,) = read_groups(till, CUSTOMER_50363, includeInactive="false")[group["id"]]["targets"]
    assert (target["periodRefCode"], target["targetAchievedValue"], target["targetValue"]) == (
        "Cycle_3",
        500,
        1000,
    )
    assert target["targetId"] is not None
    assert target["milestones"][0]["isAchieved"] is True


# ---------------------------------------------------------------------------------------------
# Listing


@pytest.fixture
def listed_groups(till):
    """Three more groups of 50363 besides the seeded ones."""
    return [
        create(till, group_body(name="Alpha weekly", frequencyType="WEEKLY", totalPeriods=1)),
        create(till, group_body(name="Beta streak", trackingType="STREAKS", streaks=streaks_for("STREAKS"))),
        create(till, group_body(name="Gamma alpha", active=False, targetEvaluationType="CYCLIC_WINDOW")),
    ]


def list_data(client, query=""):
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 200, response.content
    return body_of(response)


def test_the_list_holds_the_groups_of_the_callers_org_ordered_by_id(till, listed_groups):
    body = list_data(till, "pageSize=100")

    ids = [g["id"] for g in body["data"]]
    assert ids == sorted(ids)
    assert set(ids) == set(TargetGroup.objects.filter(org_id=50363).values_list("id", flat=True))
    assert {g["orgId"] for g in body["data"]} == {50363}
    assert body["errors"] is None and body["warnings"] is None
    assert body["pagination"]["totalCount"] == len(ids)


def test_list_filters(till, listed_groups):
    alpha, beta, gamma = (g["id"] for g in listed_groups)

    def ids(query):
        return {g["id"] for g in list_data(till, f"{query}&pageSize=100")["data"]}

    assert {alpha, gamma} <= ids("name=ALPHA") and beta not in ids("name=ALPHA")
    assert ids("name=alpha&active=true") & {alpha, gamma} == {alpha}
    assert gamma in ids("active=false") and alpha not in ids("active=false")
    assert ids("trackingType=STREAKS") & {alpha, beta, gamma} == {beta}
    assert ids("targetEvaluationType=CYCLIC_WINDOW") & {alpha, beta, gamma} == {gamma}
    expected = set(
        TargetGroup.objects.filter(org_id=50363, tracking_type="STREAKS").values_list("id", flat=True)
    )
    assert ids("trackingType=STREAKS") == expected


def test_include_periods_false_leaves_the_periods_out(till, listed_groups):
    with_periods = list_data(till, "name=Alpha weekly")["data"]
    without = list_data(till, "name=Alpha weekly&includePeriods=false")["data"]

    assert [g["periods"] for g in with_periods] == [listed_groups[0]["periods"]]
    assert ["periods" in g for g in without] == [False]
    assert without[0]["targets"] == with_periods[0]["targets"]


def test_the_list_is_paginated_with_page_and_page_size(till, listed_groups):
    everything = [g["id"] for g in list_data(till, "pageSize=100")["data"]]

    second = list_data(till, "page=2&pageSize=2")

    assert [g["id"] for g in second["data"]] == everything[2:4]
    assert second["pagination"] == {
        "page": 2,
        "pageSize": 2,
        "totalCount": len(everything),
        "totalPages": (len(everything) + 1) // 2,
    }
    assert list_data(till, "page=1000")["data"] == []
    assert list_data(till)["pagination"]["pageSize"] == 20


@pytest.mark.parametrize(
    "query, message",
    [
        ("active=yes", "Invalid input: active: must be true or false, got 'yes'"),
        ("includePeriods=1", "Invalid input: includePeriods: must be true or false, got '1'"),
        (
            "trackingType=DAILY",
            "Invalid input: trackingType: Select a valid choice. DAILY is not one of the available choices.",
        ),
        (
            "targetEvaluationType=fixed",
            "Invalid input: targetEvaluationType: Select a valid choice. "
            "fixed is not one of the available choices.",
        ),
        ("page=0", "Invalid input: page: must be an integer from 1 to 1000000, got '0'"),
        ("pageSize=101", "Invalid input: pageSize: must be an integer from 1 to 100, got '101'"),
        ("active=true&active=false", "Invalid input: active: is given more than once"),
        ("trackingType=", "Invalid input: trackingType: is empty"),
        ("limit=5", "Invalid input: limit: unknown query parameter"),
    ],
)
def test_invalid_list_parameters_are_a_400_never_ignored(till, query, message):
    response = till.get(f"{URL}?{query}")

    assert response.status_code == 400
    assert error_list(response) == [(300004, message)]


# ---------------------------------------------------------------------------------------------
# OpenAPI


def test_the_schema_documents_the_configuration_api_with_examples(demo, client):
    response = client.get("/api/schema/?format=json", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = {path.rstrip("/"): ops for path, ops in schema["paths"].items()}

    collection, item = paths["/v3/targetGroups"], paths["/v3/targetGroups/{id}"]
    assert {"get", "post"} <= set(collection) and {"get", "put", "patch", "delete"} <= set(item)
    assert {"/v3/targetGroups/{id}/enrol", "/v3/targetGroups/{id}/unenrol"} <= set(paths)
    create_op = collection["post"]
    assert create_op["requestBody"]["content"]["application/json"]["examples"]
    assert create_op["responses"]["201"]["content"]["application/json"]["examples"]
    assert {"400", "401", "403"} <= set(create_op["responses"])
    assert "409" in item["put"]["responses"]
    assert {p["name"] for p in collection["get"]["parameters"]} >= {
        "active",
        "targetEvaluationType",
        "trackingType",
        "name",
        "includePeriods",
        "page",
        "pageSize",
    }
    request_fields = schema["components"]["schemas"]["TargetGroupRequest"]["properties"]
    assert {"targetEvaluationType", "preferredTillId", "periods", "targets", "streaks"} <= set(request_fields)


def test_enrolment_is_recorded_with_source_api(coffee):
    group = create(coffee, group_body(enrolment="EXPLICIT"))

    response = coffee.post(f"{URL}/{group['id']}/enrol", {"userIds": [900000001]}, format="json")

    assert response.status_code == 200
    enrolment = GroupEnrolment.objects.get(group_id=group["id"])
    assert (enrolment.customer_id, enrolment.source, enrolment.org_id) == (900000001, "API", 60001)


def test_the_list_costs_the_same_queries_for_one_group_or_a_full_page(till, listed_groups):
    def queries(query):
        with CaptureQueriesContext(connection) as captured:
            assert till.get(f"{URL}?{query}").status_code == 200
        return len(captured.captured_queries)

    till.get(URL)  # authenticate once (credentials are cached for the process)
    full_page = queries("pageSize=100")

    assert len(list_data(till, "pageSize=100")["data"]) > 10
    assert full_page == queries("pageSize=1")
    assert full_page <= 10, full_page

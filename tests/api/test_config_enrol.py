"""Enrolment in EXPLICIT groups: POST /v3/targetGroups/{id}/enrol and …/unenrol (SPEC §5).

An EXPLICIT group is associated only with its enrolled customers, so enrolment decides who sees
it in GET /v3.1/users/{id}/targetGroups. Each userId gets its own status; an unknown customer,
or one of another org, is NOT_FOUND for that item, never a failure of the request."""

import pytest

from targets.models import Activity, GroupEnrolment
from tests.api.test_config_api import URL, body_of, create, error_list, group_body, read_groups

IN_60001 = [900000001, 900000002, 900000003]
IN_50363 = 347286146


@pytest.fixture
def coffee(demo, client_for):
    return client_for("democoffee")


@pytest.fixture
def explicit(coffee):
    return create(coffee, group_body(name="Members only", enrolment="EXPLICIT"))


def read_body(client, user_id):
    response = client.get(f"/v3.1/users/{user_id}/targetGroups?includeInactive=true")
    assert response.status_code == 200, response.content
    return body_of(response)["data"]["targetGroups"]


def enrol(client, group, user_ids, action="enrol", **extra):
    response = client.post(f"{URL}/{group['id']}/{action}", {"userIds": user_ids, **extra}, format="json")
    assert response.status_code == 200, response.content
    return body_of(response)


def test_enrolment_makes_an_explicit_group_appear_for_that_customer_only(coffee, explicit):
    assert explicit["id"] not in read_groups(coffee, IN_60001[0])

    enrol(coffee, explicit, [IN_60001[0]])

    assert explicit["id"] in read_groups(coffee, IN_60001[0])
    assert explicit["id"] not in read_groups(coffee, IN_60001[1])


def test_each_user_id_gets_a_status(coffee, explicit):
    enrol(coffee, explicit, [IN_60001[1]])

    body = enrol(coffee, explicit, [IN_60001[0], IN_60001[1], IN_50363, 123, IN_60001[0]])

    assert body == {
        "data": [
            {"userId": IN_60001[0], "status": "ENROLLED"},
            {"userId": IN_60001[1], "status": "ALREADY_ENROLLED"},
            {"userId": IN_50363, "status": "NOT_FOUND"},  # a customer of another org
            {"userId": 123, "status": "NOT_FOUND"},
        ],
        "errors": None,
        "warnings": None,
    }
    assert set(
        GroupEnrolment.objects.filter(group_id=explicit["id"]).values_list("customer_id", flat=True)
    ) == {
        IN_60001[0],
        IN_60001[1],
    }


def test_enrolling_again_changes_nothing(coffee, explicit):
    enrol(coffee, explicit, [IN_60001[0]])
    first = GroupEnrolment.objects.get(group_id=explicit["id"])

    assert enrol(coffee, explicit, [IN_60001[0]])["data"] == [
        {"userId": IN_60001[0], "status": "ALREADY_ENROLLED"}
    ]
    assert list(GroupEnrolment.objects.filter(group_id=explicit["id"])) == [first]


def test_unenrolment_hides_the_group_again(coffee, explicit):
    enrol(coffee, explicit, [IN_60001[0]])

    body = enrol(coffee, explicit, [IN_60001[0], IN_60001[2], 123], action="unenrol")

    assert body["data"] == [
        {"userId": IN_60001[0], "status": "UNENROLLED"},
        {"userId": IN_60001[2], "status": "NOT_ENROLLED"},
        {"userId": 123, "status": "NOT_FOUND"},
    ]
    assert body["warnings"] is None
    assert explicit["id"] not in read_groups(coffee, IN_60001[0])


def test_an_unenrolled_customer_keeps_its_progress_and_is_told(coffee, explicit):
    enrol(coffee, explicit, [IN_60001[0]])
    activity = {
        "userId": IN_60001[0],
        "entity": "TRANSACTION",
        "eventName": "TransactionAdd",
        "occurredAt": "2024-08-30T08:00:00Z",
        "amount": 200,
        "externalId": "config-enrol-1",
    }
    assert body_of(coffee.post("/v3.1/activities", activity, format="json"))["data"][0]["status"] == "APPLIED"

    body = enrol(coffee, explicit, [IN_60001[0]], action="unenrol")

    assert body["warnings"] == [
        {
            "code": 409,
            "message": f"customer {IN_60001[0]} keeps its progress in group {explicit['id']}; "
            "it is hidden until re-enrolled",
        }
    ]
    enrol(coffee, explicit, [IN_60001[0]])
    achieved = [t["targetAchievedValue"] for t in read_groups(coffee, IN_60001[0])[explicit["id"]]["targets"]]
    assert 200 in achieved


def test_groups_of_all_customers_take_no_enrolment(coffee):
    group = create(coffee, group_body(name="Everyone"))

    for action in ("enrol", "unenrol"):
        response = coffee.post(f"{URL}/{group['id']}/{action}", {"userIds": [IN_60001[0]]}, format="json")
        assert response.status_code == 400
        assert error_list(response) == [
            (
                300004,
                f"enrolment: group {group['id']} is ALL_CUSTOMERS: every customer of the org is associated; "
                "enrolment applies to EXPLICIT groups",
            )
        ]
    assert not GroupEnrolment.objects.filter(group_id=group["id"]).exists()


def test_an_initial_balance_starts_the_current_period_at_that_value(coffee, explicit):
    body = enrol(coffee, explicit, [IN_60001[0]], initialBalance=300)

    assert body["data"] == [{"userId": IN_60001[0], "status": "ENROLLED"}]
    [group] = [g for g in read_body(coffee, IN_60001[0]) if g["id"] == explicit["id"]]
    [current] = [t for t in group["targets"] if t["currentPeriod"]]
    assert current["targetAchievedValue"] == 300
    assert {t["targetAchievedValue"] for t in group["targets"] if not t["currentPeriod"]} == {0}
    # An adjustment entry of the activity log, so that a recompute finds the same value.
    assert Activity.objects.filter(customer_id=IN_60001[0], adjusts_group_id=explicit["id"]).count() == 1


def test_a_null_initial_balance_is_no_balance(coffee, explicit):
    body = enrol(coffee, explicit, [IN_60001[0]], initialBalance=None)

    assert body["data"] == [{"userId": IN_60001[0], "status": "ENROLLED"}]


@pytest.mark.parametrize(
    "payload, message",
    [
        ({}, "userIds: This field is required."),
        ({"userIds": []}, "userIds: Ensure this field has at least 1 elements."),
        ({"userIds": ["900000001"]}, "userIds[0]: must be an integer"),
        ({"userIds": [0]}, "userIds[0]: Ensure this value is greater than or equal to 1."),
        ({"userIds": 900000001}, 'userIds: Expected a list of items but got type "int".'),
        ({"userIds": [900000001], "source": "IMPORT"}, "source: unknown field"),
        ({"userIds": list(range(1, 1002))}, "userIds: Ensure this field has no more than 1000 elements."),
    ],
)
def test_the_body_is_validated(coffee, explicit, payload, message):
    response = coffee.post(f"{URL}/{explicit['id']}/enrol", payload, format="json")

    assert response.status_code == 400
    assert error_list(response) == [(300004, message)]

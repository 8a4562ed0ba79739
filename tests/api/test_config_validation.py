"""The configuration API refuses what the admin refuses (SPEC §2 invariants, shared through
targets.validation): a 400 envelope listing every problem, each naming its field; a duplicate
name is 310069. Input shape (types, enums, required and unknown fields) is a 400 too, and
nothing is saved."""

import pytest

from customers.models import Actor
from targets.models import TargetGroup
from tests.api.test_config_api import URL, create, error_list, group_body, rule

INVALID = 300004


@pytest.fixture
def till(demo, client_for):
    return client_for("tillrustaging2")


@pytest.fixture
def coffee(demo, client_for):
    return client_for("democoffee")


def post_invalid(client, body):
    before = TargetGroup.objects.count()
    response = client.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert TargetGroup.objects.count() == before
    return error_list(response)


def day(n, *, end=False):
    return f"2024-09-{n:02d}T{'23:59:59' if end else '00:00:00'}Z"


def period(ref_code, first, last):
    return {"refCode": ref_code, "startDate": day(first), "endDate": day(last, end=True)}


SEPTEMBER = {
    "startDate": "2024-09-01",
    "endDate": "2024-09-30",
    "frequencyType": "CUSTOM",
    "totalPeriods": None,
}
STREAK = {"trackingType": "STREAKS"}

INVARIANTS = [
    pytest.param({"name": ""}, "name: is required", id="name required"),
    pytest.param({"name": "x" * 201}, "name: is longer than 200 characters", id="name length"),
    pytest.param(
        {"startDate": "2024-09-02", "endDate": "2024-09-01"}, "endDate: is before startDate", id="group end"
    ),
    pytest.param(
        {**SEPTEMBER, "periods": [period("Cycle_1", 1, 5), period("Cycle_2", 5, 9)]},
        "periods[1].startDate: overlaps Cycle_1",
        id="fixed periods overlap",
    ),
    pytest.param(
        {
            **SEPTEMBER,
            "periods": [period("Cycle_1", 1, 5), period("Cycle_2", 12, 20), period("Cycle_3", 3, 4)],
        },
        "periods[2].startDate: overlaps Cycle_1",
        id="overlap found in any order",
    ),
    pytest.param(
        {**SEPTEMBER, "periods": [{"refCode": "Cycle_1", "startDate": day(5), "endDate": day(4, end=True)}]},
        "periods[0].endDate: is before startDate",
        id="period end",
    ),
    pytest.param(
        {**SEPTEMBER, "periods": [period("Cycle_1", 1, 5), period("Cycle_1", 6, 9)]},
        "periods[1].refCode: repeats periods[0]",
        id="refCode unique",
    ),
    pytest.param(
        {**SEPTEMBER, "periods": [period("", 1, 5)]},
        "periods[0].refCode: is required",
        id="refCode required",
    ),
    pytest.param(
        {**SEPTEMBER, "periods": [{"refCode": "Cycle_1", "endDate": day(5, end=True)}]},
        "periods[0].startDate: is required",
        id="fixed period dates required",
    ),
    pytest.param(
        {"targetEvaluationType": "CYCLIC_WINDOW", "periods": [period("Cycle_1", 1, 5)]},
        "periods: a CYCLIC_WINDOW group's periods are created per customer",
        id="cyclic has no shared periods",
    ),
    pytest.param(
        {"frequencyType": "CUSTOM"},
        "periods: cannot be generated: CUSTOM periods are not generated: give them explicitly.",
        id="custom periods are given",
    ),
    pytest.param(
        {"targetEvaluationType": "CYCLIC_WINDOW", "frequencyType": "CUSTOM"},
        "frequencyType: a CYCLIC_WINDOW group's cycles are generated per customer and need a calendar "
        "frequency, not CUSTOM",
        id="cyclic needs a calendar frequency",
    ),
    pytest.param(
        {"targetEvaluationType": "PERIOD_AGNOSTIC_WINDOW", "totalPeriods": None},
        "totalPeriods: cannot be generated: a PERIOD_AGNOSTIC group needs totalPeriods",
        id="agnostic needs totalPeriods",
    ),
    pytest.param(
        {"targets": [rule(name="A"), rule(name="B")]},
        "targets: a DEFAULT group needs exactly one target, got 2",
        id="one rule",
    ),
    pytest.param(
        {"trackingType": "CAPPING", "targets": []},
        "targets: a CAPPING group needs exactly one target, got 0",
        id="capping one rule",
    ),
    pytest.param(
        {"trackingType": "UNIFIED"},
        "targets: a UNIFIED group needs 2 to 10 targets, got 1",
        id="unified at least two",
    ),
    pytest.param(
        {"trackingType": "UNIFIED", "targets": [rule(name=f"R{n}") for n in range(11)]},
        "targets: a UNIFIED group needs 2 to 10 targets, got 11",
        id="unified at most ten",
    ),
    pytest.param({"targets": [rule(name=" ")]}, "targets[0].name: is required", id="rule name"),
    pytest.param(
        {"targets": [rule(value=0)]}, "targets[0].value: must be greater than 0", id="value positive"
    ),
    pytest.param(
        {"targets": [rule(targetType="SUM")]},
        "targets[0].attribute: is required for a SUM target",
        id="sum attribute",
    ),
    pytest.param(
        {
            "targets": [
                rule(
                    milestones=[
                        {"triggerName": "Half", "triggerValue": 500},
                        {"triggerName": "Over", "triggerValue": 1000.5},
                    ]
                )
            ]
        },
        "targets[0].milestones[1].triggerValue: is above the target value 1000.000",
        id="trigger not above target",
    ),
    pytest.param(
        {"targets": [rule(milestones=[{"triggerName": "Neg", "triggerValue": -1}])]},
        "targets[0].milestones[0].triggerValue: cannot be negative",
        id="trigger non-negative",
    ),
    pytest.param(
        {"streaks": [{"name": "S", "targetCountOfSequence": 2}]},
        "streaks: streaks need a STREAKS or NON_CONTINUOUS_STREAK group, not DEFAULT",
        id="streaks only on streak groups",
    ),
    pytest.param(
        {**STREAK, "streaks": [{"name": "S", "targetCountOfSequence": 6}]},
        "streaks[0].targetCountOfSequence: is longer than the number of periods (5)",
        id="streak within the periods",
    ),
    pytest.param(
        {
            **STREAK,
            "targetEvaluationType": "CYCLIC_WINDOW",
            "totalPeriods": 3,
            "streaks": [{"name": "S", "targetCountOfSequence": 4}],
        },
        "streaks[0].targetCountOfSequence: is longer than the number of periods (3)",
        id="cyclic streak within totalPeriods",
    ),
    pytest.param(
        {**STREAK, "streaks": [{"name": "S", "targetCountOfSequence": 0}]},
        "streaks[0].targetCountOfSequence: must be at least 1",
        id="streak positive",
    ),
    pytest.param(
        {"preferredTillId": 4},  # First User: an ADMIN_USER of 50363
        "preferredTillId: The preferred till must be an actor of type TILL.",
        id="preferred till is a till",
    ),
    pytest.param(
        {"preferredTillId": 999999999},
        "preferredTillId: no till 999999999 in org 50363",
        id="preferred till exists",
    ),
]


@pytest.mark.parametrize("overrides, message", INVARIANTS)
def test_each_invariant_is_refused_naming_its_field(till, overrides, message):
    assert post_invalid(till, group_body(**overrides)) == [(INVALID, message)]


def test_a_till_of_another_org_is_not_a_preferred_till(till):
    till_id = Actor.objects.get(user__username="unrelated").id  # a TILL of 70001

    assert post_invalid(till, group_body(preferredTillId=till_id)) == [
        (INVALID, f"preferredTillId: no till {till_id} in org 50363")
    ]


def test_every_problem_is_listed_at_once(till):
    body = group_body(
        name="",
        periods=[period("Cycle_1", 1, 5), period("Cycle_2", 3, 9)],
        targets=[rule(value=-5)],
        streaks=[{"name": "S", "targetCountOfSequence": 1}],
    )

    assert post_invalid(till, body) == [
        (INVALID, "name: is required"),
        (INVALID, "periods[1].startDate: overlaps Cycle_1"),
        (INVALID, "targets[0].value: must be greater than 0"),
        (INVALID, "streaks: streaks need a STREAKS or NON_CONTINUOUS_STREAK group, not DEFAULT"),
    ]


def test_a_duplicate_name_in_the_org_is_310069(till):
    create(till, group_body(name="Only once"))

    assert post_invalid(till, group_body(name="Only once")) == [
        (310069, "name: a target group named 'Only once' already exists in the org")
    ]


def test_a_duplicate_name_is_reported_with_the_other_problems(till):
    create(till, group_body(name="Only once"))

    assert post_invalid(till, group_body(name="Only once", targets=[rule(value=0)])) == [
        (INVALID, "targets[0].value: must be greater than 0"),
        (310069, "name: a target group named 'Only once' already exists in the org"),
    ]


def test_the_same_name_in_another_org_is_fine(till, coffee):
    create(till, group_body(name="Shared name"))

    assert create(coffee, group_body(name="Shared name"))["orgId"] == 60001


def test_renaming_onto_another_groups_name_is_310069(till):
    create(till, group_body(name="First"))
    second = create(till, group_body(name="Second"))

    response = till.patch(f"{URL}/{second['id']}", {"name": "First"}, format="json")

    assert response.status_code == 400
    assert error_list(response) == [(310069, "name: a target group named 'First' already exists in the org")]
    assert TargetGroup.objects.get(id=second["id"]).name == "Second"


# ---------------------------------------------------------------------------------------------
# Input shape

DATE_MESSAGE = (
    "startDate: must be an ISO-8601 instant with a timezone (2024-08-27T09:35:24Z) or a date (2024-08-27)"
)
SHAPE = [
    pytest.param(
        {"trackingType": "DAILY"},
        'trackingType: "DAILY" is not one of DEFAULT, UNIFIED, STREAKS, CAPPING, NON_CONTINUOUS_STREAK',
        id="unknown enum",
    ),
    pytest.param(
        {"targetEvaluationType": "fixed_calendar_window"},
        'targetEvaluationType: "fixed_calendar_window" is not one of FIXED_CALENDAR_WINDOW, CYCLIC_WINDOW, '
        "PERIOD_AGNOSTIC_WINDOW",
        id="enums are exact",
    ),
    pytest.param(
        {"targets": [rule(targetEntity="ORDER")]},
        'targets[0].targetEntity: "ORDER" is not one of TRANSACTION, LINEITEM, EVENT, REWARDS',
        id="nested enum",
    ),
    pytest.param({"active": "true"}, "active: must be true or false", id="boolean type"),
    pytest.param({"frequency": "2"}, "frequency: must be an integer", id="integer type"),
    pytest.param(
        {"frequency": 0}, "frequency: Ensure this value is greater than or equal to 1.", id="frequency"
    ),
    pytest.param({"totalPeriods": 1.5}, "totalPeriods: must be an integer", id="integer not float"),
    pytest.param({"name": 42}, "name: Not a valid string.", id="string type"),
    pytest.param(
        {"targets": [rule(value="lots")]}, "targets[0].value: A valid number is required.", id="decimal"
    ),
    pytest.param(
        {"targets": [rule(value=1.0005)]},
        "targets[0].value: Ensure that there are no more than 3 decimal places.",
        id="three decimal places",
    ),
    pytest.param(
        {"startDate": "yesterday"},
        DATE_MESSAGE,
        id="date format",
    ),
    pytest.param(
        {"startDate": "2024-08-28T00:00:00"},
        DATE_MESSAGE,
        id="instant needs a timezone",
    ),
    pytest.param(
        {"startDate": "2024-02-30"},
        DATE_MESSAGE,
        id="real date",
    ),
    pytest.param(
        {"targets": {"name": "x"}}, 'targets: Expected a list of items but got type "dict".', id="list type"
    ),
    pytest.param({"preferredTillId": True}, "preferredTillId: must be an integer", id="id type"),
    pytest.param({"recurringCycles": 0}, "recurringCycles: unknown field", id="unknown field"),
    pytest.param(
        {"targets": [rule(filters=[])]}, "targets[0].filters: unknown field", id="unknown nested field"
    ),
]


@pytest.mark.parametrize("overrides, message", SHAPE)
def test_wrong_types_unknown_values_and_fields_are_refused_naming_the_field(till, overrides, message):
    assert post_invalid(till, group_body(**overrides)) == [(INVALID, message)]


@pytest.mark.parametrize(
    "missing", ["name", "targetEvaluationType", "trackingType", "startDate", "endDate", "targets"]
)
def test_required_fields(till, missing):
    body = group_body()
    del body[missing]

    assert post_invalid(till, body) == [(INVALID, f"{missing}: This field is required.")]


@pytest.mark.parametrize("missing", ["name", "targetEntity", "eventName", "targetType", "value"])
def test_required_target_fields(till, missing):
    target = rule()
    del target[missing]

    assert post_invalid(till, group_body(targets=[target])) == [
        (INVALID, f"targets[0].{missing}: This field is required.")
    ]


def test_a_body_that_is_not_an_object_is_refused(till):
    assert post_invalid(till, [group_body()]) == [
        (INVALID, "Invalid data. Expected a dictionary, but got list.")
    ]


def test_malformed_json_is_refused(till):
    response = till.generic("POST", URL, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert error_list(response)[0][0] == INVALID


def test_read_only_fields_are_accepted_so_a_read_body_can_be_sent_back(till):
    group = create(till, group_body())

    response = till.put(f"{URL}/{group['id']}", group, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["data"]["periods"] == group["periods"]

"""Changing and deleting groups through /v3/targetGroups (SPEC §5, issue 5 point 4).

PUT replaces the nested lists (items with an id update that row, items without are created,
rows left out are deleted); PATCH changes the fields it names. Customer progress is never lost
silently: periods holding progress cannot be deleted or moved, rules holding progress cannot be
deleted or change what they count (409, nothing changed); deleting a group with progress
deactivates it unless a superuser forces it."""

from decimal import Decimal

import pytest

from customers.models import Customer
from targets import clock
from targets.api.config_serializers import group_representation
from targets.api.config_views import config_groups
from targets.models import (
    GroupEnrolment,
    MilestoneTrigger,
    TargetGroup,
    TargetPeriod,
    UserTarget,
)
from targets.progress.ingest import activity_ingest
from tests.api.test_config_api import (
    CUSTOMER_50363,
    URL,
    body_of,
    create,
    error_list,
    group_body,
    read_groups,
    rule,
)


@pytest.fixture
def till(demo, client_for):
    return client_for("tillrustaging2")


@pytest.fixture
def admin(demo, client_for):
    return client_for("admin")  # a superuser, linked to actor 4 of 50363


def put(client, group_id, body):
    return client.put(f"{URL}/{group_id}", body, format="json")


def patch(client, group_id, body):
    return client.patch(f"{URL}/{group_id}", body, format="json")


def ok(response):
    assert response.status_code == 200, response.content
    envelope = body_of(response)
    assert envelope["errors"] is None
    return envelope["data"]


def editable(group):
    """The writable part of a response body, as a client would send it back."""
    return {k: v for k, v in group.items() if k not in ("id", "orgId", "attribution", "refresh")}


def custom_periods(*ranges):
    return [
        {"refCode": f"P{n}", "startDate": f"2024-09-{a:02d}", "endDate": f"2024-09-{b:02d}"}
        for n, (a, b) in enumerate(ranges, start=1)
    ]


MILESTONES = [{"triggerName": "Quarter", "triggerValue": 250}, {"triggerName": "Half", "triggerValue": 500}]


# ---------------------------------------------------------------------------------------------
# PUT and PATCH


def test_put_updates_rows_with_an_id_creates_rows_without_and_deletes_the_rest(till):
    group = create(
        till,
        group_body(
            frequencyType="CUSTOM",
            startDate="2024-09-01",
            endDate="2024-09-30",
            periods=custom_periods((1, 5), (6, 10), (11, 15)),
            targets=[rule(milestones=MILESTONES)],
        ),
    )
    p1, p2, p3 = group["periods"]
    (target,) = group["targets"]
    quarter, half = target["milestones"]
    body = editable(group)
    body["periods"] = [
        p1,
        {**p3, "endDate": "2024-09-20"},
        {"refCode": "P4", "startDate": "2024-09-21", "endDate": "2024-09-30"},
    ]
    body["targets"] = [
        {
            **target,
            "value": 2000,
            "milestones": [
                {**quarter, "triggerValue": 1500},
                {"triggerName": "Almost", "triggerValue": 1900},
            ],
        }
    ]

    updated = ok(put(till, group["id"], body))

    assert [(p["id"], p["refCode"], p["endDate"]) for p in updated["periods"]] == [
        (p1["id"], "P1", "2024-09-05T23:59:59.000Z"),
        (p3["id"], "P3", "2024-09-20T23:59:59.000Z"),
        (updated["periods"][2]["id"], "P4", "2024-09-30T23:59:59.000Z"),
    ]
    assert updated["periods"][2]["id"] not in {p1["id"], p2["id"], p3["id"]}
    assert not TargetPeriod.objects.filter(id=p2["id"]).exists()
    (new_target,) = updated["targets"]
    assert (new_target["id"], new_target["value"]) == (target["id"], 2000)
    assert [(m["triggerName"], m["triggerValue"]) for m in new_target["milestones"]] == [
        ("Quarter", 1500),
        ("Almost", 1900),
    ]
    assert new_target["milestones"][0]["id"] == quarter["id"]
    assert not MilestoneTrigger.objects.filter(id=half["id"]).exists()
    assert body_of(till.get(f"{URL}/{group['id']}"))["data"] == updated


def test_a_period_without_id_takes_over_the_saved_period_of_its_ref_code(till):
    group = create(till, group_body())
    body = editable(group)
    body["periods"] = [{k: v for k, v in p.items() if k != "id"} for p in group["periods"]]

    updated = ok(put(till, group["id"], body))

    assert [p["id"] for p in updated["periods"]] == [p["id"] for p in group["periods"]]


def test_put_without_periods_regenerates_them_from_the_frequency_settings(till):
    group = create(till, group_body())
    body = {k: v for k, v in editable(group).items() if k != "periods"}

    updated = ok(put(till, group["id"], {**body, "totalPeriods": 3}))

    assert [(p["id"], p["refCode"]) for p in updated["periods"]] == [
        (p["id"], p["refCode"]) for p in group["periods"][:3]
    ]
    assert TargetPeriod.objects.filter(group_id=group["id"]).count() == 3


def test_put_without_streaks_removes_them(till):
    group = create(
        till, group_body(trackingType="STREAKS", streaks=[{"name": "Two", "targetCountOfSequence": 2}])
    )
    body = {k: v for k, v in editable(group).items() if k != "streaks"}

    assert ok(put(till, group["id"], body))["streaks"] == []


def test_patch_changes_only_the_fields_it_names(till):
    group = create(till, group_body(description="Before"))

    updated = ok(patch(till, group["id"], {"description": "After", "active": False}))

    assert (updated["description"], updated["active"]) == ("After", False)
    ignored = ("description", "active", "attribution", "refresh")
    assert {k: v for k, v in updated.items() if k not in ignored} == {
        k: v for k, v in group.items() if k not in ignored
    }


def test_patch_of_a_frequency_setting_regenerates_the_periods(till):
    group = create(till, group_body())

    updated = ok(patch(till, group["id"], {"frequencyType": "WEEKLY", "totalPeriods": 1}))

    assert [(p["id"], p["refCode"], p["startDate"], p["endDate"]) for p in updated["periods"]] == [
        (group["periods"][0]["id"], "Cycle_1", "2024-08-28T00:00:00.000Z", "2024-09-01T23:59:59.000Z")
    ]


def test_patch_with_a_nested_list_replaces_that_list(till):
    group = create(
        till, group_body(trackingType="STREAKS", streaks=[{"name": "Two", "targetCountOfSequence": 2}])
    )
    (streak,) = group["streaks"]

    updated = ok(
        patch(
            till,
            group["id"],
            {
                "streaks": [
                    {**streak, "targetCountOfSequence": 3},
                    {"name": "Five", "targetCountOfSequence": 5},
                ]
            },
        )
    )

    assert [(s["id"], s["name"], s["targetCountOfSequence"]) for s in updated["streaks"]] == [
        (streak["id"], "Two", 3),
        (updated["streaks"][1]["id"], "Five", 5),
    ]
    assert updated["periods"] == group["periods"]


def test_patch_is_validated_against_the_whole_group(till):
    group = create(till, group_body())

    response = patch(till, group["id"], {"trackingType": "UNIFIED"})

    assert response.status_code == 400
    assert error_list(response) == [(300004, "targets: a UNIFIED group needs 2 to 10 targets, got 1")]
    assert TargetGroup.objects.get(id=group["id"]).tracking_type == "DEFAULT"


def test_ref_codes_can_be_swapped_in_place(till):
    group = create(till, group_body(totalPeriods=2))
    first, second = group["periods"]
    body = editable(group)
    body["periods"] = [{**first, "refCode": "Cycle_2"}, {**second, "refCode": "Cycle_1"}]

    updated = ok(put(till, group["id"], body))

    assert [(p["id"], p["refCode"]) for p in updated["periods"]] == [
        (first["id"], "Cycle_2"),
        (second["id"], "Cycle_1"),
    ]


def test_ids_must_belong_to_the_group(till):
    group = create(till, group_body())
    other = create(till, group_body(name="Other", targets=[rule(milestones=MILESTONES)]))
    body = editable(group)
    body["periods"] = [{**group["periods"][0], "id": other["periods"][0]["id"]}]
    body["targets"] = [
        {**group["targets"][0], "id": other["targets"][0]["id"]},
    ]
    body["targets"][0]["milestones"] = [{**other["targets"][0]["milestones"][0]}]

    response = put(till, group["id"], body)

    other_milestone = other["targets"][0]["milestones"][0]["id"]
    assert response.status_code == 400
    assert error_list(response) == [
        (300004, f"periods[0].id: no period {other['periods'][0]['id']} in this group"),
        (300004, f"targets[0].id: no target {other['targets'][0]['id']} in this group"),
        (
            300004,
            f"targets[0].milestones[0].id: no milestone {other_milestone} in this target",
        ),
    ]
    assert TargetPeriod.objects.filter(group_id=other["id"]).count() == 5


def test_an_update_moves_last_updated_and_keeps_created(till, admin, settings):
    group = create(till, group_body())
    settings.TARGETS_NOW = "2024-09-02T10:00:00Z"

    updated = ok(patch(admin, group["id"], {"description": "Reviewed"}))

    attribution = updated["attribution"]
    assert (attribution["createdOn"], attribution["createdBy"]["id"]) == (
        "2024-08-30T09:21:43.741+0000",
        50150886,
    )
    assert attribution["lastUpdatedOn"] == "2024-09-02T10:00:00.000+0000"
    assert attribution["lastUpdatedBy"] == {
        "id": 4,
        "code": "First",
        "description": None,
        "name": "First User",
        "type": "ADMIN_USER",
    }


# ---------------------------------------------------------------------------------------------
# Changes to a group with customer progress


@pytest.fixture
def progress(till):
    """A group whose first period holds a customer's progress, with the first milestone reached."""
    group = create(till, group_body(targets=[rule(milestones=MILESTONES)]))
    org = Customer.objects.get(id=CUSTOMER_50363).org
    item = {
        "userId": CUSTOMER_50363,
        "entity": "TRANSACTION",
        "eventName": "TransactionAdd",
        "occurredAt": "2024-08-28T10:00:00Z",
        "amount": 300,
        "externalId": "config-changes-progress",
    }
    [result] = activity_ingest(org=org, items=[item], now=clock.now())
    assert result.status == "APPLIED"
    user_target = UserTarget.objects.get(rule_id=group["targets"][0]["id"])
    assert user_target.milestones.count() == 1
    return group


def conflict(response):
    assert response.status_code == 409, response.content
    errors = error_list(response)
    assert {code for code, _ in errors} == {409}
    return [message for _, message in errors]


def assert_unchanged(group):
    assert body_of_group(group["id"]) == group


def body_of_group(group_id):
    return group_representation(config_groups().get(id=group_id))


def test_target_values_names_and_active_can_change_with_progress(till, progress):
    body = editable(progress)
    body["targets"] = [{**progress["targets"][0], "name": "Renamed", "value": 1500, "active": False}]

    updated = ok(put(till, progress["id"], body))

    assert [(t["id"], t["name"], t["value"], t["active"]) for t in updated["targets"]] == [
        (progress["targets"][0]["id"], "Renamed", 1500, False)
    ]
    assert UserTarget.objects.get(rule_id=progress["targets"][0]["id"]).achieved_value == Decimal("300")


def test_a_period_with_progress_cannot_be_deleted(till, progress):
    cycle_1 = progress["periods"][0]
    body = editable(progress)
    body["name"] = "Renamed too"
    body["periods"] = progress["periods"][1:]

    assert conflict(put(till, progress["id"], body)) == [
        f"periods: period Cycle_1 (id {cycle_1['id']}) holds 1 customer target(s); it cannot be deleted"
    ]
    assert_unchanged(progress)


def test_a_period_with_progress_cannot_move(till, progress):
    cycle_1 = progress["periods"][0]
    body = editable(progress)
    body["periods"] = [{**cycle_1, "endDate": "2024-08-28T12:00:00Z"}, *progress["periods"][1:]]

    assert conflict(put(till, progress["id"], body)) == [
        f"periods[0].endDate: period Cycle_1 (id {cycle_1['id']}) holds 1 customer target(s); "
        "its endDate cannot change"
    ]
    assert_unchanged(progress)


def test_regenerating_periods_that_would_move_one_with_progress_is_a_conflict(till, progress):
    messages = conflict(patch(till, progress["id"], {"startDate": "2024-08-27T00:00:00Z"}))

    assert messages == [
        f"periods[0].startDate: period Cycle_1 (id {progress['periods'][0]['id']}) holds 1 customer "
        "target(s); its startDate and endDate cannot change"
    ]
    assert_unchanged(progress)


def test_periods_without_progress_can_go_while_another_holds_progress(till, progress):
    updated = ok(patch(till, progress["id"], {"totalPeriods": 2}))

    assert [p["id"] for p in updated["periods"]] == [p["id"] for p in progress["periods"][:2]]


def test_a_period_with_progress_can_be_renamed(till, progress):
    body = editable(progress)
    body["periods"] = [{**progress["periods"][0], "refCode": "First day"}, *progress["periods"][1:]]

    assert ok(put(till, progress["id"], body))["periods"][0]["refCode"] == "First day"


def test_a_rule_with_progress_cannot_be_deleted(till, progress):
    target = progress["targets"][0]
    body = editable(progress)
    body["targets"] = [rule(name="Replacement")]

    assert conflict(put(till, progress["id"], body)) == [
        f"targets: target 'Spend' (id {target['id']}) holds 1 customer target(s); it cannot be deleted"
    ]
    assert_unchanged(progress)


@pytest.mark.parametrize(
    "field, value",
    [("targetType", "COUNT"), ("targetEntity", "EVENT"), ("eventName", "PointsRedeemed")],
)
def test_what_a_rule_with_progress_counts_cannot_change(till, progress, field, value):
    target = progress["targets"][0]
    body = editable(progress)
    body["targets"] = [{**target, field: value}]

    assert conflict(put(till, progress["id"], body)) == [
        f"targets[0].{field}: target 'Spend' (id {target['id']}) holds 1 customer target(s); "
        f"what it counts ({field}) cannot change"
    ]
    assert_unchanged(progress)


def test_a_reached_milestone_cannot_be_deleted(till, progress):
    target = progress["targets"][0]
    quarter, half = target["milestones"]
    body = editable(progress)
    body["targets"] = [{**target, "milestones": [half]}]

    assert conflict(put(till, progress["id"], body)) == [
        f"targets[0].milestones: milestone 'Quarter' (id {quarter['id']}) was reached by customers; "
        "it cannot be deleted"
    ]
    body["targets"] = [{**target, "milestones": [quarter]}]  # the one nobody reached may go
    assert [m["id"] for m in ok(put(till, progress["id"], body))["targets"][0]["milestones"]] == [
        quarter["id"]
    ]


def test_the_evaluation_type_of_a_group_with_progress_cannot_change(till, progress):
    body = {**editable(progress), "targetEvaluationType": "PERIOD_AGNOSTIC_WINDOW"}
    del body["periods"]

    messages = conflict(put(till, progress["id"], body))

    assert messages[0] == (
        f"targetEvaluationType: group {progress['id']} holds customer progress; its targetEvaluationType "
        "cannot change from FIXED_CALENDAR_WINDOW to PERIOD_AGNOSTIC_WINDOW"
    )
    assert_unchanged(progress)


def test_turning_explicit_enrols_the_customers_who_hold_progress(till, progress):
    response = patch(till, progress["id"], {"enrolment": "EXPLICIT"})

    assert response.status_code == 200
    assert body_of(response)["warnings"] == [
        {
            "code": 409,
            "message": f"1 customer(s) with progress in group {progress['id']} were enrolled "
            "so that they keep it",
        }
    ]
    assert GroupEnrolment.objects.filter(group_id=progress["id"], customer_id=CUSTOMER_50363).exists()
    assert progress["id"] in read_groups(till, CUSTOMER_50363)


# ---------------------------------------------------------------------------------------------
# DELETE


def test_a_group_without_progress_is_deleted(till):
    group = create(till, group_body())

    response = till.delete(f"{URL}/{group['id']}")

    assert response.status_code == 200
    assert body_of(response) == {
        "data": {"id": group["id"], "deleted": True},
        "errors": None,
        "warnings": None,
    }
    assert till.get(f"{URL}/{group['id']}").status_code == 404
    assert not TargetPeriod.objects.filter(group_id=group["id"]).exists()


def test_deleting_a_group_with_progress_deactivates_it_instead(till, progress):
    response = till.delete(f"{URL}/{progress['id']}")

    assert response.status_code == 200
    envelope = body_of(response)
    assert envelope["data"]["active"] is False
    assert {k: v for k, v in envelope["data"].items() if k not in ("active", "attribution")} == {
        k: v for k, v in progress.items() if k not in ("active", "attribution")
    }
    assert envelope["warnings"] == [
        {
            "code": 409,
            "message": f"group {progress['id']} holds progress of 1 customer(s): deactivated instead of "
            "deleted; a superuser can delete it with its progress with ?force=true",
        }
    ]
    assert UserTarget.objects.filter(rule__group_id=progress["id"]).count() == 1
    assert progress["id"] not in read_groups(till, CUSTOMER_50363)


def test_force_is_for_superusers(till, progress):
    response = till.delete(f"{URL}/{progress['id']}?force=true")

    assert response.status_code == 403
    assert error_list(response) == [(403, "force=true is for superusers")]
    assert_unchanged(progress)


def test_a_superuser_forces_the_delete_of_a_group_with_progress(admin, progress):
    response = admin.delete(f"{URL}/{progress['id']}?force=true")

    assert response.status_code == 200
    assert body_of(response) == {
        "data": {"id": progress["id"], "deleted": True},
        "errors": None,
        "warnings": [
            {"code": 409, "message": f"group {progress['id']} deleted with the progress of 1 customer(s)"}
        ],
    }
    assert not TargetGroup.objects.filter(id=progress["id"]).exists()
    assert not UserTarget.objects.filter(rule_id=progress["targets"][0]["id"]).exists()


@pytest.mark.parametrize("query", ["force=yes", "force=", "cascade=true"])
def test_delete_parameters_are_validated(till, progress, query):
    response = till.delete(f"{URL}/{progress['id']}?{query}")

    assert response.status_code == 400
    assert error_list(response)[0][0] == 300004
    assert_unchanged(progress)

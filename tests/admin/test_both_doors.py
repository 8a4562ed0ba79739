"""One set of rules for both doors: every change the configuration API refuses (409 for lost or
reinterpreted progress, 400 for broken invariants) is refused by the admin's group page with
the same reason (in the admin's words, `targets.labels.words`), and saves nothing; a change the
API accepts, the admin accepts too. Each test makes the same change through both doors."""

from datetime import date
from decimal import Decimal

import pytest

from customers.models import Customer
from targets.labels import words
from targets.models import TargetPeriod, TargetRule, UserMilestone
from tests.admin.forms import add_row, all_errors, page_data, put, row_of
from tests.api.test_config_api import CUSTOMER_50363, URL, body_of, create, group_body, rule
from tests.api.test_config_changes import MILESTONES, body_of_group, editable
from tests.factories import ActivityFactory, UserTargetFactory

RULE_ROW = {
    "active": True,
    "target_entity": "TRANSACTION",
    "event_name": "TransactionAdd",
    "target_type": "GROSS_SALES",
    "target_value": "1000",
}


@pytest.fixture
def till(demo, client_for):
    return client_for("tillrustaging2")


@pytest.fixture
def progress(till):
    """A group whose first period holds a customer's progress, with the first milestone reached."""
    group = create(till, group_body(targets=[rule(milestones=MILESTONES)]))
    user_target = UserTargetFactory(
        rule=TargetRule.objects.get(id=group["targets"][0]["id"]),
        period=TargetPeriod.objects.get(id=group["periods"][0]["id"]),
        customer=Customer.objects.get(id=CUSTOMER_50363),
        achieved_value=Decimal("300"),
    )
    UserMilestone.objects.create(
        org_id=50363,
        user_target=user_target,
        trigger_id=group["targets"][0]["milestones"][0]["id"],
        achieved_at=user_target.enrolled_on,
    )
    return group


@pytest.fixture
def admin_client(login):
    return login("admin")


def api_refusal(till, group, body, status):
    response = till.put(f"{URL}/{group['id']}", body, format="json")
    assert response.status_code == status, response.content
    [error] = body_of(response)["errors"]
    return error["message"]


def admin_page(client, group_id):
    return page_data(client.get(f"/admin/targets/targetgroup/{group_id}/change/"))


def admin_refusal(client, group, data):
    response = client.post(f"/admin/targets/targetgroup/{group['id']}/change/", data)
    assert response.status_code == 200, "the admin accepted what the API refuses"
    assert body_of_group(group["id"]) == group, "the admin changed something"
    return all_errors(response)


def same_reason(api_message, admin_errors):
    """The admin shows the API's reason: the message after the field path, in its words."""
    _path, _, reason = api_message.partition(": ")
    assert words(reason) in admin_errors, (api_message, admin_errors)


@pytest.mark.parametrize(
    "api_field, form_field, api_value, form_value",
    [
        ("targetType", "target_type", "COUNT", "COUNT"),
        ("targetEntity", "target_entity", "EVENT", "EVENT"),
        ("eventName", "event_name", "PointsRedeemed", "PointsRedeemed"),
    ],
)
def test_what_a_rule_with_progress_counts(
    till, admin_client, progress, api_field, form_field, api_value, form_value
):
    body = editable(progress)
    body["targets"] = [{**progress["targets"][0], api_field: api_value}]
    api = api_refusal(till, progress, body, 409)

    data = admin_page(admin_client, progress["id"])
    put(data, f"rules-0-{form_field}", form_value)
    same_reason(api, admin_refusal(admin_client, progress, data))


def test_deleting_a_rule_with_progress(till, admin_client, progress):
    body = {**editable(progress), "targets": [rule(name="Replacement")]}
    api = api_refusal(till, progress, body, 409)

    data = admin_page(admin_client, progress["id"])
    put(data, "rules-0-DELETE", True)
    add_row(data, "rules", **{**RULE_ROW, "name": "Replacement"})
    same_reason(api, admin_refusal(admin_client, progress, data))


def test_deleting_a_period_with_progress(till, admin_client, progress):
    body = {**editable(progress), "periods": progress["periods"][1:]}
    api = api_refusal(till, progress, body, 409)

    data = admin_page(admin_client, progress["id"])
    put(data, f"periods-{row_of(data, 'periods', 'id', progress['periods'][0]['id'])}-DELETE", True)
    same_reason(api, admin_refusal(admin_client, progress, data))


def test_moving_a_period_with_progress(till, admin_client, progress):
    cycle_1 = progress["periods"][0]
    body = editable(progress)
    body["periods"] = [{**cycle_1, "startDate": "2024-08-27"}, *progress["periods"][1:]]
    api = api_refusal(till, progress, body, 409)

    data = admin_page(admin_client, progress["id"])
    put(data, f"periods-{row_of(data, 'periods', 'id', cycle_1['id'])}-start_day", date(2024, 8, 27))
    same_reason(api, admin_refusal(admin_client, progress, data))


def test_regenerating_periods_that_would_move_progress(till, admin_client, progress):
    response = till.patch(f"{URL}/{progress['id']}", {"startDate": "2024-08-27"}, format="json")
    assert response.status_code == 409
    [error] = body_of(response)["errors"]

    data = admin_page(admin_client, progress["id"])
    put(data, "start_day", date(2024, 8, 27))
    same_reason(error["message"], admin_refusal(admin_client, progress, data))


def test_deleting_a_reached_milestone(till, admin_client, progress):
    target = progress["targets"][0]
    body = {**editable(progress), "targets": [{**target, "milestones": target["milestones"][1:]}]}
    api = api_refusal(till, progress, body, 409)

    data = admin_page(admin_client, progress["id"])
    put(data, "rules-0-triggers-0-DELETE", True)
    same_reason(api, admin_refusal(admin_client, progress, data))


def test_changing_the_evaluation_type_with_progress(till, admin_client, progress):
    body = {**editable(progress), "targetEvaluationType": "PERIOD_AGNOSTIC_WINDOW"}
    del body["periods"]
    response = till.put(f"{URL}/{progress['id']}", body, format="json")
    assert response.status_code == 409
    api = body_of(response)["errors"][0]["message"]

    data = admin_page(admin_client, progress["id"])
    put(data, "target_evaluation_type", "PERIOD_AGNOSTIC_WINDOW")
    same_reason(api, admin_refusal(admin_client, progress, data))


def test_a_trigger_above_the_target(till, admin_client, progress):
    target = progress["targets"][0]
    body = editable(progress)
    body["targets"] = [{**target, "value": 400}]
    api = api_refusal(till, progress, body, 400)
    assert api.startswith("targets[0].milestones[1].triggerValue: is above the target value 400")

    data = admin_page(admin_client, progress["id"])
    put(data, "rules-0-target_value", "400")
    errors = admin_refusal(admin_client, progress, data)
    # The trigger row's own check (the model's clean) says it first, in the same words.
    assert errors == ["The trigger value is above the target value."], errors


def test_a_streak_longer_than_the_periods(till, admin_client, progress):
    body = {
        **editable(progress),
        "trackingType": "STREAKS",
        "streaks": [{"name": "Six", "targetCountOfSequence": 6}],
    }
    api = api_refusal(till, progress, body, 400)
    assert api.endswith("is longer than the number of periods (5)")

    data = admin_page(admin_client, progress["id"])
    put(data, "tracking_type", "STREAKS")
    data.update(
        {"streaks-TOTAL_FORMS": "1", "streaks-0-name": "Six", "streaks-0-target_count_of_sequence": "6"}
    )
    errors = admin_refusal(admin_client, progress, data)
    assert "Is longer than the number of periods (5)" in errors, errors


def test_what_the_api_accepts_the_admin_accepts(till, admin_client, progress):
    """Renaming, a new value and deactivating a rule with progress: both doors say yes."""
    data = admin_page(admin_client, progress["id"])
    put(data, "rules-0-name", "Renamed")
    put(data, "rules-0-target_value", "1500")
    put(data, "rules-0-active", False)
    response = admin_client.post(f"/admin/targets/targetgroup/{progress['id']}/change/", data)
    assert response.status_code == 302, all_errors(response)
    target = body_of_group(progress["id"])["targets"][0]
    assert (target["id"], target["name"], target["value"], target["active"]) == (
        progress["targets"][0]["id"],
        "Renamed",
        1500,
        False,
    )

    body = editable(body_of_group(progress["id"]))
    body["targets"] = [{**body["targets"][0], "name": "Renamed again"}]
    assert till.put(f"{URL}/{progress['id']}", body, format="json").status_code == 200


def test_a_sum_target_over_stored_values_past_the_limit(till, admin_client):
    """Attribute values no rule read were stored unbounded; both doors refuse a SUM target that
    would sum them past what an achieved value can hold (docs/security.md)."""
    group = create(till, group_body())
    customer = Customer.objects.get(id=CUSTOMER_50363)
    for _ in range(2):
        ActivityFactory(
            customer=customer, entity="EVENT", event_name="Scan", attributes={"barcode": "9" * 15}
        )
    body = editable(group)
    body["targets"] = [{**group["targets"][0], "targetType": "SUM", "attribute": "barcode"}]
    api = api_refusal(till, group, body, 400)
    assert "'barcode'" in api

    data = admin_page(admin_client, group["id"])
    put(data, "rules-0-target_type", "SUM")
    put(data, "rules-0-attribute", "barcode")
    same_reason(api, admin_refusal(admin_client, group, data))

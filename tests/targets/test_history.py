"""The history of every configuration change (targets/history.py): who, when (real time and the
service clock), through which door and what changed (field, old, new) — for changes through the
admin, the configuration API, an admin action and a command; shown on the admin's History page
and the staff program page."""

from datetime import date

import pytest
from django.test import Client

from targets import clock, configuration
from targets.history import group_changes
from targets.models import TargetGroup, TargetRule
from tests.admin.forms import page_data, put
from tests.api.test_config_api import URL, create, group_body
from tests.conftest import DEMO_NOW


@pytest.fixture
def till(demo, client_for):
    return client_for("tillrustaging2")


@pytest.fixture
def admin_client(demo):
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


def latest(group, what):
    return next(c for c in group_changes(group) if c.what.startswith(what))


def test_an_api_change_is_recorded_with_who_when_and_what(till):
    group = create(till, group_body(name="Through the API"))
    body = {"name": "Renamed through the API"}
    assert till.patch(f"{URL}/{group['id']}", body, format="json").status_code == 200

    changes = group_changes(TargetGroup.objects.get(id=group["id"]))
    change = latest(TargetGroup.objects.get(id=group["id"]), "target group")
    assert (change.who, change.door, change.action) == ("tillrustaging2", "api", "changed")
    assert change.service_time == clock.parse_instant(DEMO_NOW)
    assert [(f.field, f.old, f.new) for f in change.fields] == [
        ("name", "Through the API", "Renamed through the API")
    ]
    created = [c for c in changes if c.action == "created"]
    assert sum(c.what.startswith("target period") for c in created) == 5


def test_an_admin_change_is_recorded_and_shown_on_the_history_page(till, admin_client):
    group = create(till, group_body(name="Through the admin"))
    url = f"/admin/targets/targetgroup/{group['id']}/change/"
    data = page_data(admin_client.get(url))
    put(data, "rules-0-target_value", "1500")
    put(data, "end_day", date(2024, 9, 2))
    assert admin_client.post(url, data).status_code == 302

    obj = TargetGroup.objects.get(id=group["id"])
    rule = latest(obj, "target rule")
    assert (rule.who, rule.door) == ("admin", "admin")
    assert [(f.field, f.old, f.new) for f in rule.fields] == [("target value", "1,000", "1,500")]
    window = latest(obj, "target group")
    assert [(f.field, f.old, f.new) for f in window.fields] == [
        ("end", "2024-09-01 23:59:59", "2024-09-02 23:59:59")
    ]

    page = admin_client.get(f"/admin/targets/targetgroup/{group['id']}/history/").content.decode()
    assert "<del>1,000</del> → <ins>1,500</ins>" in page
    assert "UTC" in page  # the zone is named


def test_an_admin_action_is_recorded_as_such(till, admin_client):
    group = create(till, group_body(name="Switched off"))
    response = admin_client.post(
        "/admin/targets/targetgroup/",
        {"action": "deactivate", "_selected_action": [group["id"]]},
    )
    assert response.status_code == 302
    change = latest(TargetGroup.objects.get(id=group["id"]), "target group")
    assert (change.who, change.door) == ("admin", "admin action")
    assert [(f.field, f.old, f.new) for f in change.fields] == [("active", "yes", "no")]


def test_a_command_is_recorded_without_a_user(till):
    group = TargetGroup.objects.get(id=create(till, group_body(name="By a command"))["id"])
    configuration.group_update(
        group=group, actor=None, data={"description": "Set by a script"}, now=clock.now(), partial=True
    )
    change = latest(group, "target group")
    assert (change.who, change.door) == ("—", "command")
    assert [(f.field, f.new) for f in change.fields] == [("description", "Set by a script")]


def test_deleted_rows_are_recorded(till):
    group = create(
        till,
        group_body(
            name="Two rules",
            trackingType="UNIFIED",
            targets=[
                {
                    "name": "A",
                    "targetEntity": "TRANSACTION",
                    "eventName": "TransactionAdd",
                    "targetType": "COUNT",
                    "value": 2,
                },
                {
                    "name": "B",
                    "targetEntity": "TRANSACTION",
                    "eventName": "TransactionAdd",
                    "targetType": "COUNT",
                    "value": 3,
                },
            ],
        ),
    )
    rule_b = TargetRule.objects.get(group_id=group["id"], name="B")
    body = {
        "targets": [
            {
                "id": group["targets"][0]["id"],
                "name": "A",
                "targetEntity": "TRANSACTION",
                "eventName": "TransactionAdd",
                "targetType": "COUNT",
                "value": 2,
            },
            {
                "name": "C",
                "targetEntity": "TRANSACTION",
                "eventName": "TransactionAdd",
                "targetType": "COUNT",
                "value": 4,
            },
        ]
    }
    assert till.patch(f"{URL}/{group['id']}", body, format="json").status_code == 200
    actions = {(c.what, c.action) for c in group_changes(TargetGroup.objects.get(id=group["id"]))}
    assert ("target rule B", "deleted") in actions and ("target rule C", "created") in actions
    assert not TargetRule.objects.filter(id=rule_b.id).exists()


def test_the_staff_program_page_shows_the_last_changes(till, admin_client):
    group = create(till, group_body(name="Watched"))
    till.patch(f"{URL}/{group['id']}", {"description": "Now with a description"}, format="json")
    page = admin_client.get(f"/staff/programs/{group['id']}/").content.decode()
    assert "Last changes" in page
    assert "Now with a description" in page and "tillrustaging2" in page


# --- enrolments ------------------------------------------------------------------------------

COFFEE_CUSTOMERS = [900000001, 900000002, 900000003]


@pytest.fixture
def coffee(demo, client_for):
    return client_for("democoffee")


@pytest.fixture
def members_only(coffee):
    return TargetGroup.objects.get(
        id=create(coffee, group_body(name="Members only", enrolment="EXPLICIT"))["id"]
    )


def enrolment_changes(group, customer_id):
    return [c for c in group_changes(group) if c.what == f"enrolment of customer {customer_id}"]


def fields_of(change):
    return {f.field: f.new for f in change.fields}


def test_enrolment_through_the_api_is_recorded_with_who_when_and_what(coffee, members_only):
    url = f"{URL}/{members_only.id}"
    body = {"userIds": [COFFEE_CUSTOMERS[0]], "initialBalance": 250, "resetStreakStatus": True}
    assert coffee.post(f"{url}/enrol", body, format="json").status_code == 200
    assert coffee.post(f"{url}/unenrol", {"userIds": [COFFEE_CUSTOMERS[0]]}, format="json").status_code == 200

    unenrolled, enrolled = enrolment_changes(members_only, COFFEE_CUSTOMERS[0])
    for change in (enrolled, unenrolled):
        assert (change.who, change.door) == ("democoffee", "api")
        assert change.service_time == clock.parse_instant(DEMO_NOW)
        assert change.when is not None
    assert (enrolled.action, unenrolled.action) == ("enrolled", "unenrolled")
    local_now = clock.parse_instant(DEMO_NOW).astimezone(members_only.org.tz)  # Asia/Kolkata
    assert fields_of(enrolled) == {
        "enrolled on": local_now.strftime("%Y-%m-%d %H:%M:%S"),
        "source": "API",
        "streak reset at": local_now.strftime("%Y-%m-%d %H:%M:%S"),
        "initial balance": "250",
    }


def test_enrolment_through_the_admin_is_recorded(members_only):
    from django.contrib.auth import get_user_model

    staff = Client()
    staff.force_login(get_user_model().objects.get(username="staff60001"))
    add = "/admin/targets/groupenrolment/add/"
    data = page_data(staff.get(add))
    data.update(group=members_only.id, customer=COFFEE_CUSTOMERS[1])
    assert staff.post(add, data).status_code == 302
    enrolment = members_only.enrolments.get(customer_id=COFFEE_CUSTOMERS[1])
    delete = f"/admin/targets/groupenrolment/{enrolment.id}/delete/"
    assert staff.post(delete, {"post": "yes"}).status_code == 302

    unenrolled, enrolled = enrolment_changes(members_only, COFFEE_CUSTOMERS[1])
    assert [(c.who, c.door, c.action) for c in (enrolled, unenrolled)] == [
        ("staff60001", "admin", "enrolled"),
        ("staff60001", "admin", "unenrolled"),
    ]
    assert fields_of(enrolled)["source"] == "Admin"
    assert enrolled.service_time == clock.parse_instant(DEMO_NOW)


def test_unenrolment_by_the_delete_selected_action_is_recorded_as_an_admin_action(coffee, members_only):
    from django.contrib.auth import get_user_model

    coffee.post(f"{URL}/{members_only.id}/enrol", {"userIds": COFFEE_CUSTOMERS[:2]}, format="json")
    staff = Client()
    staff.force_login(get_user_model().objects.get(username="staff60001"))
    selected = list(members_only.enrolments.values_list("id", flat=True))
    response = staff.post(
        "/admin/targets/groupenrolment/",
        {"action": "delete_selected", "_selected_action": selected, "post": "yes"},
    )
    assert response.status_code == 302 and not members_only.enrolments.exists()

    for customer_id in COFFEE_CUSTOMERS[:2]:
        unenrolled, enrolled = enrolment_changes(members_only, customer_id)
        assert (enrolled.who, enrolled.door) == ("democoffee", "api")
        assert (unenrolled.who, unenrolled.door, unenrolled.action) == (
            "staff60001",
            "admin action",
            "unenrolled",
        )


def test_enrolment_by_a_command_is_recorded_without_a_user(members_only):
    configuration.group_enrol(group=members_only, user_ids=[COFFEE_CUSTOMERS[2]], now=clock.now())

    (change,) = enrolment_changes(members_only, COFFEE_CUSTOMERS[2])
    assert (change.who, change.door, change.action) == ("—", "command", "enrolled")


def test_enrolments_in_bulk_are_recorded_in_a_bounded_number_of_queries(
    members_only, django_assert_max_num_queries
):
    from tests.factories import CustomerFactory

    ids = [c.id for c in CustomerFactory.create_batch(40, org=members_only.org)]
    # A constant number of queries (14 and 15 for 40 customers as for one): no statement per row.
    # Unenrolling reads the group's name for the UNENROLLED events (targets/events/recorder.py).
    with django_assert_max_num_queries(14):
        configuration.group_enrol(group=members_only, user_ids=ids, now=clock.now())
    with django_assert_max_num_queries(15):
        configuration.group_unenrol(group=members_only, user_ids=ids, now=clock.now())

    actions = [c.action for c in group_changes(members_only) if c.what.startswith("enrolment of")]
    assert sorted(actions) == ["enrolled"] * 40 + ["unenrolled"] * 40


def test_the_admin_history_and_the_staff_program_page_show_enrolments(coffee, members_only, admin_client):
    coffee.post(f"{URL}/{members_only.id}/enrol", {"userIds": [COFFEE_CUSTOMERS[0]]}, format="json")
    admin = admin_client

    history_page = admin.get(f"/admin/targets/targetgroup/{members_only.id}/history/").content.decode()
    staff_page = admin.get(f"/staff/programs/{members_only.id}/").content.decode()
    for page in (history_page, staff_page):
        assert f"Enrolment of customer {COFFEE_CUSTOMERS[0]}" in page
        assert "enrolled" in page


def test_the_engines_enrolments_are_progress_without_history_until_the_group_turns_explicit(coffee):
    """A customer of an ALL_CUSTOMERS group is enrolled by the engine at its first activity:
    progress, like a CYCLIC group's periods. When the group turns EXPLICIT, that customer is
    enrolled for good — a change of the configuration, recorded with the door that made it."""
    group = TargetGroup.objects.get(id=create(coffee, group_body(name="Everyone"))["id"])
    activity = {
        "userId": COFFEE_CUSTOMERS[0],
        "entity": "TRANSACTION",
        "eventName": "TransactionAdd",
        "occurredAt": "2024-08-30T08:00:00Z",
        "amount": 200,
        "externalId": "history-enrol-1",
    }
    assert coffee.post("/v3.1/activities", activity, format="json").status_code == 200
    assert group.enrolments.get().source == "ACTIVITY"
    assert enrolment_changes(group, COFFEE_CUSTOMERS[0]) == []

    assert coffee.patch(f"{URL}/{group.id}", {"enrolment": "EXPLICIT"}, format="json").status_code == 200

    (change,) = enrolment_changes(group, COFFEE_CUSTOMERS[0])
    assert (change.who, change.door, change.action) == ("democoffee", "api", "enrolled")
    assert fields_of(change)["source"] == "API"


def test_the_admin_history_is_paged(members_only, admin_client, django_assert_max_num_queries):
    """A program with thousands of enrolments shows its changes a hundred at a time, newest
    first, with links to older and newer ones."""
    from tests.factories import CustomerFactory

    ids = [c.id for c in CustomerFactory.create_batch(150, org=members_only.org)]
    configuration.group_enrol(group=members_only, user_ids=ids, now=clock.now())
    url = f"/admin/targets/targetgroup/{members_only.id}/history/"

    with django_assert_max_num_queries(40):
        first = admin_client.get(url).content.decode()
    assert first.count("Enrolment of customer") == 100
    assert 'href="?p=2"' in first and "Newer changes" not in first

    second = admin_client.get(f"{url}?p=2").content.decode()
    assert second.count("Enrolment of customer") == 50
    assert 'href="?p=1"' in second and 'href="?p=3"' not in second
    assert "Enrolment of customer" not in admin_client.get(f"{url}?p=3").content.decode()
    assert admin_client.get(f"{url}?p=x").content.decode().count("Enrolment of customer") == 100

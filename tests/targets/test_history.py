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

"""Configuration changes reach stored progress (issue 12, SPEC §4 "Configuration changes").

Each case of the issue, played through the configuration and enrol APIs as a program admin
would, with the service clock moving on between steps: after every step the read endpoint shows
what a rebuild from the activity log gives (`recompute_progress` over emptied progress).
"""

from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import transaction

from targets.models import (
    EnrolmentSource,
    GroupEnrolment,
    ProgressRefresh,
    RefreshStatus,
    UserStreak,
    UserTarget,
)
from tests.api.test_config_api import URL, body_of, create, group_body, rule

CUSTOMER = 900000001
START = datetime.fromisoformat("2024-08-30T09:00:00+00:00")


class Rollback(Exception):
    pass


class Program:
    """One group of org 60001 driven through the APIs, on a clock that moves a minute a step."""

    def __init__(self, client, settings, **body):
        self.client, self.settings, self.step = client, settings, 0
        self.tick()
        self.group = create(client, group_body(name="Three coffees", **body))
        self.events = 0

    def tick(self):
        self.step += 1
        self.settings.TARGETS_NOW = (START + timedelta(minutes=self.step)).isoformat()

    def change(self, body):
        self.tick()
        response = self.client.patch(f"{URL}/{self.group['id']}", body, format="json")
        assert response.status_code == 200, response.content
        self.group = body_of(response)["data"]
        return self.group

    def post(self, action, **body):
        self.tick()
        response = self.client.post(f"{URL}/{self.group['id']}/{action}", body, format="json")
        assert response.status_code == 200, response.content
        return body_of(response)

    def event(self, amount=1, customer=CUSTOMER, at="2024-08-30T08:00:00Z"):
        self.tick()
        self.events += 1
        response = self.client.post(
            "/v3.1/activities",
            {
                "userId": customer,
                "entity": "EVENT",
                "eventName": "Coffee",
                "occurredAt": at,
                "amount": amount,
                "externalId": f"refresh-{self.group['id']}-{self.events}",
            },
            format="json",
        )
        assert response.status_code == 200, response.content
        assert body_of(response)["data"][0]["status"] == "APPLIED", response.content

    def shown(self, customer=CUSTOMER):
        response = self.client.get(
            f"/v3.1/users/{customer}/targetGroups?includeInactive=true&includeInactiveTargets=true"
        )
        assert response.status_code == 200, response.content
        groups = body_of(response)["data"]["targetGroups"]
        return [_without_row_ids(g) for g in groups if g["id"] == self.group["id"]]

    def rebuilt(self, customer=CUSTOMER):
        """What the endpoint shows after progress is rebuilt from the activity log alone."""
        try:
            with transaction.atomic():
                UserTarget.objects.filter(customer_id=customer).delete()
                UserStreak.objects.filter(customer_id=customer).delete()
                GroupEnrolment.objects.filter(customer_id=customer, source=EnrolmentSource.ACTIVITY).delete()
                call_command("recompute_progress", customer=customer, no_progress=True, stdout=None)
                shown = self.shown(customer)
                raise Rollback
        except Rollback:
            return shown

    def value(self, customer=CUSTOMER):
        """The current period's (achieved value, achieved?) after checking it equals a rebuild."""
        shown = self.shown(customer)
        assert shown == self.rebuilt(customer)
        if not shown:
            return None
        [current] = [t for t in shown[0]["targets"] if t["currentPeriod"]]
        return current["targetAchievedValue"], current["targetAchievedDateTime"] is not None


def _without_row_ids(group):
    """A rebuild creates new rows: compare whether a row exists, not its id."""
    for target in group["targets"]:
        target["targetId"] = target["targetId"] is not None
    for streak in group.get("streaks") or []:
        streak["userStreakId"] = streak["userStreakId"] is not None
        streak["streakAchievedUserTargetId"] = streak["streakAchievedUserTargetId"] is not None
    return group


@pytest.fixture
def coffee(demo, client_for):
    return client_for("democoffee")


def count_rule(**overrides):
    return rule(
        **{"targetEntity": "EVENT", "eventName": "Coffee", "targetType": "COUNT", "value": 3, **overrides}
    )


def test_lowering_a_count_target_achieves_it(coffee, settings):
    program = Program(coffee, settings, targets=[count_rule()])
    program.event()
    program.event()
    assert program.value() == (2, False)

    program.change({"targets": [{**program.group["targets"][0], "value": 2}]})

    assert program.value() == (2, True)


def test_a_capping_target_lowered_under_the_value_is_clamped(coffee, settings):
    program = Program(
        coffee,
        settings,
        trackingType="CAPPING",
        targets=[rule(targetEntity="EVENT", eventName="Coffee", targetType="GROSS_SALES", value=100)],
    )
    program.event(amount=80)
    assert program.value() == (80, False)

    program.change({"targets": [{**program.group["targets"][0], "value": 50}]})

    assert program.value() == (50, True)


@pytest.mark.parametrize("pause", ["rule", "group"])
def test_activity_received_while_paused_never_counts(coffee, settings, pause):
    program = Program(coffee, settings, targets=[count_rule()])
    program.event()

    def set_active(active):
        if pause == "group":
            program.change({"active": active})
        else:
            program.change({"targets": [{**program.group["targets"][0], "active": active}]})

    set_active(False)
    program.event()
    set_active(True)
    assert program.value() == (1, False)

    program.event()

    assert program.value() == (2, False)


def test_an_explicit_group_counts_activity_from_the_enrolment_on(coffee, settings):
    program = Program(coffee, settings, enrolment="EXPLICIT", targets=[count_rule()])
    program.event()

    program.post("enrol", userIds=[CUSTOMER])
    assert program.value() == (0, False)
    program.event()

    assert program.value() == (1, False)


def test_activity_received_while_unenrolled_never_counts_and_re_enrolment_resumes(coffee, settings):
    program = Program(coffee, settings, enrolment="EXPLICIT", targets=[count_rule()])
    program.post("enrol", userIds=[CUSTOMER])
    program.event()
    program.post("unenrol", userIds=[CUSTOMER])
    program.event()

    program.post("enrol", userIds=[CUSTOMER])
    assert program.value() == (1, False)
    program.event()

    assert program.value() == (2, False)


def test_extending_the_window_over_a_stored_event_counts_it(coffee, settings):
    program = Program(coffee, settings, targets=[count_rule()])
    program.event(at="2024-09-02T08:00:00Z")  # after the group's end: counts nowhere
    assert program.value() == (0, False)

    program.change({"endDate": "2024-09-02T23:59:59Z", "totalPeriods": 6})

    [group] = program.shown()
    assert [t["targetAchievedValue"] for t in group["targets"]] == [0, 0, 0, 0, 0, 1]
    assert program.value() == (0, False)


def test_a_backdated_program_counts_past_activity_after_one_change(coffee, settings):
    settings.TARGETS_NOW = "2024-08-30T08:30:00+00:00"
    response = coffee.post(
        "/v3.1/activities",
        {
            "userId": CUSTOMER,
            "entity": "EVENT",
            "eventName": "Coffee",
            "occurredAt": "2024-08-30T08:00:00Z",
            "externalId": "before-the-program",
        },
        format="json",
    )
    assert body_of(response)["data"][0]["status"] == "APPLIED"
    program = Program(coffee, settings, targets=[count_rule()])
    assert program.value() == (0, False)

    program.change({"countActivityFrom": "2024-08-28T00:00:00Z"})

    assert program.group["countActivityFrom"] == "2024-08-28T00:00:00.000Z"
    assert program.value() == (1, False)


def test_an_initial_balance_is_in_the_log_and_survives_a_rebuild(coffee, settings):
    program = Program(coffee, settings, enrolment="EXPLICIT", targets=[count_rule()])

    program.post("enrol", userIds=[CUSTOMER], initialBalance=2)
    assert program.value() == (2, False)
    program.event()

    assert program.value() == (3, True)


def test_re_enrolment_with_an_initial_balance_replaces_the_value(coffee, settings):
    program = Program(coffee, settings, enrolment="EXPLICIT", targets=[count_rule()])
    program.post("enrol", userIds=[CUSTOMER])
    program.event()
    program.event()
    program.post("unenrol", userIds=[CUSTOMER])

    program.post("enrol", userIds=[CUSTOMER], initialBalance=1)

    assert program.value() == (1, False)


# ---------------------------------------------------------------------------------------------
# The refresh itself: in the request when small, else a background task whose state shows.


def test_a_small_change_is_refreshed_in_the_request_and_shows_done(coffee, settings):
    program = Program(coffee, settings, targets=[count_rule()])
    program.event()

    group = program.change({"targets": [{**program.group["targets"][0], "value": 1}]})

    assert group["refresh"]["status"] == "DONE"
    assert (group["refresh"]["customersDone"], group["refresh"]["customersTotal"]) == (1, 1)
    assert group["refresh"]["background"] is False


@pytest.mark.django_db(transaction=True)  # the worker checks its connection as between requests
def test_a_large_change_runs_in_the_background_and_coalesces(coffee, settings):
    program = Program(coffee, settings, targets=[count_rule()])
    program.event()
    program.event(customer=900000002)
    settings.REFRESH_INLINE_LIMIT = 1

    first = program.change({"targets": [{**program.group["targets"][0], "value": 1}]})
    second = program.change({"description": "Changed again while the first is pending"})

    assert first["refresh"]["status"] == second["refresh"]["status"] == "PENDING"
    assert (
        ProgressRefresh.objects.filter(group_id=program.group["id"], status=RefreshStatus.PENDING).count()
        == 1
    )
    assert program.shown()[0]["targets"][2]["targetAchievedDateTime"] is None  # not yet refreshed

    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)

    response = coffee.get(f"{URL}/{program.group['id']}")
    assert body_of(response)["data"]["refresh"]["status"] == "DONE"
    assert body_of(response)["data"]["refresh"]["customersDone"] == 2
    for customer in (CUSTOMER, 900000002):
        assert program.value(customer) == (1, True)


def streak_of(program):
    shown = program.shown()
    assert shown == program.rebuilt()
    [streak] = shown[0]["streaks"]
    return streak["status"], streak["currentCount"]


@pytest.mark.parametrize("reset, expected", [(False, ("ACHIEVED", 3)), (True, ("IN_PROGRESS", 1))])
def test_re_enrolment_continues_a_streak_unless_told_to_reset_it(coffee, settings, reset, expected):
    program = Program(
        coffee,
        settings,
        enrolment="EXPLICIT",
        trackingType="STREAKS",
        targets=[count_rule(value=1)],
        streaks=[{"name": "Three days", "targetCountOfSequence": 3}],
    )
    program.post("enrol", userIds=[CUSTOMER])
    program.event(at="2024-08-28T08:00:00Z")
    program.event(at="2024-08-29T08:00:00Z")
    assert streak_of(program) == ("IN_PROGRESS", 2)
    program.post("unenrol", userIds=[CUSTOMER])

    program.post("enrol", userIds=[CUSTOMER], resetStreakStatus=reset)
    assert streak_of(program) == (("NOT_STARTED", 0) if reset else ("IN_PROGRESS", 2))
    program.event(at="2024-08-30T08:00:00Z")

    assert streak_of(program) == expected

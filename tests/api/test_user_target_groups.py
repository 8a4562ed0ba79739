"""GET /v3.1/users/{userId}/targetGroups: filters, associated groups, ordering, shape and the
computed fields (SPEC §3). The demo's org 50363 at the pinned clock, and groups built with
factories where a case needs its own data."""

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from customers.models import Customer
from targets.models import StreakStatus, TargetGroup, TargetRule, UserStreak
from tests.factories import (
    T0,
    CustomerFactory,
    EnrolmentFactory,
    GroupFactory,
    OrgFactory,
    PeriodFactory,
    RuleFactory,
    StreakFactory,
    TriggerFactory,
    UserTargetFactory,
    cross_org_enrolment,
    group_with_periods,
)
from tests.support import (
    DEMO_CLOCK_ENROLLED_ON,
    GATEWAY_READ,
    PASSWORD,
    READ,
    api_user,
    body,
    groups_by_name,
)

CUSTOMER = 347286146
NINE_GROUPS = [33008, 38135, 39540, 42775, 42788, 51922, 53230, 53235, 53236]

ATTRIBUTION_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
INSTANT_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")

GROUP_KEYS = ["id", "attribution", "name", "orgId", "preferredTillId", "targets"]
TARGET_KEYS = {
    "targetId",
    "orgId",
    "periodId",
    "periodRefCode",
    "periodStartDate",
    "periodEndDate",
    "targetValue",
    "targetAchievedValue",
    "targetName",
    "targetType",
    "targetEntity",
    "targetRuleId",
    "enrolledOn",
    "eventName",
    "periodStartDateWithTimeStamp",
    "periodEndDateWithTimeStamp",
    "targetAchievedDateTime",
    "streakAchievedDateTime",
    "currentPeriod",
    "milestones",
}
STREAK_KEYS = {
    "userStreakId",
    "streakId",
    "streakName",
    "status",
    "currentCount",
    "totalTargetCountOfSequence",
    "streakAchievedDateTime",
    "streakAchievedUserTargetId",
}


def get(client, customer_id=CUSTOMER, query="", *, gateway=False):
    path = (GATEWAY_READ if gateway else READ).format(customer_id)
    return client.get(f"{path}{'?' if query else ''}{query}")


def ok(client, customer_id=CUSTOMER, query="", **kwargs):
    response = get(client, customer_id, query, **kwargs)
    assert response.status_code == 200, response.content
    return body(response)


def targets_of(payload, group_id):
    (group,) = [g for g in payload["data"]["targetGroups"] if g["id"] == group_id]
    return group["targets"]


def ref_codes(payload, group_id):
    return [t["periodRefCode"] for t in targets_of(payload, group_id)]


# --- a small org of our own, for cases the demo does not have --------------------------------


@pytest.fixture
def shop(db, client_for, settings):
    """An org with one API till, customer `alice` and the clock inside the third of five daily
    periods (factories' groups start on T0 = 2024-08-01)."""
    settings.TARGETS_NOW = "2024-08-03T12:00:00.250Z"
    org = OrgFactory()
    user = api_user(org)

    class Shop:
        pass

    shop = Shop()
    shop.org = org
    shop.now = datetime(2024, 8, 3, 12, 0, 0, 250000, tzinfo=UTC)
    shop.alice = CustomerFactory(org=org)
    shop.client = client_for(user.username, PASSWORD)
    return shop


# --- includeInactive --------------------------------------------------------------------------


def test_by_default_each_group_lists_only_its_current_period(till_client):
    payload = ok(till_client)
    assert [g["id"] for g in payload["data"]["targetGroups"]] == NINE_GROUPS
    assert ref_codes(payload, 53230) == ["Cycle_5"]  # t1Fixed: 2024-08-30 holds the clock
    assert ref_codes(payload, 53235) == ["PERIOD_G_53235_3"]  # t1Cyclic: the customer's own window
    assert ref_codes(payload, 53236) == ["PERIOD_G_53236_2"]  # t1PA: the first period not achieved
    for group_id in (33008, 38135, 39540, 42775, 42788, 51922):  # every period is over
        assert targets_of(payload, group_id) == []
    for group in payload["data"]["targetGroups"]:
        assert all(t["currentPeriod"] is True for t in group["targets"])


def test_include_inactive_false_is_exactly_the_current_targets_of_the_full_list(till_client):
    everything = ok(till_client, query="includeInactive=true")
    current = ok(till_client, query="includeInactive=false")
    for full, only_current in zip(
        everything["data"]["targetGroups"], current["data"]["targetGroups"], strict=True
    ):
        assert only_current == {
            **full,
            "targets": [t for t in full["targets"] if t["currentPeriod"]],
        }
    assert sum(len(g["targets"]) for g in everything["data"]["targetGroups"]) == 22


def test_include_inactive_true_lists_every_period_in_sequence(till_client):
    payload = ok(till_client, query="includeInactive=true")
    assert ref_codes(payload, 53230) == ["Cycle_1", "Cycle_2", "Cycle_3", "Cycle_4", "Cycle_5"]
    assert [t["currentPeriod"] for t in targets_of(payload, 53230)] == [False] * 4 + [True]
    assert ref_codes(payload, 53235) == [f"PERIOD_G_53235_{n}" for n in range(1, 6)]
    assert ref_codes(payload, 51922) == ["period4445", "period44456"]


@pytest.mark.parametrize(
    ("query", "equivalent"),
    [
        ("includeInactive=TRUE", "includeInactive=true"),
        ("includeInactive=True", "includeInactive=true"),
        ("includeInactive=False", ""),
        ("includeInactive=FALSE&includeInactiveTargets=fAlSe", ""),
    ],
)
def test_booleans_are_read_in_any_case(till_client, query, equivalent):
    assert ok(till_client, query=query) == ok(till_client, query=equivalent)


def test_a_group_with_nothing_current_or_no_periods_is_listed_with_no_targets(shop):
    no_periods = GroupFactory(org=shop.org)
    RuleFactory(group=no_periods)
    over = group_with_periods(org=shop.org, periods=2)  # 1 and 2 August: before the clock
    payload = ok(shop.client, shop.alice.id)
    assert [(g["id"], g["targets"]) for g in payload["data"]["targetGroups"]] == [
        (no_periods.id, []),
        (over.id, []),
    ]
    assert len(targets_of(ok(shop.client, shop.alice.id, "includeInactive=true"), over.id)) == 2


# --- includeInactiveTargets -------------------------------------------------------------------


def test_include_inactive_targets_toggles_a_deactivated_group(till_client):
    TargetGroup.objects.filter(id=39540).update(active=False)
    default = ok(till_client, query="includeInactive=true")
    assert [g["id"] for g in default["data"]["targetGroups"]] == [i for i in NINE_GROUPS if i != 39540]
    explicit_false = ok(till_client, query="includeInactive=true&includeInactiveTargets=false")
    assert explicit_false == default
    everything = ok(till_client, query="includeInactive=true&includeInactiveTargets=true")
    assert [g["id"] for g in everything["data"]["targetGroups"]] == NINE_GROUPS
    assert ref_codes(everything, 39540) == ["Cycle_1"]


def test_include_inactive_targets_toggles_an_inactive_rule(shop):
    group = group_with_periods(
        org=shop.org,
        tracking_type="UNIFIED",
        rule_kwargs=[{"name": "Visits"}, {"name": "Retired rule", "active": False}],
    )
    visits, retired = TargetRule.objects.filter(group=group).order_by("id")
    default = ok(shop.client, shop.alice.id)
    assert [t["targetRuleId"] for t in targets_of(default, group.id)] == [visits.id]
    everything = ok(shop.client, shop.alice.id, "includeInactiveTargets=true")
    assert [t["targetRuleId"] for t in targets_of(everything, group.id)] == [visits.id, retired.id]


# --- targetRuleId -----------------------------------------------------------------------------


def test_target_rule_id_narrows_to_that_rule_and_leaves_out_other_groups(till_client):
    payload = ok(till_client, query="targetRuleId=113753&includeInactive=true")
    assert [g["id"] for g in payload["data"]["targetGroups"]] == [53230]
    assert {t["targetRuleId"] for t in targets_of(payload, 53230)} == {113753}
    assert len(targets_of(payload, 53230)) == 5
    current = ok(till_client, query="targetRuleId=113753")
    assert ref_codes(current, 53230) == ["Cycle_5"]


def test_target_rule_id_keeps_only_that_rule_of_a_unified_group(shop):
    group = group_with_periods(
        org=shop.org, tracking_type="UNIFIED", rule_kwargs=[{"name": "A"}, {"name": "B"}]
    )
    other = group_with_periods(org=shop.org)
    rule_a, rule_b = TargetRule.objects.filter(group=group).order_by("id")
    payload = ok(shop.client, shop.alice.id, f"targetRuleId={rule_b.id}&includeInactive=true")
    assert [g["id"] for g in payload["data"]["targetGroups"]] == [group.id]
    assert {t["targetRuleId"] for t in targets_of(payload, group.id)} == {rule_b.id}
    assert other.id not in [g["id"] for g in payload["data"]["targetGroups"]]


def test_target_rule_id_of_an_inactive_rule_needs_include_inactive_targets(shop):
    group = group_with_periods(org=shop.org, rule_kwargs={"active": False})
    rule = group.rules.get()
    assert ok(shop.client, shop.alice.id, f"targetRuleId={rule.id}")["data"]["targetGroups"] == []
    payload = ok(shop.client, shop.alice.id, f"targetRuleId={rule.id}&includeInactiveTargets=true")
    assert [g["id"] for g in payload["data"]["targetGroups"]] == [group.id]


def test_target_rule_id_of_no_associated_group_gives_an_empty_list(shop, till_client):
    foreign_rule = group_with_periods(org=shop.org).rules.get()
    for rule_id in (foreign_rule.id, 2**63 - 1):
        payload = ok(till_client, query=f"targetRuleId={rule_id}")
        assert payload["data"]["userId"] == CUSTOMER
        assert payload["data"]["targetGroups"] == []


# --- which groups are associated --------------------------------------------------------------


def test_explicit_groups_need_an_enrolment_and_other_customers_groups_are_not_listed(shop):
    everyone = group_with_periods(org=shop.org)
    explicit = group_with_periods(org=shop.org, enrolment="EXPLICIT")
    elsewhere = group_with_periods(org=OrgFactory())  # another org: never in scope here
    cross_org_enrolment(group=elsewhere, customer=shop.alice)  # refused by the database since issue 15
    bob = CustomerFactory(org=shop.org)
    EnrolmentFactory(group=explicit, customer=bob)
    listed = [g["id"] for g in ok(shop.client, shop.alice.id)["data"]["targetGroups"]]
    assert listed == [everyone.id]
    EnrolmentFactory(group=explicit, customer=shop.alice)
    listed = [g["id"] for g in ok(shop.client, shop.alice.id)["data"]["targetGroups"]]
    assert listed == [everyone.id, explicit.id]


# --- currentPeriod of CYCLIC and PERIOD_AGNOSTIC groups ---------------------------------------


def cyclic_periods(group, customer, first_start, count=3):
    return [
        PeriodFactory(
            group=group,
            customer=customer,
            sequence=n,
            ref_code=f"PERIOD_G_{group.id}_{n}",
            start=first_start + timedelta(days=n - 1),
            end=first_start + timedelta(days=n) - timedelta(seconds=1),
        )
        for n in range(1, count + 1)
    ]


def test_cyclic_groups_list_the_customers_own_periods(shop):
    group = GroupFactory(org=shop.org, target_evaluation_type="CYCLIC_WINDOW", total_periods=3)
    RuleFactory(group=group)
    # Alice started on 2 August 06:00, so the clock (3 August 12:00) is in her second period;
    # Bob started on 3 August 13:00, after the clock.
    alices = cyclic_periods(group, shop.alice, datetime(2024, 8, 2, 6, tzinfo=UTC))
    bob = CustomerFactory(org=shop.org)
    cyclic_periods(group, bob, datetime(2024, 8, 3, 13, tzinfo=UTC))
    carol = CustomerFactory(org=shop.org)  # no matching activity yet: no periods

    payload = ok(shop.client, shop.alice.id, "includeInactive=true")
    assert [(t["periodId"], t["currentPeriod"]) for t in targets_of(payload, group.id)] == [
        (alices[0].id, False),
        (alices[1].id, True),
        (alices[2].id, False),
    ]
    assert [t["periodId"] for t in targets_of(ok(shop.client, shop.alice.id), group.id)] == [alices[1].id]
    assert targets_of(ok(shop.client, bob.id), group.id) == []  # his first period has not begun
    assert len(targets_of(ok(shop.client, bob.id, "includeInactive=true"), group.id)) == 3
    assert targets_of(ok(shop.client, carol.id, "includeInactive=true"), group.id) == []


def test_period_agnostic_current_period_is_the_first_not_achieved(shop):
    group = group_with_periods(
        org=shop.org,
        periods=3,
        target_evaluation_type="PERIOD_AGNOSTIC_WINDOW",
        start=T0 - timedelta(days=30),
    )
    rule = group.rules.get()
    first, second, third = group.periods.order_by("sequence")
    done = datetime(2024, 8, 2, tzinfo=UTC)
    UserTargetFactory(rule=rule, period=first, customer=shop.alice, achieved_value=1000, achieved_at=done)
    UserTargetFactory(rule=rule, period=second, customer=shop.alice, achieved_value=200)

    payload = ok(shop.client, shop.alice.id, "includeInactive=true")  # no calendar: the clock is irrelevant
    assert [t["currentPeriod"] for t in targets_of(payload, group.id)] == [False, True, False]
    assert [t["periodId"] for t in targets_of(ok(shop.client, shop.alice.id), group.id)] == [second.id]

    UserTargetFactory(rule=rule, period=third, customer=shop.alice, achieved_value=1000, achieved_at=done)
    second.user_targets.update(achieved_value=1000, achieved_at=done)
    payload = ok(shop.client, shop.alice.id, "includeInactive=true")
    assert [t["currentPeriod"] for t in targets_of(payload, group.id)] == [False, False, False]
    assert targets_of(ok(shop.client, shop.alice.id), group.id) == []


def test_fixed_current_period_includes_its_last_second(shop, settings):
    group = group_with_periods(org=shop.org, periods=3)
    second = group.periods.get(sequence=2)
    settings.TARGETS_NOW = "2024-08-02T23:59:59.999Z"
    assert [t["periodId"] for t in targets_of(ok(shop.client, shop.alice.id), group.id)] == [second.id]
    settings.TARGETS_NOW = "2024-08-03T00:00:00Z"
    assert [t["periodRefCode"] for t in targets_of(ok(shop.client, shop.alice.id), group.id)] == ["Cycle_3"]


# --- milestones and streaks -------------------------------------------------------------------


def test_milestones_are_null_without_triggers_and_report_each_trigger(shop):
    plain = group_with_periods(org=shop.org, periods=3)
    laddered = group_with_periods(org=shop.org, periods=3, triggers=["750", "250"])
    rule = laddered.rules.get()
    low, high = rule.triggers.order_by("trigger_value")
    UserTargetFactory(
        rule=rule, period=laddered.periods.get(sequence=3), customer=shop.alice, achieved_value=300
    )

    UserTargetFactory(  # exactly at the lower trigger: reached
        rule=rule, period=laddered.periods.get(sequence=2), customer=shop.alice, achieved_value=250
    )

    payload = ok(shop.client, shop.alice.id, "includeInactive=true")
    assert all(t["milestones"] is None for t in targets_of(payload, plain.id))
    first, second, third = targets_of(payload, laddered.id)
    assert [m["isAchieved"] for m in second["milestones"]] == [True, False]
    assert third["milestones"] == [
        {"id": low.id, "triggerName": low.trigger_name, "triggerValue": 250, "isAchieved": True},
        {"id": high.id, "triggerName": high.trigger_name, "triggerValue": 750, "isAchieved": False},
    ]
    assert [m["isAchieved"] for m in first["milestones"]] == [False, False]  # no progress row


def streak_group(org, *, continuous=True, periods=4):
    tracking = "STREAKS" if continuous else "NON_CONTINUOUS_STREAK"
    return group_with_periods(org=org, periods=periods, tracking_type=tracking)


def achieve(group, customer, sequence, at):
    return UserTargetFactory(
        rule=group.rules.get(),
        period=group.periods.get(sequence=sequence),
        customer=customer,
        achieved_value=1000,
        achieved_at=at,
    )


def test_streak_achieved_reports_when_and_which_user_target_completed_it(shop):
    group = streak_group(shop.org)
    two = StreakFactory(group=group, target_count_of_sequence=2, continuous=True)
    three = StreakFactory(group=group, target_count_of_sequence=3, continuous=True)
    first = achieve(group, shop.alice, 1, datetime(2024, 8, 1, 10, tzinfo=UTC))
    second = achieve(group, shop.alice, 2, datetime(2024, 8, 2, 9, 30, 15, 120000, tzinfo=UTC))
    stored = UserStreak.objects.create(
        org=shop.org, customer=shop.alice, streak=two, status=StreakStatus.ACHIEVED, current_count=2
    )

    payload = ok(shop.client, shop.alice.id, "includeInactive=true")
    (group_out,) = payload["data"]["targetGroups"]
    assert group_out["streaks"] == [
        {
            "userStreakId": stored.id,
            "streakId": two.id,
            "streakName": two.name,
            "status": "ACHIEVED",
            "currentCount": 2,
            "totalTargetCountOfSequence": 2,
            "streakAchievedDateTime": "2024-08-02T09:30:15.120Z",
            "streakAchievedUserTargetId": second.id,
        },
        {
            "userStreakId": None,
            "streakId": three.id,
            "streakName": three.name,
            "status": "IN_PROGRESS",
            "currentCount": 2,
            "totalTargetCountOfSequence": 3,
            "streakAchievedDateTime": None,
            "streakAchievedUserTargetId": None,
        },
    ]
    by_target = {t["targetId"]: t for t in group_out["targets"]}
    assert by_target[second.id]["streakAchievedDateTime"] == "2024-08-02T09:30:15.120Z"
    assert by_target[first.id]["streakAchievedDateTime"] is None
    assert by_target[first.id]["targetAchievedDateTime"] == "2024-08-01T10:00:00.000Z"


def test_a_missed_closed_period_drops_a_continuous_streak_but_not_a_non_continuous_one(shop, settings):
    settings.TARGETS_NOW = "2024-08-04T12:00:00Z"  # periods 1-3 are over, 4 is current
    continuous = streak_group(shop.org)
    loose = streak_group(shop.org, continuous=False)
    for group in (continuous, loose):
        StreakFactory(group=group, target_count_of_sequence=3, continuous=group is continuous)
        achieve(group, shop.alice, 1, datetime(2024, 8, 1, 12, tzinfo=UTC))
        achieve(group, shop.alice, 3, datetime(2024, 8, 3, 12, tzinfo=UTC))
    streaks = {g["id"]: g["streaks"] for g in ok(shop.client, shop.alice.id)["data"]["targetGroups"]}
    assert [(s["status"], s["currentCount"]) for s in streaks[continuous.id]] == [("IN_PROGRESS", 1)]
    assert [(s["status"], s["currentCount"]) for s in streaks[loose.id]] == [("IN_PROGRESS", 2)]

    settings.TARGETS_NOW = "2024-08-05T00:00:00Z"  # period 4 closed without progress
    streaks = {g["id"]: g["streaks"] for g in ok(shop.client, shop.alice.id)["data"]["targetGroups"]}
    assert [(s["status"], s["currentCount"]) for s in streaks[continuous.id]] == [("DROPPED", 0)]
    assert [(s["status"], s["currentCount"]) for s in streaks[loose.id]] == [("IN_PROGRESS", 2)]


def test_streaks_are_present_exactly_on_streak_groups(shop, till_client):
    payload = ok(till_client)
    for group in payload["data"]["targetGroups"]:
        assert ("streaks" in group) is (group["trackingType"] in {"STREAKS", "NON_CONTINUOUS_STREAK"})
    bare = streak_group(shop.org)  # a streak group without streaks yet
    assert groups_by_name(ok(shop.client, shop.alice.id))[bare.name]["streaks"] == []
    (streak,) = groups_by_name(payload)["streakTest112"]["streaks"][:1]
    assert streak["status"] == "NOT_STARTED" and streak["currentCount"] == 0


# --- ordering ---------------------------------------------------------------------------------


def test_order_groups_by_id_targets_by_rule_then_sequence_streaks_by_id(shop):
    later = streak_group(shop.org, periods=3)
    StreakFactory(group=later, target_count_of_sequence=3)
    StreakFactory(group=later, target_count_of_sequence=1)
    unified = GroupFactory(org=shop.org, tracking_type="UNIFIED", total_periods=3)
    for sequence in (3, 1, 2):  # created out of order: ids do not follow the sequence
        PeriodFactory(group=unified, sequence=sequence)
    rules = [RuleFactory(group=unified, name=name) for name in ("Second by name", "First by name")]

    payload = ok(shop.client, shop.alice.id, "includeInactive=true")
    assert [g["id"] for g in payload["data"]["targetGroups"]] == [later.id, unified.id]
    assert [(t["targetRuleId"], t["periodRefCode"]) for t in targets_of(payload, unified.id)] == [
        (rule.id, f"Cycle_{n}") for rule in rules for n in (1, 2, 3)
    ]
    streak_ids = [s["streakId"] for s in groups_by_name(payload)[later.name]["streaks"]]
    assert streak_ids == sorted(streak_ids) and len(streak_ids) == 2


# --- shape, formats and numbers ---------------------------------------------------------------


def test_envelope_and_shape(till_client):
    payload = ok(till_client, query="includeInactive=true")
    assert list(payload) == ["data", "errors", "warnings"]
    assert payload["errors"] is None and payload["warnings"] is None
    data = payload["data"]
    assert list(data) == ["userId", "customer", "targetGroups"]
    assert data["userId"] == CUSTOMER and data["customer"]["id"] == CUSTOMER
    customer = data["customer"]
    assert list(customer) == ["id", "profiles", "loyaltyInfo", "customFields"]
    attribution = customer["loyaltyInfo"]["attribution"]
    for who in ("createdBy", "lastUpdatedBy"):
        actor = attribution[who]
        assert isinstance(actor["id"], int)
        assert {k: v for k, v in actor.items() if k != "id"} == dict.fromkeys(
            ("code", "description", "name", "type")
        )
    for group in data["targetGroups"]:
        assert list(group)[:6] == GROUP_KEYS
        assert list(group)[-2:] == ["targetEvaluationType", "trackingType"]
        assert group["orgId"] == 50363
        assert group["attribution"]["createdBy"]["type"] in {"ADMIN_USER", "TILL"}
        assert group["attribution"]["createdBy"]["code"] is not None
        for target in group["targets"]:
            assert set(target) == TARGET_KEYS
        for streak in group.get("streaks", []):
            assert set(streak) == STREAK_KEYS


def test_time_formats(till_client):
    data = ok(till_client, query="includeInactive=true")["data"]
    times = [data["customer"]["loyaltyInfo"]["attribution"][k] for k in ("createdOn", "lastUpdatedOn")]
    for group in data["targetGroups"]:
        times += [group["attribution"]["createdOn"], group["attribution"]["lastUpdatedOn"]]
        for target in group["targets"]:
            assert ATTRIBUTION_TIME.match(target["enrolledOn"])
            assert DATE.match(target["periodStartDate"]) and DATE.match(target["periodEndDate"])
            assert INSTANT_Z.match(target["periodStartDateWithTimeStamp"])
            assert INSTANT_Z.match(target["periodEndDateWithTimeStamp"])
            for key in ("targetAchievedDateTime", "streakAchievedDateTime"):
                assert target[key] is None or INSTANT_Z.match(target[key])
    assert all(ATTRIBUTION_TIME.match(t) for t in times)
    (cycle_2,) = [t for t in targets_of({"data": data}, 53230) if t["periodRefCode"] == "Cycle_2"]
    assert cycle_2["periodStartDate"] == "2024-08-27"
    assert cycle_2["periodEndDateWithTimeStamp"] == "2024-08-27T23:59:59.000Z"


def test_enrolled_on_is_the_request_time_for_rows_without_progress(till_client, settings):
    payload = ok(till_client, query="includeInactive=true")
    rows = [t for g in payload["data"]["targetGroups"] for t in g["targets"]]
    without = [t for t in rows if t["targetId"] is None]
    assert without and all(t["enrolledOn"] == DEMO_CLOCK_ENROLLED_ON for t in without)
    assert all(t["targetAchievedValue"] == 0 for t in without)
    with_progress = [t for t in rows if t["targetId"] is not None]
    assert with_progress and all(t["enrolledOn"] != DEMO_CLOCK_ENROLLED_ON for t in with_progress)

    settings.TARGETS_NOW = "2025-01-02T03:04:05.678Z"
    later = ok(till_client, query="includeInactive=true")
    rows = [t for g in later["data"]["targetGroups"] for t in g["targets"] if t["targetId"] is None]
    assert {t["enrolledOn"] for t in rows} == {"2025-01-02T03:04:05.678+0000"}


def test_decimals_render_as_json_numbers(shop):
    group = group_with_periods(org=shop.org, periods=3, rule_kwargs={"target_value": Decimal("12.345")})
    rule = group.rules.get()
    TriggerFactory(rule=rule, trigger_value=Decimal("0.5"))
    UserTargetFactory(
        rule=rule, period=group.periods.get(sequence=3), customer=shop.alice, achieved_value=Decimal("7.250")
    )
    Customer.objects.filter(id=shop.alice.id).update(lifetime_purchases=Decimal("2400.000"))
    response = get(shop.client, shop.alice.id)
    raw = response.content.decode()
    assert '"targetValue":12.345' in raw
    assert '"targetAchievedValue":7.25' in raw
    assert '"triggerValue":0.5' in raw
    assert '"lifetimePurchases":2400' in raw
    payload = body(response)
    (target,) = targets_of(payload, group.id)
    for value in (
        target["targetValue"],
        target["targetAchievedValue"],
        target["milestones"][0]["triggerValue"],
    ):
        assert isinstance(value, (int, float)) and not isinstance(value, bool)


def test_profiles_and_channels_are_rendered(till_client):
    (profile,) = ok(till_client)["data"]["customer"]["profiles"]
    assert profile["userId"] == CUSTOMER
    assert profile["commChannels"] and {c["type"] for c in profile["commChannels"]} >= {"mobile"}


# --- both URL forms ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("customer_id", "query"),
    [
        (CUSTOMER, ""),
        (CUSTOMER, "includeInactive=true"),
        (CUSTOMER, "includeInactive=true&includeInactiveTargets=true&targetRuleId=113753"),
        (900000001, ""),  # outside the scope: the same 404
        (999999999, ""),  # unknown: the same 404
        ("abc", ""),  # the same 400
        (CUSTOMER, "includeInactive=yes"),
    ],
)
def test_both_url_forms_answer_the_same(till_client, customer_id, query):
    direct = get(till_client, customer_id, query)
    gateway = get(till_client, customer_id, query, gateway=True)
    assert (direct.status_code, direct.content) == (gateway.status_code, gateway.content)
    assert json.loads(direct.content)  # and it is JSON


def test_a_trailing_slash_is_accepted(till_client):
    plain = get(till_client, query="includeInactive=true")
    slashed = till_client.get(READ.format(CUSTOMER) + "/?includeInactive=true")
    assert (slashed.status_code, slashed.content) == (200, plain.content)

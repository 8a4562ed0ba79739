"""Activity in, progress out (SPEC §4): `targets.progress.ingest.activity_ingest` against the database.

Groups are built with factories (org timezone UTC unless a case needs another; daily periods
from T0 = 2024-08-01; groups created the day before T0). Activity is ingested through the engine
with an explicit `now`, and the stored progress rows are read back.
"""

import io
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection

from customers.models import Customer
from targets.models import (
    Activity,
    GroupEnrolment,
    StreakStatus,
    TargetPeriod,
    UserMilestone,
    UserStreak,
    UserTarget,
)
from targets.progress.ingest import APPLIED, DUPLICATE, REJECTED, activity_ingest
from tests.factories import (
    T0,
    ActorFactory,
    CustomerFactory,
    EnrolmentFactory,
    GroupFactory,
    OrgFactory,
    PeriodFactory,
    RuleFactory,
    StreakFactory,
    TriggerFactory,
    group_with_periods,
)
from tests.support import PASSWORD, READ, api_user, body

pytestmark = pytest.mark.django_db

NOW = T0 + timedelta(days=20)  # after every period of the default five-day groups
_external_ids = itertools.count(1)


def at(day, hour=12, minute=0):
    """Day `day` (1-based) of a default group, at hour:minute UTC."""
    return T0 + timedelta(days=day - 1, hours=hour, minutes=minute)


def item(customer, when, amount=None, *, entity="TRANSACTION", event="TransactionAdd", **extra):
    """One activity as posted to the API."""
    data = {
        "userId": customer.id,
        "entity": entity,
        "eventName": event,
        "occurredAt": when.isoformat() if isinstance(when, datetime) else when,
        "externalId": extra.pop("externalId", f"engine-{next(_external_ids)}"),
    }
    if amount is not None:
        data["amount"] = str(amount)
    data.update(extra)
    return data


def ingest(customer, *items, now=NOW, actor=None):
    return activity_ingest(org=customer.org, items=list(items), now=now, actor=actor)


def statuses(results):
    return [r.status for r in results]


def targets(customer, group):
    """[(rule name, period sequence, achieved value)] ordered by rule and period."""
    return [
        (ut.rule.name, ut.period.sequence, ut.achieved_value)
        for ut in UserTarget.objects.filter(customer=customer, rule__group=group)
        .select_related("rule", "period")
        .order_by("rule_id", "period__sequence")
    ]


def values(customer, group):
    """{period sequence: achieved value} of a one-rule group."""
    return {sequence: value for _, sequence, value in targets(customer, group)}


def user_target(customer, group, sequence, rule=None):
    query = UserTarget.objects.filter(customer=customer, rule__group=group, period__sequence=sequence)
    return query.get(rule=rule) if rule is not None else query.get()


def snapshot(*customers):
    """Every progress row of the customers and the customers themselves, as plain values."""
    ids = [c.id for c in customers]
    return {
        "activities": list(Activity.objects.filter(customer_id__in=ids).order_by("id").values()),
        "targets": list(UserTarget.objects.filter(customer_id__in=ids).order_by("id").values()),
        "milestones": list(
            UserMilestone.objects.filter(user_target__customer_id__in=ids).order_by("id").values()
        ),
        "streaks": list(UserStreak.objects.filter(customer_id__in=ids).order_by("id").values()),
        "enrolments": list(GroupEnrolment.objects.filter(customer_id__in=ids).order_by("id").values()),
        "periods": list(TargetPeriod.objects.filter(customer_id__in=ids).order_by("id").values()),
        "customers": list(Customer.objects.filter(id__in=ids).order_by("id").values()),
    }


@pytest.fixture
def shop():
    """A one-rule FIXED DEFAULT group (GROSS_SALES 1,000 a day, five days) and a customer."""
    group = group_with_periods(periods=5)
    return group, CustomerFactory(org=group.org)


# --- KPIs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target_type", "expected"),
    [
        ("COUNT", Decimal(3)),
        ("VISIT", Decimal(2)),
        ("GROSS_SALES", Decimal("600.750")),
        ("SALES", Decimal("540.250")),  # 90 + 250.75 (no net: the amount) + 199.5
        ("QUANTITY", Decimal(6)),
        ("SUM", Decimal(5)),
    ],
)
def test_each_kpi_adds_its_measure_of_every_matching_activity(target_type, expected):
    group = group_with_periods(
        periods=5,
        rule_kwargs={"target_type": target_type, "attribute": "cakes", "target_value": Decimal(10_000)},
    )
    customer = CustomerFactory(org=group.org)
    results = ingest(
        customer,
        item(customer, at(2, 9), "100", netAmount="90", quantity=1, attributes={"cakes": 2}),
        item(customer, at(2, 10), "250.75", quantity="2", attributes={"cakes": "3"}),
        item(customer, at(3, 9), "250", netAmount="199.5", quantity=3, attributes={"cakes": "lots"}),
    )
    assert statuses(results) == [APPLIED] * 3
    total = sum(values(customer, group).values())
    assert total == expected


def test_amounts_are_rounded_to_thousandths():
    group = group_with_periods(periods=5, rule_kwargs={"target_value": Decimal(10)})
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(1), "0.0004"), item(customer, at(1, 13), "1.0005"))
    assert values(customer, group) == {1: Decimal("1.001")}
    assert Customer.objects.get(id=customer.id).lifetime_purchases == Decimal("1.001")


def test_visit_counts_one_per_local_day_across_a_timezone_boundary():
    """Org Asia/Kolkata (UTC+05:30): 18:00Z and 19:00Z on the 27th are different local days
    (23:30 and 00:30); 10:00Z and 17:00Z the same (15:30 and 22:30)."""
    org = OrgFactory(timezone="Asia/Kolkata")
    start = datetime(2024, 8, 26, 18, 30, tzinfo=UTC)  # 2024-08-27 00:00 local
    group = group_with_periods(
        org=org, start=start, periods=3, rule_kwargs={"target_type": "VISIT", "target_value": Decimal(10)}
    )
    first, second = CustomerFactory(org=org), CustomerFactory(org=org)
    now = start + timedelta(days=10)
    ingest(
        first,
        item(first, "2024-08-27T18:00:00Z"),
        item(first, "2024-08-27T19:00:00Z"),
        now=now,
    )
    ingest(
        second,
        item(second, "2024-08-27T10:00:00Z"),
        item(second, "2024-08-27T17:00:00Z"),
        now=now,
    )
    # The periods are local days too: 19:00Z on the 27th falls in the period of the 28th.
    assert values(first, group) == {1: 1, 2: 1}
    assert values(second, group) == {1: 1}


def test_visit_counts_once_per_local_day_within_one_long_period():
    org = OrgFactory(timezone="Asia/Kolkata")
    start = datetime(2024, 8, 26, 18, 30, tzinfo=UTC)
    group = GroupFactory(org=org, start=start, end=start + timedelta(days=7, seconds=-1), total_periods=1)
    PeriodFactory(group=group, sequence=1, start=group.start, end=group.end)
    RuleFactory(group=group, target_type="VISIT", target_value=Decimal(10))
    customer = CustomerFactory(org=org)
    ingest(
        customer,
        item(customer, "2024-08-27T10:00:00Z"),
        item(customer, "2024-08-27T17:00:00Z"),
        item(customer, "2024-08-27T18:00:00Z"),
        item(customer, "2024-08-27T19:00:00Z"),
        now=start + timedelta(days=10),
    )
    assert values(customer, group) == {1: 2}


# --- windows -------------------------------------------------------------------------------


def test_fixed_window_counts_activity_in_the_period_containing_it(shop):
    group, customer = shop
    ingest(
        customer,
        item(customer, at(1, 0, 0), "100"),
        item(customer, at(3, 23, 59), "200"),
        item(customer, at(3, 1), "300"),
        item(customer, at(6, 0, 0), "999"),  # after the group's end
        item(customer, T0 - timedelta(seconds=1), "999"),  # before its start
    )
    assert values(customer, group) == {1: 100, 3: 500}


def cyclic_group(*, frequency_type="DAILY", frequency=1, total_periods=5, end=None, **rule_kwargs):
    group = GroupFactory(
        target_evaluation_type="CYCLIC_WINDOW",
        frequency_type=frequency_type,
        frequency=frequency,
        total_periods=total_periods,
        end=end or T0 + timedelta(days=60),
    )
    RuleFactory(group=group, **rule_kwargs)
    return group


def periods_of(customer, group):
    return list(
        TargetPeriod.objects.filter(group=group, customer=customer)
        .order_by("sequence")
        .values_list("ref_code", "sequence", "start", "end")
    )


def test_cyclic_periods_are_created_at_the_customers_first_matching_activity():
    group = cyclic_group(frequency_type="WEEKLY", frequency=2, total_periods=3)
    customer = CustomerFactory(org=group.org)
    assert periods_of(customer, group) == []
    ingest(customer, item(customer, "2024-08-10T15:20:05Z", "300"))
    anchor = datetime(2024, 8, 10, 15, 20, 5, tzinfo=UTC)
    fortnight = timedelta(weeks=2)
    assert periods_of(customer, group) == [
        (f"PERIOD_G_{group.id}_{n}", n, anchor + (n - 1) * fortnight, anchor + n * fortnight)
        for n in (1, 2, 3)
    ]
    assert values(customer, group) == {1: 300}


def test_cyclic_periods_are_the_customers_own_and_are_reused():
    group = cyclic_group(total_periods=3)
    first, second = CustomerFactory(org=group.org), CustomerFactory(org=group.org)
    ingest(first, item(first, at(1, 9), "100"))
    ingest(second, item(second, at(2, 18), "100"))
    assert periods_of(first, group)[0][2] == at(1, 9)
    assert periods_of(second, group)[0][2] == at(2, 18)
    before = periods_of(first, group)
    ids = set(TargetPeriod.objects.filter(group=group, customer=first).values_list("id", flat=True))
    # Later activity falls in the existing periods: the second cycle starts a day after the first.
    ingest(first, item(first, at(2, 10), "200"), item(first, at(3, 8, 59), "50"))
    assert periods_of(first, group) == before
    assert set(TargetPeriod.objects.filter(group=group, customer=first).values_list("id", flat=True)) == ids
    assert values(first, group) == {1: 100, 2: 250}
    assert not TargetPeriod.objects.filter(group=group, customer__isnull=True).exists()


def test_cyclic_periods_are_contiguous_and_clipped_at_the_group_end():
    end = T0 + timedelta(days=3, hours=6)
    group = cyclic_group(total_periods=10, end=end)
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(1, 12), "1"))
    periods = periods_of(customer, group)
    assert [p[1] for p in periods] == [1, 2, 3]
    assert all(previous[3] == following[2] for previous, following in itertools.pairwise(periods))
    assert periods[-1][2:] == (at(3, 12), end)


def test_cyclic_monthly_periods_step_by_calendar_months():
    group = cyclic_group(frequency_type="MONTHLY", total_periods=3, end=T0 + timedelta(days=200))
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, "2024-08-31T10:00:00Z", "1"))
    starts = [p[2].date().isoformat() for p in periods_of(customer, group)]
    assert starts == ["2024-08-31", "2024-09-30", "2024-10-31"]


def test_cyclic_activity_in_the_last_second_of_the_group_opens_a_valid_period():
    """The group window is compared to the second: an activity at end + 0.5 s matches and its
    cycle starts (and ends) at the group's end."""
    end = T0 + timedelta(days=3, seconds=-1)
    group = cyclic_group(total_periods=2, end=end)
    customer = CustomerFactory(org=group.org)
    results = ingest(customer, item(customer, end + timedelta(milliseconds=500), "40"))
    assert statuses(results) == [APPLIED]
    assert periods_of(customer, group) == [(f"PERIOD_G_{group.id}_1", 1, end, end)]
    assert values(customer, group) == {1: 40}


def test_cyclic_periods_are_not_created_by_activity_that_does_not_match():
    group = cyclic_group()
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(1), "5", event="PointsRedeem"), item(customer, at(90), "5"))
    assert periods_of(customer, group) == []
    assert not UserTarget.objects.filter(customer=customer).exists()


def agnostic_group(periods=4, **kwargs):
    return group_with_periods(periods=periods, target_evaluation_type="PERIOD_AGNOSTIC_WINDOW", **kwargs)


def test_period_agnostic_carries_the_excess_over_across_more_than_two_periods():
    group = agnostic_group(periods=4)
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(1), "1200"))
    assert values(customer, group) == {1: 1000, 2: 200}
    ingest(customer, item(customer, at(2), "1900"))
    assert values(customer, group) == {1: 1000, 2: 1000, 3: 1000, 4: 100}
    assert user_target(customer, group, 1).achieved_at == at(1)
    assert user_target(customer, group, 2).achieved_at == at(2)
    assert user_target(customer, group, 3).achieved_at == at(2)
    assert user_target(customer, group, 4).achieved_at is None


def test_period_agnostic_last_period_keeps_what_is_left():
    group = agnostic_group(periods=3)
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(1), "5000"))
    assert values(customer, group) == {1: 1000, 2: 1000, 3: 3000}


def test_period_agnostic_capping_caps_the_last_period():
    group = agnostic_group(periods=3, tracking_type="CAPPING")
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(1), "5000"))
    assert values(customer, group) == {1: 1000, 2: 1000, 3: 1000}


# --- tracking types ------------------------------------------------------------------------


def test_default_tracking_lets_the_value_exceed_the_target(shop):
    group, customer = shop
    ingest(customer, item(customer, at(1, 9), "700"), item(customer, at(1, 10), "500"))
    assert values(customer, group) == {1: 1200}
    assert user_target(customer, group, 1).achieved_at == at(1, 10)


def test_capping_never_goes_over_the_target():
    group = group_with_periods(periods=5, tracking_type="CAPPING")
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(1, 9), "700"))
    ingest(customer, item(customer, at(1, 10), "500"), item(customer, at(1, 11), "5000"))
    assert values(customer, group) == {1: 1000}
    assert user_target(customer, group, 1).achieved_at == at(1, 10)


def streak_group(*, needed=2, continuous=True, periods=5):
    tracking = "STREAKS" if continuous else "NON_CONTINUOUS_STREAK"
    group = group_with_periods(periods=periods, tracking_type=tracking)
    streak = StreakFactory(group=group, target_count_of_sequence=needed, continuous=continuous)
    return group, streak, CustomerFactory(org=group.org)


def user_streak(customer, streak):
    return UserStreak.objects.get(customer=customer, streak=streak)


def test_streak_reaches_achieved_with_the_completing_user_target(reader, settings):
    group, streak, customer = streak_group(needed=3)
    ingest(customer, item(customer, at(1), "1000"), now=at(1, 18))
    assert (user_streak(customer, streak).status, user_streak(customer, streak).current_count) == (
        StreakStatus.IN_PROGRESS,
        1,
    )
    ingest(customer, item(customer, at(2), "1000"), item(customer, at(3, 8), "400"), now=at(3, 9))
    assert user_streak(customer, streak).current_count == 2
    ingest(customer, item(customer, at(3, 20), "600"), now=at(3, 21))
    state = user_streak(customer, streak)
    assert (state.status, state.current_count, state.achieved_at) == (StreakStatus.ACHIEVED, 3, at(3, 20))
    assert state.achieved_user_target == user_target(customer, group, 3)

    settings.TARGETS_NOW = at(3, 21).isoformat()
    (read,) = body(reader(group.org).get(READ.format(customer.id)))["data"]["targetGroups"]
    (shown,) = read["streaks"]
    assert shown == {
        "userStreakId": state.id,
        "streakId": streak.id,
        "streakName": streak.name,
        "status": "ACHIEVED",
        "currentCount": 3,
        "totalTargetCountOfSequence": 3,
        "streakAchievedDateTime": "2024-08-03T20:00:00.000Z",
        "streakAchievedUserTargetId": state.achieved_user_target_id,
    }
    (current,) = read["targets"]
    assert (current["targetId"], current["streakAchievedDateTime"]) == (
        state.achieved_user_target_id,
        "2024-08-03T20:00:00.000Z",
    )


def test_an_achieved_streak_stays_achieved_after_a_missed_period():
    group, streak, customer = streak_group(needed=2)
    ingest(customer, item(customer, at(1), "1000"), item(customer, at(2), "1000"), now=at(2, 13))
    ingest(customer, item(customer, at(4), "1"), now=at(4, 13))  # day 3 missed and closed
    state = user_streak(customer, streak)
    assert (state.status, state.current_count, state.achieved_at) == (StreakStatus.ACHIEVED, 2, at(2))
    assert state.achieved_user_target == user_target(customer, group, 2)


def test_continuous_streak_is_dropped_after_a_missed_closed_period(reader, settings):
    _, streak, customer = streak_group(needed=3)
    ingest(customer, item(customer, at(1), "1000"), now=at(1, 13))
    # Day 2 is still open: the run is intact.
    ingest(customer, item(customer, at(2, 9), "10"), now=at(2, 10))
    assert user_streak(customer, streak).status == StreakStatus.IN_PROGRESS
    # Day 2 closed unachieved: the run is lost.
    ingest(customer, item(customer, at(3, 9), "10"), now=at(3, 10))
    state = user_streak(customer, streak)
    assert (state.status, state.current_count) == (StreakStatus.DROPPED, 0)
    settings.TARGETS_NOW = at(3, 10).isoformat()
    (read,) = body(reader(customer.org).get(READ.format(customer.id)))["data"]["targetGroups"]
    assert [(s["status"], s["currentCount"]) for s in read["streaks"]] == [("DROPPED", 0)]
    # A new run starts from zero.
    ingest(customer, item(customer, at(3, 10), "1000"), now=at(3, 11))
    state = user_streak(customer, streak)
    assert (state.status, state.current_count) == (StreakStatus.IN_PROGRESS, 1)


def test_non_continuous_streak_keeps_counting_after_a_missed_period():
    group, streak, customer = streak_group(needed=3, continuous=False)
    ingest(customer, item(customer, at(1), "1000"), now=at(1, 13))
    ingest(customer, item(customer, at(3), "1000"), now=at(3, 13))  # day 2 missed and closed
    state = user_streak(customer, streak)
    assert (state.status, state.current_count) == (StreakStatus.IN_PROGRESS, 2)
    ingest(customer, item(customer, at(5), "1000"), now=at(5, 13))
    state = user_streak(customer, streak)
    assert (state.status, state.current_count, state.achieved_at) == (StreakStatus.ACHIEVED, 3, at(5))
    assert state.achieved_user_target == user_target(customer, group, 5)


def test_no_user_streak_before_any_period_is_achieved():
    _, streak, customer = streak_group(needed=2)
    ingest(customer, item(customer, at(1), "10"), now=at(1, 13))
    assert not UserStreak.objects.filter(customer=customer, streak=streak).exists()


@pytest.fixture
def reader(client_for):
    """A read-endpoint client for an org: reader(org)."""
    return lambda org: client_for(api_user(org).username, PASSWORD)


def test_unified_rules_are_tracked_independently_and_the_group_achieves_only_when_all_are(reader, settings):
    group = agnostic_group(
        periods=3,
        tracking_type="UNIFIED",
        rule_kwargs=[
            {"name": "Spend", "target_value": Decimal(1000)},
            {"name": "Visits", "target_type": "COUNT", "target_value": Decimal(2)},
        ],
    )
    spend, visits = group.rules.order_by("id")
    customer = CustomerFactory(org=group.org)
    client = reader(group.org)
    settings.TARGETS_NOW = NOW.isoformat()

    def current_period():
        response = client.get(READ.format(customer.id) + "?includeInactive=true")
        assert response.status_code == 200, response.content
        (read,) = body(response)["data"]["targetGroups"]
        return {t["periodRefCode"] for t in read["targets"] if t["currentPeriod"]}

    ingest(customer, item(customer, at(1, 9), "1500"))
    assert targets(customer, group) == [("Spend", 1, 1000), ("Spend", 2, 500), ("Visits", 1, 1)]
    assert user_target(customer, group, 1, spend).achieved_at == at(1, 9)
    assert user_target(customer, group, 1, visits).achieved_at is None
    assert current_period() == {"Cycle_1"}  # spend is achieved, visits not: still period 1

    ingest(customer, item(customer, at(1, 10), "10"))
    assert user_target(customer, group, 1, visits).achieved_at == at(1, 10)
    assert current_period() == {"Cycle_2"}


def test_an_inactive_unified_rule_does_not_hold_the_current_period_back(reader, settings):
    """The engine ignores inactive rules; the read endpoint's currentPeriod agrees with it."""
    group = agnostic_group(
        periods=3,
        tracking_type="UNIFIED",
        rule_kwargs=[
            {"name": "Spend", "target_value": Decimal(1000)},
            {"name": "Visits", "target_type": "COUNT", "target_value": Decimal(2), "active": False},
        ],
    )
    customer = CustomerFactory(org=group.org)
    settings.TARGETS_NOW = NOW.isoformat()
    ingest(customer, item(customer, at(1, 9), "1000"))
    response = reader(group.org).get(
        READ.format(customer.id) + "?includeInactive=true&includeInactiveTargets=true"
    )
    (read,) = body(response)["data"]["targetGroups"]
    assert {t["periodRefCode"] for t in read["targets"] if t["currentPeriod"]} == {"Cycle_2"}


def test_unified_fixed_rules_are_each_evaluated_on_their_own_kpi():
    group = group_with_periods(
        periods=5,
        tracking_type="UNIFIED",
        rule_kwargs=[
            {"name": "Spend", "target_value": Decimal(500)},
            {"name": "Cups", "target_type": "QUANTITY", "target_value": Decimal(3)},
        ],
    )
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(1), "600", quantity=1), item(customer, at(1, 13), "1", quantity=2))
    assert targets(customer, group) == [("Spend", 1, Decimal(601)), ("Cups", 1, Decimal(3))]


# --- milestone triggers --------------------------------------------------------------------


def test_milestone_triggers_are_achieved_when_the_value_reaches_them(reader, settings):
    group = group_with_periods(periods=5, triggers=("250", "500", "900"))
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(1, 9), "249.999"))
    assert not UserMilestone.objects.filter(user_target__customer=customer).exists()
    ingest(customer, item(customer, at(1, 10), "0.001"), item(customer, at(1, 11), "300"))
    achieved = dict(
        UserMilestone.objects.filter(user_target__customer=customer).values_list(
            "trigger__trigger_value", "achieved_at"
        )
    )
    assert achieved == {Decimal(250): at(1, 10), Decimal(500): at(1, 11)}

    settings.TARGETS_NOW = at(1, 12).isoformat()
    response = reader(group.org).get(READ.format(customer.id))
    (read,) = body(response)["data"]["targetGroups"]
    (target,) = read["targets"]
    assert [(m["triggerValue"], m["isAchieved"]) for m in target["milestones"]] == [
        (250, True),
        (500, True),
        (900, False),
    ]


# --- event time, arrival order -------------------------------------------------------------


def test_achieved_at_follows_event_time_whatever_the_arrival_order(shop):
    group, customer = shop
    ingest(customer, item(customer, at(1, 15), "600"))
    ingest(customer, item(customer, at(1, 10), "600"))  # arrives later, happened earlier
    ut = user_target(customer, group, 1)
    assert (ut.achieved_value, ut.achieved_at, ut.enrolled_on) == (1200, at(1, 15), at(1, 10))


def test_an_earlier_activity_arriving_late_moves_achievement_and_enrolment_back(shop):
    group, customer = shop
    ingest(customer, item(customer, at(1, 15), "1000"))
    ingest(customer, item(customer, at(1, 9), "1000"))
    ut = user_target(customer, group, 1)
    assert (ut.achieved_value, ut.achieved_at, ut.enrolled_on) == (2000, at(1, 9), at(1, 9))
    assert GroupEnrolment.objects.get(customer=customer, group=group).enrolled_on == at(1, 9)


def test_streak_achieved_at_follows_event_time():
    group, streak, customer = streak_group(needed=2)
    ingest(customer, item(customer, at(2, 9), "1000"), now=at(2, 20))
    ingest(customer, item(customer, at(1, 9), "1000"), now=at(2, 20))
    state = user_streak(customer, streak)
    assert (state.status, state.achieved_at) == (StreakStatus.ACHIEVED, at(2, 9))
    assert state.achieved_user_target == user_target(customer, group, 2)


# --- what counts ---------------------------------------------------------------------------


def test_a_group_counts_only_activity_received_after_it_was_created(shop):
    group, customer = shop
    results = ingest(customer, item(customer, at(1), "1200"), now=group.created_on - timedelta(seconds=1))
    assert statuses(results) == [APPLIED]
    assert values(customer, group) == {}
    ingest(customer, item(customer, at(1, 13), "300"), now=group.created_on)
    assert values(customer, group) == {1: 300}
    # Recomputing does not let the early activity in either.
    call_command("recompute_progress", customer=customer.id, no_progress=True, stdout=io.StringIO())
    assert values(customer, group) == {1: 300}


def test_an_inactive_group_does_not_count(shop):
    group, customer = shop
    group.active = False
    group.save()
    ingest(customer, item(customer, at(1), "1200"))
    assert values(customer, group) == {}
    assert not GroupEnrolment.objects.filter(customer=customer).exists()


def test_an_inactive_rule_does_not_count_while_the_others_do():
    group = group_with_periods(
        periods=5,
        tracking_type="UNIFIED",
        rule_kwargs=[{"name": "Spend"}, {"name": "Count", "target_type": "COUNT", "active": False}],
    )
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(1), "1200"))
    assert targets(customer, group) == [("Spend", 1, 1200)]


def test_an_explicit_group_counts_only_for_enrolled_customers():
    group = group_with_periods(periods=5, enrolment="EXPLICIT")
    outsider, member = CustomerFactory(org=group.org), CustomerFactory(org=group.org)
    EnrolmentFactory(group=group, customer=member)
    ingest(outsider, item(outsider, at(1), "1200"), item(member, at(1), "700"))
    assert values(outsider, group) == {}
    assert values(member, group) == {1: 700}


def test_an_all_customers_group_of_another_org_does_not_count():
    group = group_with_periods(periods=5)
    stranger = CustomerFactory()
    ingest(stranger, item(stranger, at(1), "1200"))
    assert values(stranger, group) == {}


def test_other_entities_and_event_names_do_not_count(shop):
    group, customer = shop
    ingest(
        customer,
        item(customer, at(1), "500", entity="EVENT"),
        item(customer, at(1), "500", event="TransactionUpdate"),
        item(customer, at(1), "500", entity="lineitem"),
    )
    assert values(customer, group) == {}


def test_an_all_customers_group_enrols_the_customer_at_the_first_matching_activity(shop):
    group, customer = shop
    ingest(customer, item(customer, at(1, 9), "5", entity="EVENT"))
    assert not GroupEnrolment.objects.filter(customer=customer).exists()
    ingest(customer, item(customer, at(2, 9), "5"), item(customer, at(3, 9), "5"))
    enrolment = GroupEnrolment.objects.get(customer=customer, group=group)
    assert (enrolment.enrolled_on, enrolment.source, enrolment.org_id) == (at(2, 9), "ACTIVITY", group.org_id)


def test_an_admin_enrolment_is_kept_as_it_is():
    group = group_with_periods(periods=5, enrolment="EXPLICIT")
    customer = CustomerFactory(org=group.org)
    enrolment = EnrolmentFactory(group=group, customer=customer, enrolled_on=T0 - timedelta(days=3))
    ingest(customer, item(customer, at(1), "5"))
    enrolment.refresh_from_db()
    assert (enrolment.enrolled_on, enrolment.source) == (T0 - timedelta(days=3), "ADMIN")


# --- the customer --------------------------------------------------------------------------


def test_transactions_add_to_lifetime_purchases_and_touch_the_customer(shop):
    _, customer = shop
    actor = ActorFactory(org=customer.org)
    ingest(
        customer,
        item(customer, at(1), "1200.5"),
        item(customer, at(1), "300", entity="EVENT", event="ProfileUpdate"),
        item(customer, at(9), "99.5"),  # outside every group: still a purchase
        now=NOW,
        actor=actor,
    )
    customer.refresh_from_db()
    assert customer.lifetime_purchases == Decimal("1300")
    assert (customer.last_updated_on, customer.last_updated_by) == (NOW, actor)


def test_a_customer_of_another_org_is_rejected_and_untouched(shop):
    group, customer = shop
    stranger = CustomerFactory()
    results = activity_ingest(
        org=group.org, items=[item(stranger, at(1), "100"), item(customer, at(1), "100")], now=NOW
    )
    assert statuses(results) == [REJECTED, APPLIED]
    assert str(stranger.id) in results[0].errors[0]["message"]
    assert Customer.objects.get(id=stranger.id).lifetime_purchases == 0
    assert not Activity.objects.filter(customer=stranger).exists()


# --- idempotency and atomicity -------------------------------------------------------------


def test_a_repeated_activity_is_a_duplicate_and_changes_nothing(shop):
    group, customer = shop
    StreakFactory(group=group)
    TriggerFactory(rule=group.rules.get())
    first = item(customer, at(1), "1200", externalId="bill-1")
    assert statuses(ingest(customer, first, now=NOW)) == [APPLIED]
    before = snapshot(customer)
    later = NOW + timedelta(days=1)
    results = ingest(customer, first, {**first, "amount": "5"}, now=later)
    assert [r.as_dict() for r in results] == [
        {"externalId": "bill-1", "status": DUPLICATE, "errors": None},
        {"externalId": "bill-1", "status": DUPLICATE, "errors": None},
    ]
    assert snapshot(customer) == before


def test_a_duplicate_within_one_batch_is_applied_once(shop):
    group, customer = shop
    repeated = item(customer, at(1), "600", externalId="bill-2")
    results = ingest(customer, repeated, repeated, item(customer, at(1), "1", externalId=" bill-2 "))
    assert statuses(results) == [APPLIED, DUPLICATE, DUPLICATE]
    assert values(customer, group) == {1: 600}
    assert Activity.objects.filter(customer=customer).count() == 1
    assert Customer.objects.get(id=customer.id).lifetime_purchases == 600


def test_external_ids_are_unique_per_org_not_globally(shop):
    group, customer = shop
    other = CustomerFactory()
    assert statuses(ingest(customer, item(customer, at(1), "10", externalId="same"))) == [APPLIED]
    assert statuses(ingest(other, item(other, at(1), "10", externalId="same"))) == [APPLIED]


def test_invalid_items_are_rejected_with_reasons_and_the_valid_ones_still_apply(shop):
    group, customer = shop
    results = ingest(
        customer,
        item(customer, at(1), "-5"),
        {"userId": customer.id, "entity": "TRANSACTION", "eventName": "TransactionAdd", "externalId": "x"},
        item(customer, "2024-08-01T12:00:00", "5"),
        item(customer, at(1), "7"),
        "not an object",
    )
    assert statuses(results) == [REJECTED, REJECTED, REJECTED, APPLIED, REJECTED]
    assert "amount: cannot be negative" in results[0].errors[0]["message"]
    assert "occurredAt: is required" in results[1].errors[0]["message"]
    assert "timezone" in results[2].errors[0]["message"]
    assert results[4].external_id is None and results[4].errors[0]["code"] == 300004
    assert values(customer, group) == {1: 7}


@pytest.fixture
def failing_milestone_insert():
    """Make the database refuse any new UserMilestone row with a check violation, as a
    constraint would. The trigger is DDL inside the test's transaction: rolled back with it."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_milestone() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_milestone BEFORE INSERT ON targets_usermilestone "
                "FOR EACH ROW EXECUTE FUNCTION refuse_milestone()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER refuse_milestone BEFORE INSERT ON targets_usermilestone "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )


def test_a_failing_batch_leaves_nothing_half_applied(shop, failing_milestone_insert):
    group, customer = shop
    TriggerFactory(rule=group.rules.get(), trigger_value=Decimal(500))
    ingest(customer, item(customer, at(1), "100"))  # below the trigger: no milestone row
    before = snapshot(customer)
    other = CustomerFactory(org=group.org)
    untouched = snapshot(other)
    with pytest.raises(IntegrityError):
        ingest(customer, item(other, at(2), "50"), item(customer, at(1, 13), "600"), now=NOW + timedelta(1))
    assert snapshot(customer) == before
    assert snapshot(other) == untouched


# --- the demo replay -----------------------------------------------------------------------


def test_the_example_customers_progress_comes_from_replaying_its_two_transactions(demo):
    customer = Customer.objects.get(id=347286146)
    activities = list(
        Activity.objects.filter(customer=customer)
        .order_by("occurred_at")
        .values_list("occurred_at", "received_at", "amount")
    )
    first = datetime(2024, 8, 27, 9, 35, 24, tzinfo=UTC)
    second = datetime(2024, 8, 27, 9, 43, 41, tzinfo=UTC)
    assert activities == [(first, first, 1200), (second, second, 1200)]
    assert customer.lifetime_purchases == 2400
    rows = list(
        UserTarget.objects.filter(customer=customer)
        .order_by("rule__group_id", "period__sequence")
        .values_list("rule__group__name", "period__ref_code", "achieved_value", "achieved_at", "enrolled_on")
    )
    assert rows == [
        ("t1Fixed", "Cycle_2", 1200, second, second),
        ("t1Cyclic", "PERIOD_G_53235_1", 1200, second, second),
        ("t1PA", "PERIOD_G_53236_1", 1000, second, second),
        ("t1PA", "PERIOD_G_53236_2", 200, None, second),
    ]

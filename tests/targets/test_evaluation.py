"""The arithmetic of progress (SPEC §4), on plain values: `targets.progress.evaluate`."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from targets.progress.evaluate import (
    Act,
    GroupCfg,
    PeriodCfg,
    RuleCfg,
    attribute_value,
    evaluate_group,
    measure,
)

T0 = datetime(2024, 8, 1, tzinfo=UTC)
CREATED = T0 - timedelta(days=1)
_ids = iter(range(1, 10**9))


def rule(target_type="GROSS_SALES", value="1000", *, rule_id=1, attribute="", triggers=()):
    return RuleCfg(
        id=rule_id,
        entity="TRANSACTION",
        event_name="TransactionAdd",
        target_type=target_type,
        attribute=attribute,
        target_value=Decimal(value),
        triggers=tuple((tid, Decimal(v)) for tid, v in triggers),
    )


def daily(n, start=T0):
    """n daily periods (ids 101, 102, …) ending at 23:59:59."""
    return tuple(
        PeriodCfg(100 + k, k, start + timedelta(days=k - 1), start + timedelta(days=k, seconds=-1))
        for k in range(1, n + 1)
    )


def group(
    *rules, evaluation="FIXED_CALENDAR_WINDOW", tracking="DEFAULT", tz="UTC", periods=5, overrides=None
):
    shared = daily(periods)
    return GroupCfg(
        id=1,
        org_id=1,
        evaluation=evaluation,
        tracking=tracking,
        tz=ZoneInfo(tz),
        start=shared[0].start,
        end=shared[-1].end,
        created_on=CREATED,
        frequency_type="DAILY",
        frequency=1,
        total_periods=periods,
        enrolment="ALL_CUSTOMERS",
        rules=rules or (rule(),),
        periods=shared,
        overrides=overrides or {},
    )


def act(at, amount="0", *, net=None, quantity="0", attributes=None, received=None, event="TransactionAdd"):
    return Act(
        id=next(_ids),
        entity="TRANSACTION",
        event_name=event,
        occurred_at=at,
        received_at=received or at,
        amount=Decimal(amount),
        net_amount=None if net is None else Decimal(net),
        quantity=Decimal(quantity),
        attributes=attributes or {},
    )


def values(result):
    """{(rule id, period id): achieved value}"""
    return {key: state.value for key, state in result.items()}


def at(day, hour=12, minute=0):
    """Day `day` (1-based) of the group at hour:minute UTC."""
    return T0 + timedelta(days=day - 1, hours=hour, minutes=minute)


# --- KPIs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target_type", "expected"),
    [("COUNT", "1"), ("VISIT", "1"), ("GROSS_SALES", "250.5"), ("SALES", "200"), ("QUANTITY", "3")],
)
def test_each_kpi_measures_its_own_quantity(target_type, expected):
    activity = act(at(1), "250.5", net="200", quantity="3")
    assert measure(rule(target_type), activity) == Decimal(expected)


def test_sales_default_to_the_gross_amount_without_a_net_amount():
    assert measure(rule("SALES"), act(at(1), "250.5")) == Decimal("250.5")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(3, "3"), ("2.5", "2.5"), ("many", "0"), (-4, "0"), (None, "0"), (True, "0"), ([1], "0"), ("NaN", "0")],
)
def test_sum_adds_the_named_attribute_and_counts_anything_else_as_zero(raw, expected):
    assert attribute_value(raw) == Decimal(expected)
    sum_rule = rule("SUM", attribute="cakes")
    assert measure(sum_rule, act(at(1), attributes={"cakes": raw, "other": 99})) == Decimal(expected)


def test_sum_of_a_missing_attribute_is_zero():
    assert measure(rule("SUM", attribute="cakes"), act(at(1), attributes={"cups": 2})) == 0


def test_kpis_accumulate_over_a_period():
    rules = (
        rule("COUNT", rule_id=1),
        rule("GROSS_SALES", rule_id=2),
        rule("SALES", rule_id=3),
        rule("QUANTITY", rule_id=4),
        rule("SUM", rule_id=5, attribute="cakes"),
    )
    g = group(*rules, tracking="UNIFIED")
    acts = [
        act(at(1, 9), "100", net="90", quantity="2", attributes={"cakes": 1}),
        act(at(1, 10), "50", quantity="1", attributes={"cakes": "2"}),
    ]
    assert values(evaluate_group(g, g.periods, acts)) == {
        (1, 101): 2,
        (2, 101): 150,
        (3, 101): 140,
        (4, 101): 3,
        (5, 101): 3,
    }


# --- VISIT and the org's timezone ----------------------------------------------------------


def test_visit_counts_one_per_local_day_across_a_timezone_boundary():
    """Asia/Kolkata is UTC+05:30: 18:00Z is 23:30 local on the 27th, 19:00Z is 00:30 on the 28th;
    10:00Z and 17:00Z are 15:30 and 22:30 on the 27th."""
    start = datetime(2024, 8, 26, 18, 30, tzinfo=UTC)  # 2024-08-27 00:00 Kolkata
    periods = (PeriodCfg(1, 1, start, start + timedelta(days=7, seconds=-1)),)
    g = replace(
        group(rule("VISIT", "10")),
        tz=ZoneInfo("Asia/Kolkata"),
        periods=periods,
        start=periods[0].start,
        end=periods[0].end,
    )

    def visits(*times):
        acts = [act(datetime.fromisoformat(t)) for t in times]
        return values(evaluate_group(g, g.periods, acts))[(1, 1)]

    assert visits("2024-08-27T18:00:00+00:00", "2024-08-27T19:00:00+00:00") == 2
    assert visits("2024-08-27T10:00:00+00:00", "2024-08-27T17:00:00+00:00") == 1
    assert visits("2024-08-27T10:00:00+00:00", "2024-08-27T17:00:00+00:00", "2024-08-27T19:00:00+00:00") == 2


def test_visit_in_utc_differs_from_visit_in_kolkata_for_the_same_activities():
    times = [datetime(2024, 8, 2, 17, tzinfo=UTC), datetime(2024, 8, 2, 19, tzinfo=UTC)]
    utc = group(rule("VISIT", "10"))
    kolkata = replace(utc, tz=ZoneInfo("Asia/Kolkata"))
    assert values(evaluate_group(utc, utc.periods, [act(t) for t in times]))[(1, 102)] == 1
    assert values(evaluate_group(kolkata, kolkata.periods, [act(t) for t in times]))[(1, 102)] == 2


def test_visit_counts_a_day_again_in_a_new_fixed_period():
    """Periods of a few hours: two activities on one day in two periods are a visit in each."""
    start = T0
    periods = (
        PeriodCfg(1, 1, start, start + timedelta(hours=12, seconds=-1)),
        PeriodCfg(2, 2, start + timedelta(hours=12), start + timedelta(hours=24, seconds=-1)),
    )
    g = replace(group(rule("VISIT", "5")), periods=periods, end=periods[-1].end)
    result = evaluate_group(g, periods, [act(at(1, 9)), act(at(1, 10)), act(at(1, 15))])
    assert values(result) == {(1, 1): 1, (1, 2): 1}


def test_visit_on_a_period_agnostic_group_counts_each_day_once_overall():
    g = group(rule("VISIT", "2"), evaluation="PERIOD_AGNOSTIC_WINDOW", periods=3)
    acts = [act(at(1, 9)), act(at(1, 10)), act(at(2, 9)), act(at(2, 20)), act(at(3, 9))]
    assert values(evaluate_group(g, g.periods, acts)) == {(1, 101): 2, (1, 102): 1}


# --- windows -------------------------------------------------------------------------------


def test_fixed_activity_counts_in_the_period_containing_it():
    g = group()
    acts = [act(at(1), "100"), act(at(3), "200"), act(at(3, 23, 59), "5")]
    assert values(evaluate_group(g, g.periods, acts)) == {(1, 101): 100, (1, 103): 205}


def test_an_instant_inside_the_last_second_of_a_period_still_counts():
    g = group()
    last_second = g.periods[0].end + timedelta(milliseconds=500)
    after = g.periods[0].end + timedelta(seconds=1)
    assert values(evaluate_group(g, g.periods, [act(last_second, "7"), act(after, "3")])) == {
        (1, 101): 7,
        (1, 102): 3,
    }


def test_activity_outside_the_group_window_does_not_count():
    g = group()
    acts = [act(g.start - timedelta(seconds=1), "100"), act(g.end + timedelta(seconds=1), "100")]
    assert evaluate_group(g, g.periods, acts) == {}


def test_a_group_counts_only_activity_received_after_it_was_created():
    g = group()
    early = act(at(1), "100", received=CREATED - timedelta(seconds=1))
    on_time = act(at(1, 13), "40", received=CREATED)
    assert values(evaluate_group(g, g.periods, [early, on_time])) == {(1, 101): 40}


def test_other_events_do_not_count():
    g = group()
    assert evaluate_group(g, g.periods, [act(at(1), "100", event="PointsRedeem")]) == {}


def test_period_agnostic_carries_the_excess_over_into_the_next_period():
    g = group(evaluation="PERIOD_AGNOSTIC_WINDOW", periods=2)
    assert values(evaluate_group(g, g.periods, [act(at(1), "1200")])) == {(1, 101): 1000, (1, 102): 200}


def test_period_agnostic_carry_over_runs_across_more_than_two_periods():
    g = group(evaluation="PERIOD_AGNOSTIC_WINDOW", periods=4)
    result = evaluate_group(g, g.periods, [act(at(1), "2500"), act(at(2), "600")])
    assert values(result) == {(1, 101): 1000, (1, 102): 1000, (1, 103): 1000, (1, 104): 100}
    first, second = at(1), at(2)
    assert [result[(1, p)].achieved_at for p in (101, 102, 103, 104)] == [first, first, second, None]


def test_period_agnostic_last_period_keeps_what_is_left():
    g = group(evaluation="PERIOD_AGNOSTIC_WINDOW", periods=2)
    assert values(evaluate_group(g, g.periods, [act(at(1), "3700")])) == {(1, 101): 1000, (1, 102): 2700}


def test_period_agnostic_last_period_is_capped_under_capping():
    g = group(evaluation="PERIOD_AGNOSTIC_WINDOW", tracking="CAPPING", periods=2)
    assert values(evaluate_group(g, g.periods, [act(at(1), "3700")])) == {(1, 101): 1000, (1, 102): 1000}


def test_period_agnostic_follows_per_period_target_overrides():
    g = group(evaluation="PERIOD_AGNOSTIC_WINDOW", periods=3, overrides={(1, 102): Decimal("300")})
    assert values(evaluate_group(g, g.periods, [act(at(1), "1500")])) == {
        (1, 101): 1000,
        (1, 102): 300,
        (1, 103): 200,
    }


def test_period_agnostic_activity_exactly_on_target_moves_to_the_next_period():
    g = group(evaluation="PERIOD_AGNOSTIC_WINDOW", periods=3)
    assert values(evaluate_group(g, g.periods, [act(at(1), "1000"), act(at(2), "10")])) == {
        (1, 101): 1000,
        (1, 102): 10,
    }


# --- tracking ------------------------------------------------------------------------------


def test_default_tracking_lets_the_value_exceed_the_target():
    g = group()
    result = evaluate_group(g, g.periods, [act(at(1, 9), "700"), act(at(1, 10), "500")])
    assert values(result) == {(1, 101): 1200}
    assert result[(1, 101)].achieved_at == at(1, 10)


def test_capping_never_goes_over_the_target():
    g = group(tracking="CAPPING")
    result = evaluate_group(g, g.periods, [act(at(1, 9), "700"), act(at(1, 10), "500"), act(at(1, 11), "9")])
    assert values(result) == {(1, 101): 1000}
    assert result[(1, 101)].achieved_at == at(1, 10)


def test_not_reaching_the_target_leaves_it_unachieved():
    g = group()
    result = evaluate_group(g, g.periods, [act(at(1), "999.999")])
    assert result[(1, 101)].achieved_at is None
    assert result[(1, 101)].enrolled_on == at(1)


def test_enrolled_on_is_the_first_matching_activity_of_the_period():
    g = group()
    result = evaluate_group(g, g.periods, [act(at(2, 8), "1"), act(at(2, 9), "2000")])
    assert result[(1, 102)].enrolled_on == at(2, 8)
    assert result[(1, 102)].achieved_at == at(2, 9)


def test_milestone_triggers_are_achieved_when_the_value_reaches_them():
    g = group(rule(triggers=[(7, "250"), (8, "500"), (9, "1000")]))
    result = evaluate_group(g, g.periods, [act(at(1, 9), "249"), act(at(1, 10), "1"), act(at(1, 11), "300")])
    assert result[(1, 101)].milestones == {7: at(1, 10), 8: at(1, 11)}

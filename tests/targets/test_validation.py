"""validate_group (targets/validation.py): every cross-row invariant of SPEC §2, each error with
its section and the API field path the admin and the API show."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from targets.validation import (
    ConfigError,
    GroupSpec,
    PeriodSpec,
    RuleSpec,
    StreakSpec,
    TriggerSpec,
    validate_group,
)

T0 = datetime(2024, 8, 26, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


def day(n):
    """Period n (1-based) of a DAILY group from T0: 00:00:00 → 23:59:59."""
    return PeriodSpec(f"Cycle_{n}", T0 + (n - 1) * DAY, T0 + n * DAY - SECOND)


def rule(name="Spend", target_type="GROSS_SALES", value="1000", attribute="", triggers=()):
    return RuleSpec(
        name=name,
        target_type=target_type,
        target_value=None if value is None else Decimal(value),
        attribute=attribute,
        triggers=list(triggers),
    )


def group(**changes):
    spec = GroupSpec(
        name="t1Fixed",
        target_evaluation_type="FIXED_CALENDAR_WINDOW",
        tracking_type="DEFAULT",
        start=T0,
        end=T0 + 5 * DAY - SECOND,
        total_periods=5,
        periods=[day(n) for n in range(1, 6)],
        rules=[rule()],
    )
    return replace(spec, **changes)


def test_a_valid_group_has_no_error():
    assert validate_group(group()) == []


# --- the group -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   "])
def test_name_is_required(name):
    assert validate_group(group(name=name)) == [ConfigError("group", "name", "is required")]


def test_name_is_at_most_200_characters():
    assert validate_group(group(name="x" * 200)) == []
    assert validate_group(group(name="x" * 201)) == [
        ConfigError("group", "name", "is longer than 200 characters")
    ]


def test_group_end_before_start():
    errors = validate_group(group(end=T0 - SECOND))
    assert errors == [ConfigError("group", "endDate", "is before startDate")]
    assert str(errors[0]) == "endDate: is before startDate"


def test_group_end_equal_to_start_is_allowed():
    assert validate_group(group(end=T0)) == []


# --- periods ---------------------------------------------------------------------------------


def test_overlapping_fixed_periods():
    periods = [day(1), PeriodSpec("Cycle_2", T0 + 12 * 3600 * SECOND, T0 + 2 * DAY - SECOND)]
    assert validate_group(group(periods=periods)) == [
        ConfigError("periods", "periods[1].startDate", "overlaps Cycle_1")
    ]


def test_a_period_starting_on_the_previous_end_second_overlaps():
    periods = [day(1), PeriodSpec("Cycle_2", T0 + DAY - SECOND, T0 + 2 * DAY - SECOND)]  # ends are inclusive
    assert validate_group(group(periods=periods)) == [
        ConfigError("periods", "periods[1].startDate", "overlaps Cycle_1")
    ]


def test_back_to_back_periods_do_not_overlap():
    assert validate_group(group(periods=[day(1), day(2)])) == []


def test_overlap_is_found_whatever_the_order_and_names_the_earlier_period():
    periods = [day(3), PeriodSpec("Wide", T0, T0 + 3 * DAY - SECOND), day(5)]
    assert validate_group(group(periods=periods)) == [
        ConfigError("periods", "periods[0].startDate", "overlaps Wide")
    ]


def test_a_period_inside_a_long_one_overlaps_the_long_one():
    periods = [PeriodSpec("Long", T0, T0 + 10 * DAY), day(2), day(4)]
    assert validate_group(group(periods=periods)) == [
        ConfigError("periods", "periods[1].startDate", "overlaps Long"),
        ConfigError("periods", "periods[2].startDate", "overlaps Long"),
    ]


def test_period_agnostic_periods_may_share_their_instant():
    same = [PeriodSpec(f"PERIOD_G_53236_{n}", T0, T0) for n in range(1, 6)]
    assert validate_group(group(target_evaluation_type="PERIOD_AGNOSTIC_WINDOW", periods=same)) == []


def test_period_end_before_start():
    periods = [day(1), PeriodSpec("Cycle_2", T0 + 2 * DAY, T0 + DAY)]
    assert validate_group(group(periods=periods)) == [
        ConfigError("periods", "periods[1].endDate", "is before startDate")
    ]


def test_period_ref_code_is_required():
    periods = [day(1), PeriodSpec("", T0 + DAY, T0 + 2 * DAY - SECOND)]
    assert validate_group(group(periods=periods)) == [
        ConfigError("periods", "periods[1].refCode", "is required")
    ]


def test_period_ref_codes_are_unique_in_the_group():
    periods = [day(1), day(2), PeriodSpec("Cycle_1", T0 + 2 * DAY, T0 + 3 * DAY - SECOND)]
    assert validate_group(group(periods=periods)) == [
        ConfigError("periods", "periods[2].refCode", "repeats periods[0]")
    ]


def test_a_cyclic_group_has_no_shared_periods():
    assert validate_group(group(target_evaluation_type="CYCLIC_WINDOW", periods=[day(1)])) == [
        ConfigError("periods", "periods", "a CYCLIC_WINDOW group's periods are created per customer")
    ]
    assert validate_group(group(target_evaluation_type="CYCLIC_WINDOW", periods=[])) == []


# --- rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize("tracking", ["DEFAULT", "STREAKS", "CAPPING", "NON_CONTINUOUS_STREAK"])
@pytest.mark.parametrize("count", [0, 2])
def test_single_rule_groups_need_exactly_one_rule(tracking, count):
    rules = [rule(f"R{n}") for n in range(count)]
    assert validate_group(group(tracking_type=tracking, rules=rules)) == [
        ConfigError("targets", "targets", f"a {tracking} group needs exactly one target, got {count}")
    ]


@pytest.mark.parametrize("count", [2, 10])
def test_unified_accepts_two_to_ten_rules(count):
    assert validate_group(group(tracking_type="UNIFIED", rules=[rule(f"R{n}") for n in range(count)])) == []


@pytest.mark.parametrize("count", [0, 1, 11])
def test_unified_refuses_fewer_than_two_or_more_than_ten_rules(count):
    assert validate_group(group(tracking_type="UNIFIED", rules=[rule(f"R{n}") for n in range(count)])) == [
        ConfigError("targets", "targets", f"a UNIFIED group needs 2 to 10 targets, got {count}")
    ]


def test_rule_name_is_required():
    assert validate_group(group(rules=[rule(name=" ")])) == [
        ConfigError("targets", "targets[0].name", "is required")
    ]


def test_rule_value_is_required_and_positive():
    assert validate_group(group(rules=[rule(value=None)])) == [
        ConfigError("targets", "targets[0].value", "is required")
    ]
    for value in ("0", "-5"):
        assert validate_group(group(rules=[rule(value=value)])) == [
            ConfigError("targets", "targets[0].value", "must be greater than 0")
        ]


def test_sum_needs_an_attribute():
    assert validate_group(group(rules=[rule(target_type="SUM")])) == [
        ConfigError("targets", "targets[0].attribute", "is required for a SUM target")
    ]
    assert validate_group(group(rules=[rule(target_type="SUM", attribute="cakes")])) == []


def test_trigger_above_the_target_value():
    triggers = [TriggerSpec("Half", Decimal("500")), TriggerSpec("Beyond", Decimal("1000.001"))]
    assert validate_group(group(rules=[rule(triggers=triggers)])) == [
        ConfigError("targets", "targets[0].milestones[1].triggerValue", "is above the target value 1000")
    ]


def test_trigger_equal_to_the_target_value_is_allowed():
    assert validate_group(group(rules=[rule(triggers=[TriggerSpec("All", Decimal("1000"))])])) == []


def test_trigger_value_is_required_and_not_negative():
    triggers = [TriggerSpec("None", None), TriggerSpec("Negative", Decimal("-1"))]
    assert validate_group(group(rules=[rule(triggers=triggers)])) == [
        ConfigError("targets", "targets[0].milestones[0].triggerValue", "is required"),
        ConfigError("targets", "targets[0].milestones[1].triggerValue", "cannot be negative"),
    ]


def test_the_path_names_the_rule_of_a_unified_group():
    rules = [rule("A"), rule("B", value="10", triggers=[TriggerSpec("Too much", Decimal("11"))])]
    assert validate_group(group(tracking_type="UNIFIED", rules=rules)) == [
        ConfigError("targets", "targets[1].milestones[0].triggerValue", "is above the target value 10")
    ]


# --- streaks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tracking", ["DEFAULT", "CAPPING", "UNIFIED"])
def test_streaks_only_on_streak_groups(tracking):
    rules = [rule("A"), rule("B")] if tracking == "UNIFIED" else [rule()]
    assert validate_group(group(tracking_type=tracking, rules=rules, streaks=[StreakSpec("S", 1)])) == [
        ConfigError(
            "streaks", "streaks", f"streaks need a STREAKS or NON_CONTINUOUS_STREAK group, not {tracking}"
        )
    ]


@pytest.mark.parametrize("tracking", ["STREAKS", "NON_CONTINUOUS_STREAK"])
def test_streak_up_to_the_number_of_periods(tracking):
    assert (
        validate_group(group(tracking_type=tracking, streaks=[StreakSpec("S", 1), StreakSpec("All", 5)]))
        == []
    )


def test_streak_longer_than_the_number_of_periods():
    assert validate_group(
        group(tracking_type="STREAKS", streaks=[StreakSpec("S", 1), StreakSpec("Long", 6)])
    ) == [
        ConfigError("streaks", "streaks[1].targetCountOfSequence", "is longer than the number of periods (5)")
    ]


def test_streak_count_is_required_and_at_least_one():
    streaks = [StreakSpec("None", None), StreakSpec("Zero", 0)]
    assert validate_group(group(tracking_type="STREAKS", streaks=streaks)) == [
        ConfigError("streaks", "streaks[0].targetCountOfSequence", "is required"),
        ConfigError("streaks", "streaks[1].targetCountOfSequence", "must be at least 1"),
    ]


def test_a_cyclic_streak_is_measured_against_total_periods():
    cyclic = group(
        target_evaluation_type="CYCLIC_WINDOW", tracking_type="STREAKS", periods=[], total_periods=3
    )
    assert validate_group(replace(cyclic, streaks=[StreakSpec("S", 3)])) == []
    assert validate_group(replace(cyclic, streaks=[StreakSpec("S", 4)])) == [
        ConfigError("streaks", "streaks[0].targetCountOfSequence", "is longer than the number of periods (3)")
    ]


# --- everything at once ----------------------------------------------------------------------


def test_every_problem_is_reported_at_once_in_section_order():
    spec = group(
        end=T0 - SECOND,
        periods=[day(1), day(1)],
        rules=[rule(value="0"), rule("Second")],
        streaks=[StreakSpec("S", 1)],
    )
    assert [(e.section, e.path) for e in validate_group(spec)] == [
        ("group", "endDate"),
        ("periods", "periods[1].refCode"),
        ("periods", "periods[1].startDate"),
        ("targets", "targets"),
        ("targets", "targets[0].value"),
        ("streaks", "streaks"),
    ]

"""Period generation (targets/periods.py): FIXED periods on local calendar days (00:00:00 →
23:59:59 in the org's timezone), every frequency type, month ends, DST changes, a group end
that cuts the last period; CYCLIC and PERIOD_AGNOSTIC windows; `contains`."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from targets.periods import (
    MAX_PERIODS,
    PeriodGenerationError,
    Window,
    add_months,
    agnostic_windows,
    contains,
    cyclic_windows,
    fixed_windows,
    group_windows,
)
from tests.factories import GroupFactory

UTC_TZ = ZoneInfo("UTC")
LONDON = ZoneInfo("Europe/London")
KOLKATA = ZoneInfo("Asia/Kolkata")
FAR = datetime(2100, 1, 1, tzinfo=UTC)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def spans(windows):
    return [(w.ref_code, w.start, w.end) for w in windows]


def fixed(start, frequency_type, total, *, end=FAR, frequency=1, tz=UTC_TZ):
    return fixed_windows(
        start=start, end=end, frequency_type=frequency_type, frequency=frequency, total_periods=total, tz=tz
    )


# --- each frequency type ---------------------------------------------------------------------


def test_daily_periods_are_whole_local_days():
    # The example's t1Fixed: five days from 2024-08-26.
    assert fixed(utc(2024, 8, 26), "DAILY", 5, end=utc(2024, 8, 30, 23, 59, 59)) == [
        Window(n, f"Cycle_{n}", utc(2024, 8, 25 + n), utc(2024, 8, 25 + n, 23, 59, 59)) for n in range(1, 6)
    ]


def test_a_start_inside_a_day_is_aligned_to_its_local_midnight():
    windows = fixed(utc(2024, 8, 26, 15, 30), "DAILY", 1)
    assert spans(windows) == [("Cycle_1", utc(2024, 8, 26), utc(2024, 8, 26, 23, 59, 59))]


def test_daily_with_a_frequency_of_two_days():
    assert spans(fixed(utc(2024, 8, 1), "DAILY", 2, frequency=2)) == [
        ("Cycle_1", utc(2024, 8, 1), utc(2024, 8, 2, 23, 59, 59)),
        ("Cycle_2", utc(2024, 8, 3), utc(2024, 8, 4, 23, 59, 59)),
    ]


def test_weekly_periods_in_the_org_timezone():
    # Local midnight in Kolkata (UTC+05:30) is 18:30 UTC the day before.
    assert spans(fixed(utc(2024, 1, 1, 6), "WEEKLY", 2, tz=KOLKATA)) == [
        ("Cycle_1", utc(2023, 12, 31, 18, 30), utc(2024, 1, 7, 18, 29, 59)),
        ("Cycle_2", utc(2024, 1, 7, 18, 30), utc(2024, 1, 14, 18, 29, 59)),
    ]


def test_monthly_periods_follow_month_lengths():
    assert spans(fixed(utc(2024, 1, 1), "MONTHLY", 3)) == [
        ("Cycle_1", utc(2024, 1, 1), utc(2024, 1, 31, 23, 59, 59)),
        ("Cycle_2", utc(2024, 2, 1), utc(2024, 2, 29, 23, 59, 59)),
        ("Cycle_3", utc(2024, 3, 1), utc(2024, 3, 31, 23, 59, 59)),
    ]


def test_month_ends_jan_31_then_feb_29_then_mar_31():
    windows = fixed(utc(2024, 1, 31), "MONTHLY", 3)
    assert [w.start for w in windows] == [utc(2024, 1, 31), utc(2024, 2, 29), utc(2024, 3, 31)]
    assert [w.end for w in windows] == [
        utc(2024, 2, 28, 23, 59, 59),
        utc(2024, 3, 30, 23, 59, 59),
        utc(2024, 4, 29, 23, 59, 59),
    ]


def test_month_ends_in_a_common_year():
    assert [w.start for w in fixed(utc(2023, 1, 31), "MONTHLY", 3)] == [
        utc(2023, 1, 31),
        utc(2023, 2, 28),
        utc(2023, 3, 31),
    ]


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        ((2024, 1, 31), 1, (2024, 2, 29)),
        ((2024, 1, 31), 2, (2024, 3, 31)),
        ((2024, 1, 31), 3, (2024, 4, 30)),
        ((2023, 1, 31), 1, (2023, 2, 28)),
        ((2024, 2, 29), 12, (2025, 2, 28)),
        ((2024, 11, 30), 3, (2025, 2, 28)),
    ],
)
def test_add_months_clamps_to_the_month_end(day, months, expected):
    from datetime import date

    assert add_months(date(*day), months) == date(*expected)


def test_quarterly_periods():
    assert spans(fixed(utc(2024, 1, 1), "QUARTERLY", 4)) == [
        ("Cycle_1", utc(2024, 1, 1), utc(2024, 3, 31, 23, 59, 59)),
        ("Cycle_2", utc(2024, 4, 1), utc(2024, 6, 30, 23, 59, 59)),
        ("Cycle_3", utc(2024, 7, 1), utc(2024, 9, 30, 23, 59, 59)),
        ("Cycle_4", utc(2024, 10, 1), utc(2024, 12, 31, 23, 59, 59)),
    ]


def test_half_yearly_periods():
    assert spans(fixed(utc(2024, 1, 1), "HALF_YEARLY", 2)) == [
        ("Cycle_1", utc(2024, 1, 1), utc(2024, 6, 30, 23, 59, 59)),
        ("Cycle_2", utc(2024, 7, 1), utc(2024, 12, 31, 23, 59, 59)),
    ]


def test_yearly_periods():
    assert spans(fixed(utc(2024, 1, 1), "YEARLY", 2)) == [
        ("Cycle_1", utc(2024, 1, 1), utc(2024, 12, 31, 23, 59, 59)),
        ("Cycle_2", utc(2025, 1, 1), utc(2025, 12, 31, 23, 59, 59)),
    ]


def test_custom_periods_are_not_generated():
    with pytest.raises(PeriodGenerationError, match="CUSTOM"):
        fixed(utc(2024, 1, 1), "CUSTOM", 2)


def test_frequency_below_one_is_refused():
    with pytest.raises(PeriodGenerationError):
        fixed(utc(2024, 1, 1), "DAILY", 2, frequency=0)


def test_too_many_periods_are_refused():
    with pytest.raises(PeriodGenerationError, match=str(MAX_PERIODS)):
        fixed(utc(2024, 1, 1), "DAILY", None, end=utc(2030, 1, 1))


# --- DST -------------------------------------------------------------------------------------


def test_spring_forward_in_london_gives_a_23_hour_day():
    windows = fixed(utc(2024, 3, 30, 12), "DAILY", 3, tz=LONDON)
    assert spans(windows) == [
        ("Cycle_1", utc(2024, 3, 30, 0), utc(2024, 3, 30, 23, 59, 59)),  # GMT
        ("Cycle_2", utc(2024, 3, 31, 0), utc(2024, 3, 31, 22, 59, 59)),  # clocks go forward
        ("Cycle_3", utc(2024, 3, 31, 23), utc(2024, 4, 1, 22, 59, 59)),  # BST
    ]
    for w in windows:
        assert (w.start.astimezone(LONDON).hour, w.start.astimezone(LONDON).minute) == (0, 0)
        local_end = w.end.astimezone(LONDON)
        assert (local_end.hour, local_end.minute, local_end.second) == (23, 59, 59)


def test_fall_back_in_london_gives_a_25_hour_day():
    assert spans(fixed(utc(2024, 10, 26, 12), "DAILY", 3, tz=LONDON)) == [
        ("Cycle_1", utc(2024, 10, 25, 23), utc(2024, 10, 26, 22, 59, 59)),  # BST
        ("Cycle_2", utc(2024, 10, 26, 23), utc(2024, 10, 27, 23, 59, 59)),  # clocks go back
        ("Cycle_3", utc(2024, 10, 28, 0), utc(2024, 10, 28, 23, 59, 59)),  # GMT
    ]


def test_a_local_midnight_that_does_not_exist_starts_after_the_gap():
    # Sao Paulo skipped from 2018-11-04 00:00 straight to 01:00 (-03 → -02).
    assert spans(fixed(utc(2018, 11, 3, 12), "DAILY", 2, tz=ZoneInfo("America/Sao_Paulo"))) == [
        ("Cycle_1", utc(2018, 11, 3, 3), utc(2018, 11, 4, 2, 59, 59)),
        ("Cycle_2", utc(2018, 11, 4, 3), utc(2018, 11, 5, 1, 59, 59)),
    ]


def test_monthly_periods_across_a_dst_change_in_new_york():
    assert spans(fixed(utc(2024, 3, 1, 12), "MONTHLY", 2, tz=ZoneInfo("America/New_York"))) == [
        ("Cycle_1", utc(2024, 3, 1, 5), utc(2024, 4, 1, 3, 59, 59)),  # EST start, EDT end
        ("Cycle_2", utc(2024, 4, 1, 4), utc(2024, 5, 1, 3, 59, 59)),
    ]


# --- the group's end -------------------------------------------------------------------------


def test_the_group_end_cuts_the_last_period():
    assert spans(fixed(utc(2024, 1, 1), "MONTHLY", 3, end=utc(2024, 3, 15, 12))) == [
        ("Cycle_1", utc(2024, 1, 1), utc(2024, 1, 31, 23, 59, 59)),
        ("Cycle_2", utc(2024, 2, 1), utc(2024, 2, 29, 23, 59, 59)),
        ("Cycle_3", utc(2024, 3, 1), utc(2024, 3, 15, 12)),
    ]


def test_no_period_starts_after_the_group_end():
    windows = fixed(utc(2024, 1, 1), "WEEKLY", 10, end=utc(2024, 1, 20, 23, 59, 59))
    assert spans(windows) == [
        ("Cycle_1", utc(2024, 1, 1), utc(2024, 1, 7, 23, 59, 59)),
        ("Cycle_2", utc(2024, 1, 8), utc(2024, 1, 14, 23, 59, 59)),
        ("Cycle_3", utc(2024, 1, 15), utc(2024, 1, 20, 23, 59, 59)),
    ]


def test_without_total_periods_the_group_end_decides():
    assert len(fixed(utc(2024, 8, 1), "DAILY", None, end=utc(2024, 8, 31, 23, 59, 59))) == 31


# --- CYCLIC ----------------------------------------------------------------------------------


def test_cyclic_windows_of_the_example_t1cyclic():
    windows = cyclic_windows(
        anchor=utc(2024, 8, 27, 9, 43, 40),
        end=utc(2024, 8, 31, 18, 30),
        frequency_type="DAILY",
        frequency=1,
        total_periods=5,
        tz=UTC_TZ,
        ref_code_prefix="PERIOD_G_53235_",
    )
    assert spans(windows) == [
        ("PERIOD_G_53235_1", utc(2024, 8, 27, 9, 43, 40), utc(2024, 8, 28, 9, 43, 40)),
        ("PERIOD_G_53235_2", utc(2024, 8, 28, 9, 43, 40), utc(2024, 8, 29, 9, 43, 40)),
        ("PERIOD_G_53235_3", utc(2024, 8, 29, 9, 43, 40), utc(2024, 8, 30, 9, 43, 40)),
        ("PERIOD_G_53235_4", utc(2024, 8, 30, 9, 43, 40), utc(2024, 8, 31, 9, 43, 40)),
        ("PERIOD_G_53235_5", utc(2024, 8, 31, 9, 43, 40), utc(2024, 8, 31, 18, 30)),  # clipped
    ]
    assert [w.sequence for w in windows] == [1, 2, 3, 4, 5]


def test_cyclic_windows_are_contiguous_and_stop_at_the_group_end():
    windows = cyclic_windows(
        anchor=utc(2024, 1, 31, 10),
        end=utc(2024, 4, 15),
        frequency_type="MONTHLY",
        frequency=1,
        total_periods=None,
        tz=UTC_TZ,
        ref_code_prefix="C",
    )
    assert [w.start for w in windows] == [utc(2024, 1, 31, 10), utc(2024, 2, 29, 10), utc(2024, 3, 31, 10)]
    assert all(a.end == b.start for a, b in zip(windows, windows[1:], strict=False))
    assert windows[-1].end == utc(2024, 4, 15)


def test_cyclic_windows_keep_the_local_wall_time_across_dst():
    windows = cyclic_windows(
        anchor=utc(2024, 3, 30, 12),
        end=FAR,
        frequency_type="DAILY",
        frequency=1,
        total_periods=2,
        tz=LONDON,
        ref_code_prefix="C",
    )
    assert spans(windows) == [
        ("C1", utc(2024, 3, 30, 12), utc(2024, 3, 31, 11)),  # 12:00 GMT → 12:00 BST
        ("C2", utc(2024, 3, 31, 11), utc(2024, 4, 1, 11)),
    ]


# --- PERIOD_AGNOSTIC and groups --------------------------------------------------------------


def test_period_agnostic_windows_are_an_ordered_list_without_calendar():
    windows = agnostic_windows(
        start=utc(2024, 8, 24, 18, 30), total_periods=5, ref_code_prefix="PERIOD_G_53236_"
    )
    assert [(w.sequence, w.ref_code) for w in windows] == [(n, f"PERIOD_G_53236_{n}") for n in range(1, 6)]
    assert {(w.start, w.end) for w in windows} == {(utc(2024, 8, 24, 18, 30), utc(2024, 8, 24, 18, 30))}


def test_period_agnostic_needs_total_periods():
    with pytest.raises(PeriodGenerationError, match="totalPeriods"):
        agnostic_windows(start=utc(2024, 1, 1), total_periods=None, ref_code_prefix="P")


def test_group_windows_per_evaluation_type():
    fixed_group = GroupFactory.build(frequency_type="DAILY", total_periods=2, start=utc(2024, 8, 1))
    assert spans(group_windows(fixed_group, tz=UTC_TZ)) == [
        ("Cycle_1", utc(2024, 8, 1), utc(2024, 8, 1, 23, 59, 59)),
        ("Cycle_2", utc(2024, 8, 2), utc(2024, 8, 2, 23, 59, 59)),
    ]
    cyclic = GroupFactory.build(target_evaluation_type="CYCLIC_WINDOW")
    assert group_windows(cyclic, tz=UTC_TZ) == []
    agnostic = GroupFactory.build(id=42, target_evaluation_type="PERIOD_AGNOSTIC_WINDOW", total_periods=2)
    assert [w.ref_code for w in group_windows(agnostic, tz=UTC_TZ)] == ["PERIOD_G_42_1", "PERIOD_G_42_2"]


@pytest.mark.django_db
def test_group_windows_use_the_org_timezone():
    group = GroupFactory(org__timezone="Asia/Kolkata", total_periods=1, start=utc(2024, 8, 1, 12))
    assert spans(group_windows(group)) == [("Cycle_1", utc(2024, 7, 31, 18, 30), utc(2024, 8, 1, 18, 29, 59))]


# --- contains --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "inside"),
    [
        (utc(2024, 8, 26, 0, 0, 0), True),  # the start itself
        (utc(2024, 8, 26, 12), True),
        (utc(2024, 8, 26, 23, 59, 59), True),  # the end itself
        (utc(2024, 8, 26, 23, 59, 59, 500000), True),  # within the end's second
        (utc(2024, 8, 27, 0, 0, 0), False),
        (utc(2024, 8, 25, 23, 59, 59, 999999), False),
    ],
)
def test_contains(instant, inside):
    assert contains(utc(2024, 8, 26), utc(2024, 8, 26, 23, 59, 59), instant) is inside

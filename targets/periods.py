"""Period generation from a group's frequency settings, in the org's timezone.

FIXED periods are aligned to local calendar days: each starts at 00:00:00 local and ends at
23:59:59 local on its last day. Months are stepped from the first start date, not from the
previous period, so Jan 31 + 1 month is Feb 29 (or 28) and + 2 months is Mar 31 again.
CYCLIC periods start at an instant (the customer's first matching activity) and follow each
other without a gap. PERIOD_AGNOSTIC periods have no calendar: they are an ordered list of
targets that progress fills one after the other (carry-over).
A period never runs past the group's end; the last one is cut there.
"""

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from targets.limits import MAX_PERIODS  # noqa: F401 (re-exported: callers read it here)

MONTHS = {"MONTHLY": 1, "QUARTERLY": 3, "HALF_YEARLY": 6, "YEARLY": 12}
DAYS = {"DAILY": 1, "WEEKLY": 7}


class PeriodGenerationError(ValueError):
    pass


@dataclass(frozen=True)
class Window:
    sequence: int
    ref_code: str
    start: datetime
    end: datetime


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def step(day, frequency_type: str, count: int):
    """`day` (a date or a naive local datetime) moved by `count` units of the frequency type."""
    if frequency_type in DAYS:
        return day + timedelta(days=DAYS[frequency_type] * count)
    if frequency_type in MONTHS:
        moved = add_months(day if type(day) is date else day.date(), MONTHS[frequency_type] * count)
        return moved if type(day) is date else datetime.combine(moved, day.time())
    raise PeriodGenerationError(f"{frequency_type} periods are not generated: give them explicitly.")


def local_instant(tz: ZoneInfo, day: date, at: time) -> datetime:
    """The UTC instant of a local wall time. In a DST gap the wall time does not exist; the
    offset from before the change is used, which lands on the first instant after the gap."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def fixed_windows(
    *,
    start: datetime,
    end: datetime,
    frequency_type: str,
    frequency: int,
    total_periods: int | None,
    tz: ZoneInfo,
) -> list[Window]:
    if frequency < 1:
        raise PeriodGenerationError("frequency must be at least 1")
    first_day = start.astimezone(tz).date()
    windows = []
    while total_periods is None or len(windows) < total_periods:
        n = len(windows)
        first = step(first_day, frequency_type, n * frequency)
        last = step(first_day, frequency_type, (n + 1) * frequency) - timedelta(days=1)
        period_start = local_instant(tz, first, time(0, 0, 0))
        if period_start > end:
            break
        period_end = min(local_instant(tz, last, time(23, 59, 59)), end)
        windows.append(Window(n + 1, f"Cycle_{n + 1}", period_start, period_end))
        if len(windows) > MAX_PERIODS:
            raise PeriodGenerationError(
                f"more than {MAX_PERIODS} periods: shorten the group or widen the frequency"
            )
    return windows


def cyclic_windows(
    *,
    anchor: datetime,
    end: datetime,
    frequency_type: str,
    frequency: int,
    total_periods: int | None,
    tz: ZoneInfo,
    ref_code_prefix: str,
) -> list[Window]:
    """A customer's cycles, the first starting at `anchor`; each ends where the next starts."""
    if frequency < 1:
        raise PeriodGenerationError("frequency must be at least 1")
    local_anchor = anchor.astimezone(tz).replace(tzinfo=None)
    windows = []
    while total_periods is None or len(windows) < total_periods:
        n = len(windows)
        period_start = step(local_anchor, frequency_type, n * frequency).replace(tzinfo=tz).astimezone(UTC)
        if n and period_start >= end:
            break
        period_end = (
            step(local_anchor, frequency_type, (n + 1) * frequency).replace(tzinfo=tz).astimezone(UTC)
        )
        windows.append(Window(n + 1, f"{ref_code_prefix}{n + 1}", period_start, min(period_end, end)))
        if len(windows) > MAX_PERIODS:
            raise PeriodGenerationError(
                f"more than {MAX_PERIODS} periods: shorten the group or widen the frequency"
            )
    return windows


def agnostic_windows(*, start: datetime, total_periods: int | None, ref_code_prefix: str) -> list[Window]:
    if not total_periods:
        raise PeriodGenerationError("a PERIOD_AGNOSTIC group needs totalPeriods")
    if total_periods > MAX_PERIODS:
        raise PeriodGenerationError(f"more than {MAX_PERIODS} periods")
    return [Window(n, f"{ref_code_prefix}{n}", start, start) for n in range(1, total_periods + 1)]


def group_windows(group, *, tz: ZoneInfo | None = None) -> list[Window]:
    """The shared periods of a group, generated from its settings (none for CYCLIC groups:
    their periods are created per customer)."""
    tz = tz or ZoneInfo(group.org.timezone)
    if group.target_evaluation_type == "CYCLIC_WINDOW":
        return []
    if group.target_evaluation_type == "PERIOD_AGNOSTIC_WINDOW":
        return agnostic_windows(
            start=group.start, total_periods=group.total_periods, ref_code_prefix=f"PERIOD_G_{group.id}_"
        )
    return fixed_windows(
        start=group.start,
        end=group.end,
        frequency_type=group.frequency_type,
        frequency=group.frequency,
        total_periods=group.total_periods,
        tz=tz,
    )


def contains(start: datetime, end: datetime, instant: datetime) -> bool:
    """Whether an instant falls in a period. Ends are written to the second (23:59:59), so an
    instant is compared at whole-second precision: 23:59:59.500 is still in the period."""
    # Truncating costs a datetime; most instants are decided without it.
    return start <= instant and (instant <= end or instant.replace(microsecond=0) <= end)

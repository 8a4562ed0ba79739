"""Pure rules about achievement, shared by the engine (which stores them), the read selector
(which reports them at request time, so a streak missed by the passage of time shows DROPPED
before any new activity) and the staff pages."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

NOT_STARTED, IN_PROGRESS, ACHIEVED, DROPPED = "NOT_STARTED", "IN_PROGRESS", "ACHIEVED", "DROPPED"


def period_achieved_at(achieved_ats: Iterable[datetime | None]) -> datetime | None:
    """When a group achieved a period: each of its rules achieved (ALL, so UNIFIED groups need
    every rule; a one-rule group simply follows its rule). None while any rule is not achieved."""
    latest = None
    seen = False
    for at in achieved_ats:
        if at is None:
            return None
        seen = True
        latest = at if latest is None or at > latest else latest
    return latest if seen else None


class Rule(Protocol):
    active: bool


class Progress(Protocol):
    id: int
    achieved_at: datetime | None


R = TypeVar("R", bound=Rule)


def achieving_rules(rules: Iterable[R]) -> list[R]:
    """The rules a group's period depends on: its active ones. An inactive rule neither
    completes nor blocks a period (SPEC §2), wherever achievement is decided or shown."""
    return [rule for rule in rules if rule.active]


@dataclass(frozen=True)
class PeriodAchievement:
    achieved_at: datetime | None  # when the group achieved the period, None if not (yet)
    user_target_id: int | None  # the user target that completed it


def period_achievement(progress: Sequence[Progress | None]) -> PeriodAchievement:
    """A group's period from the customer's progress on each of its achieving rules (in rule
    order, None where there is no row): achieved when every one is achieved
    (`period_achieved_at`), completed by the rule achieved last — the first such rule on a tie."""
    achieved_at = period_achieved_at(row.achieved_at if row is not None else None for row in progress)
    completing = None
    for row in progress:
        achieved = row is not None and row.achieved_at is not None
        if achieved and (completing is None or row.achieved_at > completing.achieved_at):
            completing = row
    return PeriodAchievement(achieved_at, completing.id if completing is not None else None)


@dataclass(frozen=True)
class PeriodOutcome:
    achieved_at: datetime | None  # when the group achieved the period, None if not (yet)
    closed: bool  # the period ended before now
    user_target_id: int | None = None  # the user target that completed the period


@dataclass(frozen=True)
class StreakState:
    status: str
    current_count: int
    achieved_at: datetime | None = None
    achieved_user_target_id: int | None = None


def streak_state(outcomes: Sequence[PeriodOutcome], *, needed: int, continuous: bool) -> StreakState:
    """Walk the periods in sequence. Continuous: consecutive achieved periods count, a closed
    period that was missed resets the run to 0 (DROPPED if a run was in progress).
    Non-continuous: every achieved period counts. Reaching `needed` is ACHIEVED, for good: the
    count stays at the completing value and later misses do not undo it."""
    count, dropped = 0, False
    for outcome in outcomes:
        if outcome.achieved_at is not None:
            count += 1
            dropped = False
            if count >= needed:
                return StreakState(ACHIEVED, count, outcome.achieved_at, outcome.user_target_id)
        elif continuous and outcome.closed and count:
            count, dropped = 0, True
    if count:
        return StreakState(IN_PROGRESS, count)
    return StreakState(DROPPED if dropped else NOT_STARTED, 0)


def streak_outcomes(
    periods: Sequence,
    achievements: Sequence[PeriodAchievement],
    *,
    now: datetime,
    agnostic: bool,
    reset: datetime | None = None,
) -> list[PeriodOutcome]:
    """What a group's streaks walk, period by period (`periods` in sequence, each with its
    `PeriodAchievement`): a period closes when it ended before `now`, never for PERIOD_AGNOSTIC
    groups (no calendar); a streak reset on re-enrolment (`reset`) starts afresh from the period
    holding it. The engine (which stores streak states) and the read endpoint (which derives
    them at request time) both walk these."""
    return [
        PeriodOutcome(a.achieved_at, closed=p.end < now and not agnostic, user_target_id=a.user_target_id)
        for p, a in zip(periods, achievements, strict=True)
        if reset is None or p.end >= reset
    ]


def agnostic_current_index(achieved: Sequence[bool]) -> int | None:
    """A PERIOD_AGNOSTIC customer's period in progress: the first one not yet achieved."""
    for i, done in enumerate(achieved):
        if not done:
            return i
    return None

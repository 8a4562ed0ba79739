"""What one run of the progress writer covers: the (customer, group) pairs, and of each the
periods it evaluates (`Batch`, `Plan`). Pure: no database."""

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from targets.models import EvaluationType
from targets.periods import contains
from targets.progress.evaluate import GroupCfg


@dataclass(frozen=True)
class Batch:
    """A run's input. `pairs` maps each (customer, group) to the moments of its new activity
    when only the periods holding them need evaluating (see `periods_independent`), or to None
    for every period; `new_acts` is {customer: new Act, oldest first} when ingesting, None when
    every stored activity is replayed."""

    groups: dict  # group id -> GroupCfg
    pairs: dict
    now: datetime
    enrolled: dict  # customer id -> {group id: Enrolled}
    new_acts: dict | None = None
    # The stored rows the writer compares, read with the enrolments (`load.load_customer_state`):
    # {(customer, group): GroupEnrolment}, {(customer, streak): UserStreak}.
    enrolments: dict = field(default_factory=dict)
    streaks: dict = field(default_factory=dict)

    @property
    def replaying(self) -> bool:
        return self.new_acts is None

    @cached_property
    def customers(self) -> list[int]:
        return sorted({c for c, _ in self.pairs})

    @cached_property
    def group_ids(self) -> list[int]:
        return sorted({g for _, g in self.pairs})

    @cached_property
    def unscoped(self) -> set[int]:
        """The groups of which some pair evaluates every period."""
        return {g for (_, g), moments in self.pairs.items() if moments is None}

    def periods_of(self, pair, cyclic) -> tuple:
        """The pair's periods: the customer's own for a CYCLIC group, else the group's."""
        group = self.groups[pair[1]]
        if group.evaluation == EvaluationType.CYCLIC:
            return cyclic.get(pair, ())
        return group.periods


@dataclass(frozen=True)
class Plan:
    """The periods a run evaluates: `evaluated` {pair: periods}; `scope` {pair: period ids} for
    the pairs evaluated only where their new activity lands (the others: every period)."""

    evaluated: dict
    scope: dict

    def in_scope(self, pair, period_id) -> bool:
        scope = self.scope.get(pair)
        return scope is None or period_id in scope


def plan(*, batch: Batch, cyclic) -> Plan:
    evaluated, scope = {}, {}
    for pair, moments in batch.pairs.items():
        periods = batch.periods_of(pair, cyclic)
        if moments is not None:
            periods = periods_holding(periods, moments)
            scope[pair] = {p.id for p in periods}
        if periods:
            evaluated[pair] = periods
    return Plan(evaluated, scope)


def bounds(moments):
    """(low, high) such that a period containing one of the moments has end ≥ low and
    start ≤ high (ends are compared to the second, see `contains`)."""
    return min(moments).replace(microsecond=0), max(moments)


def periods_holding(periods, moments):
    """The periods that contain one of the moments (a cheap bounds test first: most pairs
    have one or two moments and a period or two around them)."""
    low, high = bounds(moments)
    return [
        p
        for p in periods
        if p.start <= high and p.end >= low and any(contains(p.start, p.end, at) for at in moments)
    ]


def periods_independent(group: GroupCfg) -> bool:
    """Whether new activity can change only the periods it falls in. Not so for PERIOD_AGNOSTIC
    groups (carry-over flows into later periods); other groups' periods are evaluated
    independently, so the incremental path replays and compares only the periods new activity
    lands in. (A streak reads every period: the others' achieved user targets are read for it.)"""
    return group.evaluation != EvaluationType.PERIOD_AGNOSTIC

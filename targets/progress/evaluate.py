"""The arithmetic of progress (SPEC §4), as pure functions over plain values.

`evaluate_group` replays one customer's matching activities, oldest first, against one group
and returns the progress of every (rule, period) the activities reach. The engine calls it
both when new activity arrives and when progress is recomputed, so the two paths cannot
disagree. Event time decides: a target is achieved at the `occurred_at` of the activity that
first brought it to its value, whatever order activities arrive in.
"""

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from zoneinfo import ZoneInfo

from targets.periods import contains

ZERO = Decimal(0)


@dataclass(frozen=True)
class RuleCfg:
    id: int
    entity: str
    event_name: str
    target_type: str
    attribute: str
    target_value: Decimal
    triggers: tuple = ()  # ((trigger id, trigger value), …)
    active: bool = True
    created_on: datetime | None = None  # None: with its group
    pauses: tuple = ()  # ((start, end or None), …): received then, activity does not count


@dataclass(frozen=True)
class PeriodCfg:
    id: int
    sequence: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class GroupCfg:
    id: int
    org_id: int
    evaluation: str
    tracking: str
    tz: ZoneInfo
    start: datetime
    end: datetime
    created_on: datetime
    frequency_type: str
    frequency: int
    total_periods: int | None
    enrolment: str
    rules: tuple = ()  # RuleCfg (the active ones only when ingesting)
    streaks: tuple = ()  # ((streak id, needed, continuous), …)
    periods: tuple = ()  # shared PeriodCfg, by sequence (none for CYCLIC)
    overrides: dict = field(default_factory=dict)  # (rule id, period id) -> target value
    count_from: datetime | None = None  # received before this, activity does not count
    pauses: tuple = ()  # the group's own pauses: ((start, end or None), …)
    active: bool = True

    @cached_property
    def keys(self):
        """The (entity, event name) pairs this group listens to."""
        return {(r.entity, r.event_name) for r in self.rules}

    @cached_property
    def active_rules(self):
        """The rules that decide whether the group achieved a period (SPEC §4: ALL of them)."""
        return tuple(r for r in self.rules if r.active)

    def target(self, rule: RuleCfg, period_id: int) -> Decimal:
        return self.overrides.get((rule.id, period_id), rule.target_value)


@dataclass(frozen=True)
class Act:
    id: int
    entity: str
    event_name: str
    occurred_at: datetime
    received_at: datetime
    amount: Decimal
    net_amount: Decimal | None
    quantity: Decimal
    attributes: dict
    adjusts_group_id: int | None = None  # an initialBalance entry of that group


@dataclass(frozen=True)
class Enrolled:
    """When a customer was enrolled in an EXPLICIT group: since `since` (None: not now) and in
    the closed `episodes` ((start, end), …) before it."""

    since: datetime | None = None
    episodes: tuple = ()
    streak_reset_at: datetime | None = None

    def covers(self, at: datetime) -> bool:
        if self.since is not None and at >= self.since:
            return True
        return any(start <= at <= end for start, end in self.episodes)


@dataclass
class TargetState:
    value: Decimal
    enrolled_on: datetime
    achieved_at: datetime | None = None
    milestones: dict = field(default_factory=dict)  # trigger id -> achieved at
    # The latest occurred_at among the activities applied: new activity that happened at or
    # after it can be applied to the stored state as a delta, without replaying the period.
    last_at: datetime | None = None
    # The activity that achieved the target / each trigger (the events' causing activity).
    achieved_by: int | None = None
    milestones_by: dict = field(default_factory=dict)  # trigger id -> activity id

    def copy(self):
        return replace(self, milestones=dict(self.milestones), milestones_by=dict(self.milestones_by))


def _paused(pauses, at: datetime) -> bool:
    """Strictly inside a pause: activity received at the very moment of a deactivation or an
    activation is taken as received while active (a pinned clock makes such ties common)."""
    return any(start < at and (end is None or at < end) for start, end in pauses)


def in_window(group: GroupCfg, act: Act, enrolled: Enrolled | None = None) -> bool:
    """Whether the group counts the activity: it happened inside the group's window, and the
    configuration in force when it was received let it count — received from `count_from`
    (the group's creation unless backdated), not during a pause of the group, and for an
    EXPLICIT group while the customer was enrolled. Activity received before the group was
    created (a backdated program) is judged by today's configuration."""
    received = act.received_at
    count_from = group.count_from or group.created_on
    if received < count_from or not contains(group.start, group.end, act.occurred_at):
        return False
    explicit = group.enrolment == "EXPLICIT"
    if received < group.created_on:
        return not explicit or enrolled is not None
    if _paused(group.pauses, received):
        return False
    return not explicit or (enrolled is not None and enrolled.covers(received))


def rule_counts(group: GroupCfg, rule: RuleCfg, act: Act) -> bool:
    """Whether the rule existed and was active when the activity was received."""
    received = act.received_at
    if received < group.created_on:
        return True
    if rule.created_on is not None and received < rule.created_on:
        return False
    return not _paused(rule.pauses, received)


def listens(group: GroupCfg, act: Act) -> bool:
    """The activity is of a kind the group counts: one of its rules' (entity, event name), or
    an adjustment entry of the group."""
    if act.adjusts_group_id is not None:
        return act.adjusts_group_id == group.id
    return (act.entity, act.event_name) in group.keys


def matches(group: GroupCfg, act: Act, enrolled: Enrolled | None = None) -> bool:
    return listens(group, act) and in_window(group, act, enrolled)


def measure(rule: RuleCfg, act: Act) -> Decimal:
    """What one activity adds to a rule (VISIT's once-a-day rule is applied by the caller)."""
    kind = rule.target_type
    if kind in ("COUNT", "VISIT"):
        return Decimal(1)
    if kind == "GROSS_SALES":
        return act.amount
    if kind == "SALES":
        return act.net_amount if act.net_amount is not None else act.amount
    if kind == "QUANTITY":
        return act.quantity
    if kind == "SUM":
        return attribute_value(act.attributes.get(rule.attribute))
    return ZERO


def attribute_value(raw) -> Decimal:
    """A SUM attribute as a number; anything not a non-negative finite number counts 0."""
    if isinstance(raw, bool) or raw is None:
        return ZERO
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        return ZERO
    return value if value.is_finite() and value > 0 else ZERO


def _add(
    state: TargetState, delta: Decimal, *, target: Decimal, rule: RuleCfg, at: datetime, cap: bool, by=None
):
    state.last_at = at if state.last_at is None or at > state.last_at else state.last_at
    state.value = min(state.value + delta, target) if cap else state.value + delta
    if state.achieved_at is None and state.value >= target:
        state.achieved_at, state.achieved_by = at, by
    for trigger_id, trigger_value in rule.triggers:
        if trigger_id not in state.milestones and state.value >= trigger_value:
            state.milestones[trigger_id] = at
            state.milestones_by[trigger_id] = by


def evaluate_group(
    group: GroupCfg,
    periods: Sequence[PeriodCfg],
    activities: Sequence[Act],
    enrolled: Enrolled | None = None,
    initial: dict | None = None,
) -> dict[tuple[int, int], TargetState]:
    """{(rule id, period id): TargetState} for one customer. `periods` are the group's shared
    periods, or the customer's own for a CYCLIC group; `activities` are sorted by
    (occurred_at, id); `enrolled` tells when the customer was enrolled (EXPLICIT groups).

    `initial` ({(rule id, period id): TargetState}, the stored progress of `periods`) makes it
    a delta: `activities` are only new ones, none earlier than any state's `last_at`, applied on
    top of the stored states — what a replay of every activity would give."""
    out = {}
    capping = group.tracking == "CAPPING"
    agnostic = group.evaluation == "PERIOD_AGNOSTIC_WINDOW"
    if agnostic and not periods:
        return out
    placed = _placed(group, periods, activities, enrolled)
    for rule in group.rules:
        states, visited, pointer = _start(group, rule, periods, initial)
        for act, period in placed:
            adjustment = act.adjusts_group_id is not None
            if not adjustment and (act.entity != rule.entity or act.event_name != rule.event_name):
                continue
            if not rule_counts(group, rule, act):
                continue
            if adjustment:
                pointer = _adjust(states, periods, pointer, act, period, group=group, rule=rule, cap=capping)
                continue
            delta = measure(rule, act)
            if agnostic:
                if rule.target_type == "VISIT":
                    day = act.occurred_at.astimezone(group.tz).date()
                    delta = ZERO if day in visited else delta
                    visited.add(day)
                pointer = _fill(
                    states,
                    periods,
                    pointer,
                    delta,
                    group=group,
                    rule=rule,
                    at=act.occurred_at,
                    cap=capping,
                    by=act.id,
                )
                continue
            if rule.target_type == "VISIT":
                day = (period.id, act.occurred_at.astimezone(group.tz).date())
                delta = ZERO if day in visited else delta
                visited.add(day)
            state = states.get(period.id)
            if state is None:
                state = states[period.id] = TargetState(ZERO, enrolled_on=act.occurred_at)
            _add(
                state,
                delta,
                target=group.target(rule, period.id),
                rule=rule,
                at=act.occurred_at,
                cap=capping,
                by=act.id,
            )
        out.update({(rule.id, period_id): state for period_id, state in states.items()})
    return out


def _placed(group, periods, activities, enrolled):
    """[(activity, its period)] in the order they are applied (PERIOD_AGNOSTIC: period None).
    Whether the group counts an activity, and in which period, does not depend on the rule:
    decided once per activity rather than once per rule (UNIFIED groups have up to ten)."""
    counted = [act for act in activities if matches(group, act, enrolled)]
    if group.evaluation == "PERIOD_AGNOSTIC_WINDOW":
        return _after_their_balance([(act, None) for act in counted])
    placed = []
    for act in counted:
        period = next((p for p in periods if contains(p.start, p.end, act.occurred_at)), None)
        if period is not None:
            placed.append((act, period))
    return _balances_first(placed)


def _start(group, rule, periods, initial):
    """(states, visited days, PERIOD_AGNOSTIC pointer) before the activities are applied: empty
    for a replay, the stored states for a delta. In order, a day was visited before only if it
    is the day of the latest activity applied."""
    if not initial:
        return {}, set(), 0
    states = {p.id: initial[(rule.id, p.id)].copy() for p in periods if (rule.id, p.id) in initial}
    if group.evaluation != "PERIOD_AGNOSTIC_WINDOW":
        visited = {(pid, s.last_at.astimezone(group.tz).date()) for pid, s in states.items() if s.last_at}
        return states, visited, 0
    latest = max((s.last_at for s in states.values() if s.last_at), default=None)
    visited = {latest.astimezone(group.tz).date()} if latest else set()
    pointer = 0
    while pointer < len(periods) - 1:
        state = states.get(periods[pointer].id)
        if state is None or state.value < group.target(rule, periods[pointer].id):
            break
        pointer += 1
    return states, visited, pointer


def _fill(states, periods, pointer, delta, *, group, rule, at, cap, by=None):
    """PERIOD_AGNOSTIC carry-over: fill the first unachieved period up to its target, the rest
    flows into the next ones (1200 against 1000 + 1000 gives 1000 and 200). The last period
    keeps what is left (capped under CAPPING)."""
    while True:
        period = periods[pointer]
        state = states.get(period.id)
        if state is None:
            state = states[period.id] = TargetState(ZERO, enrolled_on=at)
        target = group.target(rule, period.id)
        last = pointer == len(periods) - 1
        room = target - state.value
        if last or delta <= room:
            _add(state, delta, target=target, rule=rule, at=at, cap=cap, by=by)
            if state.value >= target and not last:
                pointer += 1
            return pointer
        _add(state, room, target=target, rule=rule, at=at, cap=cap, by=by)
        delta -= room
        pointer += 1


def _balances_first(placed):
    """An initialBalance replaces what its period counted from activity received before it;
    activity received after it adds on top, whenever it happened. So each period's latest
    balance is replayed first and the activity it replaces is left out."""
    latest = {}
    for act, period in placed:
        if act.adjusts_group_id is not None:
            held = latest.get(period.id)
            if held is None or (act.received_at, act.id) > (held.received_at, held.id):
                latest[period.id] = act
    if not latest:
        return placed
    balances = [(act, period) for act, period in placed if latest.get(period.id) is act]
    rest = [
        (act, period)
        for act, period in placed
        if period.id not in latest
        or (act.received_at, act.id) > (latest[period.id].received_at, latest[period.id].id)
    ]
    return balances + rest


def _after_their_balance(placed):
    """PERIOD_AGNOSTIC: activity received after an initialBalance adds on top of it, whenever it
    happened, as in the other groups (`_balances_first`). So each balance is replayed before
    the activity received after it (and before the next balance), that activity by event time."""
    balances = sorted((act.received_at, act.id) for act, _ in placed if act.adjusts_group_id is not None)
    if not balances:
        return placed

    def order(item):
        act = item[0]
        return bisect_right(balances, (act.received_at, act.id)), act.adjusts_group_id is None

    return sorted(placed, key=order)  # stable: by (occurred_at, id) within each


def _adjust(states, periods, pointer, act, period, *, group, rule, cap):
    """An initialBalance entry: the period's achieved value becomes the balance (PERIOD_AGNOSTIC:
    the period in progress, what exceeds its target carries over as activity would)."""
    at = act.occurred_at
    if period is None:  # PERIOD_AGNOSTIC
        _restart(states.get(periods[pointer].id))
        return _fill(states, periods, pointer, act.amount, group=group, rule=rule, at=at, cap=cap, by=act.id)
    state = states.get(period.id)
    if state is None:
        state = states[period.id] = TargetState(ZERO, enrolled_on=at)
    _restart(state)
    _add(state, act.amount, target=group.target(rule, period.id), rule=rule, at=at, cap=cap, by=act.id)
    return pointer


def _restart(state):
    """The period starts again from the balance: what it had reached before is replaced."""
    if state is not None:
        state.value, state.achieved_at, state.milestones = ZERO, None, {}
        state.achieved_by, state.milestones_by = None, {}

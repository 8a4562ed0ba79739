"""Desired progress → stored rows: one generic step, "existing rows → desired rows → insert,
update, delete", used for user targets, milestones, enrolments and streaks. Only differences
are written; the events recorder (`targets.events.recorder`) sees each write's differences
before the rows are written."""

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from targets.models import (
    Enrolment,
    EnrolmentSource,
    EvaluationType,
    GroupEnrolment,
    UserMilestone,
    UserStreak,
    UserTarget,
)
from targets.outcomes import NOT_STARTED, period_achievement, streak_outcomes, streak_state
from targets.progress.load import TargetRow
from targets.progress.scope import Batch, Plan
from targets.progress.sql import insert_rows, update_rows


@dataclass
class Diff:
    new: list = field(default_factory=list)  # [(key, desired value)]
    changed: list = field(default_factory=list)  # [(stored row, desired value)]
    stale: list = field(default_factory=list)  # [stored row]


def diff(
    *,
    existing: dict,
    desired: dict,
    same: Callable,
    owned: Callable[[Hashable], bool] = lambda key: True,
) -> Diff:
    """What turns `existing` ({key: stored row}) into `desired` ({key: value}): the new keys,
    the rows whose values differ (`same(row, value)` false), and the rows no longer desired
    among those this run owns (`owned(key)`; the others are left alone)."""
    out = Diff()
    for key, row in existing.items():
        if key not in desired and owned(key):
            out.stale.append(row)
    for key, value in desired.items():
        row = existing.get(key)
        if row is None:
            out.new.append((key, value))
        elif not same(row, value):
            out.changed.append((row, value))
    return out


def apply(
    model,
    change: Diff,
    *,
    insert: tuple[tuple, Callable],
    update: tuple[list, Callable],
    returning: bool = False,
) -> list:
    """Write a Diff: delete the stale rows, insert the new ones (`insert`: the fields and a
    function (key, value) → row tuple), update the changed ones (`update`: the fields and a
    function (row, value) that sets them). Returns the new ids with `returning`."""
    if change.stale:
        model.objects.filter(id__any=[row.id for row in change.stale]).delete()
    fields, row_of = insert
    ids = insert_rows(model, fields, [row_of(key, value) for key, value in change.new], returning=returning)
    update_fields, assign = update
    for row, value in change.changed:
        assign(row, value)
    update_rows(model, [row for row, _ in change.changed], update_fields)
    return ids


# --- user targets ----------------------------------------------------------------------------

TARGET_VALUES = ("achieved_value", "achieved_at", "enrolled_on", "last_activity_at")


def _target_values(state):
    return (state.value, state.achieved_at, state.enrolled_on, state.last_at)


def _stored_values(row):
    return (row.achieved_value, row.achieved_at, row.enrolled_on, row.last_activity_at)


def sync_user_targets(*, batch: Batch, plan: Plan, desired, existing, events):
    """Create, update or delete UserTarget rows. Returns ({(customer, rule, period): row} as
    desired, the stored rows outside the run's scope — the achieved ones a streak reads — and
    the ids of the rows created)."""
    evaluated = {(c, r.id): (c, g) for c, g in batch.pairs for r in batch.groups[g].rules}

    def owned(key):
        return key[:2] in evaluated and plan.in_scope(evaluated[key[:2]], key[2])

    change = diff(
        existing=existing,
        desired=desired,
        same=lambda row, s: _stored_values(row) == _target_values(s),
        owned=owned,
    )
    kept = {
        key: row
        for key, row in existing.items()
        if key not in desired and key[:2] in evaluated and not owned(key)
    }
    events.user_targets(existing=existing, desired=desired, stale=[row.id for row in change.stale])
    org_of_rule = {r.id: batch.groups[g].org_id for g in batch.group_ids for r in batch.groups[g].rules}
    created = [(key, TargetRow(None, org_of_rule[key[1]], *_target_values(s))) for key, s in change.new]
    rows = {key: existing[key] for key in desired if key in existing} | dict(created)
    ids = apply(
        UserTarget,
        change,
        insert=(
            ("org", "customer", "rule", "period", *TARGET_VALUES),
            lambda key, s: (org_of_rule[key[1]], *key, *_target_values(s)),
        ),
        update=(list(TARGET_VALUES), _assign_target),
        returning=True,
    )
    for (_key, row), new_id in zip(created, ids, strict=True):
        row.id = new_id
    return {key: rows[key] for key in desired}, kept, set(ids)


def _assign_target(row, state):
    row.achieved_value, row.achieved_at, row.enrolled_on, row.last_activity_at = _target_values(state)


# --- milestones ------------------------------------------------------------------------------


def sync_milestones(*, desired, targets, created, events):
    """UserMilestone rows: one per user target and trigger reached."""
    wanted = {
        (targets[key].id, trigger_id): at
        for key, state in desired.items()
        for trigger_id, at in state.milestones.items()
    }
    existing = {
        (ut.id, trigger_id): milestone
        for ut in targets.values()
        if ut.id not in created
        for trigger_id, milestone in ut.milestones.items()
    }
    events.milestones(existing=existing, wanted=wanted, targets=targets)
    org_of = {ut.id: ut.org_id for ut in targets.values()}
    apply(
        UserMilestone,
        diff(existing=existing, desired=wanted, same=lambda row, at: row.achieved_at == at),
        insert=(("org", "user_target", "trigger", "achieved_at"), lambda key, at: (org_of[key[0]], *key, at)),
        update=(["achieved_at"], _assign_achieved_at),
    )


def _assign_achieved_at(row, at):
    row.achieved_at = at


# --- enrolments ------------------------------------------------------------------------------


def sync_enrolments(*, batch: Batch, plan: Plan, desired, events):
    """ALL_CUSTOMERS groups enrol a customer at the first matching activity (event time: an
    earlier activity arriving late moves an activity enrolment back, as it moves the user
    targets' enrolled_on). Enrolments made by an admin, the API or an import are kept, and an
    EXPLICIT group's enrolments are made by them only. Never deleted here."""
    first = _first_counted(batch, desired)
    have = batch.enrolments  # read with the configuration (`load.load_enrolments`)
    wanted = {}
    for key, at in first.items():
        row, all_customers = have.get(key), batch.groups[key[1]].enrolment == Enrolment.ALL_CUSTOMERS
        if row is None:
            if all_customers:
                wanted[key] = at
        elif key in plan.scope and at > row.enrolled_on:
            continue  # the earlier activity lies in a period this run did not evaluate
        elif row.source == EnrolmentSource.ACTIVITY and all_customers:
            wanted[key] = at
    change = diff(
        existing=have, desired=wanted, same=lambda row, at: row.enrolled_on == at, owned=lambda key: False
    )
    events.enrolments(
        created=[
            (batch.groups[g].org_id, g, c, at, EnrolmentSource.ACTIVITY.value) for (c, g), at in change.new
        ]
    )
    apply(
        GroupEnrolment,
        change,
        insert=(
            ("org", "group", "customer", "enrolled_on", "source"),
            lambda key, at: (batch.groups[key[1]].org_id, key[1], key[0], at, EnrolmentSource.ACTIVITY.value),
        ),
        update=(["enrolled_on"], _assign_enrolled_on),
    )


def _first_counted(batch: Batch, desired) -> dict:
    """{(customer, group): the earliest enrolled_on among the desired user targets}."""
    first = {}
    group_of_rule = {r.id: g for g in batch.group_ids for r in batch.groups[g].rules}
    for (customer_id, rule_id, _), state in desired.items():
        key = (customer_id, group_of_rule[rule_id])
        if key not in first or state.enrolled_on < first[key]:
            first[key] = state.enrolled_on
    return first


def _assign_enrolled_on(row, at):
    row.enrolled_on = at


# --- streaks ---------------------------------------------------------------------------------

STREAK_VALUES = ("status", "current_count", "achieved_at", "achieved_user_target")


def sync_streaks(*, batch: Batch, targets, kept, cyclic, events):
    """UserStreak rows of the evaluated pairs, walked from the periods' outcomes
    (`targets.outcomes`, as the read endpoint walks them). No row before a first achieved
    period: a NOT_STARTED state deletes it, as a rebuild leaves it."""
    streak_groups = [g for g in batch.group_ids if batch.groups[g].streaks]
    if not streak_groups:
        return
    existing = _stored_streaks(batch, streak_groups)
    group_of_streak = {sid: g for g in streak_groups for sid, _, _ in batch.groups[g].streaks}
    desired, evaluated = {}, set()
    for pair in batch.pairs:
        group = batch.groups[pair[1]]
        if not group.streaks:
            continue
        evaluated.add(pair)
        periods = batch.periods_of(pair, cyclic)
        outcomes = _outcomes(batch, pair, periods, targets, kept)
        for streak_id, needed, continuous in group.streaks:
            state = streak_state(outcomes, needed=needed, continuous=continuous)
            events.streak(
                customer_id=pair[0],
                group=group,
                streak_id=streak_id,
                needed=needed,
                old=existing.get((pair[0], streak_id)),
                new=state,
                periods=periods,
                outcomes=outcomes,
            )
            if state.status != NOT_STARTED:
                desired[(pair[0], streak_id)] = (group.org_id, _streak_values(state))
    apply(
        UserStreak,
        diff(
            existing=existing,
            desired=desired,
            same=lambda row, value: _stored_streak(row) == value[1],
            owned=lambda key: (key[0], group_of_streak[key[1]]) in evaluated,
        ),
        insert=(
            ("org", "customer", "streak", *STREAK_VALUES),
            lambda key, value: (value[0], *key, *value[1]),
        ),
        update=(list(STREAK_VALUES), _assign_streak),
    )


def _outcomes(batch: Batch, pair, periods, targets, kept):
    customer_id, group_id = pair
    group = batch.groups[group_id]
    achievements = [
        period_achievement(
            [
                targets.get(key) or kept.get(key)
                for key in ((customer_id, rule.id, period.id) for rule in group.active_rules)
            ]
        )
        for period in periods
    ]
    return streak_outcomes(
        periods,
        achievements,
        now=batch.now,
        agnostic=group.evaluation == EvaluationType.PERIOD_AGNOSTIC,
        reset=getattr(batch.enrolled[customer_id].get(group_id), "streak_reset_at", None),
    )


def _stored_streaks(batch: Batch, streak_groups) -> dict:
    """The stored UserStreaks of the streak groups (read with the enrolments)."""
    mine = {sid for g in streak_groups for sid, _, _ in batch.groups[g].streaks}
    return {key: row for key, row in batch.streaks.items() if key[1] in mine}


def _streak_values(state):
    return (state.status, state.current_count, state.achieved_at, state.achieved_user_target_id)


def _stored_streak(row):
    return (row.status, row.current_count, row.achieved_at, row.achieved_user_target_id)


def _assign_streak(row, value):
    row.status, row.current_count, row.achieved_at, row.achieved_user_target_id = value[1]

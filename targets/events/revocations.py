"""ACHIEVEMENT_REVOKED for achievements that a deletion takes away (a group, or rules of one).

Deleting configuration removes the progress rows under it by cascade: the engine's writer never
sees them go, so it cannot announce them. The configuration services (`group_delete`,
`rule_delete` in targets.configuration) call `record_deletion` inside their transaction, before
the delete: it reads what is achieved under the doomed rows, looks up the names while they still
exist, and writes the events. Events carry ids and names as plain values (no foreign keys), so
the feed and the webhooks serve them after the rows are gone.

What a deletion revokes: every achieved user target (TARGET_ACHIEVED), every reached milestone
(MILESTONE_ACHIEVED) of the deleted rules; for a deleted group also every achieved UNIFIED
period and every achieved streak (so does deleting a group's last rule: the engine leaves a
group without rules alone, and `rule_delete` deletes its streak rows). Deleting rules of a
UNIFIED group changes which rules a period needs: a period achieved only with the deleted
rules is revoked, and one that the remaining rules now achieve is announced
(UNIFIED_TARGET_ACHIEVED, no activity: the deletion caused it). Streaks that change with the
rules are the refresh's (the engine's recorder)."""

from collections import defaultdict
from operator import itemgetter

from customers.models import Customer
from targets.events.models import EventType
from targets.events.recorder import USER, events_enabled, pending_event, write_events
from targets.models import (
    PeriodTargetValue,
    StreakStatus,
    TargetGroup,
    TrackingType,
    UserMilestone,
    UserStreak,
    UserTarget,
)
from targets.outcomes import period_achieved_at

REVOKED = EventType.ACHIEVEMENT_REVOKED


def record_deletion(*, group: TargetGroup, now, rule_ids=None) -> list[int]:
    """Announce what deleting `group` (or only its rules `rule_ids`) takes back; returns the
    customers holding progress in the group (locked, as the engine locks them, so
    their events follow their earlier ones). Call it in the deleting transaction, before the
    delete."""
    rules = {r.id: r for r in group.rules.all()}
    doomed = set(rules) if rule_ids is None else set(rule_ids) & set(rules)
    # A rule less can change any of the group's periods and streaks, not only the rule's own.
    holders = sorted(
        set(UserTarget.objects.filter(rule__group=group).values_list("customer_id", flat=True))
        | set(UserStreak.objects.filter(streak__group=group).values_list("customer_id", flat=True))
    )
    if not events_enabled() or not holders:
        return holders
    list(Customer.objects.select_for_update().filter(id__in=holders).order_by("id").values_list("id"))
    common = {"org_id": group.org_id, "group_id": group.id, "occurred_at": now}
    overrides = {
        (rule_id, period_id): value
        for rule_id, period_id, value in PeriodTargetValue.objects.filter(rule_id__in=doomed).values_list(
            "rule_id", "period_id", "target_value"
        )
    }
    targets = list(
        UserTarget.objects.filter(rule__group=group).values_list(
            "id", "customer_id", "rule_id", "period_id", "achieved_value", "achieved_at"
        )
    )
    pending = []
    for _id, customer_id, rule_id, period_id, value, achieved_at in targets:
        if rule_id in doomed and achieved_at is not None:
            pending.append(
                pending_event(
                    REVOKED,
                    **common,
                    user_id=customer_id,
                    rule_id=rule_id,
                    period_id=period_id,
                    achieved_value=value,
                    target_value=overrides.get((rule_id, period_id), rules[rule_id].target_value),
                    revoked_type=EventType.TARGET_ACHIEVED,
                )
            )
    by_id = {row[0]: row for row in targets}
    for ut_id, trigger_id, trigger_value in UserMilestone.objects.filter(
        user_target__rule_id__in=doomed
    ).values_list("user_target_id", "trigger_id", "trigger__trigger_value"):
        _id, customer_id, rule_id, period_id, value, _at = by_id[ut_id]
        pending.append(
            pending_event(
                REVOKED,
                **common,
                user_id=customer_id,
                rule_id=rule_id,
                period_id=period_id,
                trigger_id=trigger_id,
                achieved_value=value,
                target_value=trigger_value,
                revoked_type=EventType.MILESTONE_ACHIEVED,
            )
        )
    if group.tracking_type == TrackingType.UNIFIED:
        pending += _unified(group, rules, doomed, targets, common)
    if not set(rules) - doomed:  # no rule left: no period achieved, no streak
        for customer_id, streak_id, count, needed in UserStreak.objects.filter(
            streak__group=group, status=StreakStatus.ACHIEVED
        ).values_list("customer_id", "streak_id", "current_count", "streak__target_count_of_sequence"):
            pending.append(
                pending_event(
                    REVOKED,
                    **common,
                    user_id=customer_id,
                    streak_id=streak_id,
                    achieved_value=count,
                    target_value=needed,
                    revoked_type=EventType.STREAK_ACHIEVED,
                )
            )
    # A customer's events together (the feed orders each customer's events by insertion).
    pending.sort(key=itemgetter(USER))
    write_events(pending, now=now)
    return holders


def _unified(group, rules, doomed, targets, common):
    """UNIFIED periods whose achievement the deletion changes: revoked when they were achieved
    and are no longer, announced when the remaining rules achieve one that was not."""
    active = [rule_id for rule_id, rule in rules.items() if rule.active]
    remaining = [rule_id for rule_id in active if rule_id not in doomed]
    achieved = defaultdict(dict)  # (customer, period) -> {rule: achieved_at}
    for _id, customer_id, rule_id, period_id, _value, achieved_at in targets:
        achieved[customer_id, period_id][rule_id] = achieved_at
    events = []
    for (customer_id, period_id), at in sorted(achieved.items()):
        was = period_achieved_at(at.get(r) for r in active)
        now_at = period_achieved_at(at.get(r) for r in remaining)
        fields = {**common, "user_id": customer_id, "period_id": period_id}
        if was is not None and now_at is None:
            done = sum(1 for r in remaining if at.get(r) is not None)
            events.append(
                pending_event(
                    REVOKED,
                    **fields,
                    achieved_value=done,
                    target_value=len(remaining) or len(active),
                    revoked_type=EventType.UNIFIED_TARGET_ACHIEVED,
                )
            )
        elif was is None and now_at is not None:
            events.append(
                pending_event(
                    EventType.UNIFIED_TARGET_ACHIEVED,
                    **fields,
                    achieved_value=len(remaining),
                    target_value=len(remaining),
                )
            )
    return events

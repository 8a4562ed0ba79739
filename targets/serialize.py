"""The one serializer of the read model: `rec.CustomerTargets` records → the documented `data` of
GET /v3.1/users/{userId}/targetGroups (SPEC §3).

It applies the answer's domain rules (which period is current, when the group achieved a
period, streak states at request time) through `targets.outcomes`, and writes plain dicts: no
per-object serializer fields on the hot path.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from targets import records as rec
from targets.formats import attribution_time, instant_z, utc_date
from targets.models import STREAK_TRACKING, EvaluationType
from targets.outcomes import (
    StreakState,
    achieving_rules,
    agnostic_current_index,
    period_achievement,
    streak_outcomes,
    streak_state,
)
from targets.periods import contains


@dataclass(frozen=True)
class Filters:
    include_inactive: bool = False  # every period, not only the current one
    include_inactive_targets: bool = False  # inactive groups and rules too
    target_rule_id: int | None = None


def number(value):
    """Decimals as JSON numbers: integral values as integers (2400), others as floats."""
    if value is None:
        return None
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)


def _actor(actor: rec.ActorRecord | None):
    if actor is None:
        return None
    return {
        "id": actor.id,
        "code": actor.code,
        "description": actor.description,
        "name": actor.name,
        "type": actor.type,
    }


def _id_only(actor_id):
    if actor_id is None:
        return None
    return {"id": actor_id, "code": None, "description": None, "name": None, "type": None}


def customer_block(customer: rec.CustomerRecord, profiles: list[rec.ProfileRecord]) -> dict:
    return {
        "id": customer.id,
        "profiles": [
            {
                "firstName": p.first_name,
                "lastName": p.last_name,
                "commChannels": [
                    {
                        "type": c.type,
                        "accountId": c.account_id,
                        "value": c.value,
                        "primary": c.primary,
                        "verified": c.verified,
                        "subscribed": c.subscribed,
                        "attributes": c.attributes,
                    }
                    for c in p.channels
                ],
                "source": p.source,
                "accountId": p.account_id,
                "userId": customer.id,
                "orgSourceId": p.org_source_id,
            }
            for p in profiles
        ],
        "loyaltyInfo": {
            "attribution": {
                "createdOn": attribution_time(customer.created_on),
                "lastUpdatedOn": attribution_time(customer.last_updated_on),
                "lastUpdatedBy": _id_only(customer.last_updated_by_id),
                "createdBy": _id_only(customer.created_by_id),
            },
            "loyaltyType": customer.loyalty_type,
            "lifetimePurchases": number(customer.lifetime_purchases),
        },
        "customFields": customer.custom_fields or {},
    }


@dataclass(frozen=True)
class GroupProgress:
    """The request-time rules of one group for one customer, period by period."""

    current: list[bool]  # per period: the customer's current period
    streaks: list[tuple[rec.StreakRecord, StreakState]]
    streak_achieved_at: dict[int, datetime]  # user target id -> when it completed a streak


def group_progress(
    group: rec.GroupRecord,
    *,
    periods: list[rec.PeriodRecord],
    rules: list[rec.RuleRecord],
    user_targets: dict[tuple[int, int], rec.UserTargetRecord],
    streaks: list[rec.StreakRecord],
    now: datetime,
) -> GroupProgress:
    """Which period is current and where the group's streaks stand. A period is achieved when
    every achieving (active) rule is (`targets.outcomes`). PERIOD_AGNOSTIC groups have no
    calendar: the current period is the first one not achieved, and no period ever closes."""
    agnostic = group.target_evaluation_type == EvaluationType.PERIOD_AGNOSTIC
    counting = achieving_rules(rules)
    achievements = [
        period_achievement([user_targets.get((rule.id, period.id)) for rule in counting])
        for period in periods
    ]
    if agnostic:
        index = agnostic_current_index([a.achieved_at is not None for a in achievements])
        current = [i == index for i in range(len(periods))]
    else:
        current = [contains(p.start, p.end, now) for p in periods]
    states, streak_achieved_at = [], {}
    if group.tracking_type in STREAK_TRACKING and streaks:
        reset = getattr(group, "streak_reset_at", None)  # a model (the naive benchmark) has none
        outcomes = streak_outcomes(periods, achievements, now=now, agnostic=agnostic, reset=reset)
        for streak in streaks:
            state = streak_state(
                outcomes, needed=streak.target_count_of_sequence, continuous=streak.continuous
            )
            if state.achieved_user_target_id is not None:
                streak_achieved_at.setdefault(state.achieved_user_target_id, state.achieved_at)
            states.append((streak, state))
    return GroupProgress(current, states, streak_achieved_at)


def _reached(achieved_value, trigger_value) -> bool:
    return achieved_value is not None and achieved_value >= trigger_value


def _streak(streak: rec.StreakRecord, state: StreakState) -> dict:
    return {
        "userStreakId": streak.user_streak_id,
        "streakId": streak.id,
        "streakName": streak.name,
        "status": state.status,
        "currentCount": state.current_count,
        "totalTargetCountOfSequence": streak.target_count_of_sequence,
        "streakAchievedDateTime": instant_z(state.achieved_at),
        "streakAchievedUserTargetId": state.achieved_user_target_id,
    }


def _group(
    group: rec.GroupRecord, records: rec.CustomerTargets, *, now, filters: Filters, enrolled_now
) -> dict:
    periods = records.periods.get(group.id, [])
    rules = records.rules.get(group.id, [])
    user_targets, overrides = records.user_targets, records.overrides
    progress = group_progress(
        group,
        periods=periods,
        rules=rules,
        user_targets=user_targets,
        streaks=records.streaks.get(group.id, []),
        now=now,
    )
    out = {
        "id": group.id,
        "attribution": {
            "createdOn": attribution_time(group.created_on),
            "lastUpdatedOn": attribution_time(group.last_updated_on),
            "lastUpdatedBy": _actor(group.last_updated_by),
            "createdBy": _actor(group.created_by),
        },
        "name": group.name,
        "orgId": group.org_id,
        "preferredTillId": group.preferred_till_id,
        "targets": [],
    }
    if group.tracking_type in STREAK_TRACKING:
        out["streaks"] = [_streak(streak, state) for streak, state in progress.streaks]
    targets = out["targets"]
    listed = [(i, p) for i, p in enumerate(periods) if filters.include_inactive or progress.current[i]]
    streak_achieved_at = progress.streak_achieved_at
    for rule in rules:
        if not (rule.active or filters.include_inactive_targets):
            continue
        if filters.target_rule_id is not None and rule.id != filters.target_rule_id:
            continue
        for i, period in listed:
            ut = user_targets.get((rule.id, period.id))
            achieved_value = ut.achieved_value if ut else None
            targets.append(
                {
                    "targetId": ut.id if ut else None,
                    "orgId": group.org_id,
                    "periodId": period.id,
                    "periodRefCode": period.ref_code,
                    "periodStartDate": utc_date(period.start),
                    "periodEndDate": utc_date(period.end),
                    "targetValue": float(overrides.get((rule.id, period.id), rule.target_value)),
                    "targetAchievedValue": float(achieved_value) if ut else 0,
                    "targetName": rule.name,
                    "targetType": rule.target_type,
                    "targetEntity": rule.target_entity,
                    "targetRuleId": rule.id,
                    "enrolledOn": attribution_time(ut.enrolled_on) if ut else enrolled_now,
                    "eventName": rule.event_name,
                    "periodStartDateWithTimeStamp": instant_z(period.start),
                    "periodEndDateWithTimeStamp": instant_z(period.end),
                    "targetAchievedDateTime": instant_z(ut.achieved_at) if ut else None,
                    "streakAchievedDateTime": instant_z(streak_achieved_at.get(ut.id)) if ut else None,
                    "currentPeriod": progress.current[i],
                    "milestones": [
                        {
                            "id": trigger.id,
                            "triggerName": trigger.trigger_name,
                            "triggerValue": float(trigger.trigger_value),
                            "isAchieved": _reached(achieved_value, trigger.trigger_value),
                        }
                        for trigger in rule.triggers
                    ]
                    or None,
                }
            )
    out["targetEvaluationType"] = group.target_evaluation_type
    out["trackingType"] = group.tracking_type
    return out


def customer_targets_data(records: rec.CustomerTargets, *, now: datetime, filters: Filters) -> dict:
    """The `data` of the response. `now` is the service clock; the groups, periods and rules in
    `records` are those the fetch selected for `filters` (a default read may carry only the
    periods its answer needs: the current one, plus what streaks and PERIOD_AGNOSTIC need)."""
    enrolled_now = attribution_time(now)
    return {
        "userId": records.customer.id,
        "customer": customer_block(records.customer, records.profiles),
        "targetGroups": [
            _group(group, records, now=now, filters=filters, enrolled_now=enrolled_now)
            for group in records.groups
        ],
    }

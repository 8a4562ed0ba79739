"""The read model of GET /v3.1/users/{userId}/targetGroups (SPEC §3).

`user_target_groups` fetches everything one request needs in seven queries, whatever the number
of groups, periods, rules, triggers and streaks, and builds plain dicts in the documented shape.
Each query selects only the columns it renders (`values_list`), and one-to-many children ride
on their parent's query as a LEFT JOIN (profiles with channels, periods with per-period values,
rules with triggers, streaks with the customer's streak row), so the count does not grow.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import FilteredRelation, Q

from customers.models import Customer, CustomerProfile
from targets.formats import attribution_time, instant_z, utc_date
from targets.models import (
    STREAK_TRACKING,
    Enrolment,
    EvaluationType,
    GroupEnrolment,
    Streak,
    TargetGroup,
    TargetPeriod,
    TargetRule,
    UserTarget,
)
from targets.outcomes import PeriodOutcome, agnostic_current_index, period_achieved_at, streak_state
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
    return int(value) if value == value.to_integral_value() else float(value)


def _actor(prefix_values):
    actor_id, code, description, name, kind = prefix_values
    if actor_id is None:
        return None
    return {"id": actor_id, "code": code, "description": description, "name": name, "type": kind}


def _id_only(actor_id):
    if actor_id is None:
        return None
    return {"id": actor_id, "code": None, "description": None, "name": None, "type": None}


def _customer_block(customer, profile_rows):
    profiles = {}
    for (
        pid,
        first,
        last,
        source,
        account,
        org_source,
        cid,
        ctype,
        caccount,
        cvalue,
        primary,
        verified,
        subscribed,
        attributes,
    ) in profile_rows:
        profile = profiles.get(pid)
        if profile is None:
            profile = profiles[pid] = {
                "firstName": first,
                "lastName": last,
                "commChannels": [],
                "source": source,
                "accountId": account,
                "userId": customer["id"],
                "orgSourceId": org_source,
            }
        if cid is not None:
            profile["commChannels"].append(
                {
                    "type": ctype,
                    "accountId": caccount,
                    "value": cvalue,
                    "primary": primary,
                    "verified": verified,
                    "subscribed": subscribed,
                    "attributes": attributes,
                }
            )
    return {
        "id": customer["id"],
        "profiles": list(profiles.values()),
        "loyaltyInfo": {
            "attribution": {
                "createdOn": attribution_time(customer["created_on"]),
                "lastUpdatedOn": attribution_time(customer["last_updated_on"]),
                "lastUpdatedBy": _id_only(customer["last_updated_by_id"]),
                "createdBy": _id_only(customer["created_by_id"]),
            },
            "loyaltyType": customer["loyalty_type"],
            "lifetimePurchases": number(customer["lifetime_purchases"]),
        },
        "customFields": customer["custom_fields"] or {},
    }


CUSTOMER_FIELDS = (
    "id",
    "org_id",
    "loyalty_type",
    "lifetime_purchases",
    "custom_fields",
    "created_on",
    "created_by_id",
    "last_updated_on",
    "last_updated_by_id",
)
PROFILE_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "source",
    "account_id",
    "org_source_id",
    "channels__id",
    "channels__type",
    "channels__account_id",
    "channels__value",
    "channels__primary",
    "channels__verified",
    "channels__subscribed",
    "channels__attributes",
)
ACTOR = ("id", "code", "description", "name", "type")
GROUP_FIELDS = (
    "id",
    "org_id",
    "name",
    "target_evaluation_type",
    "tracking_type",
    "preferred_till_id",
    "created_on",
    "last_updated_on",
    *(f"created_by__{f}" for f in ACTOR),
    *(f"last_updated_by__{f}" for f in ACTOR),
)
PERIOD_FIELDS = (
    "id",
    "group_id",
    "ref_code",
    "sequence",
    "start",
    "end",
    "rule_values__rule_id",
    "rule_values__target_value",
)
RULE_FIELDS = (
    "id",
    "group_id",
    "name",
    "active",
    "target_entity",
    "event_name",
    "target_type",
    "target_value",
    "triggers__id",
    "triggers__trigger_name",
    "triggers__trigger_value",
)
USER_TARGET_FIELDS = ("id", "rule_id", "period_id", "achieved_value", "achieved_at", "enrolled_on")
STREAK_FIELDS = (
    "id",
    "group_id",
    "name",
    "target_count_of_sequence",
    "continuous",
    "mine__id",
)


def associated_groups(*, customer_id, customer_org_id, org_ids, filters: Filters):
    """Groups of the orgs in scope that the customer is associated with: ALL_CUSTOMERS groups of
    the customer's own org, and any group the customer is enrolled in."""
    enrolled = GroupEnrolment.objects.filter(customer_id=customer_id).values("group_id")
    groups = TargetGroup.objects.filter(org_id__in=org_ids).filter(
        Q(enrolment=Enrolment.ALL_CUSTOMERS, org_id=customer_org_id) | Q(id__in=enrolled)
    )
    if not filters.include_inactive_targets:
        groups = groups.filter(active=True)
    if filters.target_rule_id is not None:
        rules = TargetRule.objects.filter(id=filters.target_rule_id)
        if not filters.include_inactive_targets:
            rules = rules.filter(active=True)
        groups = groups.filter(id__in=rules.values("group_id"))
    return groups


def user_target_groups(*, customer_id: int, org_ids, now: datetime, filters: Filters) -> dict | None:
    """The `data` of the response, or None when the customer is not in the orgs in scope."""
    customers = list(Customer.objects.filter(id=customer_id, org_id__in=org_ids).values(*CUSTOMER_FIELDS)[:1])
    if not customers:
        return None
    customer = customers[0]
    profile_rows = CustomerProfile.objects.filter(customer_id=customer_id).order_by("id", "channels__id")
    data = {
        "userId": customer_id,
        "customer": _customer_block(customer, profile_rows.values_list(*PROFILE_FIELDS)),
        "targetGroups": [],
    }
    groups = list(
        associated_groups(
            customer_id=customer_id, customer_org_id=customer["org_id"], org_ids=org_ids, filters=filters
        )
        .order_by("id")
        .values_list(*GROUP_FIELDS)
    )
    if groups:
        data["targetGroups"] = _target_groups(groups, customer_id=customer_id, now=now, filters=filters)
    return data


def _fetch_children(group_ids, customer_id):
    periods = defaultdict(dict)  # group -> period id -> row
    overrides = {}
    period_rows = (
        TargetPeriod.objects.filter(group_id__in=group_ids)
        .filter(Q(customer_id__isnull=True) | Q(customer_id=customer_id))
        .order_by("group_id", "sequence", "id")
        .values_list(*PERIOD_FIELDS)
    )
    for pid, gid, ref_code, sequence, start, end, override_rule, override_value in period_rows:
        periods[gid][pid] = (pid, ref_code, sequence, start, end)
        if override_rule is not None:
            overrides[(override_rule, pid)] = override_value

    rules = defaultdict(dict)  # group -> rule id -> [row, triggers]
    rule_rows = (
        TargetRule.objects.filter(group_id__in=group_ids)
        .order_by("group_id", "id", "triggers__trigger_value", "triggers__id")
        .values_list(*RULE_FIELDS)
    )
    for rid, gid, *rule, tid, tname, tvalue in rule_rows:
        entry = rules[gid].get(rid)
        if entry is None:
            entry = rules[gid][rid] = (rule, [])
        if tid is not None:
            entry[1].append((tid, tname, tvalue))

    rule_ids = [rid for by_rule in rules.values() for rid in by_rule]
    user_targets = {}
    if rule_ids:
        for row in UserTarget.objects.filter(customer_id=customer_id, rule_id__in=rule_ids).values_list(
            *USER_TARGET_FIELDS
        ):
            user_targets[(row[1], row[2])] = row

    streaks = defaultdict(list)
    streak_rows = (
        Streak.objects.filter(group_id__in=group_ids)
        .annotate(mine=FilteredRelation("user_streaks", condition=Q(user_streaks__customer_id=customer_id)))
        .order_by("group_id", "id")
        .values_list(*STREAK_FIELDS)
    )
    for sid, gid, name, needed, continuous, user_streak_id in streak_rows:
        streaks[gid].append((sid, name, needed, continuous, user_streak_id))
    return periods, overrides, rules, user_targets, streaks


def _target_groups(groups, *, customer_id, now, filters):
    group_ids = [row[0] for row in groups]
    periods, overrides, rules, user_targets, streaks = _fetch_children(group_ids, customer_id)
    enrolled_now = attribution_time(now)
    out = []
    for gid, org_id, name, evaluation, tracking, till_id, created_on, updated_on, *actors in groups:
        group_periods = list(periods[gid].values())
        group_rules = rules[gid]
        # Whether the group achieved each period: every active rule of the group (ALL), as the
        # engine decides it.
        active_rules = [rid for rid, (rule, _) in group_rules.items() if rule[1]]
        achieved_at = [
            period_achieved_at((user_targets.get((rid, p[0])) or (None,) * 5)[4] for rid in active_rules)
            for p in group_periods
        ]
        if evaluation == EvaluationType.PERIOD_AGNOSTIC:
            current_index = agnostic_current_index([at is not None for at in achieved_at])
            current = [i == current_index for i in range(len(group_periods))]
        else:
            current = [contains(p[3], p[4], now) for p in group_periods]

        group = {
            "id": gid,
            "attribution": {
                "createdOn": attribution_time(created_on),
                "lastUpdatedOn": attribution_time(updated_on),
                "lastUpdatedBy": _actor(actors[5:10]),
                "createdBy": _actor(actors[0:5]),
            },
            "name": name,
            "orgId": org_id,
            "preferredTillId": till_id,
            "targets": [],
        }
        streak_rows = streaks[gid]
        achieved_by_target = {}
        if tracking in STREAK_TRACKING:
            group["streaks"] = []
            for sid, sname, needed, continuous, user_streak_id in streak_rows:
                state = streak_state(
                    [
                        PeriodOutcome(
                            achieved_at[i],
                            closed=p[4] < now and evaluation != EvaluationType.PERIOD_AGNOSTIC,
                            user_target_id=_completing_target(user_targets, active_rules, p[0]),
                        )
                        for i, p in enumerate(group_periods)
                    ],
                    needed=needed,
                    continuous=continuous,
                )
                if state.achieved_user_target_id is not None:
                    achieved_by_target.setdefault(state.achieved_user_target_id, state.achieved_at)
                group["streaks"].append(
                    {
                        "userStreakId": user_streak_id,
                        "streakId": sid,
                        "streakName": sname,
                        "status": state.status,
                        "currentCount": state.current_count,
                        "totalTargetCountOfSequence": needed,
                        "streakAchievedDateTime": instant_z(state.achieved_at),
                        "streakAchievedUserTargetId": state.achieved_user_target_id,
                    }
                )

        targets = group["targets"]
        for rid, (rule, triggers) in group_rules.items():
            rule_name, active, entity, event_name, target_type, target_value = rule
            if not (active or filters.include_inactive_targets):
                continue
            if filters.target_rule_id is not None and rid != filters.target_rule_id:
                continue
            for i, (pid, ref_code, _sequence, start, end) in enumerate(group_periods):
                if not (filters.include_inactive or current[i]):
                    continue
                value = overrides.get((rid, pid), target_value)
                ut = user_targets.get((rid, pid))
                achieved_value = ut[3] if ut else None
                targets.append(
                    {
                        "targetId": ut[0] if ut else None,
                        "orgId": org_id,
                        "periodId": pid,
                        "periodRefCode": ref_code,
                        "periodStartDate": utc_date(start),
                        "periodEndDate": utc_date(end),
                        "targetValue": float(value),
                        "targetAchievedValue": float(achieved_value) if ut else 0,
                        "targetName": rule_name,
                        "targetType": target_type,
                        "targetEntity": entity,
                        "targetRuleId": rid,
                        "enrolledOn": attribution_time(ut[5]) if ut else enrolled_now,
                        "eventName": event_name,
                        "periodStartDateWithTimeStamp": instant_z(start),
                        "periodEndDateWithTimeStamp": instant_z(end),
                        "targetAchievedDateTime": instant_z(ut[4]) if ut else None,
                        "streakAchievedDateTime": instant_z(achieved_by_target.get(ut[0])) if ut else None,
                        "currentPeriod": current[i],
                        "milestones": [
                            {
                                "id": tid,
                                "triggerName": tname,
                                "triggerValue": float(tvalue),
                                "isAchieved": achieved_value is not None and achieved_value >= tvalue,
                            }
                            for tid, tname, tvalue in triggers
                        ]
                        or None,
                    }
                )
        group["targetEvaluationType"] = evaluation
        group["trackingType"] = tracking
        out.append(group)
    return out


def _completing_target(user_targets, rule_ids, period_id):
    """The user target that completed a period: the last rule achieved in it (the first such
    rule by id on a tie, as the engine picks it)."""
    best = None
    for rid in rule_ids:
        ut = user_targets.get((rid, period_id))
        if ut and ut[4] is not None and (best is None or ut[4] > best[4]):
            best = ut
    return best[0] if best else None

"""The physical floor of GET /v3.1/users/{userId}/targetGroups?includeInactive=true.

The same rows as the endpoint reads, fetched with one raw SQL query per table through the
same connection, put into the same document and encoded with orjson: no ORM, no request
stack, no authentication. What the endpoint spends above this is the price of the framework.
The document must come out byte for byte equal to the endpoint's body (the benchmark checks);
its rules (current period, streak state) come from the same pure functions the selector uses,
because they are part of the answer, not overhead.

Datetimes: PostgreSQL returns aware UTC datetimes; Django's SQLite backend stores naive UTC
text that sqlite3 parses into naive datetimes, so on SQLite the clock is made naive too.
"""

from collections import defaultdict
from decimal import Decimal

import orjson
from django.db import connection

from customers.models import Actor, CommChannel, Customer, CustomerProfile
from targets.formats import attribution_time, instant_z, utc_date
from targets.models import (
    STREAK_TRACKING,
    GroupEnrolment,
    MilestoneTrigger,
    PeriodTargetValue,
    Streak,
    TargetGroup,
    TargetPeriod,
    TargetRule,
    UserStreak,
    UserTarget,
)
from targets.outcomes import PeriodOutcome, agnostic_current_index, period_achieved_at, streak_state
from targets.periods import contains

AGNOSTIC = "PERIOD_AGNOSTIC_WINDOW"


def _t(model):
    return connection.ops.quote_name(model._meta.db_table)


def _in(values):
    return "(" + ", ".join(["%s"] * len(values)) + ")" if values else "(NULL)"


def _number(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return int(value) if float(value).is_integer() else float(value)


def _json(text):
    return orjson.loads(text) if isinstance(text, (str, bytes)) else text


def _actor(row):
    if row is None:
        return None
    return {"id": row[0], "code": row[1], "description": row[2], "name": row[3], "type": row[4]}


def _id_only(actor_id):
    if actor_id is None:
        return None
    return {"id": actor_id, "code": None, "description": None, "name": None, "type": None}


def floor_body(*, customer_id, org_ids, now) -> bytes:
    """The endpoint's response body for includeInactive=true, active groups and rules."""
    if connection.vendor == "sqlite":
        now = now.replace(tzinfo=None)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, org_id, loyalty_type, lifetime_purchases, custom_fields, created_on,"
            f" created_by_id, last_updated_on, last_updated_by_id FROM {_t(Customer)}"
            f" WHERE id = %s AND org_id IN {_in(org_ids)}",
            [customer_id, *org_ids],
        )
        customer = cur.fetchone()
        if customer is None:
            return None
        cid, org_id, loyalty_type, lifetime, custom_fields, created_on, created_by, updated_on, updated_by = (
            customer
        )

        cur.execute(
            "SELECT id, first_name, last_name, source, account_id, org_source_id"
            f" FROM {_t(CustomerProfile)} WHERE customer_id = %s ORDER BY id",
            [cid],
        )
        profile_rows = cur.fetchall()
        channels = defaultdict(list)
        if profile_rows:
            ids = [row[0] for row in profile_rows]
            cur.execute(
                'SELECT profile_id, type, account_id, value, "primary", verified, subscribed, attributes'
                f" FROM {_t(CommChannel)} WHERE profile_id IN {_in(ids)} ORDER BY profile_id, id",
                ids,
            )
            for pid, ctype, account, value, primary, verified, subscribed, attributes in cur.fetchall():
                channels[pid].append(
                    {
                        "type": ctype,
                        "accountId": account,
                        "value": value,
                        "primary": primary,
                        "verified": verified,
                        "subscribed": subscribed,
                        "attributes": _json(attributes),
                    }
                )

        cur.execute(
            "SELECT id, org_id, name, target_evaluation_type, tracking_type, preferred_till_id,"
            f" created_on, last_updated_on, created_by_id, last_updated_by_id FROM {_t(TargetGroup)}"
            f" WHERE org_id IN {_in(org_ids)} AND active"
            f" AND ((enrolment = 'ALL_CUSTOMERS' AND org_id = %s)"
            f" OR id IN (SELECT group_id FROM {_t(GroupEnrolment)} WHERE customer_id = %s))"
            " ORDER BY id",
            [*org_ids, org_id, cid],
        )
        groups = cur.fetchall()
        group_ids = [g[0] for g in groups]

        actor_ids = sorted({a for g in groups for a in g[8:10] if a is not None})
        actors = {}
        if actor_ids:
            cur.execute(
                f"SELECT id, code, description, name, type FROM {_t(Actor)} WHERE id IN {_in(actor_ids)}",
                actor_ids,
            )
            actors = {row[0]: row for row in cur.fetchall()}

        periods = defaultdict(list)
        rules = defaultdict(list)
        triggers = defaultdict(list)
        overrides, user_targets, user_streaks = {}, {}, {}
        streaks = defaultdict(list)
        if group_ids:
            cur.execute(
                f'SELECT id, group_id, ref_code, sequence, start, "end" FROM {_t(TargetPeriod)}'
                f" WHERE group_id IN {_in(group_ids)} AND (customer_id IS NULL OR customer_id = %s)"
                " ORDER BY group_id, sequence, id",
                [*group_ids, cid],
            )
            for row in cur.fetchall():
                periods[row[1]].append(row)
            cur.execute(
                "SELECT id, group_id, name, target_entity, event_name, target_type, target_value"
                f" FROM {_t(TargetRule)} WHERE group_id IN {_in(group_ids)} AND active"
                " ORDER BY group_id, id",
                group_ids,
            )
            rule_rows = cur.fetchall()
            for row in rule_rows:
                rules[row[1]].append(row)
            rule_ids = [row[0] for row in rule_rows]
            if rule_ids:
                cur.execute(
                    "SELECT rule_id, id, trigger_name, trigger_value"
                    f" FROM {_t(MilestoneTrigger)} WHERE rule_id IN {_in(rule_ids)}"
                    " ORDER BY rule_id, trigger_value, id",
                    rule_ids,
                )
                for rule_id, tid, name, value in cur.fetchall():
                    triggers[rule_id].append((tid, name, value))
                cur.execute(
                    "SELECT rule_id, period_id, target_value"
                    f" FROM {_t(PeriodTargetValue)} WHERE rule_id IN {_in(rule_ids)}",
                    rule_ids,
                )
                overrides = {(r, p): v for r, p, v in cur.fetchall()}
                cur.execute(
                    "SELECT id, rule_id, period_id, achieved_value, achieved_at, enrolled_on"
                    f" FROM {_t(UserTarget)} WHERE customer_id = %s AND rule_id IN {_in(rule_ids)}",
                    [cid, *rule_ids],
                )
                user_targets = {(row[1], row[2]): row for row in cur.fetchall()}
            cur.execute(
                "SELECT id, group_id, name, target_count_of_sequence, continuous"
                f" FROM {_t(Streak)} WHERE group_id IN {_in(group_ids)} ORDER BY group_id, id",
                group_ids,
            )
            streak_rows = cur.fetchall()
            for row in streak_rows:
                streaks[row[1]].append(row)
            streak_ids = [row[0] for row in streak_rows]
            if streak_ids:
                cur.execute(
                    f"SELECT streak_id, id FROM {_t(UserStreak)}"
                    f" WHERE customer_id = %s AND streak_id IN {_in(streak_ids)}",
                    [cid, *streak_ids],
                )
                user_streaks = dict(cur.fetchall())

    profiles = [
        {
            "firstName": first,
            "lastName": last,
            "commChannels": channels[pid],
            "source": source,
            "accountId": account,
            "userId": cid,
            "orgSourceId": org_source,
        }
        for pid, first, last, source, account, org_source in profile_rows
    ]
    custom = _json(custom_fields)
    data = {
        "userId": cid,
        "customer": {
            "id": cid,
            "profiles": profiles,
            "loyaltyInfo": {
                "attribution": {
                    "createdOn": attribution_time(created_on),
                    "lastUpdatedOn": attribution_time(updated_on),
                    "lastUpdatedBy": _id_only(updated_by),
                    "createdBy": _id_only(created_by),
                },
                "loyaltyType": loyalty_type,
                "lifetimePurchases": _number(lifetime),
            },
            "customFields": custom or {},
        },
        "targetGroups": [
            _group(g, periods, rules, triggers, overrides, user_targets, streaks, user_streaks, actors, now)
            for g in groups
        ],
    }
    return orjson.dumps({"data": data, "errors": None, "warnings": None})


def _group(g, periods, rules, triggers, overrides, user_targets, streaks, user_streaks, actors, now):
    gid, org_id, name, evaluation, tracking, till_id, created_on, updated_on, created_by, updated_by = g
    group_periods = periods[gid]
    group_rules = rules[gid]
    no_target = (None,) * 6
    achieved = [
        period_achieved_at(user_targets.get((r[0], p[0]), no_target)[4] for r in group_rules)
        for p in group_periods
    ]
    if evaluation == AGNOSTIC:
        current_index = agnostic_current_index([at is not None for at in achieved])
        current = [i == current_index for i in range(len(group_periods))]
    else:
        current = [contains(p[4], p[5], now) for p in group_periods]
    group = {
        "id": gid,
        "attribution": {
            "createdOn": attribution_time(created_on),
            "lastUpdatedOn": attribution_time(updated_on),
            "lastUpdatedBy": _actor(actors.get(updated_by)),
            "createdBy": _actor(actors.get(created_by)),
        },
        "name": name,
        "orgId": org_id,
        "preferredTillId": till_id,
        "targets": [],
    }
    streak_at = {}
    if tracking in STREAK_TRACKING:
        outcomes = []
        for i, p in enumerate(group_periods):
            completing = None
            for r in group_rules:
                ut = user_targets.get((r[0], p[0]))
                if ut and ut[4] is not None and (completing is None or ut[4] >= completing[4]):
                    completing = ut
            outcomes.append(
                PeriodOutcome(
                    achieved[i],
                    closed=p[5] < now and evaluation != AGNOSTIC,
                    user_target_id=completing[0] if completing else None,
                )
            )
        group["streaks"] = out = []
        for sid, _gid, sname, needed, continuous in streaks[gid]:
            state = streak_state(outcomes, needed=needed, continuous=continuous)
            if state.achieved_user_target_id is not None:
                streak_at.setdefault(state.achieved_user_target_id, state.achieved_at)
            out.append(
                {
                    "userStreakId": user_streaks.get(sid),
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
    enrolled_now = attribution_time(now)
    for rid, _gid, rule_name, entity, event_name, target_type, target_value in group_rules:
        rule_triggers = triggers.get(rid, ())
        for i, (pid, _g, ref_code, _seq, start, end) in enumerate(group_periods):
            ut = user_targets.get((rid, pid))
            value = ut[3] if ut else None
            targets.append(
                {
                    "targetId": ut[0] if ut else None,
                    "orgId": org_id,
                    "periodId": pid,
                    "periodRefCode": ref_code,
                    "periodStartDate": utc_date(start),
                    "periodEndDate": utc_date(end),
                    "targetValue": float(overrides.get((rid, pid), target_value)),
                    "targetAchievedValue": float(value) if ut else 0,
                    "targetName": rule_name,
                    "targetType": target_type,
                    "targetEntity": entity,
                    "targetRuleId": rid,
                    "enrolledOn": attribution_time(ut[5]) if ut else enrolled_now,
                    "eventName": event_name,
                    "periodStartDateWithTimeStamp": instant_z(start),
                    "periodEndDateWithTimeStamp": instant_z(end),
                    "targetAchievedDateTime": instant_z(ut[4]) if ut else None,
                    "streakAchievedDateTime": instant_z(streak_at.get(ut[0])) if ut else None,
                    "currentPeriod": current[i],
                    "milestones": [
                        {
                            "id": tid,
                            "triggerName": tname,
                            "triggerValue": float(tvalue),
                            "isAchieved": value is not None and value >= tvalue,
                        }
                        for tid, tname, tvalue in rule_triggers
                    ]
                    or None,
                }
            )
    group["targetEvaluationType"] = evaluation
    group["trackingType"] = tracking
    return group

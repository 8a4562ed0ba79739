"""The physical floor of GET /v3.1/users/{userId}/targetGroups?includeInactive=true.

The same rows as the endpoint reads, fetched with one raw SQL query per table through the
same connection, put into the same document and encoded with orjson: no ORM, no request
stack, no authentication. What the endpoint spends above this is the price of the framework.
The rows become the same typed records (`targets.records`) and go through the same serializer
(`targets.serialize`) as the endpoint's, so the document comes out byte for byte equal to the
endpoint's body (the benchmark checks): the answer's rules and assembly are part of the answer,
not overhead, and only the fetching differs.

Datetimes: PostgreSQL returns aware UTC datetimes; Django's SQLite backend stores naive UTC
text that sqlite3 parses into naive datetimes, so on SQLite the clock is made naive too.
"""

import orjson
from django.db import connection

from customers.models import Actor, CommChannel, Customer, CustomerProfile
from targets import records as rec
from targets.models import (
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
from targets.serialize import Filters, customer_targets_data

EVERY_PERIOD = Filters(include_inactive=True)


def _t(model):
    return connection.ops.quote_name(model._meta.db_table)


def _in(values):
    return "(" + ", ".join(["%s"] * len(values)) + ")" if values else "(NULL)"


def _json(text):
    return orjson.loads(text) if isinstance(text, (str, bytes)) else text


def floor_body(*, customer_id, org_ids, now) -> bytes | None:
    """The endpoint's response body for includeInactive=true, active groups and rules."""
    if connection.vendor == "sqlite":
        now = now.replace(tzinfo=None)
    with connection.cursor() as cur:
        records = _fetch(cur, customer_id, org_ids)
    if records is None:
        return None
    data = customer_targets_data(records, now=now, filters=EVERY_PERIOD)
    return orjson.dumps({"data": data, "errors": None, "warnings": None})


def _fetch(cur, customer_id, org_ids) -> rec.CustomerTargets | None:
    cur.execute(
        f"SELECT {', '.join(rec.CustomerRecord._fields)} FROM {_t(Customer)}"
        f" WHERE id = %s AND org_id IN {_in(org_ids)}",
        [customer_id, *org_ids],
    )
    row = cur.fetchone()
    if row is None:
        return None
    customer = rec.CustomerRecord(*row)._replace(custom_fields=_json(row[4]))
    records = rec.CustomerTargets(customer)

    cur.execute(
        "SELECT id, first_name, last_name, source, account_id, org_source_id"
        f" FROM {_t(CustomerProfile)} WHERE customer_id = %s ORDER BY id",
        [customer.id],
    )
    records.profiles = [rec.ProfileRecord(*row, channels=[]) for row in cur.fetchall()]
    if records.profiles:
        by_id = {p.id: p for p in records.profiles}
        cur.execute(
            'SELECT profile_id, type, account_id, value, "primary", verified, subscribed, attributes'
            f" FROM {_t(CommChannel)} WHERE profile_id IN {_in(by_id)} ORDER BY profile_id, id",
            list(by_id),
        )
        for pid, *channel in cur.fetchall():
            by_id[pid].channels.append(rec.ChannelRecord(*channel[:-1], _json(channel[-1])))

    cur.execute(
        "SELECT id, org_id, name, target_evaluation_type, tracking_type, preferred_till_id,"
        f" created_on, last_updated_on, created_by_id, last_updated_by_id FROM {_t(TargetGroup)}"
        f" WHERE org_id IN {_in(org_ids)} AND active"
        f" AND ((enrolment = 'ALL_CUSTOMERS' AND org_id = %s)"
        f" OR id IN (SELECT group_id FROM {_t(GroupEnrolment)} WHERE customer_id = %s))"
        " ORDER BY id",
        [*org_ids, customer.org_id, customer.id],
    )
    groups = cur.fetchall()
    actor_ids = sorted({a for g in groups for a in g[8:10] if a is not None})
    actors = {}
    if actor_ids:
        cur.execute(
            f"SELECT id, code, description, name, type FROM {_t(Actor)} WHERE id IN {_in(actor_ids)}",
            actor_ids,
        )
        actors = {row[0]: rec.ActorRecord(*row) for row in cur.fetchall()}
    records.groups = [rec.GroupRecord(*g[:8], actors.get(g[8]), actors.get(g[9])) for g in groups]
    if groups:
        _fetch_children(cur, records)
    return records


def _fetch_children(cur, records: rec.CustomerTargets):
    cid = records.customer.id
    group_ids = [g.id for g in records.groups]
    cur.execute(
        f'SELECT id, group_id, ref_code, sequence, start, "end" FROM {_t(TargetPeriod)}'
        f" WHERE group_id IN {_in(group_ids)} AND (customer_id IS NULL OR customer_id = %s)"
        " ORDER BY group_id, sequence, id",
        [*group_ids, cid],
    )
    for row in cur.fetchall():
        records.periods.setdefault(row[1], []).append(rec.PeriodRecord(*row))
    cur.execute(
        "SELECT id, group_id, name, active, target_entity, event_name, target_type, target_value"
        f" FROM {_t(TargetRule)} WHERE group_id IN {_in(group_ids)} AND active"
        " ORDER BY group_id, id",
        group_ids,
    )
    rules = {}
    for row in cur.fetchall():
        rules[row[0]] = rule = rec.RuleRecord(*row, triggers=[])
        records.rules.setdefault(rule.group_id, []).append(rule)
    if rules:
        cur.execute(
            "SELECT rule_id, id, trigger_name, trigger_value"
            f" FROM {_t(MilestoneTrigger)} WHERE rule_id IN {_in(rules)}"
            " ORDER BY rule_id, trigger_value, id",
            list(rules),
        )
        for rule_id, *trigger in cur.fetchall():
            rules[rule_id].triggers.append(rec.TriggerRecord(*trigger))
        cur.execute(
            "SELECT rule_id, period_id, target_value"
            f" FROM {_t(PeriodTargetValue)} WHERE rule_id IN {_in(rules)}",
            list(rules),
        )
        records.overrides = {(r, p): v for r, p, v in cur.fetchall()}
        cur.execute(
            "SELECT id, rule_id, period_id, achieved_value, achieved_at, enrolled_on"
            f" FROM {_t(UserTarget)} WHERE customer_id = %s AND rule_id IN {_in(rules)}",
            [cid, *rules],
        )
        records.user_targets = {(row[1], row[2]): rec.UserTargetRecord(*row) for row in cur.fetchall()}
    cur.execute(
        "SELECT id, group_id, name, target_count_of_sequence, continuous"
        f" FROM {_t(Streak)} WHERE group_id IN {_in(group_ids)} ORDER BY group_id, id",
        group_ids,
    )
    streak_rows = cur.fetchall()
    mine = {}
    if streak_rows:
        ids = [row[0] for row in streak_rows]
        cur.execute(
            f"SELECT streak_id, id FROM {_t(UserStreak)} WHERE customer_id = %s AND streak_id IN {_in(ids)}",
            [cid, *ids],
        )
        mine = dict(cur.fetchall())
    for row in streak_rows:
        records.streaks.setdefault(row[1], []).append(rec.StreakRecord(*row, mine.get(row[0])))

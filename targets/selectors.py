"""The read model of GET /v3.1/users/{userId}/targetGroups (SPEC §3), fetched with the ORM.

`customer_targets` reads everything one answer needs in six queries, whatever the number of
groups, periods, rules, triggers and streaks, into the typed records of `targets.records`;
`targets.serialize` turns them into the documented dicts. Each query selects only the columns
the answer renders (`values_list`), and one-to-many children ride on their parent's query as a
LEFT JOIN (the customer with its profiles and channels, periods with per-period values, rules
with triggers, streaks with the customer's streak row), so the count does not grow.

Cost follows the answer: the default read (`includeInactive=false`) selects in SQL only the
periods its answer depends on — the current one; for streak groups also the closed ones and
any the customer achieved; for PERIOD_AGNOSTIC groups the periods up to the first one without
any achievement (the current one is among them) — and only their user targets. A program with
years of daily periods costs no more per request as the years go by.
"""

from datetime import datetime

from django.db.models import Exists, FilteredRelation, OuterRef, Q, Subquery

from config.prepared import Prepared
from customers.models import Customer
from targets.models import (
    STREAK_TRACKING,
    EvaluationType,
    GroupEnrolment,
    Streak,
    TargetGroup,
    TargetPeriod,
    TargetRule,
    UserTarget,
)
from targets.records import (
    ActorRecord,
    ChannelRecord,
    CustomerRecord,
    CustomerTargets,
    GroupRecord,
    PeriodRecord,
    ProfileRecord,
    RuleRecord,
    StreakRecord,
    TriggerRecord,
    UserTargetRecord,
)
from targets.serialize import Filters, customer_targets_data, number

__all__ = ["Filters", "associated_groups", "customer_targets", "number", "user_target_groups"]

CUSTOMER_FIELDS = CustomerRecord._fields
PROFILE_FIELDS = (*ProfileRecord._fields[:-1], *(f"channels__{f}" for f in ChannelRecord._fields))
# The customer with its profiles and their channels, in one query (LEFT JOINs: a customer
# without a profile is one row whose profile columns are NULL).
CUSTOMER_PROFILE_FIELDS = (*CUSTOMER_FIELDS, *(f"profiles__{f}" for f in PROFILE_FIELDS))
ACTOR = ActorRecord._fields
GROUP_FIELDS = (
    *GroupRecord._fields[:-3],
    *(f"created_by__{f}" for f in ACTOR),
    *(f"last_updated_by__{f}" for f in ACTOR),
    "streak_reset_at",
)
PERIOD_FIELDS = (*PeriodRecord._fields, "rule_values__rule_id", "rule_values__target_value")
RULE_FIELDS = (
    *RuleRecord._fields[:-1],
    *(f"triggers__{f}" for f in TriggerRecord._fields),
)
USER_TARGET_FIELDS = UserTargetRecord._fields
STREAK_FIELDS = (*StreakRecord._fields[:-1], "mine__id")


def associated_groups(*, customer_id, customer_org_id, org_ids, filters: Filters):
    """Groups of the orgs in scope that the customer is associated with, narrowed by the
    request's filters (inactive groups, one rule)."""
    return _associated_groups(
        customer_id=customer_id,
        customer_org_id=customer_org_id,
        org_ids=list(org_ids),
        include_inactive_targets=filters.include_inactive_targets,
        target_rule_id=filters.target_rule_id,
    )


def _associated_groups(*, customer_id, customer_org_id, org_ids, include_inactive_targets, target_rule_id):
    groups = TargetGroup.objects.filter(org_id__any=org_ids).associated_with(
        customer_id=customer_id, org_id=customer_org_id
    )
    if not include_inactive_targets:
        groups = groups.filter(active=True)
    if target_rule_id is not None:
        rules = TargetRule.objects.filter(id=target_rule_id)
        if not include_inactive_targets:
            rules = rules.filter(active=True)
        groups = groups.filter(id__in=rules.values("group_id"))
    return groups


# The answer's queries, each compiled to SQL once per process and shape (config/prepared.py):
# building and compiling them with the ORM cost more than running them.
CUSTOMER_QUERY = Prepared(
    lambda customer_id, org_ids: (
        Customer.objects.filter(id=customer_id, org_id__any=org_ids)
        .order_by("profiles__id", "profiles__channels__id")
        .values_list(*CUSTOMER_PROFILE_FIELDS)
    )
)
GROUP_QUERY = Prepared(
    lambda customer_id, **filters: (
        _associated_groups(customer_id=customer_id, **filters)
        .annotate(
            streak_reset_at=Subquery(
                GroupEnrolment.objects.filter(group_id=OuterRef("id"), customer_id=customer_id).values(
                    "streak_reset_at"
                )[:1]
            )
        )
        .order_by("id")
        .values_list(*GROUP_FIELDS)
    )
)
PERIOD_QUERY = Prepared(
    lambda customer_id, group_ids, every_period, fixed, plain, streaks, agnostic, now, now_s: (
        TargetPeriod.objects.filter(group_id__any=group_ids)
        .filter(Q(customer_id__isnull=True) | Q(customer_id=customer_id))
        .filter(
            Q()
            if every_period
            else _needed_periods(
                customer_id=customer_id,
                fixed=fixed,
                plain=plain,
                streaks=streaks,
                agnostic=agnostic,
                now=now,
                now_s=now_s,
            )
        )
        .order_by("group_id", "sequence", "id")
        .values_list(*PERIOD_FIELDS)
    )
)
RULE_QUERY = Prepared(
    lambda group_ids: (
        TargetRule.objects.filter(group_id__any=group_ids)
        .order_by("group_id", "id", "triggers__trigger_value", "triggers__id")
        .values_list(*RULE_FIELDS)
    )
)
USER_TARGET_QUERY = Prepared(
    lambda customer_id, rule_ids, period_ids: (
        UserTarget.objects.filter(customer_id=customer_id, rule_id__any=rule_ids).filter(
            Q() if period_ids is None else Q(period_id__any=period_ids)
        )
    ).values_list(*USER_TARGET_FIELDS)
)
STREAK_QUERY = Prepared(
    lambda customer_id, group_ids: (
        Streak.objects.filter(group_id__any=group_ids)
        .annotate(mine=FilteredRelation("user_streaks", condition=Q(user_streaks__customer_id=customer_id)))
        .order_by("group_id", "id")
        .values_list(*STREAK_FIELDS)
    )
)


def user_target_groups(*, customer_id: int, org_ids, now: datetime, filters: Filters) -> dict | None:
    """The `data` of the response, or None when the customer is not in the orgs in scope."""
    records = customer_targets(customer_id=customer_id, org_ids=org_ids, now=now, filters=filters)
    if records is None:
        return None
    return customer_targets_data(records, now=now, filters=filters)


def customer_targets(*, customer_id: int, org_ids, now: datetime, filters: Filters) -> CustomerTargets | None:
    """The records of one answer, or None when the customer is not in the orgs in scope."""
    rows = CUSTOMER_QUERY.rows(customer_id=customer_id, org_ids=sorted(org_ids))
    if not rows:
        return None
    n = len(CUSTOMER_FIELDS)
    customer = CustomerRecord(*rows[0][:n])
    records = CustomerTargets(customer, profiles=_profiles(row[n:] for row in rows))
    group_rows = GROUP_QUERY.rows(
        customer_id=customer_id,
        customer_org_id=customer.org_id,
        org_ids=sorted(org_ids),
        include_inactive_targets=filters.include_inactive_targets,
        target_rule_id=filters.target_rule_id,
    )
    n = len(GroupRecord._fields) - 3
    for row in group_rows:
        records.groups.append(
            GroupRecord(*row[:n], _actor(row[n : n + 5]), _actor(row[n + 5 : n + 10]), row[n + 10])
        )
    if records.groups:
        _fetch_children(records, now=now, every_period=filters.include_inactive)
    return records


def _actor(values):
    return ActorRecord(*values) if values[0] is not None else None


def _profiles(rows):
    """Profiles with their channels from (profile columns, channel columns) rows, in order."""
    profiles = {}
    n = len(ProfileRecord._fields) - 1
    for row in rows:
        if row[0] is None:  # no profile
            continue
        profile = profiles.get(row[0])
        if profile is None:
            profile = profiles[row[0]] = ProfileRecord(*row[:n], channels=[])
        if row[n] is not None:  # channel type: NULL when the profile has no channel
            profile.channels.append(ChannelRecord(*row[n:]))
    return list(profiles.values())


def _needed_periods(*, customer_id, fixed, plain, streaks, agnostic, now, now_s) -> Q:
    """The periods a default (current-period) answer depends on, as a filter: for each kind of
    group (lists of group ids), the periods its answer needs."""
    achievements = UserTarget.objects.filter(
        customer_id=customer_id, period_id=OuterRef("id"), achieved_at__isnull=False
    )
    achieved_here = Exists(achievements)
    # The customer's periods before this one that it has no achievement in at all.
    earlier_open = (
        TargetPeriod.objects.filter(group_id=OuterRef("group_id"), sequence__lt=OuterRef("sequence"))
        .filter(Q(customer_id__isnull=True) | Q(customer_id=customer_id))
        .exclude(Exists(achievements))
    )
    # `contains` compares at whole-second precision: an end of 23:59:59 holds 23:59:59.500.
    current = Q(start__lte=now, end__gte=now_s)
    needed = Q(pk__in=[])
    if fixed:
        needed |= Q(group_id__any=fixed) & current & Q(id__in=_latest_started(fixed, now=now))
    if plain:
        needed |= Q(group_id__any=plain) & current
    if streaks:
        needed |= Q(group_id__any=streaks) & (Q(start__lte=now) | achieved_here)
    if agnostic:
        needed |= Q(group_id__any=agnostic) & (achieved_here | ~Exists(earlier_open))
    return needed


def _latest_started(group_ids, *, now):
    """Per FIXED group, its shared period that started last by `now`: the only one that can be
    current, since a FIXED group's periods never overlap (`validation._overlaps`). One probe of
    the (group, start) index per group, so a group of a thousand daily periods costs what one of
    twelve monthly periods does."""
    latest = (
        TargetPeriod.objects.filter(group_id=OuterRef("id"), customer_id__isnull=True, start__lte=now)
        .order_by("-start")
        .values("id")[:1]
    )
    return TargetGroup.objects.filter(id__any=group_ids).values(latest_id=Subquery(latest))


def _group_kinds(records: CustomerTargets):
    """Group ids by what their default answer needs: (FIXED, other plain, streaks,
    PERIOD_AGNOSTIC)."""
    fixed, plain, streaks, agnostic = [], [], [], []
    for group in records.groups:
        if group.target_evaluation_type == EvaluationType.PERIOD_AGNOSTIC:
            agnostic.append(group.id)
        elif group.tracking_type in STREAK_TRACKING:
            streaks.append(group.id)
        elif group.target_evaluation_type == EvaluationType.FIXED:
            fixed.append(group.id)
        else:
            plain.append(group.id)
    return fixed, plain, streaks, agnostic


def _fetch_children(records: CustomerTargets, *, now: datetime, every_period: bool):
    customer_id = records.customer.id
    group_ids = [group.id for group in records.groups]
    kinds = ([], [], [], []) if every_period else _group_kinds(records)
    period_rows = PERIOD_QUERY.rows(
        customer_id=customer_id,
        group_ids=group_ids,
        every_period=every_period,
        fixed=kinds[0],
        plain=kinds[1],
        streaks=kinds[2],
        agnostic=kinds[3],
        now=now,
        now_s=now.replace(microsecond=0),
    )
    seen = {}
    n = len(PeriodRecord._fields)
    for row in period_rows:
        period_id, override_rule, override_value = row[0], row[n], row[n + 1]
        if period_id not in seen:
            seen[period_id] = period = PeriodRecord(*row[:n])
            records.periods.setdefault(period.group_id, []).append(period)
        if override_rule is not None:
            records.overrides[(override_rule, period_id)] = override_value

    n = len(RuleRecord._fields) - 1
    rules = {}
    for row in RULE_QUERY.rows(group_ids=group_ids):
        rule = rules.get(row[0])
        if rule is None:
            rules[row[0]] = rule = RuleRecord(*row[:n], triggers=[])
            records.rules.setdefault(rule.group_id, []).append(rule)
        if row[n] is not None:
            rule.triggers.append(TriggerRecord(*row[n:]))

    if rules:
        # [0] (no such period) when none is needed: the query still runs, so that the count
        # of queries stays the same for every customer.
        user_target_rows = USER_TARGET_QUERY.rows(
            customer_id=customer_id,
            rule_ids=list(rules),
            period_ids=None if every_period else (list(seen) or [0]),
        )
        for row in user_target_rows:
            ut = UserTargetRecord(*row)
            records.user_targets[(ut.rule_id, ut.period_id)] = ut

    for row in STREAK_QUERY.rows(customer_id=customer_id, group_ids=group_ids):
        streak = StreakRecord(*row)
        records.streaks.setdefault(streak.group_id, []).append(streak)

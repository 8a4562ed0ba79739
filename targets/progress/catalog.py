"""The compiled configuration of target groups (GroupCfg, for the engine), cached per process.

Reading a group's rules, triggers, pauses, streaks, shared periods and per-period values costs
seven queries; every activity needs them. They are kept per thread and per org, and reused while
the org's configuration version holds. The version is `ConfigVersion.token`, which database
triggers (migration 0005) replace on every write to one of the org's configuration tables —
groups, rules, shared periods, per-period values, triggers, streaks, pauses, the org itself (its
timezone) — in the writing transaction, so no door (admin, API, commands, a shell, bulk writes)
can forget it. Two rules make a stale rule impossible:
- the tokens are read before the configuration: a change committed in between leaves an older
  token beside newer rows, which the next check discards;
- a token is random, never a counter: a rolled-back change brings the old token back, so a copy
  read inside that transaction is never taken for the committed state.
"""

import threading
from collections import defaultdict
from dataclasses import replace
from zoneinfo import ZoneInfo

from targets.models import (
    ConfigVersion,
    Pause,
    PeriodTargetValue,
    Streak,
    TargetGroup,
    TargetPeriod,
    TargetRule,
)
from targets.progress.evaluate import GroupCfg, PeriodCfg, RuleCfg

_local = threading.local()


def _state():
    if not hasattr(_local, "orgs"):
        clear()
    return _local


def clear():
    """Forget every cached configuration (the next read loads it again)."""
    _local.orgs = {}  # org id -> (token, {group id: GroupCfg})
    _local.group_org = {}  # group id -> org id (a group never changes org)
    _local.active = {}  # group id -> (GroupCfg, the same with active rules only)


def group_configs(*, org_ids, group_ids=(), tokens=None) -> dict[int, GroupCfg]:
    """Every group (active or not, with every rule) of `org_ids` and of the orgs of `group_ids`.
    One query when nothing changed (the tokens), none when the caller read them already
    (`tokens`: {org id: token or None}, read in this transaction before this call), eight per
    org that changed."""
    state = _state()
    unknown = [g for g in group_ids if g not in state.group_org]
    if unknown:
        state.group_org.update(TargetGroup.objects.filter(id__in=unknown).values_list("id", "org_id"))
    wanted = set(org_ids) | {state.group_org[g] for g in group_ids if g in state.group_org}
    known = {o: tokens[o] for o in wanted if o in tokens} if tokens else {}
    ask = [o for o in wanted if o not in known]
    if ask:
        known.update(ConfigVersion.objects.filter(org_id__in=ask).values_list("org_id", "token"))
    tokens = known
    stale = {o for o in wanted if tokens.get(o) is None or state.orgs.get(o, (None,))[0] != tokens[o]}
    loaded = _load(stale) if stale else {}
    configs = {}
    for org_id in wanted:
        if org_id in stale:
            org_configs = loaded.get(org_id, {})
            if tokens.get(org_id) is not None:  # no version row (a flushed test database): never cache
                state.orgs[org_id] = (tokens[org_id], org_configs)
            state.group_org.update(dict.fromkeys(org_configs, org_id))
        else:
            org_configs = state.orgs[org_id][1]
        configs.update(org_configs)
    return configs


def active_view(config: GroupCfg) -> GroupCfg:
    """The group as ingestion sees it: its active rules only (activity received now counts for
    nothing else)."""
    state = _state()
    view = state.active.get(config.id)
    if view is None or view[0] is not config:
        view = (config, replace(config, rules=config.active_rules))
        state.active[config.id] = view
    return view[1]


def _load(org_ids) -> dict[int, dict[int, GroupCfg]]:
    rows = list(TargetGroup.objects.filter(org_id__in=org_ids).select_related("org"))
    ids = [g.id for g in rows]
    rules, streaks, periods = defaultdict(list), defaultdict(list), defaultdict(list)
    overrides, triggers, pauses = defaultdict(dict), defaultdict(list), defaultdict(list)
    rule_rows = TargetRule.objects.filter(group_id__in=ids)
    for rule_id, trigger_id, value in rule_rows.values_list("id", "triggers__id", "triggers__trigger_value"):
        if trigger_id is not None:
            triggers[rule_id].append((trigger_id, value))
    for group_id, rule_id, start, end in Pause.objects.filter(group_id__in=ids).values_list(
        "group_id", "rule_id", "start", "end"
    ):
        pauses[rule_id or ("group", group_id)].append((start, end))
    for rule in rule_rows.order_by("id"):
        rules[rule.group_id].append(
            RuleCfg(
                rule.id,
                rule.target_entity,
                rule.event_name,
                rule.target_type,
                rule.attribute,
                rule.target_value,
                tuple(sorted(triggers[rule.id], key=lambda t: (t[1], t[0]))),
                active=rule.active,
                created_on=rule.created_on,
                pauses=tuple(pauses[rule.id]),
            )
        )
    for sid, gid, needed, continuous in (
        Streak.objects.filter(group_id__in=ids)
        .order_by("id")
        .values_list("id", "group_id", "target_count_of_sequence", "continuous")
    ):
        streaks[gid].append((sid, needed, continuous))
    for pid, gid, sequence, start, end in (
        TargetPeriod.objects.filter(group_id__in=ids, customer__isnull=True)
        .order_by("sequence", "id")
        .values_list("id", "group_id", "sequence", "start", "end")
    ):
        periods[gid].append(PeriodCfg(pid, sequence, start, end))
    for gid, rule_id, period_id, value in PeriodTargetValue.objects.filter(
        rule__group_id__in=ids
    ).values_list("rule__group_id", "rule_id", "period_id", "target_value"):
        overrides[gid][(rule_id, period_id)] = value
    by_org = defaultdict(dict)
    for g in rows:
        by_org[g.org_id][g.id] = GroupCfg(
            id=g.id,
            org_id=g.org_id,
            evaluation=g.target_evaluation_type,
            tracking=g.tracking_type,
            tz=ZoneInfo(g.org.timezone),
            start=g.start,
            end=g.end,
            created_on=g.created_on,
            frequency_type=g.frequency_type,
            frequency=g.frequency,
            total_periods=g.total_periods,
            enrolment=g.enrolment,
            rules=tuple(rules[g.id]),
            streaks=tuple(streaks[g.id]),
            periods=tuple(periods[g.id]),
            overrides=overrides[g.id],
            count_from=g.counts_from,
            pauses=tuple(pauses[("group", g.id)]),
            active=g.active,
        )
    return by_org

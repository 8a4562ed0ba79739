"""Configuration and stored state → what the evaluation needs: the groups the customers may be
associated with (`load_groups`), their stored user targets with milestones
(`read_user_targets`) and, when periods are replayed, their activity (`read_activities`).
Plain values throughout: building model instances costs more than the database work."""

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import timedelta
from types import SimpleNamespace

from django.db.models import BigIntegerField, CharField, DateTimeField, F, IntegerField, Q, Value
from django.db.models.functions import Cast

from targets.models import (
    Activity,
    EnrolmentEpisode,
    EvaluationType,
    GroupEnrolment,
    UserStreak,
    UserTarget,
    is_associated,
)
from targets.progress import catalog
from targets.progress.evaluate import Act, Enrolled, GroupCfg, TargetState
from targets.progress.scope import Batch, Plan


def load_groups(*, customer_orgs, customer_ids, group_ids=None, include_inactive=False, config_tokens=None):
    """Groups (with their rules) that the customers may be associated with: ALL_CUSTOMERS groups
    of their orgs and groups they are or were enrolled in. Only active groups and rules when
    ingesting (activity received now counts for nothing else); every one when recomputing, so
    that what a paused rule counted before its pause follows the current configuration too.
    `config_tokens` ({org id: token}) are configuration versions the caller read already.
    Returns ({group id: GroupCfg}, {customer id: {group id: Enrolled}}, CustomerState)."""
    stored = load_customer_state(customer_ids=customer_ids)
    enrolled = stored.enrolled
    all_enrolled = {g for groups in enrolled.values() for g in groups}
    configs = {}
    for group_id, config in catalog.group_configs(
        org_ids=customer_orgs, group_ids=all_enrolled, tokens=config_tokens
    ).items():
        covered = group_id in all_enrolled or any(
            is_associated(
                enrolment=config.enrolment, group_org_id=config.org_id, customer_org_id=org_id, enrolled=False
            )
            for org_id in customer_orgs
        )
        if not covered or (group_ids is not None and group_id not in group_ids):
            continue
        if not include_inactive:
            if not config.active:
                continue
            config = catalog.active_view(config)
        if config.rules:
            configs[group_id] = config
    return configs, enrolled, stored


_CURRENT, _EPISODE, _STREAK = "C", "E", "S"
_NO_ID = Cast(Value(None), BigIntegerField())
_NO_TEXT = Cast(Value(None), CharField())
_NO_TIME = Cast(Value(None), DateTimeField())
_NO_COUNT = Cast(Value(None), IntegerField())
_COLUMNS = ("kind", "customer_id", "key", "at", "until", "row_id", "text", "count", "ref")


@dataclass(frozen=True)
class CustomerState:
    """What is stored per customer besides progress: {customer: {group: Enrolled}} for the
    evaluation, and the rows the writer compares — {(customer, group): GroupEnrolment} and
    {(customer, streak): UserStreak}, as (id, …) namespaces."""

    enrolled: dict
    enrolments: dict
    streaks: dict


def load_customer_state(*, customer_ids) -> CustomerState:
    """Current enrolments, earlier episodes and streak states of the customers, in one query
    (a UNION ALL of the three, a kind column telling them apart)."""
    # Issue 15: a cross-org enrolment (refused by the database) is ignored.
    own = {"customer_id__in": customer_ids, "group__org_id": F("customer__org_id")}
    current = GroupEnrolment.objects.filter(**own).annotate(
        kind=Value(_CURRENT),
        key=F("group_id"),
        at=F("enrolled_on"),
        until=F("streak_reset_at"),
        row_id=F("id"),
        text=F("source"),
        count=_NO_COUNT,
        ref=_NO_ID,
    )
    episodes = EnrolmentEpisode.objects.filter(**own).annotate(
        kind=Value(_EPISODE),
        key=F("group_id"),
        at=F("start"),
        until=F("end"),
        row_id=_NO_ID,
        text=_NO_TEXT,
        count=_NO_COUNT,
        ref=_NO_ID,
    )
    streaks = UserStreak.objects.filter(customer_id__in=customer_ids).annotate(
        kind=Value(_STREAK),
        key=F("streak_id"),
        at=F("achieved_at"),
        until=_NO_TIME,
        row_id=F("id"),
        text=F("status"),
        count=F("current_count"),
        ref=F("achieved_user_target_id"),
    )
    state = CustomerState(defaultdict(dict), {}, {})
    spans = defaultdict(list)
    rows = (q.values_list(*_COLUMNS).order_by() for q in (current, episodes, streaks))
    for kind, customer_id, key, at, until, row_id, text, count, ref in next(rows).union(*rows, all=True):
        if kind == _CURRENT:
            state.enrolled[customer_id][key] = Enrolled(since=at, streak_reset_at=until)
            state.enrolments[(customer_id, key)] = SimpleNamespace(id=row_id, enrolled_on=at, source=text)
        elif kind == _EPISODE:
            spans[(customer_id, key)].append((at, until))
        else:
            state.streaks[(customer_id, key)] = SimpleNamespace(
                id=row_id, status=text, current_count=count, achieved_at=at, achieved_user_target_id=ref
            )
    for (customer_id, group_id), held in spans.items():
        mine = state.enrolled[customer_id].get(group_id, Enrolled())
        state.enrolled[customer_id][group_id] = replace(mine, episodes=tuple(held))
    return state


def associated_now(group: GroupCfg, *, customer_org, enrolled: dict) -> bool:
    """The customer is covered by the group now: ALL_CUSTOMERS of its org, or enrolled."""
    mine = enrolled.get(group.id)
    return is_associated(
        enrolment=group.enrolment,
        group_org_id=group.org_id,
        customer_org_id=customer_org,
        enrolled=mine is not None and mine.since is not None,
    )


def act_from_row(row) -> Act:
    return Act(
        id=row.id,
        entity=row.entity,
        event_name=row.event_name,
        occurred_at=row.occurred_at,
        received_at=row.received_at,
        amount=row.amount,
        net_amount=row.net_amount,
        quantity=row.quantity,
        attributes=row.attributes or {},
        adjusts_group_id=getattr(row, "adjusts_group_id", None),
    )


class TargetRow:
    """A UserTarget as the writer needs it (compared, inserted, updated, referenced by id)."""

    __slots__ = (
        "id",
        "org_id",
        "achieved_value",
        "achieved_at",
        "enrolled_on",
        "last_activity_at",
        "milestones",
    )

    def __init__(self, id, org_id, achieved_value, achieved_at, enrolled_on, last_activity_at):
        self.id, self.org_id = id, org_id
        self.achieved_value, self.achieved_at, self.enrolled_on = achieved_value, achieved_at, enrolled_on
        self.last_activity_at = last_activity_at
        self.milestones = {}  # trigger id -> SimpleNamespace(id, achieved_at)

    def state(self) -> TargetState:
        return TargetState(
            self.achieved_value,
            self.enrolled_on,
            self.achieved_at,
            {trigger: m.achieved_at for trigger, m in self.milestones.items()},
            self.last_activity_at,
        )


def read_user_targets(*, batch: Batch, plan: Plan) -> dict:
    """The stored user targets of the periods evaluated (and the achieved ones a streak
    reads), with their milestones: {(customer, rule, period): TargetRow}."""
    existing = {}
    # Their milestones by a LEFT JOIN: one row per milestone (one without).
    for customer_id, rule_id, period_id, *values, mid, trigger_id, at in UserTarget.objects.filter(
        _targets_evaluated(batch, plan), customer_id__any=batch.customers
    ).values_list(
        "customer_id",
        "rule_id",
        "period_id",
        "id",
        "org_id",
        "achieved_value",
        "achieved_at",
        "enrolled_on",
        "last_activity_at",
        "milestones__id",
        "milestones__trigger_id",
        "milestones__achieved_at",
    ):
        key = (customer_id, rule_id, period_id)
        row = existing.get(key)
        if row is None:
            row = existing[key] = TargetRow(*values)
        if mid is not None:
            row.milestones[trigger_id] = SimpleNamespace(id=mid, achieved_at=at)
    return existing


def _targets_evaluated(batch: Batch, plan: Plan):
    """The user targets a run evaluates: every period of the unscoped groups' rules, the
    scoped periods of the others (filtered per pair by `Plan.in_scope`)."""
    full, scoped, streaky, periods = [], [], [], set()
    for group_id in batch.group_ids:
        rules = [r.id for r in batch.groups[group_id].rules]
        (full if group_id in batch.unscoped else scoped).extend(rules)
        if group_id not in batch.unscoped and batch.groups[group_id].streaks:
            streaky.extend(rules)
    for ids in plan.scope.values():
        periods |= ids
    return (
        Q(rule_id__in=full)
        | Q(rule_id__in=scoped, period_id__any=periods)
        | Q(rule_id__in=streaky, achieved_at__isnull=False)
    )


ACT_COLUMNS = (
    "id",
    "customer_id",
    "entity",
    "event_name",
    "occurred_at",
    "received_at",
    "amount",
    "net_amount",
    "quantity",
    "attributes",
    "adjusts_group_id",
)


def read_activities(*, batch: Batch, replays=None) -> dict:
    """The customers' activity of the groups' kinds, oldest first: {customer: [Act]}. With
    `replays` ({pair: periods}), only the activity of those customers inside those periods: a
    late activity replays the periods it lands in, never the customer's whole history."""
    group_ids = batch.group_ids if replays is None else sorted({g for _, g in replays})
    match = Q(adjusts_group_id__in=group_ids)
    for entity, event_name in set().union(*(batch.groups[g].keys for g in group_ids)):
        match |= Q(entity=entity, event_name=event_name)
    rows = Activity.objects.filter(match)
    if replays is None:
        rows = rows.filter(customer_id__any=batch.customers)
    else:
        rows = rows.filter(_within(batch, replays))
    by_customer = defaultdict(list)
    # Plain tuples, not model instances: a batch may read much activity.
    for aid, customer_id, *values in rows.order_by("occurred_at", "id").values_list(*ACT_COLUMNS):
        entity, event_name, occurred_at, received_at, amount, net, quantity, attributes, adjusts = values
        by_customer[customer_id].append(
            Act(
                aid,
                entity,
                event_name,
                occurred_at,
                received_at,
                amount,
                net,
                quantity,
                attributes or {},
                adjusts,
            )
        )
    return by_customer


def _within(batch: Batch, replays):
    """Each replayed customer's activity between the start of its first replayed period and
    the end of its last."""
    spans = {}
    for (customer_id, group_id), periods in replays.items():
        group = batch.groups[group_id]
        if group.evaluation == EvaluationType.PERIOD_AGNOSTIC:
            # Its periods have no calendar (generated ones: start = end): the window.
            periods = [group]
        low = min(p.start for p in periods)
        high = max(p.end for p in periods) + timedelta(seconds=1)
        held = spans.get(customer_id)
        spans[customer_id] = (min(low, held[0]), max(high, held[1])) if held else (low, high)
    within = Q()
    for customer_id, (low, high) in spans.items():
        within |= Q(customer_id=customer_id, occurred_at__gte=low, occurred_at__lt=high)
    return within

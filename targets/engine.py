"""Activity in, progress out (SPEC §4): the one place that writes progress.

`activity_ingest` stores each activity once per (org, external_id) and, in the same
transaction, brings the progress of every (customer, group) the new activity touches up to
date. `progress_refresh` is that second half on its own: it replays each customer's stored
activities through `targets.evaluation.evaluate_group` and writes only the differences
(UserTarget, UserMilestone, UserStreak, GroupEnrolment, CYCLIC customer periods). The
incremental path and `recompute_progress` both call it, so they give the same result.

Concurrency: the batch's customers are locked (`SELECT … FOR UPDATE`, in id order) before
anything is read, so concurrent batches for one customer queue instead of losing updates; on
SQLite the IMMEDIATE transaction does the same for the whole database. A duplicate external_id
raced in by another transaction makes the insert fail; the batch is rolled back and retried,
and the retry sees the other transaction's row and reports DUPLICATE.
"""

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from customers.models import Customer
from targets import catalog
from targets.activities import ItemError, parse_item
from targets.bulk import insert_rows, update_rows
from targets.evaluation import (
    Act,
    Enrolled,
    GroupCfg,
    PeriodCfg,
    TargetState,
    evaluate_group,
    listens,
    matches,
)
from targets.events.recorder import EventRecorder
from targets.limits import overflowing_items
from targets.models import (
    Activity,
    Enrolment,
    EnrolmentEpisode,
    EnrolmentSource,
    EvaluationType,
    GroupEnrolment,
    TargetPeriod,
    UserMilestone,
    UserStreak,
    UserTarget,
)
from targets.outcomes import PeriodOutcome, period_achieved_at, streak_state
from targets.periods import contains, cyclic_windows

APPLIED, DUPLICATE, REJECTED = "APPLIED", "DUPLICATE", "REJECTED"
RETRIES = 3


@dataclass
class Result:
    external_id: str | None
    status: str
    errors: list | None = None

    def as_dict(self):
        return {"externalId": self.external_id, "status": self.status, "errors": self.errors}


def _rejected(external_id, reasons):
    return Result(external_id, REJECTED, [{"code": 300004, "message": reason} for reason in reasons])


def activity_ingest(*, org, items, now, actor=None) -> list[Result]:
    """Store and apply a batch of activity items for `org`; one Result per item, in order."""
    parsed = []
    for item in items:
        try:
            parsed.append(parse_item(item))
        except ItemError as exc:
            raw = item.get("externalId") if isinstance(item, dict) else None
            parsed.append(_rejected(raw if isinstance(raw, (str, int)) else None, exc.reasons))
    for attempt in range(RETRIES):
        try:
            with transaction.atomic():
                return _ingest(org, parsed, now, actor)
        except IntegrityError:
            # Another transaction committed one of our external ids between our check and our
            # insert; nothing of this batch was kept. The retry reports it as DUPLICATE.
            if attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _ingest(org, parsed, now, actor):
    inputs = [p for p in parsed if not isinstance(p, Result)]
    customers = {
        c.id: c
        for c in Customer.objects.select_for_update()
        .filter(org_id=org.id, id__in={i.user_id for i in inputs})
        .order_by("id")
        .only("id", "org_id", "lifetime_purchases", "last_updated_on", "last_updated_by_id")
    }
    seen = set(
        Activity.objects.filter(org_id=org.id, external_id__in={i.external_id for i in inputs}).values_list(
            "external_id", flat=True
        )
    )
    results, new = [], []
    for item in parsed:
        if isinstance(item, Result):
            results.append(item)
        elif item.user_id not in customers:
            results.append(_rejected(item.external_id, [f"userId: customer {item.user_id} not found"]))
        elif item.external_id in seen:
            results.append(Result(item.external_id, DUPLICATE))
        else:
            seen.add(item.external_id)
            results.append(Result(item.external_id, APPLIED))
            new.append(item)
    # Issue 15: items whose sums would not fit numeric(18, 3) are refused (targets/limits.py).
    if refused := overflowing_items(org_id=org.id, items=new):
        results = [
            _rejected(r.external_id, [refused[r.external_id]])
            if r.status == APPLIED and r.external_id in refused
            else r
            for r in results
        ]
        new = [i for i in new if i.external_id not in refused]
    if not new:
        return results
    activities = _store_activities(org, new, now, actor)
    _touch_customers(customers, activities, now, actor)
    progress_refresh(
        customer_ids=sorted({a.customer_id for a in activities}), now=now, new_activities=activities
    )
    return results


ACTIVITY_FIELDS = (
    "org",
    "customer",
    "entity",
    "event_name",
    "occurred_at",
    "amount",
    "net_amount",
    "quantity",
    "attributes",
    "external_id",
    "received_at",
    "posted_by",
)


def _store_activities(org, new, now, actor):
    """Insert the new activities; returns them as plain rows with their ids (what the progress
    writer reads of them), without building a model instance each."""
    rows = [
        (
            org.id,
            i.user_id,
            i.entity,
            i.event_name,
            i.occurred_at,
            i.amount,
            i.net_amount,
            i.quantity,
            i.attributes,
            i.external_id,
            now,
            actor.id if actor is not None else None,
        )
        for i in new
    ]
    ids = insert_rows(Activity, ACTIVITY_FIELDS, rows, returning=True)
    names = ("id", "org_id", "customer_id", *ACTIVITY_FIELDS[2:-1], "posted_by_id")
    return [
        SimpleNamespace(**dict(zip(names, (pk, *row), strict=True)))
        for pk, row in zip(ids, rows, strict=True)
    ]


def _touch_customers(customers, activities, now, actor):
    spent = defaultdict(Decimal)
    for activity in activities:
        if activity.entity == "TRANSACTION":
            spent[activity.customer_id] += activity.amount
    touched = []
    for customer_id in {a.customer_id for a in activities}:
        customer = customers[customer_id]
        customer.lifetime_purchases += spent[customer_id]
        customer.last_updated_on = now
        if actor is not None:
            customer.last_updated_by = actor
        touched.append(customer)
    update_rows(Customer, touched, ["lifetime_purchases", "last_updated_on", "last_updated_by"])


# --- progress ------------------------------------------------------------------------------


def load_groups(*, customer_orgs, customer_ids, group_ids=None, include_inactive=False):
    """Groups (with their rules) that the customers may be associated with: ALL_CUSTOMERS groups
    of their orgs and groups they are or were enrolled in. Only active groups and rules when
    ingesting (activity received now counts for nothing else); every one when recomputing, so
    that what a paused rule counted before its pause follows the current configuration too.
    Returns ({group id: GroupCfg}, {customer id: {group id: Enrolled}})."""
    enrolled = defaultdict(dict)
    for customer_id, group_id, since, reset in GroupEnrolment.objects.filter(
        customer_id__in=customer_ids,
        group__org_id=F("customer__org_id"),  # issue 15: a cross-org row (refused by the database) is ignored
    ).values_list("customer_id", "group_id", "enrolled_on", "streak_reset_at"):
        enrolled[customer_id][group_id] = Enrolled(since=since, streak_reset_at=reset)
    episodes = defaultdict(list)
    for customer_id, group_id, start, end in EnrolmentEpisode.objects.filter(
        customer_id__in=customer_ids,
        group__org_id=F("customer__org_id"),  # issue 15: as above
    ).values_list("customer_id", "group_id", "start", "end"):
        episodes[(customer_id, group_id)].append((start, end))
    for (customer_id, group_id), spans in episodes.items():
        current = enrolled[customer_id].get(group_id, Enrolled())
        enrolled[customer_id][group_id] = replace(current, episodes=tuple(spans))
    all_enrolled = {g for groups in enrolled.values() for g in groups}
    configs = {}
    for group_id, config in catalog.group_configs(org_ids=customer_orgs, group_ids=all_enrolled).items():
        covered = group_id in all_enrolled or (
            config.org_id in customer_orgs and config.enrolment == Enrolment.ALL_CUSTOMERS
        )
        if not covered or (group_ids is not None and group_id not in group_ids):
            continue
        if not include_inactive:
            if not config.active:
                continue
            config = catalog.active_view(config)
        if config.rules:
            configs[group_id] = config
    return configs, enrolled


def _associated(group: GroupCfg, customer_org, enrolled: dict):
    """The customer is covered by the group now: ALL_CUSTOMERS of its org, or enrolled."""
    mine = enrolled.get(group.id)
    if mine is not None and mine.since is not None:
        return True
    return group.enrolment == Enrolment.ALL_CUSTOMERS and group.org_id == customer_org


def _act(row) -> Act:
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


def progress_refresh(*, customer_ids, now, new_activities=None, group_ids=None):
    """Bring the progress of `customer_ids` up to date with their stored activities and the
    current configuration.

    With `new_activities`, only the active groups those activities match are evaluated (the
    incremental path); without, every group the customers are associated with or hold progress
    in, active or not (recompute, and the refresh after a configuration change). `group_ids`
    narrows to some groups. Writes only what changed."""
    customer_orgs = dict(Customer.objects.filter(id__in=customer_ids).values_list("id", "org_id"))
    recompute = new_activities is None
    groups, enrolled = load_groups(
        customer_orgs=set(customer_orgs.values()),
        customer_ids=customer_ids,
        group_ids=group_ids,
        include_inactive=recompute,
    )
    pairs = {}  # (customer, group) -> the moments of new activity, or None: every period
    by_customer = None
    if not recompute:
        fresh = [_act(a) for a in new_activities]
        by_customer = defaultdict(list)
        for row, act in zip(new_activities, fresh, strict=True):
            by_customer[row.customer_id].append(act)
        for acts in by_customer.values():
            acts.sort(key=lambda a: (a.occurred_at, a.id))
        for customer_id, acts in by_customer.items():
            mine = enrolled[customer_id]
            for group in groups.values():
                if not _associated(group, customer_orgs[customer_id], mine):
                    continue
                moments = [a.occurred_at for a in acts if matches(group, a, mine.get(group.id))]
                if moments:
                    pairs[(customer_id, group.id)] = moments if _periods_independent(group) else None
    else:
        for customer_id, org_id in customer_orgs.items():
            for group in groups.values():
                if _associated(group, org_id, enrolled[customer_id]) or group.id in enrolled[customer_id]:
                    pairs[(customer_id, group.id)] = None
        # Progress kept from an earlier association (an unenrolled customer) follows the
        # configuration too.
        for customer_id, group_id in (
            UserTarget.objects.filter(customer_id__in=customer_orgs, rule__group_id__in=groups)
            .values_list("customer_id", "rule__group_id")
            .distinct()
        ):
            pairs[(customer_id, group_id)] = None
    if not pairs:
        return
    _ProgressWriter(groups, pairs, now, enrolled, new_acts=by_customer).run()


def _bounds(moments):
    """(low, high) such that a period containing one of the moments has end ≥ low and
    start ≤ high (ends are compared to the second, see `contains`)."""
    return min(moments).replace(microsecond=0), max(moments)


def _periods_holding(periods, moments):
    """The periods that contain one of the moments (a cheap bounds test first: most pairs
    have one or two moments and a period or two around them)."""
    low, high = _bounds(moments)
    return [
        p
        for p in periods
        if p.start <= high and p.end >= low and any(contains(p.start, p.end, at) for at in moments)
    ]


def _periods_independent(group: GroupCfg) -> bool:
    """Whether new activity can change only the periods it falls in. Not so for PERIOD_AGNOSTIC
    groups (carry-over flows into later periods); other groups' periods are evaluated
    independently, so the incremental path replays and compares only the periods new activity
    lands in. (A streak reads every period: the others' achieved user targets are read for it.)"""
    return group.evaluation != EvaluationType.PERIOD_AGNOSTIC


class _TargetRow:
    """A UserTarget as the writer needs it (compared, inserted, updated, referenced by id):
    a plain object, because building model instances costs more than the database work."""

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


class _ProgressWriter:
    """Evaluates (customer, group) pairs from stored activities and writes the differences.

    `pairs` maps each pair to the moments of its new activity when only the periods holding
    them need evaluating (see `_periods_independent`), or to None for every period."""

    def __init__(self, groups, pairs, now, enrolled, new_acts=None):
        self.groups, self.pairs, self.now, self.enrolled = groups, pairs, now, enrolled
        # {customer: new activity, oldest first} when ingesting; None: replay everything.
        self.new_acts = new_acts
        self.customers = sorted({c for c, _ in pairs})
        self.group_ids = sorted({g for _, g in pairs})
        self.unscoped = {g for (_, g), moments in pairs.items() if moments is None}
        self.scope = {}  # (customer, group) -> period ids evaluated, for the scoped pairs
        self.kept = {}  # achieved user targets outside the scope, for the streaks

    def run(self):
        replaying = self.new_acts is None
        activities = self._activities() if replaying else None
        cyclic = self._cyclic_periods(activities if replaying else self.new_acts)
        evaluated = {}  # (customer, group) -> the periods evaluated
        for (customer_id, group_id), moments in self.pairs.items():
            group = self.groups[group_id]
            periods = (
                cyclic.get((customer_id, group_id), ())
                if group.evaluation == EvaluationType.CYCLIC
                else group.periods
            )
            if moments is not None:
                periods = _periods_holding(periods, moments)
                self.scope[(customer_id, group_id)] = {p.id for p in periods}
            if periods:
                evaluated[(customer_id, group_id)] = periods
        existing = self._read_user_targets()
        desired = {}  # (customer, rule, period) -> TargetState
        replays = {}
        for pair, periods in evaluated.items():
            initial = None if replaying else self._stored_states(pair, periods, existing)
            if initial is None:
                replays[pair] = periods
                continue
            self._evaluate(desired, pair, periods, self.new_acts[pair[0]], initial)
        if replays and not replaying:
            activities = self._activities(replays)
        for pair, periods in replays.items():
            self._evaluate(desired, pair, periods, activities[pair[0]], None)
        # Achievement events (issue 16): the recorder sees each write's differences (the
        # `self.events.…` calls below) and inserts the events last, in this transaction.
        self.events = EventRecorder(
            groups=self.groups, enrolled=self.enrolled, now=self.now, activities=(self.new_acts, activities)
        )
        targets = self._write_user_targets(desired, existing)
        self._write_milestones(desired, targets)
        self._write_enrolments(desired)
        self._write_streaks(targets, cyclic)
        self.events.flush()

    def _evaluate(self, desired, pair, periods, activities, initial):
        customer_id, group_id = pair
        for (rule_id, period_id), state in evaluate_group(
            self.groups[group_id], periods, activities, self.enrolled[customer_id].get(group_id), initial
        ).items():
            desired[(customer_id, rule_id, period_id)] = state

    def _stored_states(self, pair, periods, existing):
        """The stored progress of the pair's periods when the new activity can be applied to it
        as a delta (it happened at or after everything counted there, so a replay would apply
        it last); None when the periods must be replayed (a late activity)."""
        customer_id, group_id = pair
        group = self.groups[group_id]
        acts = [a for a in self.new_acts[customer_id] if listens(group, a)]
        if not acts:
            return None
        first = acts[0].occurred_at
        initial = {}
        for rule in group.rules:
            for period in periods:
                row = existing.get((customer_id, rule.id, period.id))
                if row is None:
                    continue
                if row.last_activity_at is None or row.last_activity_at > first:
                    return None
                initial[(rule.id, period.id)] = row.state()
        return initial

    def _activities(self, replays=None):
        """The customers' activity of the groups' kinds, oldest first. With `replays` ({pair:
        periods}), only the activity of those customers inside those periods: a late activity
        replays the periods it lands in, never the customer's whole history."""
        group_ids = self.group_ids if replays is None else sorted({g for _, g in replays})
        keys = set().union(*(self.groups[g].keys for g in group_ids))
        match = Q()
        for entity, event_name in keys:
            match |= Q(entity=entity, event_name=event_name)
        match |= Q(adjusts_group_id__in=group_ids)
        rows = Activity.objects.filter(match)
        if replays is None:
            rows = rows.filter(customer_id__any=self.customers)
        else:
            spans = {}
            for (customer_id, group_id), periods in replays.items():
                group = self.groups[group_id]
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
            rows = rows.filter(within)
        rows = rows.order_by("occurred_at", "id")
        by_customer = defaultdict(list)
        # Plain tuples, not model instances: a batch reads every activity of its customers.
        for (
            aid,
            customer_id,
            entity,
            event_name,
            occurred_at,
            received_at,
            amount,
            net,
            quantity,
            attributes,
            adjusts,
        ) in rows.values_list(
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
        ):
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

    def _cyclic_periods(self, activities):
        # `activities`: {customer: activity, oldest first} — every stored one when replaying,
        # the new ones when ingesting (activity that counted before created the cycles already).
        """Each customer's periods of CYCLIC groups; created at the first matching activity."""
        cyclic_ids = [g for g in self.group_ids if self.groups[g].evaluation == EvaluationType.CYCLIC]
        found = defaultdict(list)
        if not cyclic_ids:
            return found
        mine = TargetPeriod.objects.filter(customer_id__any=self.customers)
        # The scoped pairs need only the periods around their new activity (a customer's cycles
        # are many, and reading them costs more than the rest of the pair's work); whether a
        # customer has cycles at all is asked separately.
        # A streak walks every period: the groups with streaks read all of them.
        scoped = {g: [] for g in cyclic_ids if g not in self.unscoped and not self.groups[g].streaks}
        for (_, group_id), moments in self.pairs.items():
            if group_id in scoped:
                scoped[group_id].extend(moments)
        near = Q(group_id__in=[g for g in cyclic_ids if g not in scoped])
        for group_id, moments in scoped.items():
            low, high = _bounds(moments)
            near |= Q(group_id=group_id, end__gte=low, start__lte=high)
        for pid, customer_id, group_id, sequence, start, end in (
            mine.filter(near)
            .order_by("sequence")
            .values_list("id", "customer_id", "group_id", "sequence", "start", "end")
        ):
            found[(customer_id, group_id)].append(PeriodCfg(pid, sequence, start, end))
        cycling = set(found) | set(
            mine.filter(group_id__in=scoped).order_by().values_list("customer_id", "group_id").distinct()
        )
        created = []
        for customer_id, group_id in self.pairs:
            group = self.groups[group_id]
            if group.evaluation != EvaluationType.CYCLIC or (customer_id, group_id) in cycling:
                continue
            mine = self.enrolled[customer_id].get(group_id)
            first = next((a for a in activities.get(customer_id, ()) if matches(group, a, mine)), None)
            if first is None:
                continue
            for window in cyclic_windows(
                # The window is compared to the second: an activity at end + 0.5 s matches, and
                # its cycle must not start after the group's end.
                anchor=min(first.occurred_at, group.end),
                end=group.end,
                frequency_type=group.frequency_type,
                frequency=group.frequency,
                total_periods=group.total_periods,
                tz=group.tz,
                ref_code_prefix=f"PERIOD_G_{group_id}_",
            ):
                created.append(
                    (
                        group.org_id,
                        group_id,
                        customer_id,
                        window.ref_code,
                        window.sequence,
                        window.start,
                        window.end,
                    )
                )
        fields = ("org", "group", "customer", "ref_code", "sequence", "start", "end")
        for pid, (_org, group_id, customer_id, _ref, sequence, start, end) in zip(
            insert_rows(TargetPeriod, fields, created, returning=True), created, strict=True
        ):
            found[(customer_id, group_id)].append(PeriodCfg(pid, sequence, start, end))
        return found

    def _read_user_targets(self):
        """The stored user targets of the periods evaluated (and the achieved ones a streak
        reads), with their milestones: {(customer, rule, period): row}."""
        existing = {
            (customer_id, rule_id, period_id): _TargetRow(*values)
            for customer_id, rule_id, period_id, *values in UserTarget.objects.filter(
                self._targets_evaluated(), customer_id__any=self.customers
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
            )
        }
        by_id = {row.id: row for row in existing.values()}
        if by_id:
            for mid, user_target_id, trigger_id, at in UserMilestone.objects.filter(
                user_target_id__any=list(by_id)
            ).values_list("id", "user_target_id", "trigger_id", "achieved_at"):
                by_id[user_target_id].milestones[trigger_id] = SimpleNamespace(id=mid, achieved_at=at)
        return existing

    def _write_user_targets(self, desired, existing):
        """Create, update or delete UserTarget rows; returns {(customer, rule, period): row}."""
        evaluated = {(c, r.id): (c, g) for c, g in self.pairs for r in self.groups[g].rules}
        stale = []
        for key, ut in existing.items():
            if key in desired or key[:2] not in evaluated:
                continue
            if self._in_scope(evaluated[key[:2]], key[2]):
                stale.append(ut.id)
            else:
                self.kept[key] = ut
        self.events.user_targets(existing=existing, desired=desired, stale=stale)
        if stale:
            UserTarget.objects.filter(id__any=stale).delete()
        org_of_rule = {r.id: self.groups[g].org_id for g in self.group_ids for r in self.groups[g].rules}
        new, changed, rows = [], [], {}
        for key, state in desired.items():
            ut = existing.get(key)
            if ut is None:
                ut = _TargetRow(
                    None,
                    org_of_rule[key[1]],
                    state.value,
                    state.achieved_at,
                    state.enrolled_on,
                    state.last_at,
                )
                new.append((key, ut))
            elif (ut.achieved_value, ut.achieved_at, ut.enrolled_on, ut.last_activity_at) != (
                state.value,
                state.achieved_at,
                state.enrolled_on,
                state.last_at,
            ):
                ut.achieved_value, ut.achieved_at, ut.enrolled_on, ut.last_activity_at = (
                    state.value,
                    state.achieved_at,
                    state.enrolled_on,
                    state.last_at,
                )
                changed.append(ut)
            rows[key] = ut
        fields = (
            "org",
            "customer",
            "rule",
            "period",
            "achieved_value",
            "achieved_at",
            "enrolled_on",
            "last_activity_at",
        )
        ids = insert_rows(
            UserTarget,
            fields,
            [
                (ut.org_id, *key, ut.achieved_value, ut.achieved_at, ut.enrolled_on, ut.last_activity_at)
                for key, ut in new
            ],
            returning=True,
        )
        for (_key, ut), new_id in zip(new, ids, strict=True):
            ut.id = new_id
        self.created_targets = set(ids)
        update_rows(UserTarget, changed, ["achieved_value", "achieved_at", "enrolled_on", "last_activity_at"])
        return rows

    def _targets_evaluated(self):
        """The user targets this run evaluates: every period of the unscoped groups' rules, the
        scoped periods of the others (filtered per pair by `_in_scope`)."""
        full, scoped, streaky, periods = [], [], [], set()
        for group_id in self.group_ids:
            rules = [r.id for r in self.groups[group_id].rules]
            (full if group_id in self.unscoped else scoped).extend(rules)
            if group_id not in self.unscoped and self.groups[group_id].streaks:
                streaky.extend(rules)
        for ids in self.scope.values():
            periods |= ids
        return (
            Q(rule_id__in=full)
            | Q(rule_id__in=scoped, period_id__any=periods)
            | Q(rule_id__in=streaky, achieved_at__isnull=False)
        )

    def _in_scope(self, pair, period_id):
        scope = self.scope.get(pair)
        return scope is None or period_id in scope

    def _write_milestones(self, desired, targets):
        wanted = {
            (targets[key].id, trigger_id): at
            for key, state in desired.items()
            for trigger_id, at in state.milestones.items()
        }
        existing = {
            (ut.id, trigger_id): milestone
            for ut in targets.values()
            if ut.id not in self.created_targets
            for trigger_id, milestone in ut.milestones.items()
        }
        stale = [m.id for key, m in existing.items() if key not in wanted]
        self.events.milestones(existing=existing, wanted=wanted, targets=targets)
        if stale:
            UserMilestone.objects.filter(id__any=stale).delete()
        changed = []
        for key, at in wanted.items():
            if key in existing and existing[key].achieved_at != at:
                existing[key].achieved_at = at
                changed.append(existing[key])
        org_of = {ut.id: ut.org_id for ut in targets.values()}
        insert_rows(
            UserMilestone,
            ("org", "user_target", "trigger", "achieved_at"),
            [
                (org_of[ut_id], ut_id, trigger_id, at)
                for (ut_id, trigger_id), at in wanted.items()
                if (ut_id, trigger_id) not in existing
            ],
        )
        update_rows(UserMilestone, changed, ["achieved_at"])

    def _write_enrolments(self, desired):
        """ALL_CUSTOMERS groups enrol a customer at the first matching activity (event time: an
        earlier activity arriving late moves an activity enrolment back, as it moves the user
        targets' enrolled_on). Enrolments made by an admin, the API or an import are kept."""
        first = {}
        group_of_rule = {r.id: g for g in self.group_ids for r in self.groups[g].rules}
        for (customer_id, rule_id, _), state in desired.items():
            key = (customer_id, group_of_rule[rule_id])
            if key not in first or state.enrolled_on < first[key]:
                first[key] = state.enrolled_on
        have = {
            (customer_id, group_id): SimpleNamespace(id=eid, enrolled_on=enrolled_on, source=source)
            for eid, customer_id, group_id, enrolled_on, source in GroupEnrolment.objects.filter(
                customer_id__any=self.customers, group_id__in=self.group_ids
            ).values_list("id", "customer_id", "group_id", "enrolled_on", "source")
        }
        moved = []
        for key, at in first.items():
            row = have.get(key)
            if key in self.scope and row is not None and at > row.enrolled_on:
                continue  # the earlier activity lies in a period this run did not evaluate
            if (
                row is not None
                and row.source == EnrolmentSource.ACTIVITY
                and row.enrolled_on != at
                and self.groups[key[1]].enrolment == Enrolment.ALL_CUSTOMERS
            ):
                row.enrolled_on = at
                moved.append(row)
        update_rows(GroupEnrolment, moved, ["enrolled_on"])
        created = [
            (self.groups[g].org_id, g, c, at, EnrolmentSource.ACTIVITY.value)
            for (c, g), at in first.items()
            # An EXPLICIT group's enrolments are made by an admin, the API or an import only.
            if (c, g) not in have and self.groups[g].enrolment == Enrolment.ALL_CUSTOMERS
        ]
        self.events.enrolments(created=created)
        insert_rows(GroupEnrolment, ("org", "group", "customer", "enrolled_on", "source"), created)

    def _write_streaks(self, targets, cyclic):
        streak_groups = [g for g in self.group_ids if self.groups[g].streaks]
        if not streak_groups:
            return
        existing = {
            (customer_id, streak_id): SimpleNamespace(
                id=sid, status=status, current_count=count, achieved_at=at, achieved_user_target_id=ut_id
            )
            for sid, customer_id, streak_id, status, count, at, ut_id in UserStreak.objects.filter(
                customer_id__any=self.customers, streak__group_id__in=streak_groups
            ).values_list(
                "id",
                "customer_id",
                "streak_id",
                "status",
                "current_count",
                "achieved_at",
                "achieved_user_target_id",
            )
        }
        new, changed, gone = [], [], []
        for customer_id, group_id in self.pairs:
            group = self.groups[group_id]
            if not group.streaks:
                continue
            periods = (
                cyclic.get((customer_id, group_id), ())
                if group.evaluation == EvaluationType.CYCLIC
                else group.periods
            )
            outcomes = []
            reset = getattr(self.enrolled[customer_id].get(group_id), "streak_reset_at", None)
            for period in periods:
                if reset is not None and period.end < reset:
                    continue  # re-enrolled with resetStreakStatus: the streak starts afresh
                rows = [
                    targets.get(key) or self.kept.get(key)
                    for key in ((customer_id, rule.id, period.id) for rule in group.active_rules)
                ]
                achieved = period_achieved_at(row.achieved_at if row else None for row in rows)
                completing = max(
                    (r for r in rows if r and r.achieved_at), key=lambda r: r.achieved_at, default=None
                )
                outcomes.append(
                    PeriodOutcome(
                        achieved,
                        closed=period.end < self.now and group.evaluation != EvaluationType.PERIOD_AGNOSTIC,
                        user_target_id=completing.id if completing else None,
                    )
                )
            for streak_id, needed, continuous in group.streaks:
                state = streak_state(outcomes, needed=needed, continuous=continuous)
                values = (state.status, state.current_count, state.achieved_at, state.achieved_user_target_id)
                row = existing.get((customer_id, streak_id))
                self.events.streak(
                    customer_id=customer_id,
                    group=group,
                    streak_id=streak_id,
                    needed=needed,
                    old=row,
                    new=state,
                    periods=periods,
                    outcomes=outcomes,
                )
                if row is None:
                    if state.status != "NOT_STARTED":
                        new.append((group.org_id, customer_id, streak_id, *values))
                elif state.status == "NOT_STARTED":
                    gone.append(row.id)  # as a rebuild leaves it: no row before a first achieved period
                elif (row.status, row.current_count, row.achieved_at, row.achieved_user_target_id) != values:
                    row.status, row.current_count, row.achieved_at, row.achieved_user_target_id = values
                    changed.append(row)
        insert_rows(
            UserStreak,
            ("org", "customer", "streak", "status", "current_count", "achieved_at", "achieved_user_target"),
            new,
        )
        update_rows(UserStreak, changed, ["status", "current_count", "achieved_at", "achieved_user_target"])
        if gone:
            UserStreak.objects.filter(id__any=gone).delete()

"""Progress out (SPEC §4): `progress_refresh` brings the progress of (customer, group) pairs up
to date with their stored activities and the current configuration — the one place that writes
progress. Ingestion calls it with the new activities (only the pairs and periods they touch,
applied as a delta when in order), `recompute_progress` and the refresh after a configuration
change without (every period replayed), so the paths cannot disagree.

A run: choose the pairs → load the configuration and the stored state (`load`, `cycles`) →
evaluate (`evaluate`, pure) → write the differences (`sync`)."""

from collections import defaultdict

from customers.models import Customer
from targets.events.recorder import EventRecorder
from targets.models import UserTarget
from targets.progress.cycles import cyclic_periods
from targets.progress.evaluate import evaluate_group, listens, matches
from targets.progress.load import (
    act_from_row,
    associated_now,
    load_groups,
    read_activities,
    read_user_targets,
)
from targets.progress.scope import Batch, Plan, periods_independent, plan
from targets.progress.sync import sync_enrolments, sync_milestones, sync_streaks, sync_user_targets


def progress_refresh(
    *, customer_ids, now, new_activities=None, group_ids=None, customer_orgs=None, config_tokens=None
):
    """Bring the progress of `customer_ids` up to date with their stored activities and the
    current configuration.

    With `new_activities`, only the active groups those activities match are evaluated (the
    incremental path); without, every group the customers are associated with or hold progress
    in, active or not (recompute, and the refresh after a configuration change). `group_ids`
    narrows to some groups. Writes only what changed. What the caller read already saves
    queries: `customer_orgs` {customer id: org id}, `config_tokens` {org id: configuration
    version} (`catalog.group_configs`)."""
    if customer_orgs is None:
        customer_orgs = dict(Customer.objects.filter(id__in=customer_ids).values_list("id", "org_id"))
    recompute = new_activities is None
    groups, enrolled, stored = load_groups(
        customer_orgs=set(customer_orgs.values()),
        customer_ids=customer_ids,
        group_ids=group_ids,
        include_inactive=recompute,
        config_tokens=config_tokens,
    )
    if recompute:
        new_acts = None
        pairs = _all_pairs(groups=groups, enrolled=enrolled, customer_orgs=customer_orgs)
    else:
        new_acts = _by_customer(new_activities)
        pairs = _touched_pairs(
            groups=groups, enrolled=enrolled, customer_orgs=customer_orgs, new_acts=new_acts
        )
    if pairs:
        batch = Batch(
            groups=groups,
            pairs=pairs,
            now=now,
            enrolled=enrolled,
            new_acts=new_acts,
            enrolments=stored.enrolments,
            streaks=stored.streaks,
        )
        write_progress(batch=batch)


def _by_customer(new_activities) -> dict:
    """{customer: the new activities as Acts, oldest first by (occurred_at, id)}."""
    by_customer = defaultdict(list)
    for row in new_activities:
        by_customer[row.customer_id].append(act_from_row(row))
    for acts in by_customer.values():
        acts.sort(key=lambda a: (a.occurred_at, a.id))
    return by_customer


def _touched_pairs(*, groups, enrolled, customer_orgs, new_acts) -> dict:
    """The pairs the new activity counts in: {pair: its moments} when only the periods holding
    them need evaluating, {pair: None} for every period."""
    pairs = {}
    for customer_id, acts in new_acts.items():
        mine = enrolled[customer_id]
        for group in groups.values():
            if not associated_now(group, customer_org=customer_orgs[customer_id], enrolled=mine):
                continue
            moments = [a.occurred_at for a in acts if matches(group, a, mine.get(group.id))]
            if moments:
                pairs[(customer_id, group.id)] = moments if periods_independent(group) else None
    return pairs


def _all_pairs(*, groups, enrolled, customer_orgs) -> dict:
    """Every pair a customer is associated with or was enrolled in, and those holding progress
    from an earlier association (an unenrolled customer): it follows the configuration too."""
    pairs = {}
    for customer_id, org_id in customer_orgs.items():
        mine = enrolled[customer_id]
        for group in groups.values():
            if associated_now(group, customer_org=org_id, enrolled=mine) or group.id in mine:
                pairs[(customer_id, group.id)] = None
    for customer_id, group_id in (
        UserTarget.objects.filter(customer_id__in=customer_orgs, rule__group_id__in=groups)
        .values_list("customer_id", "rule__group_id")
        .distinct()
    ):
        pairs[(customer_id, group_id)] = None
    return pairs


def write_progress(*, batch: Batch):
    """Evaluate the batch's pairs from stored state and activity, write the differences."""
    activities = read_activities(batch=batch) if batch.replaying else None
    cyclic = cyclic_periods(batch=batch, activities=activities if batch.replaying else batch.new_acts)
    scope = plan(batch=batch, cyclic=cyclic)
    existing = read_user_targets(batch=batch, plan=scope)
    desired, replays = _apply_deltas(batch=batch, plan=scope, existing=existing)
    if replays and not batch.replaying:
        activities = read_activities(batch=batch, replays=replays)
    for pair, periods in replays.items():
        _evaluate(desired, batch=batch, pair=pair, periods=periods, activities=activities[pair[0]])
    # Achievement events (issue 16): the recorder sees each write's differences and inserts
    # the events last, in this transaction.
    events = EventRecorder(
        groups=batch.groups, enrolled=batch.enrolled, now=batch.now, activities=(batch.new_acts, activities)
    )
    targets, kept, created = sync_user_targets(
        batch=batch, plan=scope, desired=desired, existing=existing, events=events
    )
    sync_milestones(desired=desired, targets=targets, created=created, events=events)
    sync_enrolments(batch=batch, plan=scope, desired=desired, events=events)
    sync_streaks(batch=batch, targets=targets, kept=kept, cyclic=cyclic, events=events)
    events.flush()


def _apply_deltas(*, batch: Batch, plan: Plan, existing):
    """Apply new activity as a delta where it is in order; returns (desired states so far
    {(customer, rule, period): TargetState}, the pairs to replay {pair: periods})."""
    desired, replays = {}, {}
    for pair, periods in plan.evaluated.items():
        initial = (
            None
            if batch.replaying
            else stored_states(batch=batch, pair=pair, periods=periods, existing=existing)
        )
        if initial is None:
            replays[pair] = periods
        else:
            _evaluate(
                desired,
                batch=batch,
                pair=pair,
                periods=periods,
                activities=batch.new_acts[pair[0]],
                initial=initial,
            )
    return desired, replays


def _evaluate(desired, *, batch: Batch, pair, periods, activities, initial=None):
    customer_id, group_id = pair
    for (rule_id, period_id), state in evaluate_group(
        batch.groups[group_id], periods, activities, batch.enrolled[customer_id].get(group_id), initial
    ).items():
        desired[(customer_id, rule_id, period_id)] = state


def stored_states(*, batch: Batch, pair, periods, existing):
    """The stored progress of the pair's periods when the new activity can be applied to it
    as a delta (it happened at or after everything counted there, so a replay would apply it
    last); None when the periods must be replayed (a late activity)."""
    customer_id, group_id = pair
    group = batch.groups[group_id]
    acts = [a for a in batch.new_acts[customer_id] if listens(group, a)]
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

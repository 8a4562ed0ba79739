"""A customer's periods of CYCLIC groups: read those a run evaluates, and created at the
customer's first matching activity (SPEC §4, docs/engine.md "Windows")."""

from collections import defaultdict

from django.db.models import BigIntegerField, DateTimeField, Q, Value
from django.db.models.functions import Cast

from targets.models import EvaluationType, TargetPeriod
from targets.periods import cyclic_windows
from targets.progress.evaluate import PeriodCfg, matches
from targets.progress.scope import Batch, bounds
from targets.progress.sql import insert_rows

_NONE_INT = Cast(Value(None), BigIntegerField())
_NONE_TIME = Cast(Value(None), DateTimeField())


def _by_sequence(row):
    return (row[3] is None, row[3] or 0)


PERIOD_FIELDS = ("org", "group", "customer", "ref_code", "sequence", "start", "end")


def cyclic_periods(*, batch: Batch, activities) -> dict:
    """{(customer, group): [PeriodCfg]} for the batch's CYCLIC pairs, creating the cycles of
    pairs that have none yet. `activities`: {customer: [Act], oldest first} — every stored one
    when replaying, the new ones when ingesting (activity that counted before created the
    cycles already)."""
    cyclic_ids = [g for g in batch.group_ids if batch.groups[g].evaluation == EvaluationType.CYCLIC]
    found = defaultdict(list)
    if not cyclic_ids:
        return found
    mine = TargetPeriod.objects.filter(customer_id__any=batch.customers)
    scoped = _scoped_moments(batch, cyclic_ids)
    near = Q(group_id__in=[g for g in cyclic_ids if g not in scoped])
    for group_id, moments in scoped.items():
        low, high = bounds(moments)
        near |= Q(group_id=group_id, end__gte=low, start__lte=high)
    columns = ("id", "customer_id", "group_id", "sequence", "start", "end")
    rows = mine.filter(near).order_by().values_list(*columns)
    if scoped:
        # Whether a scoped pair has cycles at all (they may all lie away from its new activity),
        # in the same query: one row per pair with cycles, without a period.
        rows = rows.union(
            mine.filter(group_id__in=scoped)
            .annotate(no_id=_NONE_INT, no_sequence=_NONE_INT, no_start=_NONE_TIME, no_end=_NONE_TIME)
            .values_list("no_id", "customer_id", "group_id", "no_sequence", "no_start", "no_end")
            .order_by()
            .distinct(),
            all=True,
        )
    cycling = set()
    for pid, customer_id, group_id, sequence, start, end in sorted(rows, key=_by_sequence):
        cycling.add((customer_id, group_id))
        if pid is not None:
            found[(customer_id, group_id)].append(PeriodCfg(pid, sequence, start, end))
    created = [
        row
        for pair in batch.pairs
        if batch.groups[pair[1]].evaluation == EvaluationType.CYCLIC and pair not in cycling
        for row in _first_cycles(batch, pair, activities)
    ]
    for pid, (_org, group_id, customer_id, _ref, sequence, start, end) in zip(
        insert_rows(TargetPeriod, PERIOD_FIELDS, created, returning=True), created, strict=True
    ):
        found[(customer_id, group_id)].append(PeriodCfg(pid, sequence, start, end))
    return found


def _scoped_moments(batch: Batch, cyclic_ids) -> dict:
    """{group: moments of new activity} for the groups whose pairs need only the periods around
    it (a customer's cycles are many, and reading them costs more than the rest of the pair's
    work); whether a customer has cycles at all is asked separately. A streak walks every
    period: the groups with streaks read all of them."""
    scoped = {g: [] for g in cyclic_ids if g not in batch.unscoped and not batch.groups[g].streaks}
    for (_, group_id), moments in batch.pairs.items():
        if group_id in scoped:
            scoped[group_id].extend(moments)
    return scoped


def _first_cycles(batch: Batch, pair, activities) -> list[tuple]:
    """The rows of a pair's cycles, anchored at its first matching activity (none without)."""
    customer_id, group_id = pair
    group = batch.groups[group_id]
    mine = batch.enrolled[customer_id].get(group_id)
    first = next((a for a in activities.get(customer_id, ()) if matches(group, a, mine)), None)
    if first is None:
        return []
    windows = cyclic_windows(
        # The window is compared to the second: an activity at end + 0.5 s matches, and its
        # cycle must not start after the group's end.
        anchor=min(first.occurred_at, group.end),
        end=group.end,
        frequency_type=group.frequency_type,
        frequency=group.frequency,
        total_periods=group.total_periods,
        tz=group.tz,
        ref_code_prefix=f"PERIOD_G_{group_id}_",
    )
    return [(group.org_id, group_id, customer_id, w.ref_code, w.sequence, w.start, w.end) for w in windows]

"""STREAK_DROPPED by the passage of time.

A continuous streak breaks when a period closes unachieved: nothing happens in the database at
that moment, so no write of the engine sees it. The read endpoint shows DROPPED at request time;
the event needs a writer. `sweep_streak_drops` is that writer: it refreshes, through the engine,
the customers holding an IN_PROGRESS continuous streak in a group whose period (shared or the
customer's own) ended in [since, now). The engine stores the DROPPED status and the recorder
emits the event, once: a second sweep finds the status stored and emits nothing.

`targets.events.tasks.sweep_streaks` runs it every `STREAK_SWEEP_SECONDS` (django-tasks,
rescheduling itself with run_after); `manage.py sweep_streaks` runs it once or starts the chain."""

from collections import defaultdict
from datetime import datetime

from django.db import transaction

from customers.models import Customer
from targets.models import StreakStatus, TargetPeriod, UserStreak

CHUNK = 200


def streak_drop_candidates(*, now: datetime, since: datetime | None = None) -> dict[int, list[int]]:
    """{group id: [customer id, …]} whose IN_PROGRESS continuous streak a period that closed in
    [since, now) may have broken."""
    closed = TargetPeriod.objects.filter(end__lt=now, group__streaks__continuous=True)
    if since is not None:
        closed = closed.filter(end__gte=since)
    groups = set(closed.order_by().values_list("group_id", flat=True).distinct())
    found = defaultdict(set)
    for group_id, customer_id in (
        UserStreak.objects.filter(
            status=StreakStatus.IN_PROGRESS, streak__continuous=True, streak__group_id__in=groups
        )
        .order_by()
        .values_list("streak__group_id", "customer_id")
        .distinct()
    ):
        found[group_id].add(customer_id)
    return {group_id: sorted(ids) for group_id, ids in sorted(found.items())}


def sweep_streak_drops(*, now: datetime, since: datetime | None = None) -> int:
    """Refresh the candidates (one transaction per chunk of customers, locked as the engine
    locks them); returns how many (group, customer) pairs were refreshed."""
    from targets.progress.refresh import progress_refresh

    done = 0
    for group_id, ids in streak_drop_candidates(now=now, since=since).items():
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            with transaction.atomic():
                list(
                    Customer.objects.select_for_update().filter(id__in=chunk).order_by("id").values_list("id")
                )
                progress_refresh(customer_ids=chunk, now=now, group_ids=[group_id])
            done += len(chunk)
    return done

"""Refresh on change (SPEC §4): after a configuration change, bring the stored progress of every
affected customer in line with the activity log and the new configuration.

Every configuration write (configuration API, admin, actions, enrolment) calls
`refresh_after_change` inside its transaction. Few affected customers (at most
`settings.REFRESH_INLINE_LIMIT`) are refreshed at once, in that transaction; more are refreshed
by a background task (`targets.tasks.run_refresh`), stored by django-tasks' database backend in
the same transaction, so a change and the work it asks for commit or roll back together. A
second change while a refresh is still pending joins it (the task reads the configuration when
it runs). Each refresh is a `ProgressRefresh` row: the group's refresh state is its latest one.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q, Subquery

from customers.models import Customer
from targets.models import (
    Activity,
    Enrolment,
    EnrolmentEpisode,
    GroupEnrolment,
    ProgressRefresh,
    RefreshStatus,
    TargetGroup,
    UserTarget,
)

CHUNK = 200  # customers per transaction in a background refresh


@dataclass(frozen=True)
class RefreshState:
    status: str  # PENDING, RUNNING, DONE, FAILED
    customers_done: int
    customers_total: int
    requested_at: datetime
    finished_at: datetime | None
    background: bool

    def as_api(self):
        from targets.formats import attribution_time

        return {
            "status": self.status,
            "customersDone": self.customers_done,
            "customersTotal": self.customers_total,
            "requestedOn": attribution_time(self.requested_at),
            "finishedOn": attribution_time(self.finished_at) if self.finished_at else None,
            "background": self.background,
        }


def group_refresh_state(group) -> RefreshState | None:
    """The group's latest refresh, or None when its configuration never changed."""
    return refresh_states([group.pk]).get(group.pk)


def refresh_states(group_ids) -> dict[int, RefreshState]:
    """The latest refresh of each group, in one query."""
    latest = (
        ProgressRefresh.objects.filter(group_id__in=group_ids)
        .values("group_id")
        .annotate(latest=Max("id"))
        .values("latest")
    )
    return {
        row.group_id: RefreshState(
            row.status,
            row.customers_done,
            row.customers_total,
            row.requested_at,
            row.finished_at,
            row.background,
        )
        for row in ProgressRefresh.objects.filter(id__in=Subquery(latest))
    }


def affected_customers(group: TargetGroup) -> list[int]:
    """Customers whose progress in the group a configuration change may alter: those holding
    progress in it, and those with activity it could count (enrolled ones for an EXPLICIT group;
    for ALL_CUSTOMERS, customers of its org with activity of its kinds in its window)."""
    ids = set(UserTarget.objects.filter(rule__group=group).values_list("customer_id", flat=True).distinct())
    if group.enrolment == Enrolment.EXPLICIT:
        ids.update(GroupEnrolment.objects.filter(group=group).values_list("customer_id", flat=True))
        ids.update(EnrolmentEpisode.objects.filter(group=group).values_list("customer_id", flat=True))
        return sorted(ids)
    kinds = Q()
    for entity, event_name in set(group.rules.values_list("target_entity", "event_name")):
        kinds |= Q(entity=entity, event_name=event_name)
    if kinds:
        ids.update(
            Activity.objects.filter(kinds, org_id=group.org_id)
            .filter(
                occurred_at__gte=group.start,
                occurred_at__lt=group.end + timedelta(seconds=1),
                received_at__gte=group.counts_from,
            )
            .order_by()
            .values_list("customer_id", flat=True)
            .distinct()
        )
    return sorted(ids)


def refresh_after_change(*, group, now, reason: str, customer_ids: Iterable[int] | None = None):
    """Refresh the group's progress for `customer_ids` (all affected customers when None), in
    the request when they are few, else in the background. Returns the ProgressRefresh row."""
    locked = TargetGroup.objects.select_for_update().get(pk=group.pk)
    ids = sorted(set(customer_ids)) if customer_ids is not None else affected_customers(locked)
    if len(ids) <= settings.REFRESH_INLINE_LIMIT:
        refresh_customers(group_id=locked.pk, customer_ids=ids, now=now)
        return ProgressRefresh.objects.create(
            org_id=locked.org_id,
            group=locked,
            status=RefreshStatus.DONE,
            reason=reason[:300],
            customer_ids=None,
            customers_total=len(ids),
            customers_done=len(ids),
            requested_at=now,
            started_at=now,
            finished_at=now,
        )
    pending = ProgressRefresh.objects.filter(group=locked, status=RefreshStatus.PENDING).first()
    if pending is not None:
        # Coalesce: the pending task reads the configuration when it runs.
        if pending.customer_ids is not None and customer_ids is not None:
            pending.customer_ids = sorted(set(pending.customer_ids) | set(ids))
        else:
            pending.customer_ids = None
        pending.customers_total = max(pending.customers_total, len(ids))
        pending.reason = f"{pending.reason}; {reason}"[:300]
        pending.save(update_fields=["customer_ids", "customers_total", "reason"])
        return pending
    row = ProgressRefresh.objects.create(
        org_id=locked.org_id,
        group=locked,
        status=RefreshStatus.PENDING,
        background=True,
        reason=reason[:300],
        customer_ids=ids if customer_ids is not None else None,
        customers_total=len(ids),
        requested_at=now,
    )
    from targets.tasks import run_refresh

    result = run_refresh.enqueue(row.pk)
    row.task_id = str(result.id)
    row.save(update_fields=["task_id"])
    return row


def refresh_customers(*, group_id: int, customer_ids: list[int], now) -> None:
    """Recompute one group's progress for some customers, their rows locked as the engine's
    ingestion locks them, so a refresh and new activity for one customer queue."""
    from targets.progress.refresh import progress_refresh

    if not customer_ids:
        return
    list(Customer.objects.select_for_update().filter(id__in=customer_ids).order_by("id").values_list("id"))
    progress_refresh(customer_ids=customer_ids, now=now, group_ids=[group_id])


def run_pending_refresh(*, refresh_id: int, now_fn) -> None:
    """The background task's body: refresh the customers in chunks, one transaction each,
    counting them done as it goes (what the admin and the API show)."""
    with transaction.atomic():
        row = ProgressRefresh.objects.select_for_update().filter(pk=refresh_id).first()
        if row is None or row.status != RefreshStatus.PENDING:
            return
        row.status, row.started_at = RefreshStatus.RUNNING, now_fn()
        row.save(update_fields=["status", "started_at"])
    try:
        group = TargetGroup.objects.get(pk=row.group_id)
        ids = row.customer_ids if row.customer_ids is not None else affected_customers(group)
        ProgressRefresh.objects.filter(pk=row.pk).update(customers_total=len(ids), customers_done=0)
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i : i + CHUNK]
            with transaction.atomic():
                refresh_customers(group_id=group.pk, customer_ids=chunk, now=now_fn())
                ProgressRefresh.objects.filter(pk=row.pk).update(
                    customers_done=F("customers_done") + len(chunk)
                )
    except Exception as exc:
        ProgressRefresh.objects.filter(pk=row.pk).update(
            status=RefreshStatus.FAILED, finished_at=now_fn(), error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    ProgressRefresh.objects.filter(pk=row.pk).update(status=RefreshStatus.DONE, finished_at=now_fn())

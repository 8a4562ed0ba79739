"""Activity in (SPEC §5): store each activity once per (org, external_id), update the customers
and, in the same transaction, bring the progress of every (customer, group) the new activity
touches up to date (`targets.progress.refresh.progress_refresh`).

Concurrency: the batch's customers are locked (`SELECT … FOR UPDATE`, in id order) before
anything is read, so concurrent batches for one customer queue instead of losing updates; on
SQLite the IMMEDIATE transaction does the same for the whole database. A duplicate external_id
raced in by another transaction makes the insert fail; the batch is rolled back and retried,
and the retry sees the other transaction's row and reports DUPLICATE.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery

from customers.models import Customer
from targets.activities import ItemError, parse_item
from targets.limits import overflowing_items
from targets.models import Activity, ConfigVersion
from targets.progress.refresh import progress_refresh
from targets.progress.sql import insert_rows, update_statements

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
    parsed = [_parse(item) for item in items]
    for attempt in range(RETRIES):
        try:
            with transaction.atomic():
                return _ingest(org=org, parsed=parsed, now=now, actor=actor)
        except IntegrityError:
            # Another transaction committed one of our external ids between our check and our
            # insert; nothing of this batch was kept. The retry reports it as DUPLICATE.
            if attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _parse(item):
    try:
        return parse_item(item)
    except ItemError as exc:
        raw = item.get("externalId") if isinstance(item, dict) else None
        return _rejected(raw if isinstance(raw, (str, int)) else None, exc.reasons)


def _ingest(*, org, parsed, now, actor):
    inputs = [p for p in parsed if not isinstance(p, Result)]
    customers = _lock_customers(org_id=org.id, ids={i.user_id for i in inputs})
    seen = set(
        Activity.objects.filter(org_id=org.id, external_id__in={i.external_id for i in inputs}).values_list(
            "external_id", flat=True
        )
    )
    results, new = _triage(parsed, customers=customers, seen=seen)
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
    # The customers' update rides with the activities' insert (one statement on PostgreSQL).
    changed = touch_customers(customers=customers, new=new, now=now, actor=actor)
    along = update_statements(Customer, changed, ["lifetime_purchases", "last_updated_on", "last_updated_by"])
    activities = store_activities(org=org, new=new, now=now, actor=actor, along=along)
    touched = sorted({a.customer_id for a in activities})
    progress_refresh(
        customer_ids=touched,
        now=now,
        new_activities=activities,
        customer_orgs={c: customers[c].org_id for c in touched},
        config_tokens={c.org_id: c.config_token for c in customers.values()},
    )
    return results


def _lock_customers(*, org_id, ids):
    """The batch's customers, locked in id order, each with its org's configuration version
    (`config_token`: read here, before the configuration, it saves the engine a query)."""
    token = ConfigVersion.objects.filter(org_id=OuterRef("org_id")).values("token")[:1]
    return {
        c.id: c
        for c in Customer.objects.select_for_update()
        .filter(org_id=org_id, id__in=ids)
        .order_by("id")
        .only("id", "org_id", "lifetime_purchases", "last_updated_on", "last_updated_by_id")
        .annotate(config_token=Subquery(token))
    }


def _triage(parsed, *, customers, seen):
    """(a Result per item, the items to store): unknown customers are refused, an external id
    already stored — or earlier in the batch — is DUPLICATE."""
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
    return results, new


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


def store_activities(*, org, new, now, actor, along=()):
    """Insert the new activities (with the `along` UPDATE statements, see `insert_rows`);
    returns them as plain rows with their ids (what the progress writer reads of them),
    without building a model instance each."""
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
    ids = insert_rows(Activity, ACTIVITY_FIELDS, rows, returning=True, along=along)
    names = ("id", "org_id", "customer_id", *ACTIVITY_FIELDS[2:-1], "posted_by_id")
    return [
        SimpleNamespace(**dict(zip(names, (pk, *row), strict=True)))
        for pk, row in zip(ids, rows, strict=True)
    ]


def touch_customers(*, customers, new, now, actor) -> list:
    """TRANSACTION amounts add to lifetime purchases; every stored activity marks its customer
    updated now, by the posting actor. Returns the customers changed (not yet written)."""
    spent = defaultdict(Decimal)
    for item in new:
        if item.entity == "TRANSACTION":
            spent[item.user_id] += item.amount
    touched = []
    for customer_id in {i.user_id for i in new}:
        customer = customers[customer_id]
        customer.lifetime_purchases += spent[customer_id]
        customer.last_updated_on = now
        if actor is not None:
            customer.last_updated_by = actor
        touched.append(customer)
    return touched

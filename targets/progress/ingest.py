"""Activity in (SPEC §5): store each activity once per (org, external_id), update the customers
and, in the same transaction, bring the progress of every (customer, group) the new activity
touches up to date (`targets.progress.refresh.progress_refresh`).

Concurrency: the batch's customers are locked (`SELECT … FOR UPDATE`, in id order) before
anything is read, so concurrent batches for one customer queue instead of losing updates; on
SQLite the IMMEDIATE transaction does the same for the whole database. A duplicate external_id
raced in by another transaction makes the insert fail; the batch is rolled back and retried,
and the retry sees the other transaction's row and reports DUPLICATE.
"""

import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery, TextField
from django.db.models.expressions import RawSQL

from customers.models import Customer
from targets import totals
from targets.activities import ItemError, parse_item
from targets.limits import overflowing_items
from targets.models import Activity, ConfigVersion
from targets.progress.catalog import group_configs
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
    customers, seen = _lock_customers(
        org_id=org.id, ids={i.user_id for i in inputs}, external_ids={i.external_id for i in inputs}
    )
    results, new = _triage(parsed, customers=customers, seen=seen)
    # Issue 15: items whose sums would not fit numeric(18, 3) are refused (targets/limits.py),
    # judged by the customers' running totals (targets/totals.py).
    sum_attributes = _sum_attributes(org_id=org.id, customers=customers, new=new)
    if refused := overflowing_items(items=new, customers=customers, sum_attributes=sum_attributes):
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
    changed, fields = touch_customers(customers=customers, new=new, now=now, actor=actor)
    along = update_statements(Customer, changed, fields)
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


# A batch for at most this many customers asks for its stored external ids in the lock query
# (each locked row carries the same list); a larger one, in a query of its own (one query for
# many activities, and no list repeated per customer).
SEEN_ALONG = 10


def _lock_customers(*, org_id, ids, external_ids):
    """(the batch's customers, locked in id order, the batch's external ids already stored in
    the org). Each customer comes with its org's configuration version (`config_token`: read
    here, before the configuration, it saves the engine a query) and its running totals.

    The stored external ids read with the lock are those committed when the lock query began;
    one committed by a concurrent batch while this one waited for the lock makes the insert fail
    and the batch retry (`activity_ingest`), as a concurrent batch for another customer does."""
    token = ConfigVersion.objects.filter(org_id=OuterRef("org_id")).values("token")[:1]
    rows = (
        Customer.objects.select_for_update()
        .filter(org_id=org_id, id__in=ids)
        .order_by("id")
        .only("id", "org_id", "last_updated_on", "last_updated_by_id", *Customer.ENGINE_FIELDS)
        .annotate(config_token=Subquery(token))
    )
    along = len(ids) <= SEEN_ALONG
    if along:
        rows = rows.annotate(seen_ids=_stored_external_ids(org_id=org_id, external_ids=external_ids))
    customers = {c.id: c for c in rows}
    if not along:
        seen = Activity.objects.filter(org_id=org_id, external_id__in=external_ids)
        return customers, set(seen.values_list("external_id", flat=True))
    first = next(iter(customers.values()), None)  # none: every item is refused, seen or not
    return customers, set(json.loads(first.seen_ids or "[]") if first else ())


def _stored_external_ids(*, org_id, external_ids):
    """Which of `external_ids` the org's activities hold, as a JSON list: a subquery that does
    not depend on the row (evaluated once)."""
    table = connection.ops.quote_name(Activity._meta.db_table)
    if connection.vendor == "postgresql":
        sql = f"SELECT json_agg(a.external_id) FROM {table} a WHERE a.org_id = %s AND a.external_id = ANY(%s)"
        return RawSQL(f"({sql})::text", [org_id, sorted(external_ids)], output_field=TextField())
    marks = ", ".join(["%s"] * len(external_ids)) or "NULL"
    sql = f"SELECT json_group_array(a.external_id) FROM {table} a WHERE a.org_id = %s AND a.external_id IN"
    return RawSQL(f"({sql} ({marks}))", [org_id, *sorted(external_ids)], output_field=TextField())


def _sum_attributes(*, org_id, customers, new) -> set[str]:
    """The attributes some SUM rule of the org reads, from the cached configuration (at the
    version read with the lock); nothing is read when no new item has a numeric attribute."""
    if not new or not any(len(i.measures) > len(totals.MEASURES) for i in new):
        return set()
    token = next(iter(customers.values())).config_token
    configs = group_configs(org_ids=[org_id], tokens={org_id: token})
    return {r.attribute for g in configs.values() for r in g.rules if r.target_type == "SUM" and r.attribute}


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


CUSTOMER_FIELDS = [
    "lifetime_purchases",
    "last_updated_on",
    "last_updated_by",
    "total_amount",
    "total_net_amount",
    "total_quantity",
]


def touch_customers(*, customers, new, now, actor) -> tuple[list, list[str]]:
    """TRANSACTION amounts add to lifetime purchases, every stored activity to its customer's
    running totals (targets/totals.py) and marks it updated now, by the posting actor. Returns
    the customers changed (not yet written) and the fields to write (the attribute totals only
    when an activity carried a numeric attribute)."""
    spent = defaultdict(Decimal)
    attributes = False
    for item in new:
        if item.entity == "TRANSACTION":
            spent[item.user_id] += item.amount
        attributes |= totals.add(customers[item.user_id], item.measures)
    touched = []
    for customer_id in {i.user_id for i in new}:
        customer = customers[customer_id]
        customer.lifetime_purchases += spent[customer_id]
        customer.last_updated_on = now
        if actor is not None:
            customer.last_updated_by = actor
        touched.append(customer)
    return touched, CUSTOMER_FIELDS + ["attribute_totals"] * attributes

"""A customer's running totals over its stored activities (issue 12; the limit they serve is
issue 15's, `targets.limits.overflowing_items`).

Every achieved value is a sum of one measure over some of a customer's activities, so the limit
on what the database can hold is checked against the sums of each measure over ALL of them:
amount, net amount (the amount when none), quantity, and each top-level attribute that reads as
a positive number (`attribute_value`, the engine's reading of a SUM attribute). Reading those
sums from the activities on every ingestion made each activity cost the customer's history;
they are kept instead on the customer row (`total_amount`, `total_net_amount`,
`total_quantity`, `attribute_totals`: {attribute: decimal as text}), read by the ingestion's
customer lock and written with the activities' insert, in the same transaction.

Every numeric attribute is tracked, whichever rules read it: the totals are then a function of
the activity log alone, never of the configuration in force when an activity arrived, so a SUM
target created later over any attribute finds its sums exact (`limits.attribute_sum_overflow`).
The map holds one entry per attribute name a customer's activities used with a positive number:
its size follows how many names, not how many activities.

A total saturates at OVER (10^15, just past `MAX_VALUE`): past the limit only "past it"
matters, and a saturated total is still a number the columns hold on SQLite and PostgreSQL. The
activities are only ever added to, except initialBalance entries that go with a deleted group:
that path counts its customers' totals afresh (`recount`)."""

from collections import defaultdict
from decimal import Decimal

from targets.limits import MAX_VALUE

OVER = MAX_VALUE + 1
MEASURES = ("amount", "netAmount", "quantity")
FIELDS = {"amount": "total_amount", "netAmount": "total_net_amount", "quantity": "total_quantity"}


def measures(*, amount, net_amount, quantity, attributes) -> dict[str, Decimal]:
    """What one activity adds to each total: {"amount" | "netAmount" | "quantity" |
    "attributes.<key>": value}, attributes that do not read as a positive number left out."""
    from targets.progress.evaluate import attribute_value  # the engine's reading

    adds = {
        "amount": amount,
        "netAmount": net_amount if net_amount is not None else amount,
        "quantity": quantity,
    }
    for key, raw in (attributes or {}).items() if isinstance(attributes, dict) else ():
        if (value := attribute_value(raw)) > 0:
            adds[f"attributes.{key}"] = value
    return adds


def saturated(total: Decimal) -> Decimal:
    return total if total < OVER else OVER


def current(customer, measure: str) -> Decimal:
    """The customer's stored total of `measure` (see `measures`)."""
    if measure in FIELDS:
        return getattr(customer, FIELDS[measure])
    raw = (customer.attribute_totals or {}).get(measure.removeprefix("attributes."))
    return Decimal(raw) if raw is not None else Decimal(0)


def add(customer, adds: dict[str, Decimal]) -> bool:
    """Add one activity's `measures` to the customer's totals (in memory; the caller writes).
    Whether the attribute map changed."""
    for measure, field in FIELDS.items():
        setattr(customer, field, saturated(getattr(customer, field) + adds[measure]))
    keys = [m for m in adds if m not in FIELDS]
    if not keys:
        return False
    attribute_totals = dict(customer.attribute_totals or {})
    for measure in keys:
        key = measure.removeprefix("attributes.")
        attribute_totals[key] = str(saturated(Decimal(attribute_totals.get(key, "0")) + adds[measure]))
    customer.attribute_totals = attribute_totals
    return True


def from_rows(rows) -> dict[int, dict]:
    """{customer id: {field: value}} counted afresh from activity rows (customer_id, amount,
    net_amount, quantity, attributes): what the running totals must equal. Pure, so that the
    backfill migration uses it with its historical models."""
    sums = defaultdict(lambda: defaultdict(Decimal))
    for customer_id, amount, net_amount, quantity, attributes in rows:
        for measure, value in measures(
            amount=amount, net_amount=net_amount, quantity=quantity, attributes=attributes
        ).items():
            sums[customer_id][measure] += value
    return {customer_id: as_fields(adds) for customer_id, adds in sums.items()}


def as_fields(sums) -> dict:
    fields = {field: saturated(sums.get(measure, Decimal(0))) for measure, field in FIELDS.items()}
    fields["attribute_totals"] = {
        m.removeprefix("attributes."): str(saturated(v)) for m, v in sums.items() if m not in FIELDS
    }
    return fields


ZERO_FIELDS = as_fields({})
ROW_FIELDS = ("customer_id", "amount", "net_amount", "quantity", "attributes")


def add_stored(*, activities) -> None:
    """Add activities stored outside the ingestion path (enrolment's initialBalance entries) to
    their customers' totals, under the customers' row locks (taken in id order, as ingestion
    takes them)."""
    from customers.models import Customer
    from targets.progress.sql import update_rows

    activities = list(activities)
    if not activities:
        return
    customers = {
        c.id: c
        for c in Customer.objects.select_for_update()
        .filter(id__in={a.customer_id for a in activities})
        .order_by("id")
        .only("id", *FIELDS.values(), "attribute_totals")
    }
    attributes = False
    for a in activities:
        adds = measures(  # as the database reads them back (a caller may have set text)
            amount=Decimal(str(a.amount)),
            net_amount=None if a.net_amount is None else Decimal(str(a.net_amount)),
            quantity=Decimal(str(a.quantity)),
            attributes=a.attributes,
        )
        attributes |= add(customers[a.customer_id], adds)
    update_rows(Customer, customers.values(), [*FIELDS.values(), *["attribute_totals"] * attributes])


def recount(*, customer_ids) -> None:
    """Count the customers' totals afresh from their stored activities, under their row locks
    (an ingestion for one of them waits, and is waited for). For the rare paths that take
    activities away; never the ingestion path."""
    from customers.models import Customer
    from targets.models import Activity

    ids = sorted(set(customer_ids))
    if not ids:
        return
    list(Customer.objects.select_for_update().filter(id__in=ids).order_by("id").values_list("id"))
    counted = from_rows(Activity.objects.filter(customer_id__in=ids).values_list(*ROW_FIELDS).iterator())
    for customer_id in ids:
        Customer.objects.filter(id=customer_id).update(**counted.get(customer_id, ZERO_FIELDS))

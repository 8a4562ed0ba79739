"""The service's limits in one place (docs/security.md lists each with its reason).

Every limit here is checked where input enters — the activity parser, the configuration API's
serializers, `targets.validation` (shared by the admin and the API) — so that a request that
would cost too much, overflow later or store something unreadable is refused up front with the
error envelope, never half-applied and never a 500.
"""

from datetime import UTC, datetime
from decimal import Decimal

# --- numbers ---------------------------------------------------------------------------------
# Amounts, quantities, targets and achieved values are numeric(18, 3): 15 integer digits. A
# customer's totals (lifetime purchases, any achieved value) stop at 999,999,999,999,999: SQLite
# keeps a decimal as a double (15 significant digits), which would turn .999 above that into
# 10^15 — a value numeric(18, 3) cannot hold, unreadable from then on. Below it both databases
# keep the value (SQLite rounds thousandths beyond 15 significant digits).
MAX_AMOUNT = Decimal("999999999999999")  # one activity's amount / netAmount / quantity
MAX_VALUE = MAX_AMOUNT  # a customer's total of any measure
MAX_ID_DIGITS = 19  # 2**63 - 1 has 19 digits; longer digit strings are refused before int()

# --- instants --------------------------------------------------------------------------------
# Far enough for any loyalty programme, and far from datetime's year 1 / 9999 edges, so that a
# UTC offset, a local day's end or a generated period (at most MAX_FREQUENCY years long) never
# leaves what Python, SQLite and PostgreSQL can represent.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
RANGE_TEXT = "between 1900-01-01T00:00:00Z and 2999-12-31T23:59:59Z"
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999

# --- activities ------------------------------------------------------------------------------
MAX_ACTIVITIES = 1000  # per request
MAX_ATTRIBUTES_BYTES = 4096  # compact JSON (UTF-8) of one activity's attributes
MAX_JSON_DEPTH = 32  # nesting of an activity's attributes
# Sized for MAX_ACTIVITIES activities with attributes at the limit and every other field at its
# maximum length, pretty-printed: 1,000 × ~5 KB, with room to spare.
MAX_BODY_BYTES = 6 * 1024 * 1024

# --- configuration -----------------------------------------------------------------------------
MAX_PERIODS = 1000  # explicit or generated, per group (generation has the same cap)
MAX_RULES = 10  # targets per group (UNIFIED: 2–10; other tracking types exactly 1)
MAX_TRIGGERS = 20  # milestone triggers per target
MAX_STREAKS = 10  # per group
MAX_FREQUENCY = 100  # periods last frequency × frequencyType; 100 years at most
MAX_TEXT = 2000  # a group's description

# --- staff search ------------------------------------------------------------------------------
MAX_SEARCH_WORDS = 8
MAX_SEARCH_WORD = 100


def in_range(instant: datetime) -> bool:
    return EARLIEST <= instant <= LATEST


def json_depth_ok(value, *, max_depth: int) -> bool:
    """Whether a parsed JSON value nests at most `max_depth` levels (iteratively: a deep value
    must not exhaust the stack while being measured)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > max_depth:
                return False
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            if depth > max_depth:
                return False
            stack.extend((v, depth + 1) for v in item)
    return True


# --- sums that must stay storable ------------------------------------------------------------

OVERFLOW = (
    "{measure}: this activity would bring the customer's total to more than 999999999999999, "
    "the largest value a lifetime purchase or an achieved value can hold"
)


def overflowing_items(*, items, customers, sum_attributes) -> dict[str, str]:
    """external id -> reason, for the new items that would take one of a customer's totals past
    MAX_VALUE.

    Every achieved value is a sum of one measure (amount, net amount, quantity, a SUM
    attribute) over some of the customer's activities, and the lifetime purchases are the sum of
    its transactions' amounts; so when each measure summed over ALL of a customer's activities
    fits, every value the engine can derive fits too, whatever the configuration (also after a
    change and a recompute). Items are taken in order: the one that would cross the limit is
    refused, smaller later ones still apply. The sums so far are the customers' running totals
    (`targets.totals`, read with their lock): no query. `sum_attributes`: the attributes some
    SUM rule of the org reads; only those of an item's attributes are bounded."""
    from targets import totals as running

    if not items:
        return {}
    # SUM rules read top-level attributes; only the keys some rule of the org reads matter.
    keys = {m for i in items for m in i.measures if m.startswith("attributes.")}
    keys &= {f"attributes.{a}" for a in sum_attributes}
    measures = (*running.MEASURES, *sorted(keys))
    sums = {}
    refused = {}
    for item in items:
        adds = item.measures
        customer = customers[item.user_id]
        for m in measures:
            if (item.user_id, m) not in sums:
                sums[item.user_id, m] = running.current(customer, m)
        over = [m for m in measures if sums[item.user_id, m] + adds.get(m, 0) > MAX_VALUE]
        if over:
            refused[item.external_id] = OVERFLOW.format(measure=over[0])
            continue
        for m in measures:
            sums[item.user_id, m] += adds.get(m, 0)
    return refused


SUM_RULE_OVERFLOW = (
    "customer {customer}'s stored activities already sum attribute '{key}' to more than "
    "999999999999999, the largest value an achieved value can hold; a SUM target cannot read it"
)


def attribute_sum_overflow(*, org_id: int, key: str) -> int | None:
    """The first customer of the org (by id) whose stored activities' values of attribute `key`
    sum past MAX_VALUE, or None.

    Ingestion bounds only the attributes some SUM rule reads when the activity arrives
    (`overflowing_items`); a SUM rule created later, or changed to read another attribute, is
    checked here against what was stored before it, so that no recompute can meet a value the
    database cannot hold. The sums are the customers' running totals, kept for every numeric
    attribute whatever the rules (`targets.totals`): the customers whose activities carried the
    key, not their activities, are read."""
    from customers.models import Customer

    rows = (
        Customer.objects.filter(org_id=org_id, attribute_totals__has_key=key)
        .order_by("id")
        .values_list("id", "attribute_totals")
    )
    for customer_id, sums in rows.iterator(chunk_size=2000):
        if Decimal(sums[key]) > MAX_VALUE:
            return customer_id
    return None

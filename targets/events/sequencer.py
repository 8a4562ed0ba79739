"""Feed positions, given after commit (docs/events.md "Every event exactly once, in order").

Writers insert events without a position (PostgreSQL) and take no lock for them, so concurrent
ingestion commits in parallel. `sequence_events` gives positions to the committed events that
have none, in insertion (`id`) order, after the highest position given so far. Sequencers run
one at a time (a transaction-scoped advisory lock held until the sequencer commits), so
positions become visible in increasing order: a reader that continues from the last position
it saw never skips one.

Per customer, insertion order is change order: a customer's progress and events are written
under a lock on the customer's row, so a later change inserts its events (and draws their ids)
only after the earlier change committed — and then any sequencer that sees the later events
sees the earlier ones too, and gives them positions no later. Ordering by transaction id
(`pg_current_xact_id()`, with `pg_snapshot_xmin` as the visibility horizon) would not keep
that order: a transaction draws its id at its first write or row lock, possibly before it
waits for another customer's lock, so the later change can carry the smaller transaction id.

SQLite writes one transaction at a time: `write_events` gives positions at insert (= id) and
this finds nothing to do (except rows made some other way, e.g. by tests' factories)."""

from django.db import connection, transaction

from targets.events.models import Event

# pg_try_advisory_xact_lock key: one sequencer at a time.
SEQUENCER_LOCK = 0x4C4F59414C5453  # "LOYALTS"
BATCH = 10_000


def sequence_events(*, batch: int = BATCH) -> int | None:
    """Give positions to up to `batch` committed events without one; returns how many, or None
    when another sequencer is running (its positions appear when it commits)."""
    table = connection.ops.quote_name(Event._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SEQUENCER_LOCK])
            if not cursor.fetchone()[0]:
                return None
        # One statement, one snapshot: the events committed when it starts, in id order.
        cursor.execute(
            f"WITH last AS (SELECT COALESCE(MAX(position), 0) AS p FROM {table} WHERE position IS NOT NULL),"
            f" todo AS (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM {table}"
            f" WHERE position IS NULL ORDER BY id LIMIT %s)"
            f" UPDATE {table} SET position = last.p + todo.n FROM todo, last WHERE {table}.id = todo.id",
            [batch],
        )
        return cursor.rowcount


def sequence_all() -> int:
    """Sequence until no committed event is left without a position (or another sequencer
    holds the lock); returns how many this call gave."""
    given = 0
    while True:
        done = sequence_events()
        if not done:
            return given
        given += done
        if done < BATCH:
            return given


def last_position(*, org_id: int) -> int:
    """The highest position of the org's events (0: none), after sequencing what committed."""
    sequence_all()
    last = (
        Event.objects.filter(org_id=org_id, position__isnull=False)
        .order_by("-position")
        .values_list("position", flat=True)
        .first()
    )
    return last or 0

"""Read-replica routing for the read endpoint (issue 7, docs/scaling.md).

When DATABASE_REPLICA_URL is set, config.settings adds a `replica` database alias and this
router. Nothing goes to the replica by default: a view opts in by running its reads inside
`replica_reads()`, e.g. the read endpoint around its selector call:

    with replica_reads():
        data = user_target_groups(...)

Everything else — authentication, the engine, the admin, every write — stays on the primary.
The switch is a context variable, so it is per thread and per asyncio task, and it ends with
the `with` block even when the block raises.

A replica lags the primary by a little. Reads that must see their own writes (anything inside
a transaction on the primary, such as the engine's ingestion) stay on the primary even inside
`replica_reads()`.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"

_replica_reads = ContextVar("replica_reads", default=False)


@contextmanager
def replica_reads():
    """Send the ORM reads of this block to the replica (when one is configured)."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


class ReadReplicaRouter:
    def db_for_read(self, model, **hints):
        if not _replica_reads.get() or REPLICA not in connections.settings:
            return None  # the next router, or the default database
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            # A transaction on the primary may have written what it is about to read.
            return DEFAULT_DB_ALIAS
        return REPLICA

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # The replica is a copy of the primary: rows from either may be related.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # Migrations run on the primary; the replica receives them through replication.
        return db != REPLICA

"""Fixed-shape ORM queries compiled to SQL once per process, then run with new values.

Building a QuerySet and compiling it costs Django about half a millisecond of Python per query —
more than the database spends on a small read. A `Prepared` query is written with the ORM as
usual, as a function of named parameters. The first call of a shape builds it with stand-in
values, compiles it, and records where each parameter lands among the SQL parameters; later
calls bind the new values into that SQL and run it through the connection's cursor (counted,
routed to the replica, logged like any ORM query). Django's own column converters turn the
rows into what `values_list` would have returned.

The SQL depends only on the code and on the shape — the caller's flags (None, booleans and
strings are baked in) and, where the backend binds one parameter per item, the length of each
list — never on the data, so nothing is to be invalidated when data changes, in this process
or another.

On PostgreSQL the statements run on a server-side binding cursor, so that psycopg prepares each
on the connection after `PREPARE_THRESHOLD` executions and PostgreSQL stops parsing and
planning it; persistent connections (`CONN_MAX_AGE`) keep those statements across requests.
A schema change makes PostgreSQL re-plan them by itself.
"""

import threading
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, router

# Stand-in ids: negative, so never a real key, and inside a 32-bit integer so that no lookup
# discards them as out of range.
_STAND_IN_INT = -1_000_000_000
_STAND_IN_TIME = datetime(1901, 1, 1, tzinfo=UTC)


class Prepared:
    """`Prepared(lambda customer_id, org_ids: Customer.objects.filter(…).values_list(…))`,
    then `.rows(customer_id=…, org_ids=[…])` returns the list of tuples."""

    def __init__(self, build):
        self.build = build
        self._compiled = {}
        self._model = None
        self._lock = threading.Lock()

    def rows(self, **params) -> list[tuple]:
        if self._model is None:  # the first call: the model (for routing) comes from the build
            self._model = self.build(**params).model
        alias = router.db_for_read(self._model)
        connection = connections[alias]
        key = (alias, *(_shape(name, value, connection) for name, value in params.items()))
        entry = self._compiled.get(key)
        if entry is None:
            entry = self._compile(params, alias)
            with self._lock:
                self._compiled[key] = entry
        sql, slots, compiler = entry
        if sql is None:  # the shape can match nothing (an empty list)
            return []
        values = [_bind(slot, params, connection) for slot in slots]
        with statement_cursor(connection) as cursor:
            cursor.execute(sql, values)
            rows = cursor.fetchall()
        if compiler.has_extra_select:
            rows = [row[: compiler.col_count] for row in rows]
        return list(compiler.results_iter(results=[rows], tuple_expected=True))

    def _compile(self, params, alias):
        stand_ins, counter = {}, iter(range(1, 1_000_000))
        for name, value in params.items():
            if _is_int(value):
                stand_ins[name] = _STAND_IN_INT - next(counter)
            elif isinstance(value, datetime):
                stand_ins[name] = _STAND_IN_TIME + timedelta(seconds=next(counter))
            elif isinstance(value, (list, tuple, set, frozenset)):
                stand_ins[name] = [_STAND_IN_INT - next(counter) for _ in value]
            else:
                stand_ins[name] = value
        queryset = self.build(**stand_ins)
        connection = connections[alias]
        where = {}  # a stand-in as it appears among the SQL parameters → (name, item or None)
        for name, stand_in in stand_ins.items():
            if isinstance(stand_in, list):
                where[tuple(stand_in)] = (name, None)  # bound as one array (`__any`)
                where.update({item: (name, i) for i, item in enumerate(stand_in)})
            elif isinstance(stand_in, datetime):
                where[connection.ops.adapt_datetimefield_value(stand_in)] = (name, None)
            elif _is_int(stand_in):
                where[stand_in] = (name, None)
        compiler = queryset.query.get_compiler(using=alias)
        try:
            sql, sql_params = compiler.as_sql()
        except EmptyResultSet:
            return None, (), compiler
        slots = []
        for param in sql_params:
            found = where.get(tuple(param) if isinstance(param, list) else param)
            if isinstance(param, bool) or found is None:
                slots.append((None, param))  # a constant of the query
            else:
                slots.append(found)
        if connection.vendor == "postgresql":
            # The shape ignores list lengths there: each list must be bound as one array.
            whole = {name for name, item in slots if item is None}
            for name, stand_in in stand_ins.items():
                if isinstance(stand_in, list) and stand_in and name not in whole:
                    raise ValueError(f"Prepared: bind the list {name!r} with `__any`, not `__in`")
        return sql, slots, compiler


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _shape(name, value, connection):
    if _is_int(value) or isinstance(value, datetime):
        return name
    if isinstance(value, (list, tuple, set, frozenset)):
        # One array parameter on PostgreSQL (`__any`): only empty or not matters (a builder
        # may leave out a condition on an empty list); one parameter per item elsewhere.
        if connection.vendor == "postgresql":
            return (name, "items" if value else "empty")
        return (name, len(value))
    return (name, value)


def _bind(slot, params, connection):
    name, item = slot
    if name is None:
        return item
    value = params[name]
    if isinstance(value, (list, tuple, set, frozenset)):
        values = list(value)
        return values if item is None else values[item]
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


# Executions of a statement on a connection before psycopg prepares it; None turns prepared
# statements off (e.g. behind a PgBouncer in transaction mode older than 1.21).
PREPARE_THRESHOLD = getattr(settings, "PG_PREPARE_THRESHOLD", 2)


def statement_cursor(connection):
    """PostgreSQL: a server-side binding cursor (psycopg prepares repeated statements); else, or
    while queries are logged (DEBUG, tests capturing queries, `benchmark --explain`: a logged
    server-bound query would read `$1` instead of its values), the connection's ordinary
    cursor. Both are wrapped by Django (query count, execute wrappers)."""
    if connection.vendor != "postgresql" or connection.queries_logged:
        return connection.cursor()
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = connection.connection
        if raw.prepare_threshold != PREPARE_THRESHOLD:
            raw.prepare_threshold = PREPARE_THRESHOLD
        return connection._prepare_cursor(psycopg.Cursor(raw))

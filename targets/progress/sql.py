"""Bulk UPDATE and INSERT for the engine's hot path.

Django's `bulk_update` builds a `CASE WHEN id = … THEN …` expression per row and field, which
costs more Python time than the database spends on the update. `update_rows` writes
`UPDATE t SET … FROM unnest(ids, col1, …) AS v WHERE t.id = v.id` on PostgreSQL (one array
parameter per column) and `WITH v(id, …) AS (VALUES (…), …) UPDATE t SET … FROM v` elsewhere
(SQLite ≥ 3.33)."""

from django.db import connection


def update_rows(model, objs, fields, *, batch_size=500):
    with connection.cursor() as cursor:
        for sql, params in update_statements(model, objs, fields, batch_size=batch_size):
            cursor.execute(sql, params)


def update_statements(model, objs, fields, *, batch_size=500) -> list[tuple[str, list]]:
    """The UPDATE statements (sql, params) `update_rows` executes: one per batch."""
    objs = list(objs)
    if not objs:
        return []
    meta = model._meta
    pk = meta.pk
    columns = [pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    names = ", ".join(quote(name) for name in ["pk", *(field.column for field in columns[1:])])
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns[1:])
    table = quote(meta.db_table)
    where = f"{table}.{quote(pk.column)} = v.{quote('pk')}"
    prepare = [_preparer(field) for field in columns]
    statements = []
    if connection.vendor == "postgresql":
        # One array per column: a handful of parameters instead of one per value, which is
        # what the driver spends its time on when it binds a 500-row VALUES list.
        arrays = ", ".join(f"CAST(%s AS {f.db_type(connection)}[])" for f in columns)
        for start in range(0, len(objs), batch_size * 10):
            batch = objs[start : start + batch_size * 10]
            params = [
                [getattr(obj, f.attname) if p is None else p(getattr(obj, f.attname)) for obj in batch]
                for f, p in zip(columns, prepare, strict=True)
            ]
            statements.append(
                (
                    f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({names}) WHERE {where}",
                    params,
                )
            )
        return statements
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for start in range(0, len(objs), batch_size):
        batch = objs[start : start + batch_size]
        params = [
            getattr(obj, f.attname) if p is None else p(getattr(obj, f.attname))
            for obj in batch
            for f, p in zip(columns, prepare, strict=True)
        ]
        statements.append(
            (
                f"WITH v({names}) AS (VALUES {', '.join([row_sql] * len(batch))}) "
                f"UPDATE {table} SET {assignments} FROM v WHERE {where}",
                params,
            )
        )
    return statements


# Columns whose Python values the drivers take as they are (ints, strings, booleans).
_PLAIN = {
    "AutoField",
    "BigAutoField",
    "ForeignKey",
    "OneToOneField",
    "IntegerField",
    "BigIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "SmallIntegerField",
    "PositiveSmallIntegerField",
    "CharField",
    "TextField",
    "BooleanField",
}


def _preparer(field):
    """How a value of `field` becomes a driver parameter: None when it goes as it is. The
    engine hands over aware datetimes and Decimals, so the backend's adapters suffice
    (identity on PostgreSQL; naive UTC text on SQLite)."""
    kind = field.get_internal_type()
    if kind in _PLAIN:
        return None
    if kind == "DateTimeField":
        return connection.ops.adapt_datetimefield_value
    if kind == "DecimalField":
        return lambda value: connection.ops.adapt_decimalfield_value(
            value, field.max_digits, field.decimal_places
        )
    return lambda value: field.get_db_prep_save(value, connection)


# Fewer rows go by one INSERT … RETURNING: one round trip, where COPY with reserved keys takes
# two (a single activity's insert is the common case of POST /v3.1/activities).
COPY_FROM = 20


def insert_rows(model, fields, rows, *, returning=False, batch_size=1000, along=()):
    """INSERT plain tuples (values in `fields` order); with `returning`, the new primary keys
    in row order.

    What `bulk_create` does without building a model instance per row or compiling every value
    through the SQL compiler: on the engine's hot path that Python work costs several times
    what the database spends inserting. PostgreSQL gets the rows by COPY (about three times
    faster than a multi-row INSERT for the server), with keys reserved from the table's
    sequence first when they are wanted; a few rows, and other databases, get multi-row
    INSERT … RETURNING.

    `along`: UPDATE statements (`update_statements`) to run too, before the rows are inserted;
    on PostgreSQL one of them rides in the INSERT as a data-modifying WITH (one round trip
    less) when the rows go by one INSERT."""
    rows = list(rows)
    along = list(along)
    if not rows:
        for sql, params in along:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
        return []
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    prepare = [_preparer(field) for field in columns]
    riding = None
    if connection.vendor == "postgresql" and len(rows) <= min(COPY_FROM, batch_size) and along:
        riding = along.pop()
    if along:
        with connection.cursor() as cursor:
            for sql, params in along:
                cursor.execute(sql, params)
    if connection.vendor == "postgresql" and len(rows) > COPY_FROM:
        return _copy_rows(meta, columns, prepare, rows, returning=returning)
    if returning and not connection.features.can_return_rows_from_bulk_insert:
        # An SQLite older than 3.35 has no RETURNING: let Django's bulk_create find the keys.
        names = [field.attname for field in columns]
        created = model.objects.bulk_create(model(**dict(zip(names, row, strict=True))) for row in rows)
        return [obj.pk for obj in created]
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in columns)
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    suffix = f" RETURNING {quote(meta.pk.column)}" if returning else ""
    size = max(1, min(batch_size, connection.ops.bulk_batch_size(list(fields), rows)))
    ids = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            params = [
                value if prep is None else prep(value)
                for row in batch
                for value, prep in zip(row, prepare, strict=True)
            ]
            values = ", ".join([row_sql] * len(batch))
            sql = f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES {values}{suffix}"
            if riding is not None:
                sql, params = f"WITH along AS ({riding[0]}) {sql}", [*riding[1], *params]
                riding = None
            cursor.execute(sql, params)
            if returning:
                ids.extend(row[0] for row in cursor.fetchall())
    return ids


def _copy_rows(meta, columns, prepare, rows, *, returning):
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), meta.pk.column
    ids = []
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if returning:
            # Keys come from the sequence the column's default draws from, as an INSERT's would.
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                [_sequence(cursor, meta.db_table, pk), len(rows)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            columns = [meta.pk, *columns]
            prepare = [None, *prepare]
            rows = [(new_id, *row) for new_id, row in zip(ids, rows, strict=True)]
        names = ", ".join(quote(field.column) for field in columns)
        # wrap_database_errors: a constraint violation is Django's IntegrityError, as from INSERT.
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    [value if p is None else p(value) for value, p in zip(row, prepare, strict=True)]
                )
    return ids


_SEQUENCES = {}


def _sequence(cursor, table, column):
    """The sequence a key column draws from, looked up once per table (looking it up inside
    the nextval() call repeats the catalog lookup for every row)."""
    if (table, column) not in _SEQUENCES:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
        _SEQUENCES[(table, column)] = cursor.fetchone()[0]
    return _SEQUENCES[(table, column)]

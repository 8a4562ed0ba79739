"""One-statement bulk UPDATE for the engine's hot path.

Django's `bulk_update` builds a `CASE WHEN id = … THEN …` expression per row and field, which
costs more Python time than the database spends on the update. This writes
`WITH v(id, …) AS (VALUES (…), …) UPDATE t SET … FROM v WHERE t.id = v.id` instead (PostgreSQL,
and SQLite ≥ 3.33), with values prepared by the fields themselves."""

from django.db import connection


def update_rows(model, objs, fields, *, batch_size=500):
    objs = list(objs)
    if not objs:
        return
    meta = model._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    cast = connection.vendor == "postgresql"
    names = ", ".join(quote(name) for name in ["pk", *(field.column for field in columns)])
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
    placeholders = (f"CAST(%s AS {f.db_type(connection)})" if cast else "%s" for f in [pk, *columns])
    row_sql = "(" + ", ".join(placeholders) + ")"
    table = quote(meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            batch = objs[start : start + batch_size]
            params = [
                field.get_db_prep_save(getattr(obj, field.attname), connection)
                for obj in batch
                for field in [pk, *columns]
            ]
            cursor.execute(
                f"WITH v({names}) AS (VALUES {', '.join([row_sql] * len(batch))}) "
                f"UPDATE {table} SET {assignments} FROM v WHERE {table}.{quote(pk.column)} = v.{quote('pk')}",
                params,
            )

"""PostgreSQL: trigram indexes for the staff customer search (targets/staff/queries.py).

The search matches part of a first name, last name or channel value case-insensitively with
`UPPER(column) LIKE UPPER('%word%')`; a GIN trigram index on UPPER(column) answers that by an
index scan for words of three characters or more, whatever the number of customers. Needs the
pg_trgm extension (trusted: a database owner may create it). Elsewhere, or when the extension
cannot be created, nothing is done and the search still works, by scanning.
"""

from django.db import migrations, transaction

INDEXES = {
    "customers_profile_first_name_trgm": ("customers_customerprofile", "first_name"),
    "customers_profile_last_name_trgm": ("customers_customerprofile", "last_name"),
    "customers_channel_value_trgm": ("customers_commchannel", "value"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception:  # noqa: BLE001 - no privilege: the search scans instead
        return
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (UPPER({column}) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_cache_table")]

    operations = [migrations.RunPython(create, drop)]

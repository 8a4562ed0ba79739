"""The database cache's table (`loyalty_cache`, settings.CACHES by default): `migrate` creates it,
so throttles are shared by every worker from the first start, on SQLite and PostgreSQL alike.
Created whatever CACHE_URL says, so a deployment can switch between Redis and the database."""

from django.db import migrations

TABLE = "loyalty_cache"


def create(apps, schema_editor):
    from django.core.management.commands.createcachetable import Command

    command = Command()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]

"""PostgreSQL: leave room in the pages of the progress tables the engine updates in place.

Every activity updates its rules' user targets; with full pages each UPDATE writes a new tuple
on another page and a new entry in each of the table's indexes. With free space on the page
PostgreSQL makes it a HOT update (no index entries) when no indexed column changes — the
engine's updates change values and dates, never keys. Measured on the benchmark's ingestion
(docs/scaling.md): the user-target UPDATEs took half the time. Other databases: nothing to do.
"""

from django.db import migrations

FILLFACTORS = {"targets_usertarget": 70, "targets_userstreak": 80}


def set_fillfactor(apps, schema_editor, *, reverse=False):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, fillfactor in FILLFACTORS.items():
        setting = "RESET (fillfactor)" if reverse else f"SET (fillfactor = {fillfactor})"
        schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} {setting}")


def reset_fillfactor(apps, schema_editor):
    set_fillfactor(apps, schema_editor, reverse=True)


class Migration(migrations.Migration):
    dependencies = [("targets", "0001_initial")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]

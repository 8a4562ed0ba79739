"""An enrolment never crosses orgs: database triggers (targets/enrolment_guard.py)."""

from django.db import migrations


def create(apps, schema_editor):
    from targets.enrolment_guard import create_triggers

    create_triggers(schema_editor.connection)


def drop(apps, schema_editor):
    from targets.enrolment_guard import drop_triggers

    drop_triggers(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("targets", "0006_config_version"), ("customers", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]

"""Running totals on the customer row (issue 12, targets/totals.py): the limit on a customer's
sums reads them instead of summing the customer's activities on every ingestion. The backfill
counts them from the stored activities, a chunk of customers at a time.

SQLite adds a column by rebuilding the table, which the enrolment guard's triggers (naming the
customer table, targets/enrolment_guard.py) forbid: they are dropped around the rebuild and put
back after it."""

from django.db import migrations, models

CHUNK = 2000


def backfill(apps, schema_editor):
    from targets.totals import ROW_FIELDS, ZERO_FIELDS, from_rows

    Customer = apps.get_model("customers", "Customer")
    Activity = apps.get_model("targets", "Activity")
    fields = list(ZERO_FIELDS)
    last = 0
    while True:
        ids = list(Customer.objects.filter(id__gt=last).order_by("id").values_list("id", flat=True)[:CHUNK])
        if not ids:
            return
        last = ids[-1]
        counted = from_rows(Activity.objects.filter(customer_id__in=ids).values_list(*ROW_FIELDS).iterator())
        changed = []
        for customer_id, values in counted.items():
            customer = Customer(id=customer_id, **values)
            changed.append(customer)
        Customer.objects.bulk_update(changed, fields, batch_size=500)


def drop_guard(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        from targets.enrolment_guard import drop_triggers

        drop_triggers(schema_editor.connection)


def create_guard(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        from targets.enrolment_guard import create_triggers

        create_triggers(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_search_trigram_indexes"),
        ("targets", "0009_period_group_start"),
    ]

    operations = [
        migrations.RunPython(drop_guard, create_guard),
        migrations.AddField(
            model_name="customer",
            name="total_amount",
            field=models.DecimalField(decimal_places=3, default=0, editable=False, max_digits=19),
        ),
        migrations.AddField(
            model_name="customer",
            name="total_net_amount",
            field=models.DecimalField(decimal_places=3, default=0, editable=False, max_digits=19),
        ),
        migrations.AddField(
            model_name="customer",
            name="total_quantity",
            field=models.DecimalField(decimal_places=3, default=0, editable=False, max_digits=19),
        ),
        migrations.AddField(
            model_name="customer",
            name="attribute_totals",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(create_guard, drop_guard),
    ]

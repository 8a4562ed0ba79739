"""A customer's running totals (targets/totals.py) are the sums of its stored activities'
measures — amount, net amount, quantity, every numeric attribute — after every path that stores
or removes activities: ingestion (in order, late, duplicates, refused items, unknown customers),
an import, enrolment's initialBalance, a deleted group taking its balances with it; and the
migration's backfill counts them the same way."""

import importlib
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command

from customers.models import Customer
from targets import configuration, limits, totals
from targets.models import Activity
from targets.progress.ingest import activity_ingest
from tests.factories import T0, CustomerFactory, OrgFactory, group_with_periods

pytestmark = pytest.mark.django_db

NOW = T0 + timedelta(days=2, hours=12)
TOP = "999999999999999"


def item(external_id, user_id, **fields):
    return {
        "userId": user_id,
        "entity": "TRANSACTION",
        "eventName": "TransactionAdd",
        "occurredAt": (NOW - timedelta(hours=1)).isoformat(),
        "amount": "10.5",
        "externalId": external_id,
        **fields,
    }


def stored_totals(customer):
    customer.refresh_from_db()
    fields = {field: getattr(customer, field) for field in totals.FIELDS.values()}
    fields["attribute_totals"] = {k: Decimal(v) for k, v in customer.attribute_totals.items()}
    return fields


def fresh_totals(customer):
    rows = Activity.objects.filter(customer=customer).values_list(*totals.ROW_FIELDS)
    fields = totals.from_rows(rows).get(customer.id, totals.ZERO_FIELDS)
    return {**fields, "attribute_totals": {k: Decimal(v) for k, v in fields["attribute_totals"].items()}}


@pytest.fixture
def shop():
    org = OrgFactory()
    group_with_periods(org=org, rule_kwargs={"target_type": "SUM", "attribute": "points"})
    return org, CustomerFactory(org=org), CustomerFactory(org=org)


def test_totals_equal_a_fresh_count_after_every_path(shop, tmp_path):
    org, first, second = shop
    results = activity_ingest(
        org=org,
        now=NOW,
        items=[
            item("a-1", first.id, netAmount="8.25", attributes={"points": "2.5", "visits": 1, "label": "x"}),
            item("a-2", first.id, entity="EVENT", eventName="Scan", quantity="3", attributes={"neg": -3}),
            item("a-1", first.id, amount="99"),  # a duplicate: stored once
            item("b-1", second.id, amount=TOP),
            item("b-2", second.id, amount="1"),  # past the limit: refused, not counted
            item("z-1", 123456789),  # an unknown customer
            item(
                "b-3", second.id, amount="0", attributes={"points": "0.125", "flag": True, "deep": {"x": 1}}
            ),
        ],
    )
    assert [r.status for r in results] == ["APPLIED", "APPLIED", "DUPLICATE", "APPLIED"] + [
        "REJECTED",
        "REJECTED",
        "APPLIED",
    ]
    late = item("a-late", first.id, occurredAt=(T0 + timedelta(hours=3)).isoformat(), quantity="1.5")
    assert activity_ingest(org=org, now=NOW, items=[late])[0].status == "APPLIED"

    lines = [item(f"i-{n}", first.id, amount=f"{n}.25", attributes={"visits": n}) for n in range(1, 6)]
    path = tmp_path / "activities.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in [*lines, lines[0]]))
    call_command("import_activities", str(path), org=org.id, no_progress=True, stdout=io.StringIO())

    members = group_with_periods(org=org, enrolment="EXPLICIT")
    configuration.group_enrol(group=members, user_ids=[first.id, second.id], now=NOW, initial_balance="40")
    for customer in (first, second):
        assert stored_totals(customer) == fresh_totals(customer)
    assert stored_totals(second)["total_amount"] == totals.OVER  # saturated past the limit
    assert stored_totals(first)["attribute_totals"] == {"points": Decimal("2.5"), "visits": Decimal(16)}

    configuration.group_delete(group=members, actor=None, now=NOW, force=True)  # its balances go
    assert not Activity.objects.filter(adjusts_group_id=members.id).exists()
    for customer in (first, second):
        assert stored_totals(customer) == fresh_totals(customer)


def test_a_sum_target_reads_the_totals_of_an_attribute_no_rule_read(shop):
    org, first, _ = shop
    batch = [item(f"s-{n}", first.id, amount="0", attributes={"barcode": TOP}) for n in range(2)]
    assert {r.status for r in activity_ingest(org=org, now=NOW, items=batch)} == {"APPLIED"}
    assert limits.attribute_sum_overflow(org_id=org.id, key="barcode") == first.id
    assert limits.attribute_sum_overflow(org_id=org.id, key="points") is None


def test_the_backfill_counts_what_ingestion_kept(shop):
    org, first, second = shop
    batch = [
        item("f-1", first.id, netAmount="3", quantity="2", attributes={"points": "4.5"}),
        item("f-2", second.id, entity="EVENT", eventName="Visit", attributes={"visits": "7"}),
    ]
    activity_ingest(org=org, now=NOW, items=batch)
    kept = [stored_totals(c) for c in (first, second)]
    Customer.objects.filter(org=org).update(**totals.ZERO_FIELDS)

    importlib.import_module("customers.migrations.0004_running_totals").backfill(apps, None)

    assert [stored_totals(c) for c in (first, second)] == kept
    assert kept[1]["attribute_totals"] == {"visits": Decimal(7)}

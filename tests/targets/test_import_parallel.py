"""`import_activities --workers N`: the lines partitioned by userId over N processes give what a
single process gives — every line applied once, rejects reported by line number, progress equal
to a recompute from the stored activities — and a re-run applies nothing."""

import io
import json
import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from customers.models import Customer
from targets.models import Activity
from tests.factories import CustomerFactory, OrgFactory, StreakFactory, group_with_periods
from tests.targets.test_import_recompute import at, outcome, progress, run, wipe

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="worker processes need a database server; on SQLite the command imports with one worker",
)


@pytest.fixture
def activity_file(tmp_path):
    """Two programs (one with a streak), 30 customers, 1,200 lines in time order, with a broken
    line, an unknown customer and a negative amount among them."""
    org = OrgFactory()
    group_with_periods(org=org, periods=5, triggers=("300", "600"))
    streaky = group_with_periods(
        org=org,
        periods=5,
        tracking_type="STREAKS",
        rule_kwargs={"target_type": "COUNT", "target_value": Decimal(3)},
    )
    StreakFactory(group=streaky, target_count_of_sequence=2)
    customers = [CustomerFactory(org=org) for _ in range(30)]
    rng = random.Random(11)
    spend, lines = {}, []
    for n in range(1200):
        customer = rng.choice(customers).id
        amount = rng.randint(1, 200)
        spend[customer] = spend.get(customer, 0) + amount
        when = at(1) + timedelta(seconds=n * 300)
        lines.append(
            json.dumps(
                {
                    "userId": customer,
                    "entity": "TRANSACTION",
                    "eventName": "TransactionAdd",
                    "occurredAt": when.isoformat(),
                    "amount": amount,
                    "externalId": f"par-{n}",
                }
            )
        )
    for n in (99, 499, 899):  # these lines will not apply
        spend[json.loads(lines[n])["userId"]] -= json.loads(lines[n])["amount"]
    lines[99] = '{"userId": '
    lines[499] = lines[499].replace('"userId": ', '"userId": 9').replace("par-499", "par-unknown")
    lines[899] = lines[899].replace('"amount": ', '"amount": -')
    path = tmp_path / "activities.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path, org, customers, spend


@on_postgresql
@pytest.mark.django_db(transaction=True)  # the workers see only what is committed
def test_parallel_import_applies_every_line_once_and_equals_a_recompute(activity_file):
    path, org, customers, spend = activity_file

    out, _ = run("import_activities", str(path), workers=3, batch=50, no_progress=True)

    assert outcome(out) == (1200, 1197, 0, 3)  # total, applied, duplicate, rejected
    assert "3 workers, lines partitioned by userId" in out
    assert "rejected lines: 100, 500, 900" in out
    assert "line 100: not valid JSON" in out
    assert "line 900: amount: cannot be negative" in out
    assert Activity.objects.filter(org=org).count() == 1197
    stored = dict(Customer.objects.filter(org=org).values_list("id", "lifetime_purchases"))
    assert stored == {c.id: Decimal(spend.get(c.id, 0)) for c in customers}
    imported = progress(*customers)
    assert imported["targets"] and imported["milestones"] and imported["streaks"]
    call_command("recompute_progress", stdout=io.StringIO(), stderr=io.StringIO())
    assert progress(*customers) == imported

    out, _ = run("import_activities", str(path), workers=3, batch=50, no_progress=True)
    assert outcome(out) == (1200, 0, 1197, 3)
    assert progress(*customers) == imported


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_parallel_import_gives_what_a_single_worker_gives(activity_file):
    path, org, customers, _ = activity_file
    run("import_activities", str(path), workers=1, batch=50, no_progress=True)
    single = progress(*customers)
    Activity.objects.filter(org=org).delete()
    wipe()
    Customer.objects.filter(org=org).update(lifetime_purchases=0)

    run("import_activities", str(path), workers=4, batch=40, no_progress=True)

    assert progress(*customers) == single


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the fallback is SQLite's")
@pytest.mark.django_db(transaction=True)
def test_workers_on_sqlite_import_with_one_worker_and_say_so(activity_file):
    path, org, _, _ = activity_file

    out, err = run("import_activities", str(path), workers=3, no_progress=True)

    assert "--workers needs PostgreSQL; sqlite imports with one worker" in err
    assert outcome(out) == (1200, 1197, 0, 3)
    assert Activity.objects.filter(org=org).count() == 1197


@pytest.mark.django_db
def test_workers_and_batch_must_be_positive(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    for option in ({"workers": 0}, {"batch": 0}):
        with pytest.raises(Exception, match="at least 1"):
            run("import_activities", str(path), **option)

"""Concurrency (SPEC §4): concurrent activity for one customer never loses an update, and an
external id raced in by several requests is applied exactly once. Real threads, each with its
own database connection, against PostgreSQL (the row lock on the customer is PostgreSQL's
`SELECT … FOR UPDATE`; SQLite serialises whole transactions and is not tested here)."""

import base64
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from customers.models import Customer
from targets.models import Activity, UserTarget
from targets.progress.ingest import APPLIED, DUPLICATE, activity_ingest
from tests.factories import T0, CustomerFactory, group_with_periods
from tests.support import PASSWORD, api_user

pytestmark = [
    pytest.mark.postgres,  # row locks are tested on PostgreSQL
    pytest.mark.django_db(transaction=True),
]

THREADS = 8
NOW = T0 + timedelta(days=10)


def in_threads(work, count=THREADS):
    """Run work(n) for n in range(count) in as many threads, started together; each closes its
    own database connection. Returns the results in thread order; re-raises any failure."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(n):
        try:
            barrier.wait()
            results[n] = work(n)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def transaction_item(customer_id, external_id, amount, day=1):
    return {
        "userId": customer_id,
        "entity": "TRANSACTION",
        "eventName": "TransactionAdd",
        "occurredAt": (T0 + timedelta(days=day - 1, hours=12)).isoformat(),
        "amount": str(amount),
        "externalId": external_id,
    }


@pytest.fixture
def spending():
    """A UNIFIED group summing spend and counting transactions (targets never reached), and a
    customer."""
    group = group_with_periods(
        periods=5,
        tracking_type="UNIFIED",
        rule_kwargs=[
            {"name": "Spend", "target_value": Decimal(10**9)},
            {"name": "Count", "target_type": "COUNT", "target_value": Decimal(10**6)},
        ],
    )
    return group, CustomerFactory(org=group.org)


def test_eight_threads_posting_for_one_customer_lose_no_update(spending):
    group, customer = spending
    org_id, customer_id = group.org_id, customer.id

    def amount(thread, k):
        return Decimal(thread * 1000 + k) / 8  # distinct, with thousandths

    def post(thread):
        org = group.org
        statuses = []
        for k in range(100):
            item = transaction_item(customer_id, f"t{thread}-{k}", amount(thread, k), day=1 + k % 5)
            statuses += [r.status for r in activity_ingest(org=org, items=[item], now=NOW)]
        return statuses

    results = in_threads(post)
    assert [s for statuses in results for s in statuses] == [APPLIED] * 800
    total = sum(amount(t, k) for t in range(THREADS) for k in range(100))
    assert Activity.objects.filter(org_id=org_id, customer_id=customer_id).count() == 800
    assert Customer.objects.get(id=customer_id).lifetime_purchases == total
    by_rule = {
        name: sum(values)
        for name in ("Spend", "Count")
        for values in [
            UserTarget.objects.filter(customer_id=customer_id, rule__name=name).values_list(
                "achieved_value", flat=True
            )
        ]
    }
    assert by_rule == {"Spend": total, "Count": 800}
    assert UserTarget.objects.filter(customer_id=customer_id).count() == 10


def test_eight_threads_posting_the_same_external_id_apply_it_once(spending):
    group, customer = spending
    user = api_user(group.org, perms=("targets.add_activity",))
    item = transaction_item(customer.id, "same-bill", "125.5")
    credentials = base64.b64encode(f"{user.username}:{PASSWORD}".encode()).decode()

    def post(_):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Basic {credentials}")
        response = client.post("/v3.1/activities", data=item, format="json")
        assert response.status_code == 200, response.content
        return response.json()["data"][0]["status"]

    statuses = in_threads(post)
    assert sorted(statuses) == [APPLIED] + [DUPLICATE] * 7
    assert Activity.objects.filter(org=group.org, external_id="same-bill").count() == 1
    assert Customer.objects.get(id=customer.id).lifetime_purchases == Decimal("125.5")
    assert UserTarget.objects.get(customer=customer, rule__name="Spend").achieved_value == Decimal("125.5")


def test_the_same_external_id_raced_for_different_customers_is_applied_once(spending):
    """Different customers take different row locks: the unique constraint decides, and the
    losing batches are retried and report DUPLICATE."""
    group, _ = spending
    customers = [CustomerFactory(org=group.org).id for _ in range(THREADS)]

    def post(n):
        items = [
            transaction_item(customers[n], "contested", 10),
            transaction_item(customers[n], f"own-{n}", 1),
        ]
        return [r.status for r in activity_ingest(org=group.org, items=items, now=NOW)]

    results = in_threads(post)
    assert sorted(r[0] for r in results) == [APPLIED] + [DUPLICATE] * 7
    assert [r[1] for r in results] == [APPLIED] * 8
    assert Activity.objects.filter(org=group.org, external_id="contested").count() == 1
    winner = Activity.objects.get(org=group.org, external_id="contested").customer_id
    spent = dict(Customer.objects.filter(id__in=customers).values_list("id", "lifetime_purchases"))
    assert spent == {c: Decimal(11 if c == winner else 1) for c in customers}

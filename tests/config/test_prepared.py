"""config/prepared.py: a query compiled once per shape answers like the ORM for any values."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models import Q

from config.prepared import Prepared
from customers.models import Customer
from tests.factories import CustomerFactory, OrgFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = Prepared(
    lambda ids, org_id, since: (
        Customer.objects.filter(id__any=ids)
        .filter(Q() if org_id is None else Q(org_id=org_id))
        .filter(Q() if since is None else Q(created_on__gte=since))
        .order_by("id")
        .values_list("id", "org_id", "created_on")
    )
)


def orm(ids, org_id=None, since=None):
    customers = Customer.objects.filter(id__in=ids).order_by("id")
    if org_id is not None:
        customers = customers.filter(org_id=org_id)
    if since is not None:
        customers = customers.filter(created_on__gte=since)
    return list(customers.values_list("id", "org_id", "created_on"))


@pytest.fixture
def customers():
    one, other = OrgFactory(), OrgFactory()
    return [
        CustomerFactory(org=org, created_on=datetime(year, 6, 1, 12, 30, 15, 250000, tzinfo=UTC))
        for org, year in ((one, 2020), (one, 2022), (other, 2024), (other, 2026))
    ]


def test_every_call_binds_its_own_values_into_the_shapes_sql(customers, django_assert_num_queries):
    ids = [customer.id for customer in customers]
    one, other = customers[0].org_id, customers[3].org_id
    calls = [
        (ids, None, None),
        (ids[:2], None, None),  # another length
        ([ids[3]], None, None),
        (ids, one, None),  # the optional filter on
        (ids, other, None),
        (ids, None, datetime(2022, 6, 1, 12, 30, 15, 250000, tzinfo=UTC)),
        (ids, None, datetime(2025, 1, 1, tzinfo=UTC)),
        (list(reversed(ids)), other, datetime(2000, 1, 1, tzinfo=UTC)),
    ]
    for call in calls * 2:  # the second time from the compiled SQL of each shape
        with django_assert_num_queries(1):
            rows = CUSTOMERS.rows(ids=call[0], org_id=call[1], since=call[2])
        assert rows == orm(*call), call
        assert rows, call
    assert CUSTOMERS.rows(ids=[], org_id=None, since=None) == []


def test_a_builder_that_leaves_out_an_empty_lists_condition_gets_a_shape_per_emptiness(customers):
    """Like the default read's period filter: a kind of group absent, its condition absent."""
    either = Prepared(
        lambda ids, extra: Customer.objects.filter(
            Q(id__any=ids) | (Q(id__any=extra) if extra else Q(pk__in=[]))
        ).values_list("id", flat=False)
    )
    first, second = customers[0].id, customers[1].id
    assert either.rows(ids=[first], extra=[]) == [(first,)]
    assert sorted(either.rows(ids=[first], extra=[second])) == [(first,), (second,)]
    assert either.rows(ids=[second], extra=[]) == [(second,)]


@pytest.mark.postgres
def test_on_postgresql_a_list_must_be_bound_as_one_array():
    """The shape ignores list lengths on PostgreSQL, so `__in` (a parameter per item) would
    reuse SQL written for another length: refused when first compiled."""
    assert connection.vendor == "postgresql"
    per_item = Prepared(lambda ids: Customer.objects.filter(id__in=ids).values_list("id"))
    with pytest.raises(ValueError, match="__any"):
        per_item.rows(ids=[1, 2])

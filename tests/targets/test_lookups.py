"""`__any` (targets/lookups.py): the same rows as `__in`, bound as one array on PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from tests.factories import CustomerFactory, OrgFactory

pytestmark = pytest.mark.django_db


def test_any_finds_what_in_finds_for_keys_and_foreign_keys():
    org = OrgFactory()
    customers = [CustomerFactory(org=org) for _ in range(5)]
    wanted = [customers[0].id, customers[3].id, 10**15, None]
    assert set(Customer.objects.filter(id__any=wanted)) == set(Customer.objects.filter(id__in=wanted[:3]))
    assert Customer.objects.filter(org_id__any=[org.id]).count() == 5
    assert Customer.objects.filter(org__any=[org.id]).count() == 5
    assert list(Customer.objects.filter(id__any=[])) == []
    assert list(Customer.objects.filter(id__any=[None])) == []


def test_any_binds_one_array_on_postgresql_and_is_in_elsewhere():
    ids = list(range(1, 2001))
    with CaptureQueriesContext(connection) as captured:
        list(Customer.objects.filter(id__any=ids))
    sql = captured[0]["sql"]
    if connection.vendor == "postgresql":
        assert "= ANY(CAST(" in sql
        assert sql.count("2000") == 1  # the array literal, not 2,000 placeholders
    else:
        assert " IN (" in sql

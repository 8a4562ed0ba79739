"""config/pgtimestamps.py: PostgreSQL connections read timestamptz through the fast loader, and
it gives exactly what Django's own loader gives, value for value, falling back to it for
whatever `fromisoformat` does not read the same way."""

from datetime import UTC, datetime

import pytest
from django.db import DataError, connection

from targets.models import Activity
from tests.factories import CustomerFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a loader of PostgreSQL's psycopg driver"),
]

TEXTS = [
    b"2025-06-15 12:00:00+00",
    b"2025-06-15 12:00:00.123456+00",
    b"2025-06-15 12:00:00.5+00",
    b"0001-01-01 00:00:00+00",
    b"9999-12-31 23:59:59.999999+00",
    b"2025-06-15 12:00:00+02",  # another offset: Django's loader decides
    b"2025-06-15 12:00:00+05:30",
    b"1883-11-18 12:00:00-04:56:02",
]


def loaders():
    from psycopg.postgres import types
    from psycopg.pq import Format

    connection.ensure_connection()
    oid = types["timestamptz"].oid
    fast = connection.connection.adapters.get_loader(oid, Format.TEXT)
    django = fast.__mro__[1]
    return fast(oid, connection.connection), django(oid, connection.connection)


def test_new_connections_read_timestamps_with_the_fast_loader():
    fast, django = loaders()
    assert getattr(type(fast), "fast", False) is True
    assert not getattr(type(django), "fast", False)


@pytest.mark.parametrize("text", TEXTS)
def test_the_fast_loader_reads_what_djangos_loader_reads(text):
    fast, django = loaders()
    ours, theirs = fast.load(text), django.load(text)
    assert ours == theirs
    assert ours.tzinfo is theirs.tzinfo is UTC


@pytest.mark.parametrize(
    "text", [b"infinity", b"-infinity", b"0044-03-15 12:00:00+00 BC", b"10000-01-01 00:00:00+00"]
)
def test_what_fromisoformat_cannot_read_fails_as_with_djangos_loader(text):
    fast, django = loaders()
    outcomes = []
    for loader in (fast, django):
        try:
            outcomes.append(loader.load(text))
        except Exception as exc:  # noqa: BLE001 - the same failure is what is compared
            outcomes.append(type(exc))
    assert outcomes[0] == outcomes[1]


def test_orm_reads_round_trip_to_the_microsecond():
    customer = CustomerFactory()
    moment = datetime(2025, 6, 15, 12, 0, 0, 123456, tzinfo=UTC)
    Activity.objects.create(
        org=customer.org,
        customer=customer,
        entity="EVENT",
        event_name="Login",
        occurred_at=moment,
        received_at=moment,
        external_id="pg-ts-1",
    )
    assert Activity.objects.values_list("occurred_at", flat=True).get(external_id="pg-ts-1") == moment
    with connection.cursor() as cursor, pytest.raises(DataError):
        cursor.execute("SELECT 'infinity'::timestamptz")
        cursor.fetchone()

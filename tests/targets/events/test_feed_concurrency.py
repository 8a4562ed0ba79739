"""The feed's guarantee with concurrent writers (PostgreSQL, real threads and connections):
a consumer that reads the feed from the start sees every event exactly once, and a customer's
events in the order of their changes, although writers commit out of order and take no lock
for their events (positions are given after commit: targets.events.sequencer)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction

from customers.models import Customer
from targets.events.feed import event_page
from targets.events.models import Event
from targets.events.sequencer import sequence_events
from targets.progress.ingest import APPLIED, activity_ingest
from tests.factories import T0, CustomerFactory, group_with_periods

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NOW = T0 + timedelta(days=10)


def spend(customer_id, external_id, amount="1200", day=1):
    return {
        "userId": customer_id,
        "entity": "TRANSACTION",
        "eventName": "TransactionAdd",
        "occurredAt": (T0 + timedelta(days=day - 1, hours=12)).isoformat(),
        "amount": amount,
        "externalId": external_id,
    }


def xact_id():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        return cursor.fetchone()[0]


class Worker(threading.Thread):
    """Runs `work` in its own connection; re-raises its failure on `result()`."""

    def __init__(self, work):
        super().__init__()
        self.work, self.value, self.error = work, None, None

    def run(self):
        try:
            self.value = self.work()
        except BaseException as exc:  # reported by result()
            self.error = exc
        finally:
            connection.close()

    def result(self):
        self.join()
        if self.error is not None:
            raise self.error
        return self.value


def read_on(org_id, cursor_text=None, seen=None):
    """Read the feed from `cursor_text` to its end (pages of 2); returns (uuids, cursor)."""
    from targets.events.feed import decode_cursor

    seen = [] if seen is None else seen
    after = decode_cursor(cursor_text) if cursor_text else 0
    while True:
        page = event_page(org_ids=[org_id], after=after, limit=2)
        seen += [e["id"] for e in page.events]
        cursor_text, after = page.cursor, decode_cursor(page.cursor)
        if not page.has_more:
            return seen, cursor_text


@pytest.fixture
def shop():
    """One target of 1000 per daily period with a milestone at 500: an activity of 1200 enrols
    the customer (ALL_CUSTOMERS), reaches the milestone and the target — three events."""
    return group_with_periods(periods=5, triggers=["500"])


def test_an_earlier_transaction_committing_last_is_read_after_the_cursor_passed_it(shop):
    org = shop.org
    early, late = CustomerFactory(org=org), CustomerFactory(org=org)
    written, commit = threading.Event(), threading.Event()

    def slow_writer():
        with transaction.atomic():  # the engine's own transaction nests in this one
            statuses = [r.status for r in activity_ingest(org=org, items=[spend(early.id, "e1")], now=NOW)]
            written.set()
            assert commit.wait(60)  # a liveness guard for a broken test, not a measurement
        return statuses

    slow = Worker(slow_writer)
    slow.start()
    assert written.wait(60)
    # The slow writer's events are inserted (smaller ids) but not committed.
    assert [r.status for r in activity_ingest(org=org, items=[spend(late.id, "l1")], now=NOW)] == [APPLIED]
    first, cursor = read_on(org.id)
    late_events = [
        str(u) for u in Event.objects.filter(user_id=late.id).order_by("id").values_list("uuid", flat=True)
    ]
    assert first == late_events and len(late_events) == 3
    commit.set()
    assert slow.result() == [APPLIED]
    early_events = [
        str(u) for u in Event.objects.filter(user_id=early.id).order_by("id").values_list("uuid", flat=True)
    ]
    assert min(Event.objects.filter(user_id=early.id).values_list("id", flat=True)) < min(
        Event.objects.filter(user_id=late.id).values_list("id", flat=True)
    )
    everything, _ = read_on(org.id, cursor, seen=list(first))
    assert everything == late_events + early_events  # each once, none skipped
    assert read_on(org.id)[0] == everything  # a reader from the start sees the same


def test_a_customers_events_keep_change_order_when_the_later_change_has_the_smaller_transaction_id(shop):
    """T2 draws its transaction id first (it locks another customer), then waits for the
    customer T1 holds; T1 writes the customer's events and commits; T2 writes the customer's
    next events. The feed lists T1's before T2's — ordering by transaction id would not."""
    org = shop.org
    other, customer = sorted([CustomerFactory(org=org), CustomerFactory(org=org)], key=lambda c: c.id)
    t2_has_id, t1_holds = threading.Event(), threading.Event()

    def t2():
        with transaction.atomic():
            list(Customer.objects.select_for_update().filter(id=other.id).values_list("id"))
            mine = xact_id()
            t2_has_id.set()
            assert t1_holds.wait(60)
            # Day 2: a new period, new events; blocks on the customer's row until T1 commits.
            activity_ingest(org=org, items=[spend(other.id, "o1"), spend(customer.id, "c2", day=2)], now=NOW)
        return mine

    def t1():
        assert t2_has_id.wait(60)
        with transaction.atomic():
            activity_ingest(org=org, items=[spend(customer.id, "c1", day=1)], now=NOW)
            mine = xact_id()
            t1_holds.set()
        return mine

    second, first = Worker(t2), Worker(t1)
    second.start()
    first.start()
    t1_id, t2_id = first.result(), second.result()
    assert t2_id < t1_id  # the premise: the later change has the smaller transaction id
    seen, _ = read_on(org.id)
    feed = list(Event.objects.filter(uuid__in=seen, user_id=customer.id).order_by("position"))
    day1, day2 = T0 + timedelta(hours=12), T0 + timedelta(days=1, hours=12)
    # T1's change (day 1: enrolment, target, milestone), then T2's (day 2).
    assert [(e.type, e.occurred_at) for e in feed] == [
        ("ENROLLED", day1),
        ("TARGET_ACHIEVED", day1),
        ("MILESTONE_ACHIEVED", day1),
        ("TARGET_ACHIEVED", day2),
        ("MILESTONE_ACHIEVED", day2),
    ]
    assert [str(e.uuid) for e in feed] == [u for u in seen if u in {str(e.uuid) for e in feed}]


def test_a_running_sequencer_makes_another_wait_for_nothing(shop):
    """Two sequencers never give positions at once: the second finds the lock taken and
    returns None; its caller reads what is already sequenced."""
    org = shop.org
    activity_ingest(org=org, items=[spend(CustomerFactory(org=org).id, "a1")], now=NOW)
    holding, release = threading.Event(), threading.Event()

    def first():
        with transaction.atomic():
            given = sequence_events()
            holding.set()
            assert release.wait(60)
        return given

    worker = Worker(first)
    worker.start()
    assert holding.wait(60)
    assert sequence_events() is None
    release.set()
    assert worker.result() == 3
    assert sorted(Event.objects.values_list("position", flat=True)) == [1, 2, 3]

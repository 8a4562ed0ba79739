"""End to end (issue 16): events written by the engine reach a real HTTP receiver through the
django-tasks database backend and a real `db_worker` (run in batch mode in this process),
signed; a failing receiver is retried with backoff until it succeeds; the delivery log says so;
no delivery id is issued twice; a customer's events arrive in order."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from targets.events.models import DeliveryStatus, Event, WebhookDelivery
from targets.events.webhooks import endpoint_create
from tests.factories import CustomerFactory, group_with_periods
from tests.targets.events.receiver import Receiver
from tests.targets.test_engine import NOW, at, ingest, item


def run_worker():
    call_command("db_worker", batch=True, reload=False, startup_delay=False, interval=0)


def time_passes():
    """Whatever is scheduled becomes due: the tasks' run_after and the deliveries' retries."""
    now = timezone.now()
    DBTaskResult.objects.filter(status="READY").update(run_after=now - timedelta(seconds=1))
    WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).update(
        next_attempt_at=now - timedelta(seconds=1)
    )


@pytest.mark.django_db(transaction=True)
def test_events_are_delivered_signed_retried_until_accepted_and_logged():
    group = group_with_periods(periods=5, triggers=["500"])
    first, second = CustomerFactory(org=group.org), CustomerFactory(org=group.org)
    with Receiver() as receiver:
        endpoint = endpoint_create(org_id=group.org_id, url=receiver.url, now=NOW)
        receiver.secret = endpoint.secret
        receiver.fail_next = 3  # the first three requests are answered 500

        ingest(first, item(first, at(1), 600), item(first, at(1, 13), 600))
        ingest(second, item(second, at(2), 1000))
        events = list(Event.objects.filter(org_id=group.org_id).order_by("id"))
        assert [e.type for e in events if e.user_id == first.id] == [
            "ENROLLED",
            "MILESTONE_ACHIEVED",
            "TARGET_ACHIEVED",
        ]
        heads = [WebhookDelivery.objects.none()]  # filled once the worker has fanned out

        run_worker()
        # Each customer's first delivery was refused: it waits for its retry (60 s), and the
        # rest of that customer's queue waits behind it.
        heads = [WebhookDelivery.objects.filter(user_id=c.id).order_by("id").first() for c in (first, second)]
        for head in heads:
            assert (head.status, head.attempts, head.last_response_code) == ("PENDING", 1, 500)
            assert (
                timedelta(seconds=60) <= head.next_attempt_at - head.last_attempt_at < timedelta(seconds=70)
            )
        assert WebhookDelivery.objects.filter(attempts=0).count() == len(events) - 2
        scheduled = DBTaskResult.objects.filter(status="READY", run_after__gt=timezone.now())
        assert sorted(args["args"][1] for args in scheduled.values_list("args_kwargs", flat=True)) == [
            first.id,
            second.id,
        ]
        assert receiver.succeeded() == []

        time_passes()
        run_worker()
        # The third request (the first customer's) failed again: 120 s; the second customer's
        # deliveries all went through, in order.
        for head in heads:
            head.refresh_from_db()
        assert (heads[0].status, heads[0].attempts, heads[0].last_response_code) == ("PENDING", 2, 500)
        assert (
            timedelta(seconds=120)
            <= heads[0].next_attempt_at - heads[0].last_attempt_at
            < timedelta(seconds=130)
        )
        assert (heads[1].status, heads[1].attempts, heads[1].last_response_code) == ("SUCCEEDED", 2, 200)

        time_passes()
        run_worker()

    deliveries = list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id"))
    assert [d.event_id for d in deliveries] == [e.id for e in events]
    assert {d.status for d in deliveries} == {"SUCCEEDED"}
    assert all(d.last_response_code == 200 and d.delivered_at and d.last_error == "" for d in deliveries)
    heads[0].refresh_from_db()
    assert heads[0].attempts == 3
    assert sorted(d.attempts for d in deliveries) == [1] * (len(events) - 2) + [2, 3]

    assert all(r["verified"] for r in receiver.received)
    assert all(r["path"] == "/hooks/loyalty?src=test" for r in receiver.received)
    ok = receiver.succeeded()
    assert sorted(r["delivery"] for r in ok) == sorted(str(d.uuid) for d in deliveries)
    assert len({r["delivery"] for r in ok}) == len(ok) == len(events)  # no delivery id twice
    refused = [r["delivery"] for r in receiver.received if r["status"] == 500]
    assert sorted(refused) == sorted([str(heads[0].uuid)] * 2 + [str(heads[1].uuid)])
    for customer in (first, second):
        arrived = [r["event"] for r in ok if r["body"]["userId"] == customer.id]
        assert arrived == [str(e.uuid) for e in events if e.user_id == customer.id]
    assert {r["event"]: r["body"]["type"] for r in ok} == {str(e.uuid): e.type for e in events}


@pytest.mark.django_db(transaction=True)
def test_a_test_event_and_a_resend_are_delivered_by_the_worker():
    from targets.events.dispatch import resend, send_test_event

    group = group_with_periods(periods=5)
    customer = CustomerFactory(org=group.org)
    with Receiver() as receiver:
        endpoint = endpoint_create(
            org_id=group.org_id, url=receiver.url, event_types=["TARGET_ACHIEVED"], now=NOW
        )
        receiver.secret = endpoint.secret
        ingest(customer, item(customer, at(1), 1000))
        send_test_event(endpoint, now=timezone.now())
        run_worker()
        (delivered,) = WebhookDelivery.objects.filter(endpoint=endpoint, event__isnull=False)
        resend([delivered], now=timezone.now())
        run_worker()
    # ENROLLED is not subscribed; the resend repeats the delivery with the same delivery id.
    assert sorted((r["type"], r["verified"]) for r in receiver.received) == [
        ("TARGET_ACHIEVED", True),
        ("TARGET_ACHIEVED", True),
        ("TEST", True),
    ]
    assert {r["delivery"] for r in receiver.received if r["type"] == "TARGET_ACHIEVED"} == {
        str(delivered.uuid)
    }
    delivered.refresh_from_db()
    assert (delivered.status, delivered.attempts) == ("SUCCEEDED", 2)

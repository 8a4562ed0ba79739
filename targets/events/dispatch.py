"""Webhook deliveries (docs/events.md "Delivery and retries").

1. `events_written` (called where events are inserted) enqueues `dispatch_events` when an org
   of the new events has an active endpoint — in the same transaction, so no task runs for
   events that rolled back.
2. `fan_out` sequences the committed events (targets.events.sequencer), then hands each active
   endpoint the events after its cursor (a feed position) that it subscribes to: one
   WebhookDelivery per (endpoint, event) — unique, so a delivery id is never issued twice — and
   enqueues `deliver_queue(endpoint, customer)` for each customer with new deliveries.
3. `deliver_queue` sends one customer's pending deliveries to one endpoint oldest first. A
   failure (network error, non-2xx answer) schedules the same delivery again with exponential
   backoff (django-tasks run_after) and stops there: the customer's later deliveries wait, so
   they arrive in order. After `WEBHOOK_RETRY_HOURS` of failures the delivery is FAILED and the
   queue moves on.

A delivery being attempted is leased (`next_attempt_at` pushed `LEASE` ahead) in a short
transaction; the HTTP request runs outside any transaction."""

import http.client
import json
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from targets.events.guard import GuardedHTTPConnection, GuardedHTTPSConnection, UnsafeURL
from targets.events.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from targets.events.payload import event_json
from targets.events.sequencer import sequence_all
from targets.events.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TYPE_HEADER, signature

FAN_OUT_BATCH = 1000
LEASE = timedelta(minutes=2)


def _setting(name, default):
    return getattr(settings, name, default)


def backoff(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failed attempt: 1 min, 2, 4, … doubling, at most 6 h."""
    base = _setting("WEBHOOK_RETRY_BASE_SECONDS", 60)
    return timedelta(seconds=min(base * 2 ** (attempts - 1), _setting("WEBHOOK_RETRY_MAX_SECONDS", 6 * 3600)))


def retry_window() -> timedelta:
    return timedelta(hours=_setting("WEBHOOK_RETRY_HOURS", 24))


def events_written(orgs) -> None:
    if WebhookEndpoint.objects.filter(org_id__in=orgs, active=True).exists():
        from targets.events.tasks import dispatch_events

        dispatch_events.enqueue()


def fan_out(*, now: datetime) -> int:
    """Create the deliveries of events not yet handed to their endpoints, in feed order (after
    giving positions to what committed); returns how many."""
    sequence_all()
    created = 0
    for endpoint_id in WebhookEndpoint.objects.filter(active=True).values_list("id", flat=True):
        while True:
            with transaction.atomic():
                endpoint = (
                    WebhookEndpoint.objects.select_for_update(skip_locked=True)
                    .filter(pk=endpoint_id, active=True)
                    .first()
                )
                if endpoint is None:
                    break
                events = list(
                    Event.objects.filter(org_id=endpoint.org_id, position__gt=endpoint.cursor)
                    .order_by("position")
                    .values_list("position", "id", "type", "user_id")[:FAN_OUT_BATCH]
                )
                if not events:
                    break
                rows = [
                    WebhookDelivery(endpoint=endpoint, event_id=eid, user_id=uid, created_at=now)
                    for _position, eid, type, uid in events
                    if endpoint.wants(type)
                ]
                WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
                endpoint.cursor = events[-1][0]
                endpoint.save(update_fields=["cursor"])
                enqueue_queues(endpoint.pk, {r.user_id for r in rows})
                created += len(rows)
            if len(events) < FAN_OUT_BATCH:
                break
    return created


def enqueue_queues(endpoint_id: int, user_ids, *, run_after: datetime | None = None) -> None:
    from targets.events.tasks import deliver_queue

    task = deliver_queue.using(run_after=run_after) if run_after else deliver_queue
    for user_id in sorted(user_ids, key=lambda u: (u is None, u or 0)):
        task.enqueue(endpoint_id, user_id)


def _queue(endpoint_id, user_id):
    rows = WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=DeliveryStatus.PENDING)
    return rows.filter(user_id=user_id) if user_id is not None else rows.filter(user_id__isnull=True)


def deliver_queue(*, endpoint_id: int, user_id: int | None, now_fn) -> int:
    """Send the customer's pending deliveries to the endpoint in order; returns how many were
    attempted. Stops at a failure that will be retried (its task is scheduled)."""
    attempted = 0
    while True:
        now = now_fn()
        with transaction.atomic():
            head_id = _queue(endpoint_id, user_id).order_by("id").values_list("id", flat=True).first()
            if head_id is None:
                return attempted
            delivery = (
                WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("endpoint", "event")
                .filter(pk=head_id, status=DeliveryStatus.PENDING)
                .first()
            )
            if delivery is None or not delivery.endpoint.active:
                return attempted  # another worker holds it, or the endpoint is off
            if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
                return attempted  # waiting for its retry (or leased): its own task comes then
            delivery.attempts += 1
            delivery.first_attempt_at = delivery.first_attempt_at or now
            delivery.last_attempt_at = now
            delivery.next_attempt_at = now + LEASE
            delivery.save(
                update_fields=["attempts", "first_attempt_at", "last_attempt_at", "next_attempt_at"]
            )
        attempted += 1
        code, error = send(delivery)
        now = now_fn()
        with transaction.atomic():
            delivery.last_response_code, delivery.last_error = code, error[:300]
            if code is not None and 200 <= code < 300:
                delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                    DeliveryStatus.SUCCEEDED,
                    now,
                    None,
                )
            elif now - delivery.first_attempt_at >= retry_window():
                delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            else:
                delivery.next_attempt_at = now + backoff(delivery.attempts)
            delivery.save(
                update_fields=[
                    "last_response_code",
                    "last_error",
                    "status",
                    "delivered_at",
                    "next_attempt_at",
                ]
            )
            if delivery.status == DeliveryStatus.PENDING:
                enqueue_queues(endpoint_id, [user_id], run_after=delivery.next_attempt_at)
                return attempted


def body_of(delivery) -> bytes:
    payload = delivery.test_payload if delivery.event_id is None else event_json(delivery.event)
    return json.dumps(payload, separators=(",", ":"), sort_keys=False).encode()


def send(delivery) -> tuple[int | None, str]:
    """POST the delivery once: (HTTP status or None, error text — never the secret)."""
    endpoint = delivery.endpoint
    body = body_of(delivery)
    timestamp = int(time.time())
    parts = urlsplit(endpoint.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    event_id = str(delivery.event.uuid) if delivery.event_id else delivery.test_payload.get("id", "")
    event_type = delivery.event.type if delivery.event_id else delivery.test_payload.get("type", "")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "loyalty-webhooks/1",
        SIGNATURE_HEADER: signature(endpoint.secret, timestamp, body),
        DELIVERY_HEADER: str(delivery.uuid),
        EVENT_HEADER: event_id,
        TYPE_HEADER: event_type,
    }
    timeout = _setting("WEBHOOK_TIMEOUT_SECONDS", 10)
    cls = GuardedHTTPSConnection if parts.scheme == "https" else GuardedHTTPConnection
    try:
        connection = cls(parts.hostname, parts.port, timeout=timeout)
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(4096)
            return response.status, "" if 200 <= response.status < 300 else f"HTTP {response.status}"
        finally:
            connection.close()
    except UnsafeURL as exc:
        return None, str(exc)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"


def resend(deliveries, *, now: datetime) -> int:
    """Send again (same delivery id): back to PENDING with a fresh retry window."""
    rows = list(deliveries)
    for delivery in rows:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING, next_attempt_at=None, first_attempt_at=None
        )
    queues = defaultdict(set)
    for delivery in rows:
        queues[delivery.endpoint_id].add(delivery.user_id)
    for endpoint_id, users in queues.items():
        enqueue_queues(endpoint_id, users)
    return len(rows)


def send_test_event(endpoint, *, now: datetime) -> WebhookDelivery:
    """A TEST event (not in the feed) delivered like any other, in its own queue."""
    payload = {
        "id": str(uuid.uuid4()),
        "type": "TEST",
        "occurredAt": now.isoformat().replace("+00:00", "Z"),
        "emittedAt": now.isoformat().replace("+00:00", "Z"),
        "orgId": endpoint.org_id,
        "userId": None,
    }
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, test_payload=payload, created_at=now)
    enqueue_queues(endpoint.pk, [None])
    return delivery


def pending_queues():
    """(endpoint, customer) queues with a pending delivery whose retry is due or whose task was
    lost (a worker killed mid-attempt): the sweep re-enqueues them."""
    return (
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))
        .order_by()
        .values_list("endpoint_id", "user_id")
        .distinct()
    )

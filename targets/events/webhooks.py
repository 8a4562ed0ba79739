"""Webhook endpoint writes shared by the API and the admin (plain functions, keyword-only)."""

from django.core.exceptions import ValidationError

from targets.events.guard import UnsafeURL, check_url
from targets.events.models import EventType, WebhookEndpoint
from targets.events.sequencer import last_position
from targets.events.signing import new_secret


def clean_endpoint(*, url: str, event_types) -> list[str]:
    """Validate; returns the event types, deduplicated in the documented order."""
    errors = {}
    try:
        check_url(url)
    except UnsafeURL as exc:
        errors["url"] = str(exc)
    unknown = [t for t in event_types if t not in EventType.values]
    if unknown:
        errors["eventTypes"] = f"unknown event type {str(unknown[0])[:40]!r}"
    if errors:
        raise ValidationError(errors)
    return [t for t in EventType.values if t in set(event_types)]


def endpoint_create(
    *, org_id: int, url: str, event_types=(), active=True, description="", now
) -> WebhookEndpoint:
    """A new endpoint with a new secret; it receives the events written from now on."""
    types = clean_endpoint(url=url, event_types=list(event_types))
    last = last_position(org_id=org_id)
    return WebhookEndpoint.objects.create(
        org_id=org_id,
        url=url,
        event_types=types,
        active=active,
        description=description,
        secret=new_secret(),
        created_on=now,
        cursor=last,
    )


def endpoint_update(*, endpoint: WebhookEndpoint, changes: dict) -> WebhookEndpoint:
    url = changes.get("url", endpoint.url)
    types = clean_endpoint(url=url, event_types=list(changes.get("event_types", endpoint.event_types)))
    endpoint.url, endpoint.event_types = url, types
    endpoint.active = changes.get("active", endpoint.active)
    endpoint.description = changes.get("description", endpoint.description)
    endpoint.save(update_fields=["url", "event_types", "active", "description"])
    return endpoint

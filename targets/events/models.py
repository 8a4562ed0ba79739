"""The event outbox (one row per announced change of progress).

Rows are history: they name the group, rule, period, trigger and streak by id and by the name
they had when the event was written, without foreign keys, so that deleting or renaming
configuration never changes or removes what was announced. `position` orders the feed: it is
given after commit by targets.events.sequencer (at insert on SQLite), never by the writers."""

import uuid

from django.db import models

from customers.models import Org

VALUE = {"max_digits": 18, "decimal_places": 3}
SEQUENCED = models.Q(position__isnull=False)


class EventType(models.TextChoices):
    TARGET_ACHIEVED = "TARGET_ACHIEVED"
    MILESTONE_ACHIEVED = "MILESTONE_ACHIEVED"
    UNIFIED_TARGET_ACHIEVED = "UNIFIED_TARGET_ACHIEVED"
    STREAK_ACHIEVED = "STREAK_ACHIEVED"
    STREAK_DROPPED = "STREAK_DROPPED"
    ENROLLED = "ENROLLED"
    UNENROLLED = "UNENROLLED"
    ACHIEVEMENT_REVOKED = "ACHIEVEMENT_REVOKED"


class Event(models.Model):
    id = models.BigAutoField(primary_key=True)
    # The feed's order: null until the sequencer gives it, after the writer's commit.
    position = models.BigIntegerField(null=True, blank=True, editable=False)
    # Random (uuid4), hence unique without an index: nothing looks events up by it, and an
    # index would cost every insert of the engine's hot path.
    uuid = models.UUIDField(default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=30, choices=EventType.choices)
    # No database constraint: a foreign-key check per event at COMMIT is a cost of the engine's
    # hot path; Django still deletes an org's events with the org. No index of its own either
    # (a fourth index to fill per insert): the feed and the deliveries read an org's events by
    # event_org_position, and deleting an org (rare) may scan.
    org = models.ForeignKey(
        Org, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    user_id = models.BigIntegerField()
    occurred_at = models.DateTimeField(help_text="The moment of the activity (or change) that caused it.")
    emitted_at = models.DateTimeField()
    group_id = models.BigIntegerField(null=True, blank=True)
    group_name = models.CharField(max_length=200, blank=True, default="")
    rule_id = models.BigIntegerField(null=True, blank=True)
    rule_name = models.CharField(max_length=200, blank=True, default="")
    period_id = models.BigIntegerField(null=True, blank=True)
    period_ref_code = models.CharField(max_length=100, blank=True, default="")
    trigger_id = models.BigIntegerField(null=True, blank=True)
    trigger_name = models.CharField(max_length=200, blank=True, default="")
    streak_id = models.BigIntegerField(null=True, blank=True)
    streak_name = models.CharField(max_length=200, blank=True, default="")
    achieved_value = models.DecimalField(**VALUE, null=True, blank=True)
    target_value = models.DecimalField(**VALUE, null=True, blank=True)
    activity_id = models.BigIntegerField(null=True, blank=True, help_text="The activity that caused it.")
    revoked_type = models.CharField(
        max_length=30, blank=True, default="", help_text="ACHIEVEMENT_REVOKED: the achievement taken back."
    )
    source = models.CharField(
        max_length=20,
        blank=True,
        default="",
        help_text="ENROLLED/UNENROLLED: ACTIVITY, API, ADMIN or IMPORT.",
    )

    class Meta:
        ordering = ["id"]
        # Partial (SEQUENCED): the writers' insert (position null) touches only the primary key and
        # event_unsequenced; the feed's indexes are filled by the sequencer, off the hot path.
        indexes = [
            models.Index(fields=["org", "position"], name="event_org_position", condition=SEQUENCED),
            models.Index(
                fields=["org", "user_id", "position"], name="event_org_user_position", condition=SEQUENCED
            ),
            models.Index(fields=["id"], name="event_unsequenced", condition=models.Q(position__isnull=True)),
        ]
        # A position is given once (and MAX(position) reads this index).
        constraints = [
            models.UniqueConstraint(fields=["position"], condition=SEQUENCED, name="event_position_once")
        ]

    def __str__(self):
        return f"{self.type} of customer {self.user_id} ({self.uuid})"


class WebhookEndpoint(models.Model):
    """Where an org's events are POSTed. `secret` signs them (shown once, when created);
    `cursor` is the feed position of the last event handed to this endpoint's deliveries."""

    id = models.BigAutoField(primary_key=True)
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True, default="")
    event_types = models.JSONField(
        default=list, blank=True, help_text="Event types delivered; empty: every type."
    )
    active = models.BooleanField(default=True)
    secret = models.CharField(max_length=100, editable=False)
    created_on = models.DateTimeField()
    cursor = models.BigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["org", "active"], name="webhook_org_active")]

    def __str__(self):
        return f"{self.url[:80]} ({self.id})"

    def __repr__(self):  # never the secret
        return f"<WebhookEndpoint {self.id} {self.url[:80]!r}>"

    @property
    def secret_hint(self):
        return f"…{self.secret[-4:]}" if self.secret else ""

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class DeliveryStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint: its delivery log (one id, however many attempts)."""

    id = models.BigAutoField(primary_key=True)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name="delivery id")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    test_payload = models.JSONField(null=True, blank=True, help_text="A test event's body")
    user_id = models.BigIntegerField(
        null=True, blank=True, help_text="Deliveries of one customer go in order"
    )
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["endpoint", "user_id", "status", "id"], name="delivery_queue")]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"], condition=models.Q(event__isnull=False), name="delivery_once"
            )
        ]

    def __str__(self):
        return f"delivery {self.uuid} ({self.status})"

"""Target groups ("milestones"), their periods, rules, triggers and streaks; customer progress;
stored activity (SPEC §2).

Every table carries `org` so that every query can be scoped by it and the schema can be
distributed by `org_id`. Single-row invariants live in `clean()` and in database constraints;
invariants across rows of one group live in `targets.validation`, which the admin and the API
both call.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, F, OuterRef, Q

from customers.models import Actor, Customer, Org
from targets.history import ConfigHistory, EnrolmentHistory

VALUE = {"max_digits": 18, "decimal_places": 3}


class EvaluationType(models.TextChoices):
    FIXED = "FIXED_CALENDAR_WINDOW"
    CYCLIC = "CYCLIC_WINDOW"
    PERIOD_AGNOSTIC = "PERIOD_AGNOSTIC_WINDOW"


class TrackingType(models.TextChoices):
    DEFAULT = "DEFAULT"
    UNIFIED = "UNIFIED"
    STREAKS = "STREAKS"
    CAPPING = "CAPPING"
    NON_CONTINUOUS_STREAK = "NON_CONTINUOUS_STREAK"


STREAK_TRACKING = {TrackingType.STREAKS, TrackingType.NON_CONTINUOUS_STREAK}


class FrequencyType(models.TextChoices):
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    HALF_YEARLY = "HALF_YEARLY"
    YEARLY = "YEARLY"
    CUSTOM = "CUSTOM"


class Enrolment(models.TextChoices):
    ALL_CUSTOMERS = "ALL_CUSTOMERS"
    EXPLICIT = "EXPLICIT"


class TargetEntity(models.TextChoices):
    TRANSACTION = "TRANSACTION"
    LINEITEM = "LINEITEM"
    EVENT = "EVENT"
    REWARDS = "REWARDS"


class TargetType(models.TextChoices):
    COUNT = "COUNT"
    VISIT = "VISIT"
    GROSS_SALES = "GROSS_SALES"
    SALES = "SALES"
    QUANTITY = "QUANTITY"
    SUM = "SUM"


class StreakStatus(models.TextChoices):
    NOT_STARTED = "NOT_STARTED"
    IN_PROGRESS = "IN_PROGRESS"
    ACHIEVED = "ACHIEVED"
    DROPPED = "DROPPED"


class EnrolmentSource(models.TextChoices):
    ACTIVITY = "ACTIVITY"
    ADMIN = "ADMIN"
    API = "API"
    IMPORT = "IMPORT"


class Attributed(models.Model):
    """Who created and last changed a configuration row, shown in `attribution` blocks."""

    created_on = models.DateTimeField()
    created_by = models.ForeignKey(Actor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_updated_on = models.DateTimeField()
    last_updated_by = models.ForeignKey(
        Actor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True


class TargetGroupQuerySet(models.QuerySet):
    def associated_with(self, *, customer_id, org_id):
        """The groups a customer is associated with (SPEC §3): ALL_CUSTOMERS groups of the
        customer's own org (`org_id`), and every group the customer has an Enrolment in. Scope
        (`org_id__in`), `active` and the rest are the caller's filters.

        Either argument may be an `OuterRef` to a customer row of an enclosing query (e.g.
        `customer_id=OuterRef("id"), org_id=OuterRef("org_id")` inside a Customer query): the
        method refers it one level further out where it nests its own subquery."""
        if isinstance(customer_id, OuterRef):
            customer_id = OuterRef(customer_id)
        enrolled = GroupEnrolment.objects.filter(group_id=OuterRef("id"), customer_id=customer_id)
        # The rule of `is_associated`, in SQL.
        return self.filter(Q(enrolment=Enrolment.ALL_CUSTOMERS, org_id=org_id) | Exists(enrolled))


def is_associated(*, enrolment: str, group_org_id: int, customer_org_id: int, enrolled: bool) -> bool:
    """Whether a customer is associated with a group (SPEC §3), over values in memory: an
    ALL_CUSTOMERS group of the customer's own org, or a group the customer has an Enrolment in
    (`enrolled`). The engine decides it with this function; `associated_with` above is the same
    rule as a query."""
    return enrolled or (enrolment == Enrolment.ALL_CUSTOMERS and group_org_id == customer_org_id)


class TargetGroup(Attributed):
    id = models.BigAutoField(primary_key=True)
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="target_groups")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    active = models.BooleanField(default=True)
    target_evaluation_type = models.CharField(
        max_length=30, choices=EvaluationType.choices, default=EvaluationType.FIXED
    )
    tracking_type = models.CharField(
        max_length=30, choices=TrackingType.choices, default=TrackingType.DEFAULT
    )
    preferred_till = models.ForeignKey(
        Actor,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"type": Actor.Type.TILL},
    )
    enrolment = models.CharField(max_length=20, choices=Enrolment.choices, default=Enrolment.ALL_CUSTOMERS)
    frequency_type = models.CharField(
        max_length=20, choices=FrequencyType.choices, default=FrequencyType.DAILY
    )
    frequency = models.PositiveIntegerField(default=1)
    total_periods = models.PositiveIntegerField(null=True, blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    count_activity_from = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Count activity received from this moment on. Empty: from the group's creation. "
        "Set it earlier to count past activity (a backdated program), e.g. the group's start.",
    )

    objects = TargetGroupQuerySet.as_manager()

    history = ConfigHistory()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["org", "active"]), models.Index(fields=["org", "enrolment"])]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="target_group_unique_name_per_org"),
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="target_group_end_after_start"),
            models.CheckConstraint(condition=Q(frequency__gte=1), name="target_group_frequency_positive"),
            models.CheckConstraint(
                condition=Q(total_periods__isnull=True) | Q(total_periods__gte=1),
                name="target_group_total_periods_positive",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.id})"

    @property
    def is_streak_group(self):
        return self.tracking_type in STREAK_TRACKING

    @property
    def counts_from(self):
        """The moment from which received activity counts (SPEC §4, backdated programs)."""
        return self.count_activity_from or self.created_on

    def clean(self):
        errors = {}
        if self.start and self.end and self.end < self.start:
            errors["end"] = "The end is before the start."
        if self.preferred_till_id and self.org_id:
            till = self.preferred_till
            if till.type != Actor.Type.TILL:
                errors["preferred_till"] = "The preferred till must be an actor of type TILL."
            elif till.org_id != self.org_id:
                errors["preferred_till"] = "The preferred till belongs to another org."
        if errors:
            raise ValidationError(errors)


class TargetPeriod(models.Model):
    """A window of a group. `customer` is null for periods shared by everyone; CYCLIC groups
    get per-customer periods, created at the customer's first matching activity."""

    id = models.BigAutoField(primary_key=True)
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey(TargetGroup, on_delete=models.CASCADE, related_name="periods")
    ref_code = models.CharField(max_length=100)
    sequence = models.PositiveIntegerField()
    start = models.DateTimeField()
    end = models.DateTimeField()
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="cyclic_periods"
    )

    history = ConfigHistory()

    class Meta:
        ordering = ["group_id", "customer_id", "sequence"]
        indexes = [
            models.Index(fields=["org", "group", "customer", "sequence"]),
            # The read endpoint's current period of a FIXED group: the latest started by now.
            models.Index(fields=["group", "start"], name="target_period_group_start"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="target_period_end_after_start"),
            models.UniqueConstraint(
                fields=["group", "ref_code"],
                condition=Q(customer__isnull=True),
                name="target_period_unique_ref_code",
            ),
            models.UniqueConstraint(
                fields=["group", "customer", "ref_code"],
                condition=Q(customer__isnull=False),
                name="target_period_unique_ref_code_per_customer",
            ),
            models.UniqueConstraint(
                fields=["group", "sequence"],
                condition=Q(customer__isnull=True),
                name="target_period_unique_sequence",
            ),
            models.UniqueConstraint(
                fields=["group", "customer", "sequence"],
                condition=Q(customer__isnull=False),
                name="target_period_unique_sequence_per_customer",
            ),
        ]

    def __str__(self):
        return f"{self.ref_code} ({self.id})"

    def clean(self):
        if self.start and self.end and self.end < self.start:
            raise ValidationError({"end": "The period ends before it starts."})


class TargetRule(models.Model):
    """A target: what counts (entity, event, KPI) and how much is needed per period."""

    id = models.BigAutoField(primary_key=True, verbose_name="targetRuleId")
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey(TargetGroup, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    target_entity = models.CharField(
        max_length=20, choices=TargetEntity.choices, default=TargetEntity.TRANSACTION
    )
    event_name = models.CharField(max_length=100, default="TransactionAdd")
    target_type = models.CharField(max_length=20, choices=TargetType.choices, default=TargetType.GROSS_SALES)
    attribute = models.CharField(
        max_length=100, blank=True, default="", help_text="For SUM: the activity attribute to add."
    )
    target_value = models.DecimalField(**VALUE)
    created_on = models.DateTimeField(
        null=True, blank=True, help_text="When the rule was added; empty: with its group."
    )

    history = ConfigHistory()

    class Meta:
        ordering = ["group_id", "id"]
        indexes = [
            models.Index(fields=["org", "group"]),
            models.Index(fields=["org", "target_entity", "event_name"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(target_value__gt=0), name="target_rule_value_positive"),
        ]

    def __str__(self):
        return f"{self.name} ({self.id})"

    def clean(self):
        errors = {}
        if self.target_value is not None and self.target_value <= 0:
            errors["target_value"] = "The target value must be greater than 0."
        if self.target_type == TargetType.SUM and not (self.attribute or "").strip():
            errors["attribute"] = "A SUM target needs the activity attribute to add."
        if errors:
            raise ValidationError(errors)


class PeriodTargetValue(models.Model):
    """A per-period override of a rule's target value."""

    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    rule = models.ForeignKey(TargetRule, on_delete=models.CASCADE, related_name="period_values")
    period = models.ForeignKey(TargetPeriod, on_delete=models.CASCADE, related_name="rule_values")
    target_value = models.DecimalField(**VALUE)

    history = ConfigHistory()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "period"], name="period_target_value_unique"),
            models.CheckConstraint(condition=Q(target_value__gt=0), name="period_target_value_positive"),
        ]

    def __str__(self):
        return f"{self.target_value} for rule {self.rule_id} in period {self.period_id}"

    def clean(self):
        if self.rule_id and self.period_id and self.rule.group_id != self.period.group_id:
            raise ValidationError("The period belongs to another group than the rule.")


class MilestoneTrigger(models.Model):
    id = models.BigAutoField(primary_key=True)
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    rule = models.ForeignKey(TargetRule, on_delete=models.CASCADE, related_name="triggers")
    trigger_name = models.CharField(max_length=200)
    trigger_value = models.DecimalField(**VALUE)

    history = ConfigHistory()

    class Meta:
        ordering = ["rule_id", "trigger_value", "id"]
        indexes = [models.Index(fields=["org", "rule"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(trigger_value__gte=0), name="milestone_trigger_value_non_negative"
            ),
        ]

    def __str__(self):
        return f"{self.trigger_name} at {self.trigger_value}"

    def clean(self):
        if self.trigger_value is None:
            return
        if self.trigger_value < 0:
            raise ValidationError({"trigger_value": "The trigger value cannot be negative."})
        rule = getattr(self, "rule", None) if self.rule_id else None
        if rule is not None and rule.target_value is not None and self.trigger_value > rule.target_value:
            raise ValidationError({"trigger_value": "The trigger value is above the target value."})


class Streak(models.Model):
    id = models.BigAutoField(primary_key=True)
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey(TargetGroup, on_delete=models.CASCADE, related_name="streaks")
    name = models.CharField(max_length=200)
    target_count_of_sequence = models.PositiveIntegerField()
    continuous = models.BooleanField(default=True)

    history = ConfigHistory()

    class Meta:
        ordering = ["group_id", "id"]
        indexes = [models.Index(fields=["org", "group"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_count_of_sequence__gte=1), name="streak_target_count_positive"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.id})"

    def clean(self):
        if self.target_count_of_sequence is not None and self.target_count_of_sequence < 1:
            raise ValidationError({"target_count_of_sequence": "A streak needs at least one period."})


class GroupEnrolment(models.Model):
    """A customer's association with a group (SPEC's Enrolment)."""

    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey(TargetGroup, on_delete=models.CASCADE, related_name="enrolments")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="enrolments")
    enrolled_on = models.DateTimeField()
    source = models.CharField(
        max_length=20, choices=EnrolmentSource.choices, default=EnrolmentSource.ACTIVITY
    )
    streak_reset_at = models.DateTimeField(
        null=True, blank=True, help_text="Streaks count only periods achieved from this moment on."
    )
    history = EnrolmentHistory()

    class Meta:
        ordering = ["group_id", "customer_id"]
        indexes = [models.Index(fields=["org", "customer", "group"])]
        constraints = [models.UniqueConstraint(fields=["group", "customer"], name="enrolment_unique")]

    def __str__(self):
        return f"{self.customer_id} in {self.group_id}"

    def clean(self):
        """An enrolment never crosses orgs (the database refuses it too: targets/enrolment_guard)."""
        group = self.group if self.group_id else None
        customer = self.customer if self.customer_id else None
        if group is not None and customer is not None and group.org_id != customer.org_id:
            raise ValidationError(
                {"customer": "This customer belongs to another org than the group: it cannot be enrolled."}
            )
        if group is not None and self.org_id is not None and self.org_id != group.org_id:
            raise ValidationError({"org": "An enrolment belongs to its group's org."})


class UserTarget(models.Model):
    """A customer's progress on one rule in one period (`targetId`)."""

    id = models.BigAutoField(primary_key=True, verbose_name="targetId")
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="user_targets")
    rule = models.ForeignKey(TargetRule, on_delete=models.CASCADE, related_name="user_targets")
    period = models.ForeignKey(TargetPeriod, on_delete=models.CASCADE, related_name="user_targets")
    achieved_value = models.DecimalField(**VALUE, default=Decimal(0))
    achieved_at = models.DateTimeField(null=True, blank=True)
    enrolled_on = models.DateTimeField()
    # When the latest activity counted here happened: newer activity is applied as a delta.
    last_activity_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["customer_id", "rule_id", "period_id"]
        indexes = [
            models.Index(fields=["org", "customer", "rule"]),
            models.Index(fields=["org", "rule", "period"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["customer", "rule", "period"], name="user_target_unique"),
            models.CheckConstraint(condition=Q(achieved_value__gte=0), name="user_target_value_non_negative"),
        ]

    def __str__(self):
        return f"{self.customer_id}: {self.achieved_value} on rule {self.rule_id} / period {self.period_id}"


class UserMilestone(models.Model):
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    user_target = models.ForeignKey(UserTarget, on_delete=models.CASCADE, related_name="milestones")
    trigger = models.ForeignKey(MilestoneTrigger, on_delete=models.CASCADE, related_name="+")
    achieved_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["org", "user_target"])]
        constraints = [
            models.UniqueConstraint(fields=["user_target", "trigger"], name="user_milestone_unique")
        ]

    def __str__(self):
        return f"trigger {self.trigger_id} of user target {self.user_target_id}"


class UserStreak(models.Model):
    id = models.BigAutoField(primary_key=True, verbose_name="userStreakId")
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="user_streaks")
    streak = models.ForeignKey(Streak, on_delete=models.CASCADE, related_name="user_streaks")
    status = models.CharField(max_length=20, choices=StreakStatus.choices, default=StreakStatus.NOT_STARTED)
    current_count = models.PositiveIntegerField(default=0)
    achieved_at = models.DateTimeField(null=True, blank=True)
    achieved_user_target = models.ForeignKey(
        UserTarget, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["customer_id", "streak_id"]
        indexes = [models.Index(fields=["org", "customer", "streak"])]
        constraints = [models.UniqueConstraint(fields=["customer", "streak"], name="user_streak_unique")]

    def __str__(self):
        return f"{self.customer_id} on streak {self.streak_id}: {self.status}"


class Activity(models.Model):
    """A customer's activity, stored once per (org, external_id): the idempotency key."""

    id = models.BigAutoField(primary_key=True)
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="activities")
    entity = models.CharField(max_length=20, choices=TargetEntity.choices)
    event_name = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    amount = models.DecimalField(**VALUE, default=Decimal(0))
    net_amount = models.DecimalField(**VALUE, null=True, blank=True)
    quantity = models.DecimalField(**VALUE, default=Decimal(0))
    attributes = models.JSONField(default=dict, blank=True)
    external_id = models.CharField(max_length=200)
    received_at = models.DateTimeField()
    posted_by = models.ForeignKey(Actor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # An adjustment entry (enrolment's initialBalance): sets the achieved value of this group's
    # rules in the period holding occurred_at to `amount`, instead of adding a measure.
    adjusts_group = models.ForeignKey(
        "TargetGroup", null=True, blank=True, on_delete=models.CASCADE, related_name="adjustments"
    )

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["org", "customer", "occurred_at"])]
        constraints = [
            models.UniqueConstraint(fields=["org", "external_id"], name="activity_unique_external_id"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="activity_amount_non_negative"),
            models.CheckConstraint(
                condition=Q(net_amount__isnull=True) | Q(net_amount__gte=0),
                name="activity_net_amount_non_negative",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="activity_quantity_non_negative"),
        ]

    def __str__(self):
        return f"{self.external_id} ({self.entity}/{self.event_name})"


class Pause(models.Model):
    """An interval during which a group (rule null) or one of its rules was inactive. Activity
    received inside a pause never counts, also after re-activation (docs/engine.md)."""

    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey(TargetGroup, on_delete=models.CASCADE, related_name="pauses")
    rule = models.ForeignKey(
        TargetRule, null=True, blank=True, on_delete=models.CASCADE, related_name="pauses"
    )
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True, help_text="Empty while still inactive.")

    class Meta:
        ordering = ["group_id", "rule_id", "start"]
        indexes = [models.Index(fields=["org", "group"])]

    def __str__(self):
        return f"pause of {'rule ' + str(self.rule_id) if self.rule_id else 'group ' + str(self.group_id)}"


class EnrolmentEpisode(models.Model):
    """A past enrolment of a customer in an EXPLICIT group, closed by unenrolment. With the
    current GroupEnrolment (open since enrolled_on) these say when the customer's activity counts."""

    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey(TargetGroup, on_delete=models.CASCADE, related_name="enrolment_episodes")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()

    class Meta:
        ordering = ["group_id", "customer_id", "start"]
        indexes = [models.Index(fields=["org", "customer", "group"])]

    def __str__(self):
        return f"{self.customer_id} in {self.group_id} {self.start:%Y-%m-%d}–{self.end:%Y-%m-%d}"


class RefreshStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    RUNNING = "RUNNING", "Running"
    DONE = "DONE", "Done"
    FAILED = "FAILED", "Failed"


class ProgressRefresh(models.Model):
    """Bringing a group's stored progress in line with a configuration change (targets.refresh):
    in the request when few customers are affected, else by a background task."""

    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey(TargetGroup, on_delete=models.CASCADE, related_name="refreshes")
    status = models.CharField(max_length=10, choices=RefreshStatus.choices, default=RefreshStatus.PENDING)
    reason = models.CharField(max_length=300, blank=True, default="")
    background = models.BooleanField(default=False)
    customer_ids = models.JSONField(
        null=True, blank=True, help_text="The customers to refresh; empty: every affected customer."
    )
    customers_total = models.PositiveIntegerField(default=0)
    customers_done = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True, default="")
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["group_id", "-id"]
        indexes = [models.Index(fields=["group", "status"])]

    def __str__(self):
        return f"refresh of group {self.group_id}: {self.status}"


class ConfigVersion(models.Model):
    """Per org, a token that database triggers (migration 0005) replace with every write to the
    org's configuration: the engine's cached configuration of the org is valid while it holds
    (targets.progress.catalog)."""

    # No database constraint: the triggers write it while an org's rows are being deleted.
    org = models.OneToOneField(
        Org, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    token = models.CharField(max_length=64)

    def __str__(self):
        return f"{self.org_id}: {self.token}"

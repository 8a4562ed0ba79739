"""Orgs, the actors that act in them, and customers with their profiles (SPEC §2)."""

from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


def validate_timezone(value):
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not an IANA timezone.")


class Org(models.Model):
    """A brand. Connected orgs are one parent with any number of children."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.name} ({self.id})"

    @property
    def tz(self):
        return ZoneInfo(self.timezone)

    def clean(self):
        if self.parent_id is not None:
            if self.parent_id == self.id:
                raise ValidationError({"parent": "An org cannot be its own parent."})
            if self.parent and self.parent.parent_id is not None:
                raise ValidationError({"parent": "Connected orgs have one level: the parent has no parent."})
            if self.pk and Org.objects.filter(parent_id=self.pk).exists():
                raise ValidationError({"parent": "An org with children cannot become a child."})


class Actor(models.Model):
    """An org user seen in attribution blocks: an admin user or a till (the usual API identity)."""

    class Type(models.TextChoices):
        ADMIN_USER = "ADMIN_USER"
        TILL = "TILL"

    id = models.BigAutoField(primary_key=True)
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="actors")
    code = models.CharField(max_length=100, null=True, blank=True)
    name = models.CharField(max_length=200, null=True, blank=True)
    description = models.CharField(max_length=500, null=True, blank=True)
    type = models.CharField(max_length=20, choices=Type.choices, default=Type.TILL)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="actor"
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["org", "type"])]

    def __str__(self):
        return f"{self.name or self.code or self.id} ({self.type}, org {self.org_id})"


class Customer(models.Model):
    # Maintained by the engine under the row's lock (targets/progress/ingest.py, targets/totals.py):
    # a form's copy of them is stale by the time it saves.
    ENGINE_FIELDS = (
        "lifetime_purchases",
        "total_amount",
        "total_net_amount",
        "total_quantity",
        "attribute_totals",
    )

    class LoyaltyType(models.TextChoices):
        LOYALTY = "loyalty"
        NON_LOYALTY = "non_loyalty"

    id = models.BigAutoField(primary_key=True, verbose_name="userId")
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="customers")
    loyalty_type = models.CharField(max_length=20, choices=LoyaltyType.choices, default=LoyaltyType.LOYALTY)
    lifetime_purchases = models.DecimalField(max_digits=18, decimal_places=3, default=0)
    custom_fields = models.JSONField(default=dict, blank=True)
    # Running totals over the customer's stored activities, for the limit on sums
    # (targets/totals.py): one more digit than an amount, for a total saturated just past it.
    total_amount = models.DecimalField(max_digits=19, decimal_places=3, default=0, editable=False)
    total_net_amount = models.DecimalField(max_digits=19, decimal_places=3, default=0, editable=False)
    total_quantity = models.DecimalField(max_digits=19, decimal_places=3, default=0, editable=False)
    attribute_totals = models.JSONField(default=dict, blank=True, editable=False)
    created_on = models.DateTimeField()
    created_by = models.ForeignKey(Actor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_updated_on = models.DateTimeField()
    last_updated_by = models.ForeignKey(
        Actor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["org", "id"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lifetime_purchases__gte=0), name="customer_lifetime_purchases_non_negative"
            )
        ]

    def __str__(self):
        return f"Customer {self.id}"

    def clean(self):
        if not isinstance(self.custom_fields, dict):
            raise ValidationError({"custom_fields": "Custom fields must be a JSON object."})
        for field in ("created_by", "last_updated_by"):
            actor = getattr(self, field)
            if actor is not None and self.org_id and actor.org_id != self.org_id:
                raise ValidationError({field: "The actor belongs to another org."})


class CustomerProfile(models.Model):
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="profiles")
    first_name = models.CharField(max_length=200, blank=True)
    last_name = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=50, default="instore")
    account_id = models.CharField(max_length=100, blank=True, default="")
    org_source_id = models.BigIntegerField(default=-1)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["org", "customer"])]

    def __str__(self):
        return f"{self.first_name} {self.last_name}".strip() or f"Profile {self.pk}"

    def save(self, *args, **kwargs):
        # The org of a profile is always its customer's: callers never pick it.
        self.org_id = self.customer.org_id
        super().save(*args, **kwargs)


class CommChannel(models.Model):
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    profile = models.ForeignKey(CustomerProfile, on_delete=models.CASCADE, related_name="channels")
    type = models.CharField(max_length=30)
    value = models.CharField(max_length=254)
    primary = models.BooleanField(default=False)
    verified = models.BooleanField(default=False)
    subscribed = models.BooleanField(null=True, blank=True)
    account_id = models.CharField(max_length=100, null=True, blank=True)
    attributes = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["org", "type", "value"])]

    def __str__(self):
        return f"{self.type}: {self.value}"

    def save(self, *args, **kwargs):
        self.org_id = self.profile.org_id
        super().save(*args, **kwargs)

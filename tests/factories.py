"""factory_boy factories for every model; explicit ids are left to the database."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from customers.models import Actor, CommChannel, Customer, CustomerProfile, Org
from targets import totals
from targets.models import (
    Activity,
    GroupEnrolment,
    MilestoneTrigger,
    Streak,
    TargetGroup,
    TargetPeriod,
    TargetRule,
    UserTarget,
)

T0 = datetime(2024, 8, 1, tzinfo=UTC)


class OrgFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Org

    name = factory.Sequence(lambda n: f"Org {n}")
    timezone = "UTC"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "secret-pass")

    @factory.post_generation
    def perms(self, create, extracted, **kwargs):
        for perm in extracted or ():
            app, codename = perm.split(".")
            self.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
        if create:
            self.save()


class ActorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Actor

    org = factory.SubFactory(OrgFactory)
    code = factory.Sequence(lambda n: f"till{n}")
    name = factory.LazyAttribute(lambda a: a.code)
    description = ""
    type = Actor.Type.TILL


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    org = factory.SubFactory(OrgFactory)
    created_on = T0
    last_updated_on = T0


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerProfile

    customer = factory.SubFactory(CustomerFactory)
    org = factory.SelfAttribute("customer.org")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Customer{n}")


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CommChannel

    profile = factory.SubFactory(ProfileFactory)
    org = factory.SelfAttribute("profile.org")
    type = "mobile"
    value = factory.Sequence(lambda n: f"9100000{n:05d}")


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TargetGroup

    org = factory.SubFactory(OrgFactory)
    name = factory.Sequence(lambda n: f"Group {n}")
    target_evaluation_type = "FIXED_CALENDAR_WINDOW"
    tracking_type = "DEFAULT"
    frequency_type = "DAILY"
    frequency = 1
    total_periods = 5
    start = T0
    end = factory.LazyAttribute(
        lambda g: g.start + timedelta(days=(g.total_periods or 5)) - timedelta(seconds=1)
    )
    created_on = T0 - timedelta(days=1)
    last_updated_on = T0 - timedelta(days=1)


class PeriodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TargetPeriod

    group = factory.SubFactory(GroupFactory)
    org = factory.SelfAttribute("group.org")
    sequence = factory.Sequence(lambda n: n + 1)
    ref_code = factory.LazyAttribute(lambda p: f"Cycle_{p.sequence}")
    start = factory.LazyAttribute(lambda p: p.group.start + timedelta(days=p.sequence - 1))
    end = factory.LazyAttribute(lambda p: p.start + timedelta(days=1) - timedelta(seconds=1))


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TargetRule

    group = factory.SubFactory(GroupFactory)
    org = factory.SelfAttribute("group.org")
    name = factory.Sequence(lambda n: f"Rule {n}")
    target_entity = "TRANSACTION"
    event_name = "TransactionAdd"
    target_type = "GROSS_SALES"
    target_value = Decimal("1000")


class TriggerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MilestoneTrigger

    rule = factory.SubFactory(RuleFactory)
    org = factory.SelfAttribute("rule.org")
    trigger_name = factory.Sequence(lambda n: f"Trigger {n}")
    trigger_value = Decimal("500")


class StreakFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Streak

    group = factory.SubFactory(GroupFactory, tracking_type="STREAKS")
    org = factory.SelfAttribute("group.org")
    name = factory.Sequence(lambda n: f"Streak {n}")
    target_count_of_sequence = 2


class EnrolmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GroupEnrolment

    group = factory.SubFactory(GroupFactory)
    org = factory.SelfAttribute("group.org")
    customer = factory.SubFactory(CustomerFactory, org=factory.SelfAttribute("..group.org"))
    enrolled_on = T0
    source = "ADMIN"


def cross_org_enrolment(**kwargs):
    """An enrolment crossing orgs, which the database refuses (targets/enrolment_guard.py):
    created with the triggers dropped for a moment, to test that readers ignore such a row.
    Inside the test's transaction, so the triggers' removal is rolled back with it."""
    from django.db import connection

    from targets.enrolment_guard import create_triggers, drop_triggers

    drop_triggers(connection)
    try:
        return EnrolmentFactory(**kwargs)
    finally:
        create_triggers(connection)


class UserTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserTarget

    rule = factory.SubFactory(RuleFactory)
    org = factory.SelfAttribute("rule.org")
    period = factory.SubFactory(PeriodFactory, group=factory.SelfAttribute("..rule.group"))
    customer = factory.SubFactory(CustomerFactory, org=factory.SelfAttribute("..org"))
    achieved_value = Decimal("0")
    enrolled_on = T0


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    customer = factory.SubFactory(CustomerFactory)
    org = factory.SelfAttribute("customer.org")
    entity = "TRANSACTION"
    event_name = "TransactionAdd"
    occurred_at = T0
    amount = Decimal("100")
    external_id = factory.Sequence(lambda n: f"ext-{n}")
    received_at = T0

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Stored as the engine stores one: counted in its customer's running totals."""
        activity = super()._create(model_class, *args, **kwargs)
        totals.add_stored(activities=[activity])
        return activity


def group_with_periods(*, periods=5, rule_kwargs=None, triggers=(), streaks=(), **group_kwargs):
    """A group with `periods` daily periods, one rule (more for UNIFIED via rule_kwargs list)."""
    group = GroupFactory(total_periods=periods, **group_kwargs)
    for n in range(1, periods + 1):
        PeriodFactory(group=group, sequence=n)
    rule_specs = rule_kwargs if isinstance(rule_kwargs, list) else [rule_kwargs or {}]
    rules = [RuleFactory(group=group, **spec) for spec in rule_specs]
    for value in triggers:
        TriggerFactory(rule=rules[0], trigger_value=Decimal(value))
    for needed in streaks:
        StreakFactory(group=group, target_count_of_sequence=needed)
    return group


class EventFactory(factory.django.DjangoModelFactory):
    """An outbox row as the engine writes it (tests of the feed and the webhooks)."""

    class Meta:
        model = "events.Event"

    org = factory.SubFactory(OrgFactory)
    type = "TARGET_ACHIEVED"
    user_id = factory.Sequence(lambda n: 990_000_000 + n)
    occurred_at = T0
    emitted_at = T0
    group_id = 1
    group_name = "Spend 1000"
    rule_id = 2
    rule_name = "Gross sales"
    period_id = 3
    period_ref_code = "Cycle_1"
    achieved_value = Decimal("1000")
    target_value = Decimal("1000")
    activity_id = 4

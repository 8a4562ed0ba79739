"""Every single-row invariant of the targets models (SPEC §2), each rejected case through the
model's full_clean() (what the admin and the API run) and, where the database can hold it,
through its constraint (the last line of defence when code bypasses validation)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from customers.models import Actor
from targets.models import (
    Activity,
    MilestoneTrigger,
    PeriodTargetValue,
    Streak,
    UserMilestone,
    UserStreak,
    UserTarget,
)
from tests.factories import (
    T0,
    ActivityFactory,
    ActorFactory,
    CustomerFactory,
    EnrolmentFactory,
    GroupFactory,
    OrgFactory,
    PeriodFactory,
    RuleFactory,
    StreakFactory,
    TriggerFactory,
    UserTargetFactory,
)

pytestmark = pytest.mark.django_db


def clean_errors(obj):
    """The message dict of obj.full_clean(), {} when it passes."""
    try:
        obj.full_clean()
    except ValidationError as error:
        return error.message_dict
    return {}


def refused_by_database(write):
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


# --- TargetGroup -----------------------------------------------------------------------------


def test_group_end_before_start():
    group = GroupFactory.build(org=OrgFactory(), start=T0, end=T0 - timedelta(seconds=1))
    assert clean_errors(group)["end"] == ["The end is before the start."]
    refused_by_database(lambda: GroupFactory(start=T0, end=T0 - timedelta(seconds=1)))


def test_group_end_equal_to_start_is_allowed():
    assert clean_errors(GroupFactory.build(org=OrgFactory(), start=T0, end=T0)) == {}


def test_group_name_is_unique_per_org():
    existing = GroupFactory(name="Spend more")
    twin = GroupFactory.build(org=existing.org, name="Spend more")
    assert "already exists" in " ".join(clean_errors(twin)["__all__"])
    refused_by_database(lambda: GroupFactory(org=existing.org, name="Spend more"))
    assert clean_errors(GroupFactory.build(org=OrgFactory(), name="Spend more")) == {}


def test_group_name_is_at_most_200_characters():
    assert "name" in clean_errors(GroupFactory.build(org=OrgFactory(), name="x" * 201))


def test_group_frequency_is_at_least_one():
    assert clean_errors(GroupFactory.build(org=OrgFactory(), frequency=0))
    refused_by_database(lambda: GroupFactory(frequency=0))


def test_group_total_periods_is_at_least_one_when_given():
    assert clean_errors(GroupFactory.build(org=OrgFactory(), total_periods=0, end=T0 + timedelta(days=1)))
    refused_by_database(lambda: GroupFactory(total_periods=0, end=T0 + timedelta(days=1)))
    assert clean_errors(GroupFactory.build(org=OrgFactory(), total_periods=None, end=T0)) == {}


def test_preferred_till_must_be_a_till():
    org = OrgFactory()
    admin_user = ActorFactory(org=org, type=Actor.Type.ADMIN_USER)
    assert "preferred_till" in clean_errors(GroupFactory.build(org=org, preferred_till=admin_user))


def test_preferred_till_must_belong_to_the_group_org():
    org = OrgFactory()
    foreign_till = ActorFactory(org=OrgFactory())
    assert clean_errors(GroupFactory.build(org=org, preferred_till=foreign_till))["preferred_till"] == [
        "The preferred till belongs to another org."
    ]
    assert clean_errors(GroupFactory.build(org=org, preferred_till=ActorFactory(org=org))) == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("target_evaluation_type", "WEEKLY_WINDOW"),
        ("tracking_type", "SOMETIMES"),
        ("frequency_type", "FORTNIGHTLY"),
        ("enrolment", "SOME"),
    ],
)
def test_group_choices_are_enforced(field, value):
    assert field in clean_errors(GroupFactory.build(org=OrgFactory(), **{field: value}))


# --- TargetPeriod ----------------------------------------------------------------------------


def test_period_end_before_start():
    group = GroupFactory()
    period = PeriodFactory.build(
        group=group, org=group.org, sequence=1, start=T0, end=T0 - timedelta(seconds=1)
    )
    assert clean_errors(period)["end"] == ["The period ends before it starts."]
    refused_by_database(
        lambda: PeriodFactory(group=group, sequence=1, start=T0, end=T0 - timedelta(seconds=1))
    )


def test_shared_period_ref_code_is_unique_in_the_group():
    period = PeriodFactory(sequence=1, ref_code="Cycle_1")
    twin = PeriodFactory.build(group=period.group, org=period.org, sequence=2, ref_code="Cycle_1")
    assert clean_errors(twin)
    refused_by_database(lambda: PeriodFactory(group=period.group, sequence=2, ref_code="Cycle_1"))
    PeriodFactory(sequence=1, ref_code="Cycle_1")  # another group may use it


def test_shared_period_sequence_is_unique_in_the_group():
    period = PeriodFactory(sequence=1)
    refused_by_database(lambda: PeriodFactory(group=period.group, sequence=1, ref_code="Other"))


def test_customer_periods_repeat_ref_codes_across_customers_only():
    group = GroupFactory(target_evaluation_type="CYCLIC_WINDOW")
    first, second = CustomerFactory(org=group.org), CustomerFactory(org=group.org)
    PeriodFactory(group=group, customer=first, sequence=1, ref_code="PERIOD_G_1")
    PeriodFactory(group=group, customer=second, sequence=1, ref_code="PERIOD_G_1")
    refused_by_database(lambda: PeriodFactory(group=group, customer=first, sequence=2, ref_code="PERIOD_G_1"))
    refused_by_database(lambda: PeriodFactory(group=group, customer=first, sequence=1, ref_code="PERIOD_G_2"))


# --- TargetRule, per-period values, triggers -------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1"])
def test_rule_target_value_is_positive(value):
    group = GroupFactory()
    rule = RuleFactory.build(group=group, org=group.org, target_value=Decimal(value))
    assert clean_errors(rule)["target_value"] == ["The target value must be greater than 0."]
    refused_by_database(lambda: RuleFactory(group=group, target_value=Decimal(value)))


def test_sum_rule_needs_an_attribute():
    group = GroupFactory()
    for attribute in ("", "   "):
        rule = RuleFactory.build(group=group, org=group.org, target_type="SUM", attribute=attribute)
        assert clean_errors(rule)["attribute"] == ["A SUM target needs the activity attribute to add."]
    assert (
        clean_errors(RuleFactory.build(group=group, org=group.org, target_type="SUM", attribute="cakes"))
        == {}
    )


def test_rule_choices_are_enforced():
    group = GroupFactory()
    rule = RuleFactory.build(group=group, org=group.org, target_type="AVERAGE", target_entity="ORDER")
    assert {"target_type", "target_entity"} <= set(clean_errors(rule))


def test_per_period_value_belongs_to_the_rules_group():
    rule = RuleFactory()
    other_period = PeriodFactory(sequence=1)
    value = PeriodTargetValue(org=rule.org, rule=rule, period=other_period, target_value=Decimal("5"))
    assert clean_errors(value)["__all__"] == ["The period belongs to another group than the rule."]


def test_per_period_value_is_positive_and_unique():
    rule = RuleFactory()
    period = PeriodFactory(group=rule.group, sequence=1)
    refused_by_database(
        lambda: PeriodTargetValue.objects.create(org=rule.org, rule=rule, period=period, target_value=0)
    )
    PeriodTargetValue.objects.create(org=rule.org, rule=rule, period=period, target_value=Decimal("5"))
    refused_by_database(
        lambda: PeriodTargetValue.objects.create(
            org=rule.org, rule=rule, period=period, target_value=Decimal("6")
        )
    )


def test_trigger_value_is_at_most_the_target_value():
    rule = RuleFactory(target_value=Decimal("1000"))
    above = MilestoneTrigger(
        org=rule.org, rule=rule, trigger_name="Beyond", trigger_value=Decimal("1000.001")
    )
    assert clean_errors(above)["trigger_value"] == ["The trigger value is above the target value."]
    equal = MilestoneTrigger(org=rule.org, rule=rule, trigger_name="All", trigger_value=Decimal("1000"))
    assert clean_errors(equal) == {}


def test_trigger_value_is_not_negative():
    rule = RuleFactory()
    negative = MilestoneTrigger(org=rule.org, rule=rule, trigger_name="Below", trigger_value=Decimal("-1"))
    assert clean_errors(negative)["trigger_value"] == ["The trigger value cannot be negative."]
    refused_by_database(lambda: TriggerFactory(rule=rule, trigger_value=Decimal("-1")))
    assert clean_errors(MilestoneTrigger(org=rule.org, rule=rule, trigger_name="Zero", trigger_value=0)) == {}


# --- Streak ----------------------------------------------------------------------------------


def test_streak_needs_at_least_one_period():
    group = GroupFactory(tracking_type="STREAKS")
    streak = Streak(org=group.org, group=group, name="None", target_count_of_sequence=0)
    assert clean_errors(streak)["target_count_of_sequence"]
    refused_by_database(lambda: StreakFactory(group=group, target_count_of_sequence=0))


# --- enrolment and progress ------------------------------------------------------------------


def test_a_customer_is_enrolled_once_per_group():
    enrolment = EnrolmentFactory()
    refused_by_database(lambda: EnrolmentFactory(group=enrolment.group, customer=enrolment.customer))


def test_user_target_is_unique_per_customer_rule_and_period():
    target = UserTargetFactory()
    refused_by_database(
        lambda: UserTarget.objects.create(
            org=target.org,
            customer=target.customer,
            rule=target.rule,
            period=target.period,
            enrolled_on=T0,
        )
    )


def test_user_target_value_is_not_negative():
    refused_by_database(lambda: UserTargetFactory(achieved_value=Decimal("-1")))


def test_user_milestone_is_unique_per_user_target_and_trigger():
    target = UserTargetFactory()
    trigger = TriggerFactory(rule=target.rule, trigger_value=Decimal("1"))
    UserMilestone.objects.create(org=target.org, user_target=target, trigger=trigger, achieved_at=T0)
    refused_by_database(
        lambda: UserMilestone.objects.create(
            org=target.org, user_target=target, trigger=trigger, achieved_at=T0
        )
    )


def test_user_streak_is_unique_per_customer_and_streak_and_counts_up_from_zero():
    streak = StreakFactory()
    customer = CustomerFactory(org=streak.org)
    UserStreak.objects.create(org=streak.org, customer=customer, streak=streak)
    refused_by_database(lambda: UserStreak.objects.create(org=streak.org, customer=customer, streak=streak))
    refused_by_database(
        lambda: UserStreak.objects.create(
            org=streak.org, customer=CustomerFactory(org=streak.org), streak=streak, current_count=-1
        )
    )


# --- Activity --------------------------------------------------------------------------------


def test_activity_external_id_is_unique_per_org():
    activity = ActivityFactory(external_id="tx-1")
    refused_by_database(lambda: ActivityFactory(customer=activity.customer, external_id="tx-1"))
    ActivityFactory(external_id="tx-1")  # another org: its own idempotency key space
    assert Activity.objects.filter(external_id="tx-1").count() == 2


@pytest.mark.parametrize("field", ["amount", "net_amount", "quantity"])
def test_activity_values_are_not_negative(field):
    refused_by_database(lambda: ActivityFactory(**{field: Decimal("-0.001")}))


def test_activity_net_amount_may_be_absent():
    assert ActivityFactory(net_amount=None).net_amount is None


def test_every_org_table_is_scoped_by_org():
    from django.apps import apps

    unscoped = [
        model.__name__
        for model in apps.get_app_config("targets").get_models()
        if "org" not in {f.name for f in model._meta.fields}
    ]
    assert unscoped == []


def test_associated_with_is_all_customers_of_the_own_org_plus_enrolments(db):
    from django.db.models import Exists, OuterRef

    from customers.models import Customer
    from targets.models import TargetGroup
    from tests.factories import CustomerFactory, EnrolmentFactory, GroupFactory, OrgFactory

    home, other = OrgFactory(), OrgFactory()
    customer = CustomerFactory(org=home)
    everyone = GroupFactory(org=home, enrolment="ALL_CUSTOMERS")
    GroupFactory(org=other, enrolment="ALL_CUSTOMERS")  # another org's: not the customer's
    GroupFactory(org=home, enrolment="EXPLICIT")  # not enrolled
    GroupFactory(org=other, enrolment="EXPLICIT")  # another org's (an enrolment never crosses orgs)
    enrolled = GroupFactory(org=home, enrolment="EXPLICIT")
    EnrolmentFactory(group=enrolled, customer=customer)
    mine = TargetGroup.objects.associated_with(customer_id=customer.id, org_id=home.id)
    assert sorted(mine.values_list("id", flat=True)) == [everyone.id, enrolled.id]

    # The same rule inside a Customer query, referring to the outer customer row.
    counted = Customer.objects.filter(id=customer.id).filter(
        Exists(
            TargetGroup.objects.filter(id=enrolled.id).associated_with(
                customer_id=OuterRef("id"), org_id=OuterRef("org_id")
            )
        )
    )
    assert list(counted.values_list("id", flat=True)) == [customer.id]

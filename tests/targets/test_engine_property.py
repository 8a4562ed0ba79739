"""Property (SPEC §4): whatever the activity, however it is split into batches and in whatever
order it arrives, incremental ingestion and `recompute_progress` agree, and ingesting the same
activity again changes nothing.

Each example builds a fresh org with one group of each kind (FIXED DEFAULT with triggers, FIXED
CAPPING, VISIT in the org's timezone, PERIOD_AGNOSTIC DEFAULT and CAPPING, CYCLIC, STREAKS,
NON_CONTINUOUS_STREAK, UNIFIED FIXED and UNIFIED PERIOD_AGNOSTIC, and a group created after the
clock) and runs inside a savepoint that is rolled back, so examples never see each other."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import Customer
from targets.models import GroupEnrolment, TargetPeriod, UserMilestone, UserStreak, UserTarget
from targets.progress.ingest import APPLIED, activity_ingest
from tests.factories import (
    T0,
    CustomerFactory,
    GroupFactory,
    OrgFactory,
    RuleFactory,
    StreakFactory,
    TriggerFactory,
    group_with_periods,
)

NOW = T0 + timedelta(days=3, hours=12)  # some periods closed, some open, some to come

EVENTS = [
    ("TRANSACTION", "TransactionAdd"),
    ("TRANSACTION", "TransactionAdd"),
    ("TRANSACTION", "TransactionAdd"),
    ("TRANSACTION", "TransactionUpdate"),
    ("EVENT", "Review"),
]

activity_specs = st.fixed_dictionaries(
    {
        "key": st.integers(0, 30),  # a small pool of external ids: duplicates happen
        "seconds": st.integers(-86_400, 6 * 86_400),  # before, inside and after the groups' windows
        "micros": st.sampled_from([0, 0, 500_000]),
        "event": st.sampled_from(EVENTS),
        "amount": st.one_of(
            st.decimals(min_value=0, max_value=1500, places=3), st.sampled_from([Decimal(-1), None])
        ),
        "net": st.one_of(st.none(), st.decimals(min_value=0, max_value=1500, places=2)),
        "quantity": st.integers(0, 4),
        "stars": st.one_of(st.none(), st.integers(0, 5), st.just("many")),
    }
)


def build_program(timezone):
    """A fresh org with one group of every kind, and a customer."""
    org = OrgFactory(timezone=timezone)

    def fixed(**kwargs):
        return group_with_periods(org=org, periods=5, **kwargs)

    def agnostic(periods, **kwargs):
        return group_with_periods(
            org=org, periods=periods, target_evaluation_type="PERIOD_AGNOSTIC_WINDOW", **kwargs
        )

    fixed(triggers=("300", "1000"))
    fixed(tracking_type="CAPPING", rule_kwargs={"target_type": "SALES", "target_value": Decimal(800)})
    fixed(rule_kwargs={"target_type": "VISIT", "target_value": Decimal(1)})
    agnostic(4, rule_kwargs={"target_value": Decimal(700)}, triggers=("350",))
    agnostic(3, tracking_type="CAPPING", rule_kwargs={"target_type": "COUNT", "target_value": Decimal(2)})
    cyclic = GroupFactory(
        org=org,
        target_evaluation_type="CYCLIC_WINDOW",
        frequency_type="DAILY",
        total_periods=3,
        end=T0 + timedelta(days=4, hours=6),
    )
    TriggerFactory(rule=RuleFactory(group=cyclic, target_value=Decimal(500)), trigger_value=Decimal(100))
    streaks = fixed(tracking_type="STREAKS", rule_kwargs={"target_type": "COUNT", "target_value": Decimal(2)})
    StreakFactory(group=streaks, target_count_of_sequence=2)
    loose = fixed(
        tracking_type="NON_CONTINUOUS_STREAK",
        rule_kwargs={"target_type": "QUANTITY", "target_value": Decimal(3)},
    )
    StreakFactory(group=loose, target_count_of_sequence=3, continuous=False)
    unified_rules = [
        {"target_value": Decimal(600)},
        {"target_type": "COUNT", "target_value": Decimal(2)},
        {
            "target_entity": "EVENT",
            "event_name": "Review",
            "target_type": "SUM",
            "attribute": "stars",
            "target_value": Decimal(4),
        },
    ]
    fixed(tracking_type="UNIFIED", rule_kwargs=unified_rules)
    agnostic(3, tracking_type="UNIFIED", rule_kwargs=unified_rules)
    fixed(created_on=NOW + timedelta(hours=1))  # created after the activity arrives: never counts
    return org, CustomerFactory(org=org)


def as_item(customer, spec):
    entity, event = spec["event"]
    item = {
        "userId": customer.id,
        "entity": entity,
        "eventName": event,
        "occurredAt": (T0 + timedelta(seconds=spec["seconds"], microseconds=spec["micros"])).isoformat(),
        "externalId": f"p-{spec['key']}",
        "quantity": spec["quantity"],
    }
    if spec["amount"] is not None:
        item["amount"] = str(spec["amount"])
    if spec["net"] is not None:
        item["netAmount"] = str(spec["net"])
    if spec["stars"] is not None:
        item["attributes"] = {"stars": spec["stars"]}
    return item


def batches(items, cuts):
    """`items` cut at the positions in `cuts`."""
    edges = [0, *sorted({c % (len(items) + 1) for c in cuts}), len(items)]
    return [items[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a]


def progress(customer):
    """The customer's progress by natural keys, without row ids: each row starts with its group,
    periods are (own or shared, sequence)."""
    periods = {
        p[0]: ("own" if p[1] else "shared", p[2])
        for p in TargetPeriod.objects.filter(group__org=customer.org).values_list(
            "id", "customer_id", "sequence"
        )
    }
    targets = {
        ut.id: (ut.rule_id, periods[ut.period_id])
        for ut in UserTarget.objects.filter(customer=customer).only("id", "rule_id", "period_id")
    }
    return {
        "targets": sorted(
            (group, targets[id_], value, achieved, enrolled)
            for id_, group, value, achieved, enrolled in UserTarget.objects.filter(
                customer=customer
            ).values_list("id", "rule__group_id", "achieved_value", "achieved_at", "enrolled_on")
        ),
        "milestones": sorted(
            (group, targets[ut], trigger, at)
            for ut, group, trigger, at in UserMilestone.objects.filter(
                user_target__customer=customer
            ).values_list("user_target_id", "trigger__rule__group_id", "trigger_id", "achieved_at")
        ),
        "streaks": sorted(
            (group, streak, status, count, at, targets.get(ut))
            for group, streak, status, count, at, ut in UserStreak.objects.filter(
                customer=customer
            ).values_list(
                "streak__group_id",
                "streak_id",
                "status",
                "current_count",
                "achieved_at",
                "achieved_user_target_id",
            )
        ),
        "enrolments": sorted(
            GroupEnrolment.objects.filter(customer=customer).values_list("group_id", "enrolled_on", "source")
        ),
        "periods": sorted(
            TargetPeriod.objects.filter(customer=customer).values_list(
                "group_id", "sequence", "ref_code", "start", "end"
            )
        ),
        "lifetime_purchases": [Customer.objects.get(id=customer.id).lifetime_purchases],
    }


def without(snapshot, group_ids):
    return {
        key: [row for row in value if key == "lifetime_purchases" or row[0] not in group_ids]
        for key, value in snapshot.items()
    }


def rows(customer):
    """Every stored row that concerns the customer, ids included."""
    return {
        "customer": list(Customer.objects.filter(id=customer.id).values()),
        "activities": list(customer.activities.order_by("id").values()),
        "targets": list(UserTarget.objects.filter(customer=customer).order_by("id").values()),
        "milestones": list(
            UserMilestone.objects.filter(user_target__customer=customer).order_by("id").values()
        ),
        "streaks": list(UserStreak.objects.filter(customer=customer).order_by("id").values()),
        "enrolments": list(GroupEnrolment.objects.filter(customer=customer).order_by("id").values()),
        "periods": list(TargetPeriod.objects.filter(customer=customer).order_by("id").values()),
    }


def recompute(customer):
    call_command("recompute_progress", customer=customer.id, no_progress=True, stdout=io.StringIO())


@pytest.mark.django_db
@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    timezone=st.sampled_from(["UTC", "Asia/Kolkata", "America/New_York"]),
    specs=st.lists(activity_specs, min_size=1, max_size=30),
    cuts=st.lists(st.integers(0, 30), max_size=6),
    again_cuts=st.lists(st.integers(0, 30), max_size=3),
)
def test_incremental_ingestion_and_recompute_agree_and_repeats_change_nothing(
    db, timezone, specs, cuts, again_cuts
):
    with transaction.atomic(), override_settings(TARGETS_NOW=NOW.isoformat()):
        org, customer = build_program(timezone)
        items = [as_item(customer, spec) for spec in specs]

        # Incremental: batch after batch, in arrival order, at the same clock.
        for batch in batches(items, cuts):
            activity_ingest(org=org, items=batch, now=NOW)
        incremental = progress(customer)
        stored = rows(customer)

        # The same activity again, split differently: nothing is applied, nothing changes.
        for batch in batches(items, again_cuts):
            results = activity_ingest(org=org, items=batch, now=NOW + timedelta(hours=1))
            assert APPLIED not in {r.status for r in results}
        assert rows(customer) == stored

        # Recompute over the incremental result: nothing to change, not even a row id.
        recompute(customer)
        assert rows(customer) == stored

        # Rebuilt from the stored activities alone (CYCLIC customer periods, once created, are
        # kept): the same progress.
        wipe(customer)
        recompute(customer)
        assert progress(customer) == incremental

        # Rebuilt from nothing: the same, except that a CYCLIC group anchors its periods at the
        # earliest matching activity by event time, where ingestion anchored them at the first
        # matching activity to arrive (docs/engine.md).
        cyclic = set(
            org.target_groups.filter(target_evaluation_type="CYCLIC_WINDOW").values_list("id", flat=True)
        )
        wipe(customer)
        TargetPeriod.objects.filter(customer=customer).delete()
        recompute(customer)
        assert without(progress(customer), cyclic) == without(incremental, cyclic)

        transaction.set_rollback(True)


def wipe(customer):
    """Delete the customer's derived progress (not the activities, not the CYCLIC periods)."""
    UserStreak.objects.filter(customer=customer).delete()
    UserTarget.objects.filter(customer=customer).delete()  # and the milestones with them
    GroupEnrolment.objects.filter(customer=customer).delete()

"""targets.selectors: the default read selects in SQL only the periods its answer needs, and
its answer is exactly the full answer's current periods (with the same streaks)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from targets.selectors import Filters, customer_targets, user_target_groups
from tests.factories import T0, CustomerFactory, OrgFactory, UserTargetFactory, group_with_periods


def achieve(customer, rule, period, *, hours=1, value="1000"):
    return UserTargetFactory(
        customer=customer,
        rule=rule,
        period=period,
        achieved_value=Decimal(value),
        achieved_at=period.start + timedelta(hours=hours),
    )


@pytest.fixture
def programs(db):
    """One customer in a FIXED group, a continuous and a non-continuous streak group, and
    PERIOD_AGNOSTIC groups (one UNIFIED with an inactive rule), with progress here and there."""
    org = OrgFactory()
    customer = CustomerFactory(org=org)
    fixed = group_with_periods(org=org, periods=6, triggers=("500",))
    streaks = group_with_periods(org=org, periods=6, tracking_type="STREAKS", streaks=(2, 3))
    loose = group_with_periods(org=org, periods=6, tracking_type="NON_CONTINUOUS_STREAK", streaks=(3,))
    agnostic = group_with_periods(
        org=org, periods=6, target_evaluation_type="PERIOD_AGNOSTIC_WINDOW", streaks=(2,)
    )
    unified = group_with_periods(
        org=org,
        periods=6,
        target_evaluation_type="PERIOD_AGNOSTIC_WINDOW",
        tracking_type="UNIFIED",
        rule_kwargs=[{}, {}, {"active": False}],
    )
    for group, sequences in ((fixed, (1, 4)), (streaks, (1, 2, 5)), (loose, (2, 6)), (agnostic, (1, 2, 4))):
        rule = group.rules.get()
        for period in group.periods.filter(sequence__in=sequences):
            achieve(customer, rule, period)
    first, second = unified.rules.filter(active=True).order_by("id")
    for period in unified.periods.filter(sequence__in=(1, 2, 3)):
        achieve(customer, first, period)
    for period in unified.periods.filter(sequence__in=(1, 3)):
        achieve(customer, second, period, hours=2)
    UserTargetFactory(customer=customer, rule=fixed.rules.get(), period=fixed.periods.get(sequence=3))
    return customer


@pytest.mark.parametrize("day", [-1, 0, 2, 3.5, 5, 9])
def test_the_default_read_is_the_full_reads_current_periods(programs, day):
    customer = programs
    now = T0 + timedelta(days=day)
    query = {"customer_id": customer.id, "org_ids": {customer.org_id}, "now": now}
    full = user_target_groups(**query, filters=Filters(include_inactive=True))
    default = user_target_groups(**query, filters=Filters())
    assert len(default["targetGroups"]) == len(full["targetGroups"]) == 5
    for mine, every in zip(default["targetGroups"], full["targetGroups"], strict=True):
        assert mine["targets"] == [t for t in every["targets"] if t["currentPeriod"]]
        assert mine.get("streaks") == every.get("streaks")
        assert {k: v for k, v in mine.items() if k != "targets"} == {
            k: v for k, v in every.items() if k != "targets"
        }
    agnostic = {g["name"]: g for g in default["targetGroups"]}
    assert len(agnostic[list(agnostic)[4]]["targets"]) == 2  # UNIFIED: its two active rules


def test_the_default_read_fetches_only_the_periods_its_answer_needs(db):
    org = OrgFactory()
    customer = CustomerFactory(org=org)
    plain = group_with_periods(org=org, periods=400)
    streaky = group_with_periods(org=org, periods=400, tracking_type="STREAKS", streaks=(2,))
    agnostic = group_with_periods(org=org, periods=400, target_evaluation_type="PERIOD_AGNOSTIC_WINDOW")
    for period in agnostic.periods.filter(sequence__in=(1, 2, 300)):
        achieve(customer, agnostic.rules.get(), period)
    achieve(customer, streaky.rules.get(), streaky.periods.get(sequence=350))
    now = T0 + timedelta(days=9, hours=5)  # in the tenth daily period

    records = customer_targets(customer_id=customer.id, org_ids={org.id}, now=now, filters=Filters())

    sequences = {gid: [p.sequence for p in periods] for gid, periods in records.periods.items()}
    assert sequences[plain.id] == [10]
    assert sequences[streaky.id] == [*range(1, 11), 350]  # closed, current, and achieved ones
    assert sequences[agnostic.id] == [1, 2, 3, 300]  # up to the first without progress, and achieved
    assert {ut.period_id for ut in records.user_targets.values()} <= {
        p.id for periods in records.periods.values() for p in periods
    }
    data = user_target_groups(customer_id=customer.id, org_ids={org.id}, now=now, filters=Filters())
    current = {g["id"]: [t["periodRefCode"] for t in g["targets"]] for g in data["targetGroups"]}
    assert current == {plain.id: ["Cycle_10"], streaky.id: ["Cycle_10"], agnostic.id: ["Cycle_3"]}

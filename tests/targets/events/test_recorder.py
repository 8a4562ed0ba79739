"""Achievement events (issue 16) from each path that causes them, on the engine's own writes:
activity, late activity, configuration change, enrol/unenrol, a streak's period closing; and
none from replays, duplicates, recompute, refreshes reaching the same state, or rollbacks."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction

from targets.configuration import group_enrol, group_unenrol, group_update
from targets.events.models import Event
from targets.events.sweep import sweep_streak_drops
from targets.models import Activity, UserStreak
from targets.refresh import refresh_customers
from tests.factories import T0, CustomerFactory, group_with_periods
from tests.targets.test_engine import NOW, at, ingest, item

pytestmark = pytest.mark.django_db


def emitted(customer, since=0):
    """[(type, rule id, period sequence or None, trigger id, streak id)] of the customer's events."""
    return [
        (e.type, e.rule_id, e.period_ref_code or None, e.trigger_id, e.streak_id)
        for e in Event.objects.filter(user_id=customer.id, id__gt=since).order_by("id")
    ]


def types(customer, since=0):
    return [e.type for e in Event.objects.filter(user_id=customer.id, id__gt=since).order_by("id")]


def last_id():
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def rule_data(rule, **changes):
    return {
        "id": rule.id,
        "name": rule.name,
        "target_entity": rule.target_entity,
        "event_name": rule.event_name,
        "target_type": rule.target_type,
        "target_value": rule.target_value,
        "triggers": [
            {"id": t.id, "trigger_name": t.trigger_name, "trigger_value": t.trigger_value}
            for t in rule.triggers.all()
        ],
    } | changes


@pytest.fixture
def shop():
    group = group_with_periods(periods=5, triggers=["500"])
    return group, CustomerFactory(org=group.org)


def test_an_activity_enrols_reaches_a_milestone_then_the_target_each_announced_once(shop):
    group, customer = shop
    rule = group.rules.get()
    trigger = rule.triggers.get()
    ingest(customer, item(customer, at(1), 600, externalId="a1"))
    first = Activity.objects.get(external_id="a1")
    assert emitted(customer) == [
        ("ENROLLED", None, None, None, None),
        ("MILESTONE_ACHIEVED", rule.id, "Cycle_1", trigger.id, None),
    ]
    enrolled, milestone = Event.objects.filter(user_id=customer.id).order_by("id")
    assert (milestone.occurred_at, milestone.activity_id) == (at(1), first.id)
    assert (milestone.achieved_value, milestone.target_value) == (Decimal(600), Decimal(500))
    assert (milestone.group_name, milestone.rule_name, milestone.trigger_name) == (
        group.name,
        rule.name,
        trigger.trigger_name,
    )
    assert (milestone.org_id, milestone.emitted_at) == (group.org_id, NOW)
    assert (enrolled.group_id, enrolled.activity_id, enrolled.source) == (group.id, first.id, "ACTIVITY")

    mark = last_id()
    ingest(customer, item(customer, at(1, 14), 500, externalId="a2"))
    second = Activity.objects.get(external_id="a2")
    (achieved,) = Event.objects.filter(user_id=customer.id, id__gt=mark)
    assert achieved.type == "TARGET_ACHIEVED"
    assert (achieved.occurred_at, achieved.activity_id) == (at(1, 14), second.id)
    assert (achieved.achieved_value, achieved.target_value, achieved.period_id) == (
        Decimal(1100),
        Decimal(1000),
        achieved.period_id,
    )

    # More activity in the achieved period, a duplicate, a recompute, a refresh: nothing new.
    mark = last_id()
    ingest(customer, item(customer, at(1, 15), 50), item(customer, at(1, 16), 10, externalId="a2"))
    call_command("recompute_progress", no_progress=True, stdout=None)
    with transaction.atomic():
        refresh_customers(group_id=group.id, customer_ids=[customer.id], now=NOW + timedelta(days=1))
    assert types(customer, mark) == []


def test_a_late_activity_achieves_a_past_period_at_its_own_moment(shop):
    group, customer = shop
    ingest(customer, item(customer, at(3), 100))
    mark = last_id()
    late = ingest(customer, item(customer, at(1), 1200, externalId="late"), now=NOW + timedelta(days=3))
    assert [r.status for r in late] == ["APPLIED"]
    events = list(Event.objects.filter(user_id=customer.id, id__gt=mark))
    assert [(e.type, e.period_ref_code, e.occurred_at) for e in events] == [
        ("TARGET_ACHIEVED", "Cycle_1", at(1)),
        ("MILESTONE_ACHIEVED", "Cycle_1", at(1)),
    ]
    assert {e.activity_id for e in events} == {Activity.objects.get(external_id="late").id}


def test_unified_period_is_announced_when_its_last_rule_is_achieved():
    group = group_with_periods(
        periods=3,
        tracking_type="UNIFIED",
        rule_kwargs=[
            {"target_type": "GROSS_SALES", "target_value": Decimal(100)},
            {"target_entity": "EVENT", "event_name": "Visit", "target_type": "COUNT", "target_value": 1},
        ],
    )
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(2), 150))
    assert types(customer) == ["ENROLLED", "TARGET_ACHIEVED"]
    mark = last_id()
    ingest(customer, item(customer, at(2, 13), entity="EVENT", event="Visit"))
    unified = Event.objects.filter(user_id=customer.id, id__gt=mark).order_by("id")
    assert [e.type for e in unified] == ["TARGET_ACHIEVED", "UNIFIED_TARGET_ACHIEVED"]
    assert (unified[1].occurred_at, unified[1].achieved_value, unified[1].target_value) == (
        at(2, 13),
        2,
        2,
    )
    assert unified[1].activity_id == unified[0].activity_id
    ingest(customer, item(customer, at(2, 14), entity="EVENT", event="Visit"))
    assert types(customer, unified[1].id) == []


def test_a_streak_is_achieved_and_a_dropped_one_is_found_when_its_period_closes():
    group = group_with_periods(periods=5, tracking_type="STREAKS", streaks=[2])
    streak = group.streaks.get()
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(1), 1000), now=at(1, 13))
    assert UserStreak.objects.get(customer=customer).status == "IN_PROGRESS"
    mark = last_id()

    # Day 2 closes without a purchase: nothing is written until the sweep runs.
    assert sweep_streak_drops(now=at(2, 12)) == 1
    assert types(customer, mark) == []
    assert sweep_streak_drops(now=at(3, 1), since=at(2, 12)) == 1
    (dropped,) = Event.objects.filter(user_id=customer.id, id__gt=mark)
    assert (dropped.type, dropped.streak_id, dropped.streak_name) == (
        "STREAK_DROPPED",
        streak.id,
        streak.name,
    )
    assert (dropped.occurred_at, dropped.achieved_value, dropped.target_value) == (
        group.periods.get(sequence=2).end,
        1,
        2,
    )
    assert sweep_streak_drops(now=at(3, 2)) == 0  # stored as DROPPED: no candidate, no event

    mark = last_id()
    ingest(customer, item(customer, at(3), 1000), item(customer, at(4), 1000), now=at(4, 13))
    events = list(Event.objects.filter(user_id=customer.id, id__gt=mark).order_by("id"))
    assert [e.type for e in events] == ["TARGET_ACHIEVED", "TARGET_ACHIEVED", "STREAK_ACHIEVED"]
    assert (events[2].occurred_at, events[2].activity_id, events[2].achieved_value) == (
        at(4),
        events[1].activity_id,
        2,
    )


def test_a_broken_run_is_announced_when_new_activity_finds_it_before_the_sweep():
    group = group_with_periods(periods=5, tracking_type="STREAKS", streaks=[3])
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(1), 1000), item(customer, at(2), 1000), now=at(2, 13))
    mark = last_id()
    ingest(customer, item(customer, at(4), 1000), now=at(4, 13))
    assert types(customer, mark) == ["STREAK_DROPPED", "TARGET_ACHIEVED"]  # in event time
    assert (
        Event.objects.get(id__gt=mark, type="STREAK_DROPPED").occurred_at == group.periods.get(sequence=3).end
    )


def test_a_configuration_change_revokes_and_restores_achievements(shop, settings):
    group, customer = shop
    rule = group.rules.get()
    ingest(customer, item(customer, at(1), 1000))
    mark = last_id()
    later = NOW + timedelta(days=1)
    group_update(
        group=group, actor=None, data={"rules": [rule_data(rule, target_value=2000)]}, now=later, partial=True
    )
    (revoked,) = Event.objects.filter(user_id=customer.id, id__gt=mark)
    assert (revoked.type, revoked.revoked_type, revoked.occurred_at) == (
        "ACHIEVEMENT_REVOKED",
        "TARGET_ACHIEVED",
        later,
    )
    assert (revoked.achieved_value, revoked.target_value, revoked.activity_id) == (
        Decimal(1000),
        Decimal(2000),
        None,
    )
    mark = last_id()
    rule.refresh_from_db()
    group_update(
        group=group, actor=None, data={"rules": [rule_data(rule, target_value=900)]}, now=later, partial=True
    )
    assert types(customer, mark) == ["TARGET_ACHIEVED"]
    # The same configuration saved again reaches the same state: nothing.
    mark = last_id()
    rule.refresh_from_db()
    group_update(group=group, actor=None, data={"rules": [rule_data(rule)]}, now=later, partial=True)
    assert types(customer, mark) == []


def test_a_deleted_trigger_that_was_reached_is_revoked_with_its_target_when_the_period_goes(shop):
    group, customer = shop
    ingest(customer, item(customer, at(1), 1000))
    mark = last_id()
    with transaction.atomic():
        from targets.models import TargetPeriod

        TargetPeriod.objects.filter(group=group, sequence=1).update(
            start=T0 + timedelta(days=30), end=T0 + timedelta(days=31)
        )
        refresh_customers(group_id=group.id, customer_ids=[customer.id], now=NOW)
    assert sorted(
        (e.type, e.revoked_type) for e in Event.objects.filter(user_id=customer.id, id__gt=mark)
    ) == [
        ("ACHIEVEMENT_REVOKED", "MILESTONE_ACHIEVED"),
        ("ACHIEVEMENT_REVOKED", "TARGET_ACHIEVED"),
    ]


def test_enrol_and_unenrol_are_announced_once_each():
    group = group_with_periods(periods=5, enrolment="EXPLICIT")
    customer = CustomerFactory(org=group.org)
    group_enrol(group=group, user_ids=[customer.id, customer.id], now=NOW)
    group_enrol(group=group, user_ids=[customer.id], now=NOW)  # already enrolled
    group_unenrol(group=group, user_ids=[customer.id], now=NOW + timedelta(hours=1))
    group_unenrol(group=group, user_ids=[customer.id], now=NOW + timedelta(hours=2))  # not enrolled
    events = list(Event.objects.filter(user_id=customer.id).order_by("id"))
    assert [(e.type, e.occurred_at, e.group_id, e.group_name) for e in events] == [
        ("ENROLLED", NOW, group.id, group.name),
        ("UNENROLLED", NOW + timedelta(hours=1), group.id, group.name),
    ]
    assert events[0].source == "API"


def test_an_initial_balance_reaching_the_target_follows_the_enrolment():
    group = group_with_periods(periods=30, enrolment="EXPLICIT")
    customer = CustomerFactory(org=group.org)
    group_enrol(group=group, user_ids=[customer.id], now=at(2), initial_balance=Decimal(1000))
    assert types(customer) == ["ENROLLED", "TARGET_ACHIEVED"]


def test_nothing_is_left_when_the_transaction_rolls_back(shop):
    group, customer = shop

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        ingest(customer, item(customer, at(1), 5000))
        assert types(customer) == ["ENROLLED", "TARGET_ACHIEVED", "MILESTONE_ACHIEVED"]
        raise Boom
    assert types(customer) == []
    assert not Activity.objects.filter(customer=customer).exists()


def test_events_off_writes_none(shop, settings):
    settings.EVENTS_ENABLED = False
    group, customer = shop
    ingest(customer, item(customer, at(1), 5000))
    assert types(customer) == []


def test_raising_a_unified_rule_revokes_the_rule_and_the_unified_period():
    group = group_with_periods(
        periods=5,
        tracking_type="UNIFIED",
        rule_kwargs=[
            {"target_type": "GROSS_SALES", "target_value": Decimal(100)},
            {"target_entity": "EVENT", "event_name": "Visit", "target_type": "COUNT", "target_value": 1},
        ],
    )
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(2), 150), item(customer, at(2, 13), entity="EVENT", event="Visit"))
    assert types(customer) == ["ENROLLED", "TARGET_ACHIEVED", "TARGET_ACHIEVED", "UNIFIED_TARGET_ACHIEVED"]
    mark = last_id()
    sales = group.rules.get(target_type="GROSS_SALES")
    visits = group.rules.get(target_type="COUNT")
    data = {"rules": [rule_data(sales, target_value=500), rule_data(visits)]}
    group_update(group=group, actor=None, data=data, now=NOW, partial=True)
    revoked = list(Event.objects.filter(user_id=customer.id, id__gt=mark).order_by("id"))
    assert sorted((e.type, e.revoked_type, e.rule_id) for e in revoked) == [
        ("ACHIEVEMENT_REVOKED", "TARGET_ACHIEVED", sales.id),
        ("ACHIEVEMENT_REVOKED", "UNIFIED_TARGET_ACHIEVED", None),
    ]
    assert all(e.occurred_at == NOW and e.activity_id is None for e in revoked)


def test_raising_the_target_revokes_an_achieved_streak():
    group = group_with_periods(periods=5, tracking_type="STREAKS", streaks=[1])
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(2), 1000))
    assert types(customer) == ["ENROLLED", "TARGET_ACHIEVED", "STREAK_ACHIEVED"]
    mark = last_id()
    rule = group.rules.get()
    group_update(
        group=group, actor=None, data={"rules": [rule_data(rule, target_value=5000)]}, now=NOW, partial=True
    )
    assert sorted(
        (e.type, e.revoked_type) for e in Event.objects.filter(user_id=customer.id, id__gt=mark)
    ) == [("ACHIEVEMENT_REVOKED", "STREAK_ACHIEVED"), ("ACHIEVEMENT_REVOKED", "TARGET_ACHIEVED")]


def test_names_are_stored_as_they_are_and_ids_are_random_uuids():
    # PostgreSQL gets events as COPY text the recorder formats itself: tabs, newlines and
    # backslashes in names must come back unchanged.
    group = group_with_periods(periods=5, triggers=["500"], name="Tab\there \\ new\nline, café")
    rule = group.rules.get()
    rule.name = "Spend\\t 1000\r\n"
    rule.save()
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(1), 1000), item(customer, at(2), 1000))
    events = list(Event.objects.filter(user_id=customer.id))
    assert {e.group_name for e in events} == {group.name}
    assert {e.rule_name for e in events if e.rule_id} == {rule.name}
    assert all(e.uuid.version == 4 for e in events)
    assert len({e.uuid for e in events}) == len(events) == 5

"""Property (issue 12, docs/engine.md "Configuration changes"): whatever interleaving of activity
and configuration changes, with the service clock moving on between steps, what the engine
stored — and what the read endpoint shows from it — equals a rebuild of progress from the
activity log alone (`recompute_progress` over emptied progress), after EVERY step; and no
CAPPING user target is above its period's target.

Each example builds a fresh org through the configuration service (`group_create`, as the API
and the admin do) with one group of each kind that a change can reach: FIXED DEFAULT with a
trigger and a window that can move, FIXED CAPPING, PERIOD_AGNOSTIC CAPPING, CYCLIC, STREAKS,
UNIFIED, an EXPLICIT STREAKS group and an EXPLICIT PERIOD_AGNOSTIC CAPPING group (enrolment,
unenrolment, re-enrolment, `initialBalance`, `resetStreakStatus`), and a group created later
whose program can be backdated (`countActivityFrom`). Two customers; activity arrives late
(occurredAt before earlier ones) as often as not. Every configuration change goes through the
real services (`group_update`, `group_enrol`, `group_unenrol`, `group_set_active`); a change the
service refuses (a progress conflict, an invalid window) changes nothing and the run goes on.
Each example runs inside a savepoint that is rolled back; each rebuild inside a nested one.

Per-period target overrides are not covered: no configuration door writes them yet."""

import contextlib
import io
import os
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from targets.configuration import (
    ConfigurationInvalid,
    group_create,
    group_enrol,
    group_unenrol,
    group_update,
)
from targets.models import (
    EnrolmentSource,
    GroupEnrolment,
    PeriodTargetValue,
    TargetGroup,
    TargetPeriod,
    UserMilestone,
    UserStreak,
    UserTarget,
)
from targets.progress.ingest import activity_ingest
from targets.selectors import Filters, user_target_groups
from targets.services import ConfigurationConflict, group_set_active
from tests.factories import T0, CustomerFactory, OrgFactory

CREATED = T0 - timedelta(days=1)  # the groups' creation
START = T0 + timedelta(hours=1)  # the service clock at the first step
LATE = T0 + timedelta(days=1, hours=12)  # the backdatable group's creation

SALE = ("TRANSACTION", "TransactionAdd")
COFFEE = ("EVENT", "Coffee")


def _rule(kind, target_type, value, *, triggers=()):
    entity, event = kind
    return {
        "name": f"{target_type} {event} {value}",
        "active": True,
        "target_entity": entity,
        "event_name": event,
        "target_type": target_type,
        "attribute": "",
        "target_value": Decimal(value),
        "triggers": [{"trigger_name": f"at {t}", "trigger_value": Decimal(t)} for t in triggers],
    }


def _group(name, *, evaluation="FIXED_CALENDAR_WINDOW", tracking="DEFAULT", periods=5, **extra):
    return {
        "name": name,
        "target_evaluation_type": evaluation,
        "tracking_type": tracking,
        "enrolment": "ALL_CUSTOMERS",
        "frequency_type": "DAILY",
        "frequency": 1,
        "total_periods": periods,
        "start": T0,
        "end": T0 + timedelta(days=periods) - timedelta(seconds=1),
        "streaks": [],
        **extra,
    }


# key -> (group data, what a value change may set its rules to)
SALES_VALUES = [100, 300, 500, 800, 1000, 1500]
COUNT_VALUES = [1, 2, 3, 4]
PROGRAM = {
    "fixed": _group("Fixed", rules=[_rule(SALE, "GROSS_SALES", 1000, triggers=(300,))]),
    "capping": _group("Capping", tracking="CAPPING", rules=[_rule(SALE, "GROSS_SALES", 800)]),
    "agnostic": _group(
        "Agnostic capping",
        evaluation="PERIOD_AGNOSTIC_WINDOW",
        tracking="CAPPING",
        periods=3,
        rules=[_rule(COFFEE, "COUNT", 2)],
    ),
    "cyclic": _group(
        "Cyclic",
        evaluation="CYCLIC_WINDOW",
        periods=3,
        end=T0 + timedelta(days=4, hours=6),
        rules=[_rule(SALE, "GROSS_SALES", 500, triggers=(100,))],
    ),
    "streaks": _group(
        "Streaks",
        tracking="STREAKS",
        rules=[_rule(COFFEE, "COUNT", 2)],
        streaks=[{"name": "Two days", "target_count_of_sequence": 2}],
    ),
    "unified": _group(
        "Unified",
        tracking="UNIFIED",
        rules=[_rule(SALE, "GROSS_SALES", 600), _rule(COFFEE, "COUNT", 2)],
    ),
    "explicit": _group(
        "Explicit streaks",
        tracking="STREAKS",
        enrolment="EXPLICIT",
        rules=[_rule(COFFEE, "COUNT", 1)],
        streaks=[{"name": "Two days", "target_count_of_sequence": 2}],
    ),
    "explicit_agnostic": _group(
        "Explicit agnostic capping",
        evaluation="PERIOD_AGNOSTIC_WINDOW",
        tracking="CAPPING",
        enrolment="EXPLICIT",
        periods=3,
        rules=[_rule(SALE, "GROSS_SALES", 500)],
    ),
    "backdated": _group("Backdated", rules=[_rule(COFFEE, "COUNT", 3)]),
}
EXPLICIT = ["explicit", "explicit_agnostic"]


def build_program():
    org = OrgFactory(timezone="UTC")
    groups = {}
    for key, data in PROGRAM.items():
        created = LATE if key in ("backdated", "explicit") else CREATED
        groups[key] = group_create(org=org, actor=None, data=data, now=created).group.pk
    customers = CustomerFactory.create_batch(2, org=org)
    return org, groups, customers


# --- the steps ------------------------------------------------------------------------------

activity = st.fixed_dictionaries(
    {
        "customer": st.integers(0, 1),
        "kind": st.sampled_from([SALE, SALE, COFFEE]),
        "hours": st.integers(-12, 6 * 24),  # before, inside and after the windows
        "amount": st.sampled_from([Decimal(0), Decimal(50), Decimal(120), Decimal(300), Decimal(700)]),
    }
)
steps = st.one_of(
    st.tuples(st.just("activity"), st.lists(activity, min_size=1, max_size=3)),
    st.tuples(
        st.just("value"),
        st.sampled_from(
            ["fixed", "capping", "agnostic", "cyclic", "streaks", "unified", "explicit_agnostic"]
        ),
        st.integers(0, 1),
        st.integers(0, 5),
    ),
    st.tuples(st.just("rule_active"), st.sampled_from(["fixed", "unified", "streaks"]), st.integers(0, 2)),
    st.tuples(
        st.just("group_active"),
        st.sampled_from(["fixed", "capping", "agnostic", "explicit"]),
        st.booleans(),  # through the configuration API's service, or the admin action's
    ),
    st.tuples(
        st.just("enrol"),
        st.sampled_from(EXPLICIT + ["fixed"]),
        st.integers(0, 1),
        st.sampled_from([None, None, Decimal(1), Decimal(300), Decimal(900)]),
        st.booleans(),
    ),
    st.tuples(st.just("unenrol"), st.sampled_from(EXPLICIT + ["fixed"]), st.integers(0, 1)),
    st.tuples(st.just("window"), st.sampled_from(["fixed", "cyclic"]), st.integers(2, 7)),
    st.tuples(st.just("backdate"), st.sampled_from(["backdated", "explicit"])),
    st.tuples(st.just("explicit"), st.just("fixed")),
    st.tuples(st.just("add_rule"), st.just("unified")),
)
program_steps = st.lists(
    # Minutes the clock moves on. Never 0: activity received at the very instant of a
    # deactivation or an unenrolment is a known disagreement (the xfail tests below).
    st.tuples(st.sampled_from([1, 5, 60, 180, 360, 720]), steps),
    min_size=1,
    max_size=14,
)


class Run:
    def __init__(self, org, groups, customers):
        self.org, self.groups, self.customers = org, groups, customers
        self.now = START
        self.sent = 0
        self.history = []  # (clock, step): what a failure message shows

    def group(self, key):
        return TargetGroup.objects.select_related("org").get(pk=self.groups[key])

    @staticmethod
    def rules_data(_self, group, change=None):
        """The group's rules as a PATCH gives them (every rule with its triggers kept), with
        `change(index, item)` applied."""
        items = []
        for i, rule in enumerate(group.rules.order_by("id").prefetch_related("triggers")):
            item = {
                "id": rule.pk,
                "name": rule.name,
                "active": rule.active,
                "target_entity": rule.target_entity,
                "event_name": rule.event_name,
                "target_type": rule.target_type,
                "attribute": rule.attribute,
                "target_value": rule.target_value,
                "triggers": [{"id": t.pk} for t in rule.triggers.all()],
            }
            items.append(change(i, item) if change else item)
        return items

    def update(self, key, data):
        # A refused change (a progress conflict, an invalid window) changes nothing: the
        # service's transaction rolled back.
        with contextlib.suppress(ConfigurationInvalid, ConfigurationConflict):
            group_update(group=self.group(key), actor=None, data=data, now=self.now, partial=True)

    def apply(self, step):
        kind, *args = step
        if kind == "activity":
            items = []
            for spec in args[0]:
                self.sent += 1
                entity, event = spec["kind"]
                items.append(
                    {
                        "userId": self.customers[spec["customer"]].id,
                        "entity": entity,
                        "eventName": event,
                        "occurredAt": (T0 + timedelta(hours=spec["hours"])).isoformat(),
                        "amount": str(spec["amount"]),
                        "externalId": f"c-{self.sent}",
                    }
                )
            activity_ingest(org=self.org, items=items, now=self.now)
        elif kind == "value":
            key, index, choice = args

            def value(i, item):
                if i == index % len(rules):
                    values = COUNT_VALUES if item["target_type"] == "COUNT" else SALES_VALUES
                    item["target_value"] = Decimal(values[choice % len(values)])
                return item

            group = self.group(key)
            rules = list(group.rules.all())
            self.update(key, {"rules": self.rules_data(self, group, value)})
        elif kind == "rule_active":
            key, index = args
            group = self.group(key)
            rules = list(group.rules.all())

            def toggle(i, item):
                if i == index % len(rules):
                    item["active"] = not item["active"]
                return item

            self.update(key, {"rules": self.rules_data(self, group, toggle)})
        elif kind == "group_active":
            key, through_api = args
            group = self.group(key)
            if through_api:
                self.update(key, {"active": not group.active})
            else:
                group_set_active(groups=[group], active=not group.active, actor=None, now=self.now)
        elif kind == "enrol":
            key, who, balance, reset = args
            with contextlib.suppress(ConfigurationInvalid):  # not EXPLICIT (yet)
                group_enrol(
                    group=self.group(key),
                    user_ids=[self.customers[who].id],
                    now=self.now,
                    initial_balance=balance,
                    reset_streaks=reset,
                )
        elif kind == "unenrol":
            key, who = args
            with contextlib.suppress(ConfigurationInvalid):
                group_unenrol(group=self.group(key), user_ids=[self.customers[who].id], now=self.now)
        elif kind == "window":
            key, days = args
            end = T0 + timedelta(days=days) - timedelta(seconds=1)
            data = {"end": end} if key == "cyclic" else {"end": end, "total_periods": days}
            self.update(key, data)
        elif kind == "backdate":
            self.update(args[0], {"count_activity_from": T0 - timedelta(days=2)})
        elif kind == "explicit":
            self.update(args[0], {"enrolment": "EXPLICIT"})
        elif kind == "add_rule":
            group = self.group(args[0])
            if group.rules.count() < 3:
                extra = _rule(COFFEE, "COUNT", 1) | {"name": "Added later"}
                self.update(args[0], {"rules": [*self.rules_data(self, group), extra]})
        else:
            raise AssertionError(kind)


# --- what is compared -----------------------------------------------------------------------


def stored(customer):
    """The customer's stored progress by natural keys (no row ids). Stored streak states are as
    of the last refresh (docs/engine.md): they are compared through the read endpoint, which
    derives them at request time."""
    periods = {
        p[0]: ("own" if p[1] else "shared", p[2], p[3])
        for p in TargetPeriod.objects.filter(group__org=customer.org).values_list(
            "id", "customer_id", "group_id", "sequence"
        )
    }
    targets = {
        ut.id: (ut.rule_id, periods[ut.period_id])
        for ut in UserTarget.objects.filter(customer=customer).only("id", "rule_id", "period_id")
    }
    return {
        "targets": sorted(
            (targets[id_], value, achieved, enrolled)
            for id_, value, achieved, enrolled in UserTarget.objects.filter(customer=customer).values_list(
                "id", "achieved_value", "achieved_at", "enrolled_on"
            )
        ),
        "milestones": sorted(
            (targets[ut], trigger, at)
            for ut, trigger, at in UserMilestone.objects.filter(user_target__customer=customer).values_list(
                "user_target_id", "trigger_id", "achieved_at"
            )
        ),
        "enrolments": sorted(
            GroupEnrolment.objects.filter(customer=customer).values_list("group_id", "enrolled_on", "source")
        ),
    }


def shown(customer, now):
    """The read endpoint's answer (includeInactive, includeInactiveTargets), without row ids."""
    data = user_target_groups(
        customer_id=customer.id,
        org_ids=[customer.org_id],
        now=now,
        filters=Filters(include_inactive=True, include_inactive_targets=True),
    )
    for group in data["targetGroups"]:
        for target in group["targets"]:
            target["targetId"] = target["targetId"] is not None
        for streak in group.get("streaks") or []:
            streak["userStreakId"] = streak["userStreakId"] is not None
            streak["streakAchievedUserTargetId"] = streak["streakAchievedUserTargetId"] is not None
    return data


class Rollback(Exception):
    pass


def rebuilt(customer, now):
    """(stored, shown) after the customer's progress is rebuilt from the activity log alone:
    derived rows deleted (enrolments made by an admin or the API are configuration, kept),
    `recompute_progress` at the same clock; rolled back afterwards."""
    try:
        with transaction.atomic():
            UserStreak.objects.filter(customer=customer).delete()
            UserTarget.objects.filter(customer=customer).delete()  # and the milestones with them
            GroupEnrolment.objects.filter(customer=customer, source=EnrolmentSource.ACTIVITY).delete()
            with override_settings(TARGETS_NOW=now.isoformat()):
                call_command(
                    "recompute_progress", customer=customer.id, no_progress=True, stdout=io.StringIO()
                )
            result = stored(customer), shown(customer, now)
            raise Rollback
    except Rollback:
        return result


def assert_capping_holds(org):
    overrides = dict(
        ((r, p), v)
        for r, p, v in PeriodTargetValue.objects.filter(rule__group__org=org).values_list(
            "rule_id", "period_id", "target_value"
        )
    )
    for rule_id, period_id, value, target in UserTarget.objects.filter(
        rule__group__org=org, rule__group__tracking_type="CAPPING"
    ).values_list("rule_id", "period_id", "achieved_value", "rule__target_value"):
        limit = overrides.get((rule_id, period_id), target)
        assert value <= limit, f"CAPPING: {value} above the target {limit} (rule {rule_id})"


def check(run):
    steps = "\n".join(f"  {at.isoformat()} {step}" for at, step in run.history)
    for n, customer in enumerate(run.customers):
        now_stored, now_shown = stored(customer), shown(customer, run.now)
        again_stored, again_shown = rebuilt(customer, run.now)
        assert now_stored == again_stored, (
            f"customer {n}: stored progress differs from a rebuild after\n{steps}"
        )
        assert now_shown == again_shown, (
            f"customer {n}: the read endpoint differs from a rebuild after\n{steps}"
        )
    assert_capping_holds(run.org)


@pytest.mark.django_db
@settings(
    # 40 examples of up to 14 steps, each checked against a rebuild for both customers: ~40 s on
    # SQLite. CONFIG_PROPERTY_EXAMPLES=300 for a longer hunt.
    max_examples=int(os.environ.get("CONFIG_PROPERTY_EXAMPLES", "40")),
    derandomize=True,
    phases=[Phase.explicit, Phase.generate] if os.environ.get("NO_SHRINK") else list(Phase),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(program=program_steps)
def test_after_every_activity_or_configuration_change_progress_equals_a_rebuild(db, program):
    with transaction.atomic():
        run = Run(*build_program())
        for minutes, step in program:
            run.now += timedelta(minutes=minutes)
            with override_settings(TARGETS_NOW=run.now.isoformat()):
                run.apply(step)
            run.history.append((run.now, step))
            check(run)
        transaction.set_rollback(True)


# --- focused regressions: each semantic rule the property relies on, on its own ----------------


class Program:
    """One group created through the configuration service and one customer, the service clock
    moved on by hand; `agrees()` checks stored progress and the read endpoint against a rebuild."""

    def __init__(self, key, *, created=CREATED, **changes):
        self.org = OrgFactory(timezone="UTC")
        self.customer = CustomerFactory(org=self.org)
        self.group = group_create(org=self.org, actor=None, data=PROGRAM[key] | changes, now=created).group
        self.now = START
        self.sent = 0

    def at(self, minutes):
        self.now = START + timedelta(minutes=minutes)
        return self.now

    def activity(self, *, kind=COFFEE, hours=0, amount=Decimal(0)):
        self.sent += 1
        entity, event = kind
        item = {
            "userId": self.customer.id,
            "entity": entity,
            "eventName": event,
            "occurredAt": (T0 + timedelta(hours=hours)).isoformat(),
            "amount": str(amount),
            "externalId": f"r-{self.sent}",
        }
        with override_settings(TARGETS_NOW=self.now.isoformat()):
            assert activity_ingest(org=self.org, items=[item], now=self.now)[0].status == "APPLIED"

    def update(self, data):
        group = TargetGroup.objects.get(pk=self.group.pk)
        self.group = group_update(group=group, actor=None, data=data, now=self.now, partial=True).group

    def values(self):
        """{(rule id, period sequence): achieved value} as stored, after checking it equals a rebuild."""
        assert (stored(self.customer), shown(self.customer, self.now)) == rebuilt(self.customer, self.now)
        return {
            (rule, seq): value
            for rule, seq, value in UserTarget.objects.filter(customer=self.customer).values_list(
                "rule_id", "period__sequence", "achieved_value"
            )
        }


@pytest.mark.django_db
def test_a_rule_added_to_an_existing_group_counts_activity_received_from_its_creation():
    program = Program("unified")
    program.at(1)
    program.activity(hours=2)  # counted by the COUNT rule the group was created with
    program.at(2)
    program.update(
        {"rules": [*Run.rules_data(None, program.group), _rule(COFFEE, "COUNT", 1) | {"name": "New"}]}
    )
    added = program.group.rules.get(name="New").pk
    assert program.values().get((added, 1)) is None  # received before the rule existed
    program.at(3)
    program.activity(hours=1)  # late, but received after the rule's creation

    assert program.values()[(added, 1)] == 1


@pytest.mark.django_db
def test_activity_enrolments_of_a_group_turned_explicit_keep_counting():
    program = Program("fixed")
    program.at(1)
    program.activity(kind=SALE, hours=2, amount=Decimal(100))
    program.at(2)
    program.update({"enrolment": "EXPLICIT"})
    rule = program.group.rules.get().pk
    assert GroupEnrolment.objects.get(customer=program.customer).source != EnrolmentSource.ACTIVITY
    assert program.values() == {(rule, 1): 100}
    program.at(3)
    program.activity(kind=SALE, hours=3, amount=Decimal(50))

    assert program.values() == {(rule, 1): 150}


@pytest.mark.django_db
def test_an_initial_balance_is_replaced_by_nothing_received_before_and_a_late_activity_adds_on_top():
    program = Program("explicit_agnostic")  # PERIOD_AGNOSTIC CAPPING GROSS_SALES 500, 3 periods
    program.at(1)
    group_enrol(group=program.group, user_ids=[program.customer.id], now=program.now)
    program.at(2)
    program.activity(kind=SALE, hours=1, amount=Decimal(120))  # counted, then replaced
    program.at(3)
    group_unenrol(group=program.group, user_ids=[program.customer.id], now=program.now)
    program.at(4)
    group_enrol(
        group=program.group, user_ids=[program.customer.id], now=program.now, initial_balance=Decimal(450)
    )
    rule = program.group.rules.get().pk
    assert program.values() == {(rule, 1): 450}
    program.at(5)
    program.activity(kind=SALE, hours=-1, amount=Decimal(120))  # happened before the group's start
    program.activity(kind=SALE, hours=0, amount=Decimal(120))  # happened before the balance

    assert program.values() == {(rule, 1): 500, (rule, 2): 70}  # capped, the rest carried over


@pytest.mark.django_db
def test_reset_streak_status_on_re_enrolment_starts_the_streak_afresh():
    program = Program("explicit")  # STREAKS, COUNT 1 a day, a streak of 2
    program.at(1)
    group_enrol(group=program.group, user_ids=[program.customer.id], now=program.now)
    program.activity(hours=2)  # day 1 achieved
    program.at(2)
    group_unenrol(group=program.group, user_ids=[program.customer.id], now=program.now)
    program.at(24 * 60 + 60)  # the second day
    group_enrol(group=program.group, user_ids=[program.customer.id], now=program.now, reset_streaks=True)
    program.at(24 * 60 + 61)
    program.activity(hours=26)  # day 2 achieved; day 1 no longer counts towards the streak
    program.values()

    assert UserStreak.objects.get(customer=program.customer).current_count == 1


@pytest.mark.django_db
def test_enrolling_in_a_backdated_explicit_group_counts_activity_received_before_it_existed():
    program = Program("explicit", created=LATE)
    program.at(1)
    program.activity(hours=2)  # received before the group was created
    program.at(2)
    program.update({"count_activity_from": T0 - timedelta(days=2)})
    program.at(3)
    group_enrol(group=program.group, user_ids=[program.customer.id], now=program.now)

    assert program.values() == {(program.group.rules.get().pk, 1): 1}


def _tie(program, pause):
    program.at(1)
    program.activity(hours=1)
    program.at(2)
    if pause == "group":
        group_set_active(groups=[program.group], active=False, actor=None, now=program.now)
    elif pause == "rule":
        program.update(
            {"rules": Run.rules_data(None, program.group, lambda i, item: item | {"active": False})}
        )
    else:
        group_unenrol(group=program.group, user_ids=[program.customer.id], now=program.now)
    program.activity(hours=2)  # received at the very instant of the deactivation


@pytest.mark.django_db
@pytest.mark.xfail(
    strict=True,
    reason="docs/engine.md: activity received at the very instant of a deactivation or an "
    "unenrolment counts (recompute counts it), but ingestion after it skips the inactive group "
    "or rule and the unenrolled customer: stored progress shows 1 where a rebuild gives 2",
)
@pytest.mark.parametrize("pause", ["group", "rule", "unenrolment"])
def test_activity_received_at_the_instant_of_a_deactivation(pause):
    program = Program("explicit", created=CREATED)
    group_enrol(group=program.group, user_ids=[program.customer.id], now=START)
    _tie(program, pause)

    assert program.values() == {(program.group.rules.get().pk, 1): 2}


@pytest.mark.django_db
def test_a_late_activity_in_a_period_agnostic_group_created_through_the_service_replays_all_of_it():
    # Generated PERIOD_AGNOSTIC periods have no calendar (start = end = the group's start): the
    # replay of a late activity must read the group's whole window, not those periods' span.
    program = Program("agnostic")  # CAPPING COUNT 2, 3 periods
    rule = program.group.rules.get().pk
    program.at(1)
    program.activity(hours=3)
    program.at(2)
    program.activity(hours=2)  # late: happened before the first
    program.at(3)
    program.activity(hours=1)  # late again

    assert program.values() == {(rule, 1): 2, (rule, 2): 1}

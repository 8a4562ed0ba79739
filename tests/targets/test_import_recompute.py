"""`import_activities` (JSON Lines and CSV through the engine, idempotent, with a summary) and
`recompute_progress` (rebuilds progress from stored activities, for all, a group or a customer)."""

import io
import json
import random
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer
from targets.models import Activity, GroupEnrolment, UserMilestone, UserStreak, UserTarget
from targets.progress.ingest import activity_ingest
from tests.factories import (
    T0,
    CustomerFactory,
    OrgFactory,
    StreakFactory,
    group_with_periods,
)

pytestmark = pytest.mark.django_db

SUMMARY = re.compile(
    r"^(?P<total>\d+) lines in [\d.]+ s \((?P<rate>[\d,]+) activities/s\): "
    r"applied (?P<applied>\d+), duplicate (?P<duplicate>\d+), rejected (?P<rejected>\d+)$",
    re.M,
)


def run(command, *args, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def summary(output):
    match = SUMMARY.search(output)
    assert match, output
    return {k: int(v.replace(",", "")) for k, v in match.groupdict().items()}


def outcome(output):
    """The summary's counts without the rate: (total, applied, duplicate, rejected)."""
    counts = summary(output)
    return counts["total"], counts["applied"], counts["duplicate"], counts["rejected"]


def at(day, hour=12):
    return T0 + timedelta(days=day - 1, hours=hour)


@pytest.fixture
def shop():
    org = OrgFactory()
    group = group_with_periods(org=org, periods=5, triggers=("500",))
    return org, group


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # every batch commits, as in a real import
def test_import_of_20000_json_lines_completes_reports_its_rate_and_is_idempotent(shop, tmp_path):
    """Twenty batches' worth; the pace and memory of a 300,000-line import are measured by
    scripts/long_import.py (docs/scaling.md), not here."""
    org, group = shop
    customers = Customer.objects.bulk_create(
        Customer(org=org, created_on=T0, last_updated_on=T0) for _ in range(4_000)
    )
    rng = random.Random(4)
    path = tmp_path / "activities.jsonl"
    total = 20_000
    expected_spend = {}
    with path.open("w") as handle:
        for n in range(total):
            customer = customers[rng.randrange(len(customers))].id
            amount = rng.randint(1, 400)
            expected_spend[customer] = expected_spend.get(customer, 0) + amount
            occurred = at(1) + timedelta(seconds=rng.randrange(5 * 86400 - 43200))
            handle.write(
                json.dumps(
                    {
                        "userId": customer,
                        "entity": "TRANSACTION",
                        "eventName": "TransactionAdd",
                        "occurredAt": occurred.isoformat(),
                        "amount": amount,
                        "externalId": f"line-{n}",
                    }
                )
                + "\n"
            )

    out, err = run("import_activities", str(path))
    assert summary(out) | {"rate": 0} == {
        "total": total,
        "rate": 0,
        "applied": total,
        "duplicate": 0,
        "rejected": 0,
    }
    assert summary(out)["rate"] > 0
    assert "activities/s" in err  # the progress bar shows the rate as it goes
    assert Activity.objects.filter(org=org).count() == total
    spent = dict(Customer.objects.filter(org=org).values_list("id", "lifetime_purchases"))
    assert {c: spent[c] for c in expected_spend} == {c: Decimal(v) for c, v in expected_spend.items()}
    assert sum(UserTarget.objects.filter(rule__group=group).values_list("achieved_value", flat=True)) == sum(
        expected_spend.values()
    )

    out, _ = run("import_activities", str(path), no_progress=True)
    assert summary(out) | {"rate": 0} == {
        "total": total,
        "rate": 0,
        "applied": 0,
        "duplicate": total,
        "rejected": 0,
    }
    assert Activity.objects.filter(org=org).count() == total


def test_csv_import_reports_rejected_lines_with_their_numbers(shop, tmp_path):
    org, group = shop
    customer = CustomerFactory(org=org)
    path = tmp_path / "activities.csv"
    path.write_text(
        "userId,entity,eventName,occurredAt,amount,netAmount,quantity,externalId,attributes\n"
        f"{customer.id},TRANSACTION,TransactionAdd,2024-08-01T10:00:00Z,300,,,csv-1,\n"
        f"{customer.id},TRANSACTION,TransactionAdd,2024-08-01T11:00:00Z,-5,,,csv-2,\n"
        f'{customer.id},EVENT,ProfileUpdate,2024-08-01T11:00:00Z,,,,csv-3,"{{""source"": ""app""}}"\n'
        f"999999999,TRANSACTION,TransactionAdd,2024-08-01T11:00:00Z,10,,,csv-4,\n"
        f"{customer.id},TRANSACTION,TransactionAdd,2024-08-01 12:00:00,10,,,csv-5,\n"
        f"{customer.id},TRANSACTION,TransactionAdd,2024-08-01T12:00:00Z,250.5,200,2,csv-6,\n"
        f"{customer.id},TRANSACTION,TransactionAdd,2024-08-01T12:00:00Z,1,,,csv-1,\n"
    )
    out, _ = run("import_activities", str(path), no_progress=True)
    assert summary(out) | {"rate": 0} == {
        "total": 7,
        "rate": 0,
        "applied": 3,
        "duplicate": 1,
        "rejected": 3,
    }
    assert "rejected lines: 3, 5, 6" in out
    assert "line 3: amount: cannot be negative" in out
    assert "line 5: userId: customer 999999999 not found" in out
    assert re.search(r"line 6: occurredAt: .*timezone", out)
    assert Activity.objects.get(external_id="csv-3").attributes == {"source": "app"}
    assert UserTarget.objects.get(customer=customer, rule__group=group).achieved_value == Decimal("550.5")
    assert Customer.objects.get(id=customer.id).lifetime_purchases == Decimal("550.5")


def test_json_lines_import_rejects_broken_lines_and_goes_on(shop, tmp_path):
    org, group = shop
    customer = CustomerFactory(org=org)
    good = {
        "userId": customer.id,
        "entity": "TRANSACTION",
        "eventName": "TransactionAdd",
        "occurredAt": "2024-08-02T10:00:00Z",
        "amount": 70,
        "externalId": "jl-1",
    }
    path = tmp_path / "activities.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(good),
                '{"userId": 1,',
                "",
                json.dumps([good]),
                json.dumps({**good, "externalId": "jl-2", "amount": "seven"}),
                json.dumps({**good, "externalId": "jl-3"}),
            ]
        )
        + "\n"
    )
    out, _ = run("import_activities", str(path), no_progress=True)
    assert summary(out)["applied"] == 2 and summary(out)["rejected"] == 3
    assert "rejected lines: 2, 4, 5" in out
    assert "line 2: not valid JSON" in out
    assert UserTarget.objects.get(customer=customer).achieved_value == 140


def test_import_with_an_org_imports_into_that_org_only(shop, tmp_path):
    org, _ = shop
    mine, stranger = CustomerFactory(org=org), CustomerFactory()
    path = tmp_path / "activities.jsonl"
    line = {"entity": "EVENT", "eventName": "Login", "occurredAt": "2024-08-02T10:00:00Z"}
    path.write_text(
        json.dumps({**line, "userId": mine.id, "externalId": "o-1"})
        + "\n"
        + json.dumps({**line, "userId": stranger.id, "externalId": "o-2"})
        + "\n{broken\n"
        + json.dumps({**line, "userId": f" {mine.id} ", "externalId": "o-3"})
        + "\n"
    )
    out, _ = run("import_activities", str(path), org=org.id, no_progress=True)
    assert "rejected lines: 2, 3" in out
    assert "line 3: not valid JSON" in out
    assert summary(out)["applied"] == 2
    assert set(
        Activity.objects.filter(external_id__startswith="o-").values_list("external_id", "org_id")
    ) == {
        ("o-1", org.id),
        ("o-3", org.id),
    }


def test_import_without_an_org_finds_each_customers_org(shop, tmp_path):
    org, _ = shop
    mine, stranger = CustomerFactory(org=org), CustomerFactory()
    line = {"entity": "EVENT", "eventName": "Login", "occurredAt": "2024-08-02T10:00:00Z"}
    path = tmp_path / "activities.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({**line, "userId": user, "externalId": f"a-{n}"})
            for n, user in enumerate([mine.id, str(stranger.id), 10**12, True])
        )
    )
    out, _ = run("import_activities", str(path), no_progress=True)
    assert "rejected lines: 3, 4" in out
    assert set(
        Activity.objects.filter(external_id__startswith="a-").values_list("external_id", "org_id")
    ) == {
        ("a-0", org.id),
        ("a-1", stranger.org_id),
    }


def test_import_of_a_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError):
        run("import_activities", str(tmp_path / "nope.jsonl"))


# --- recompute_progress --------------------------------------------------------------------


def progress(*customers):
    """Every progress row of the customers, by natural key (ids of rows are not compared)."""
    ids = [c.id for c in customers]
    return {
        "targets": sorted(
            UserTarget.objects.filter(customer_id__in=ids).values_list(
                "customer_id", "rule_id", "period_id", "achieved_value", "achieved_at", "enrolled_on"
            )
        ),
        "milestones": sorted(
            UserMilestone.objects.filter(user_target__customer_id__in=ids).values_list(
                "user_target__customer_id", "user_target__period_id", "trigger_id", "achieved_at"
            )
        ),
        "streaks": sorted(
            UserStreak.objects.filter(customer_id__in=ids).values_list(
                "customer_id",
                "streak_id",
                "status",
                "current_count",
                "achieved_at",
                "achieved_user_target__period",
            )
        ),
        "enrolments": sorted(
            GroupEnrolment.objects.filter(customer_id__in=ids).values_list(
                "customer_id", "group_id", "enrolled_on", "source"
            )
        ),
    }


@pytest.fixture
def history():
    """Two groups (one with a streak) and two customers with activity in both."""
    org = OrgFactory()
    spend = group_with_periods(org=org, periods=5, triggers=("300",))
    visits = group_with_periods(
        org=org,
        periods=5,
        tracking_type="STREAKS",
        rule_kwargs={"target_type": "COUNT", "target_value": Decimal(2)},
    )
    StreakFactory(group=visits, target_count_of_sequence=2)
    first, second = CustomerFactory(org=org), CustomerFactory(org=org)
    now = at(6)
    items = [
        {
            "userId": customer.id,
            "entity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "occurredAt": at(day, hour).isoformat(),
            "amount": amount,
            "externalId": f"h-{customer.id}-{day}-{hour}",
        }
        for customer in (first, second)
        for day, hour, amount in [(1, 9, 400), (1, 10, 700), (2, 9, 50), (2, 11, 20), (4, 9, 1000)]
    ]
    activity_ingest(org=org, items=items, now=now)
    return spend, visits, first, second, now


def wipe(group=None, customer=None):
    targets = UserTarget.objects.all()
    streaks = UserStreak.objects.all()
    enrolments = GroupEnrolment.objects.all()
    if group is not None:
        targets = targets.filter(rule__group=group)
        streaks = streaks.filter(streak__group=group)
        enrolments = enrolments.filter(group=group)
    if customer is not None:
        targets, streaks, enrolments = (q.filter(customer=customer) for q in (targets, streaks, enrolments))
    for query in (streaks, targets, enrolments):
        query.delete()


def test_recompute_rebuilds_what_the_engine_produced(history, settings):
    spend, visits, first, second, now = history
    expected = progress(first, second)
    assert expected["targets"] and expected["milestones"] and expected["streaks"] and expected["enrolments"]
    settings.TARGETS_NOW = now.isoformat()
    wipe()
    out, _ = run("recompute_progress", no_progress=True)
    assert progress(first, second) == expected
    assert "recomputed progress of" in out


def test_recompute_of_one_group_leaves_the_other_groups_alone(history, settings):
    spend, visits, first, second, now = history
    expected = progress(first, second)
    settings.TARGETS_NOW = now.isoformat()
    wipe(group=spend)
    wipe(group=visits)
    run("recompute_progress", group=spend.id, no_progress=True)
    rebuilt = progress(first, second)
    assert rebuilt["targets"] == [t for t in expected["targets"] if t[1] == spend.rules.get().id]
    assert rebuilt["streaks"] == []
    run("recompute_progress", group=visits.id, no_progress=True)
    assert progress(first, second) == expected


def test_recompute_of_one_customer_leaves_the_other_customers_alone(history, settings):
    spend, visits, first, second, now = history
    expected_first, expected_second = progress(first), progress(second)
    settings.TARGETS_NOW = now.isoformat()
    wipe(customer=first)
    wipe(customer=second)
    out, _ = run("recompute_progress", customer=first.id, no_progress=True)
    assert "recomputed progress of 1 customers" in out
    assert progress(first) == expected_first
    assert progress(second)["targets"] == []
    run("recompute_progress", customer=second.id, group=spend.id, no_progress=True)
    assert progress(second)["targets"] == [
        t for t in expected_second["targets"] if t[1] == spend.rules.get().id
    ]


def test_recompute_corrects_tampered_progress(history, settings):
    spend, visits, first, second, now = history
    expected = progress(first, second)
    settings.TARGETS_NOW = now.isoformat()
    UserTarget.objects.filter(customer=first).update(achieved_value=Decimal("1.5"), achieved_at=None)
    UserMilestone.objects.filter(user_target__customer=first).delete()
    UserStreak.objects.filter(customer=second).update(status="DROPPED", current_count=0)
    run("recompute_progress", no_progress=True)
    assert progress(first, second) == expected


def test_recompute_at_a_later_clock_moves_streaks_with_time(history, settings):
    spend, visits, first, second, now = history
    (streak,) = visits.streaks.all()
    # At day 6 the run of days 1-2 was achieved already; a customer who achieved only day 4 is
    # dropped once day 5 has closed. Add such a customer.
    late = CustomerFactory(org=spend.org)
    activity_ingest(
        org=spend.org,
        items=[
            {
                "userId": late.id,
                "entity": "TRANSACTION",
                "eventName": "TransactionAdd",
                "occurredAt": at(4, h).isoformat(),
                "externalId": f"late-{h}",
            }
            for h in (9, 10)
        ],
        now=at(4, 11),
    )
    assert UserStreak.objects.get(customer=late, streak=streak).status == "IN_PROGRESS"
    settings.TARGETS_NOW = at(6).isoformat()
    run("recompute_progress", customer=late.id, no_progress=True)
    assert UserStreak.objects.get(customer=late, streak=streak).status == "DROPPED"


def test_recompute_of_an_unknown_group_or_customer_is_a_command_error(db):
    with pytest.raises(CommandError):
        run("recompute_progress", group=10**12, no_progress=True)
    with pytest.raises(CommandError):
        run("recompute_progress", customer=10**12, no_progress=True)

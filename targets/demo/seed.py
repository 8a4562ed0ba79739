"""The demo data (SPEC §7): org 50363 exactly as in the documented example, the connected child
org 60001 "Demo Coffee" with 300 customers and lively programs, and the unrelated org 70001.

Everything is built with explicit times, so the result does not depend on when it runs except
for Demo Coffee's programs, which are placed around the service clock."""

import json
import random
from datetime import UTC, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.core.management.color import no_style
from django.db import connection

from customers.models import Actor, CommChannel, Customer, CustomerProfile, Org
from targets.clock import parse_instant
from targets.models import (
    Enrolment,
    EvaluationType,
    FrequencyType,
    MilestoneTrigger,
    Streak,
    TargetGroup,
    TargetPeriod,
    TargetRule,
    TrackingType,
)
from targets.periods import group_windows

EXAMPLE = Path(__file__).with_name("example_org.json")
EXAMPLE_ORG, CHILD_ORG, UNRELATED_ORG = 50363, 60001, 70001
DEMO_COFFEE_TZ = "Asia/Kolkata"
DEMO_ORGS = (CHILD_ORG, UNRELATED_ORG, EXAMPLE_ORG)  # children first: the order to delete in
SEED = 20240830
STAFF_ACTOR = 50363001  # the example's actors are taken; staff50363 acts as its own admin user


def load_example():
    return json.loads(EXAMPLE.read_text())


def _t(text):
    return parse_instant(text) if text else None


def create_customer(org, *, id, first_name, last_name, channels, created_on, created_by, **extra):
    customer = Customer.objects.create(
        id=id,
        org=org,
        created_on=created_on,
        created_by_id=created_by,
        last_updated_on=created_on,
        last_updated_by_id=created_by,
        **extra,
    )
    profile = CustomerProfile.objects.create(
        org=org,
        customer=customer,
        first_name=first_name,
        last_name=last_name,
        source="instore",
        account_id="",
        org_source_id=-1,
    )
    CommChannel.objects.bulk_create(CommChannel(org=org, profile=profile, **channel) for channel in channels)
    return customer


def create_group(org, spec, *, periods=None):
    """A group with its rules, triggers and streaks; periods given or generated."""
    group = TargetGroup.objects.create(
        org=org,
        **{
            k: v
            for k, v in spec.items()
            if k not in {"rules", "streaks", "periods", "preferred_till", "created_by", "last_updated_by"}
        },
        preferred_till_id=spec.get("preferred_till"),
        created_by_id=spec.get("created_by"),
        last_updated_by_id=spec.get("last_updated_by"),
    )
    if periods is None:
        periods = [
            {"ref_code": w.ref_code, "sequence": w.sequence, "start": w.start, "end": w.end}
            for w in group_windows(group, tz=org.tz)
        ]
    TargetPeriod.objects.bulk_create(TargetPeriod(org=org, group=group, **p) for p in periods)
    for rule_spec in spec["rules"]:
        triggers = rule_spec.get("triggers", [])
        rule = TargetRule.objects.create(
            org=org, group=group, **{k: v for k, v in rule_spec.items() if k != "triggers"}
        )
        MilestoneTrigger.objects.bulk_create(MilestoneTrigger(org=org, rule=rule, **t) for t in triggers)
    continuous = spec["tracking_type"] != TrackingType.NON_CONTINUOUS_STREAK
    Streak.objects.bulk_create(
        Streak(org=org, group=group, continuous=continuous, **s) for s in spec.get("streaks", [])
    )
    return group


def seed_example_org(data):
    """Org 50363, its actors, customer 347286146 and the nine documented groups."""
    org = Org.objects.create(**data["org"])
    Actor.objects.bulk_create(Actor(org=org, **actor) for actor in data["actors"])
    Actor.objects.create(
        id=STAFF_ACTOR, org=org, code="staff50363", name="Staff 50363", description="", type="ADMIN_USER"
    )
    spec = data["customer"]
    profile = spec["profiles"][0]
    create_customer(
        org,
        id=spec["id"],
        first_name=profile["first_name"],
        last_name=profile["last_name"],
        channels=profile["channels"],
        created_on=_t(spec["created_on"]),
        created_by=spec["created_by"],
        loyalty_type=spec["loyalty_type"],
        custom_fields=spec["custom_fields"],
    )
    return org


def example_groups(org, data):
    for spec in data["groups"]:
        spec = dict(spec)
        for key in ("start", "end", "created_on", "last_updated_on"):
            spec[key] = _t(spec[key])
        periods = [
            {
                "id": p["id"],
                "ref_code": p["ref_code"],
                "sequence": p["sequence"],
                "start": _t(p["start"]),
                "end": _t(p["end"]),
            }
            for p in spec.pop("periods")
        ]
        spec["rules"] = [{**r, "target_value": Decimal(r["target_value"])} for r in spec["rules"]]
        create_group(org, spec, periods=periods)
    TargetPeriod.objects.bulk_create(
        TargetPeriod(
            org=org,
            id=p["id"],
            group_id=p["group"],
            customer_id=p["customer"],
            ref_code=p["ref_code"],
            sequence=p["sequence"],
            start=_t(p["start"]),
            end=_t(p["end"]),
        )
        for p in data["cyclic_periods"]
    )


# --- Demo Coffee (60001) -------------------------------------------------------------------

FIRST_NAMES = [
    "Asha",
    "Ravi",
    "Meera",
    "Arjun",
    "Priya",
    "Kiran",
    "Neha",
    "Vikram",
    "Divya",
    "Rahul",
    "Sara",
    "Imran",
    "Lakshmi",
    "Anil",
    "Pooja",
    "Farah",
    "Dev",
    "Isha",
    "Nikhil",
    "Tara",
]
LAST_NAMES = [
    "Sharma",
    "Iyer",
    "Khan",
    "Patel",
    "Reddy",
    "Das",
    "Nair",
    "Gupta",
    "Menon",
    "Singh",
    "Rao",
    "Bose",
]


def demo_coffee_programs(now):
    """Programs of every evaluation and tracking type, placed around `now`. Their windows are
    whole local days of Demo Coffee's timezone (Asia/Kolkata), like the periods generated in
    them: a window starts at a local midnight and ends at 23:59:59 local."""
    tz = ZoneInfo(DEMO_COFFEE_TZ)
    today = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    week_ago = today - timedelta(days=7)

    def rule(name, target_type="GROSS_SALES", value="500", triggers=(), **extra):
        return {
            "name": name,
            "target_entity": "TRANSACTION",
            "event_name": "TransactionAdd",
            "target_type": target_type,
            "target_value": Decimal(value),
            "triggers": list(triggers),
            **extra,
        }

    def program(
        name,
        evaluation,
        tracking,
        rules,
        *,
        frequency_type="WEEKLY",
        total=6,
        start=None,
        end=None,
        streaks=(),
    ):
        start = start or (today - timedelta(days=21))
        end = end or start + timedelta(days=7 * total) - timedelta(seconds=1)
        return {
            "name": name,
            "description": f"{tracking} on a {evaluation}",
            "target_evaluation_type": evaluation,
            "tracking_type": tracking,
            "preferred_till": 60000002,
            "enrolment": Enrolment.ALL_CUSTOMERS,
            "frequency_type": frequency_type,
            "frequency": 1,
            "total_periods": total,
            "start": start,
            "end": end,
            "created_on": start - timedelta(days=1),
            "created_by": 60000001,
            "last_updated_on": start - timedelta(days=1),
            "last_updated_by": 60000001,
            "rules": rules,
            "streaks": list(streaks),
        }

    F, C, P = EvaluationType.FIXED, EvaluationType.CYCLIC, EvaluationType.PERIOD_AGNOSTIC
    return [
        program(
            "Weekly spend 500",
            F,
            TrackingType.DEFAULT,
            [
                rule(
                    "Spend 500 a week",
                    triggers=[{"trigger_name": "Halfway", "trigger_value": Decimal("250")}],
                )
            ],
        ),
        program(
            "Coffee and cake",
            F,
            TrackingType.UNIFIED,
            [rule("Three coffees", "COUNT", "3"), rule("Cake lover", "SUM", "2", attribute="cakes")],
        ),
        program(
            "Visit streak",
            F,
            TrackingType.STREAKS,
            [rule("Two visits a week", "VISIT", "2")],
            streaks=[{"name": "Three weeks running", "target_count_of_sequence": 3}],
        ),
        program(
            "Any four weeks",
            F,
            TrackingType.NON_CONTINUOUS_STREAK,
            [rule("Five cups a week", "QUANTITY", "5")],
            streaks=[{"name": "Four good weeks", "target_count_of_sequence": 4}],
        ),
        program("Capped weekly sales", F, TrackingType.CAPPING, [rule("Net sales 800", "SALES", "800")]),
        program(
            "Your own month",
            C,
            TrackingType.DEFAULT,
            [rule("Spend 1500 in your cycle", value="1500")],
            frequency_type=FrequencyType.MONTHLY,
            total=3,
            start=week_ago - timedelta(days=60),
            end=today + timedelta(days=61) - timedelta(seconds=1),
        ),
        program("Ladder", P, TrackingType.DEFAULT, [rule("Spend 300, then again", value="300")], total=5),
        program("Capped ladder", P, TrackingType.CAPPING, [rule("Ten coffees", "COUNT", "10")], total=3),
    ]


def seed_demo_coffee(parent, now):
    org = Org.objects.create(id=CHILD_ORG, name="Demo Coffee", timezone=DEMO_COFFEE_TZ, parent=parent)
    Actor.objects.bulk_create(
        [
            Actor(
                id=60000001,
                org=org,
                code="coffee-admin",
                name="Coffee Admin",
                description="",
                type="ADMIN_USER",
            ),
            Actor(id=60000002, org=org, code="democoffee", name="democoffee", description="", type="TILL"),
        ]
    )
    rng = random.Random(SEED)
    joined = now - timedelta(days=120)
    customers = []
    for n in range(1, 301):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        mobile = f"9199{n:08d}"
        customers.append(
            create_customer(
                org,
                id=900000000 + n,
                first_name=first,
                last_name=last,
                channels=[
                    {"type": "mobile", "value": mobile, "primary": True, "verified": True},
                    {
                        "type": "email",
                        "value": f"{first}.{last}.{n}@example.com".lower(),
                        "primary": False,
                        "verified": n % 3 == 0,
                    },
                ],
                created_on=joined + timedelta(minutes=n),
                created_by=60000002,
            )
        )
    for spec in demo_coffee_programs(now):
        create_group(org, spec)
    return org, customers


def demo_coffee_activity(customers, now):
    """Three weeks of generated coffee-shop activity (fixed seed), oldest first."""
    rng = random.Random(SEED + 1)
    start = now - timedelta(days=21)
    items = []
    for customer in customers:
        regularity = rng.random()
        for day in range(21):
            if rng.random() > regularity * 0.6:
                continue
            at = start + timedelta(days=day, hours=rng.randint(2, 14), minutes=rng.randint(0, 59))
            if at >= now:
                continue
            amount = Decimal(rng.choice([120, 180, 240, 320, 450]))
            items.append(
                {
                    "externalId": f"coffee-{customer.id}-{day}",
                    "userId": customer.id,
                    "entity": "TRANSACTION",
                    "eventName": "TransactionAdd",
                    "occurredAt": at,
                    "amount": amount,
                    "netAmount": amount * Decimal("0.9"),
                    "quantity": rng.randint(1, 3),
                    "attributes": {"cakes": rng.choice([0, 0, 1])},
                }
            )
    items.sort(key=lambda item: item["occurredAt"])
    return items


def seed_unrelated(now):
    org = Org.objects.create(id=UNRELATED_ORG, name="Unrelated Retail", timezone="Europe/London")
    Actor.objects.bulk_create(
        [
            Actor(
                id=70000001,
                org=org,
                code="unrelated-admin",
                name="Unrelated Admin",
                description="",
                type="ADMIN_USER",
            ),
            Actor(id=70000002, org=org, code="unrelated", name="unrelated", description="", type="TILL"),
        ]
    )
    create_customer(
        org,
        id=910000001,
        first_name="Uma",
        last_name="Unrelated",
        channels=[{"type": "mobile", "value": "447700900001", "primary": True, "verified": True}],
        created_on=now - timedelta(days=30),
        created_by=70000002,
    )
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    create_group(
        org,
        {
            "name": "Monthly spend",
            "description": "",
            "target_evaluation_type": EvaluationType.FIXED,
            "tracking_type": TrackingType.DEFAULT,
            "preferred_till": 70000002,
            "frequency_type": FrequencyType.MONTHLY,
            "frequency": 1,
            "total_periods": 3,
            "start": start,
            "end": start + timedelta(days=92),
            "created_on": start,
            "created_by": 70000001,
            "last_updated_on": start,
            "last_updated_by": 70000001,
            "rules": [
                {
                    "name": "Spend 200",
                    "target_entity": "TRANSACTION",
                    "event_name": "TransactionAdd",
                    "target_type": "GROSS_SALES",
                    "target_value": Decimal("200"),
                }
            ],
        },
    )
    return org


def reset_sequences():
    """Rows were written with explicit ids; move PostgreSQL's sequences past them."""
    from django.apps import apps

    models = [m for app in ("customers", "targets") for m in apps.get_app_config(app).get_models()]
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def replay_example_history(org, data):
    """Customer 347286146's history through the engine: a 1,200 transaction before the groups
    existed, the groups created at their documented times (with the customer's CYCLIC periods
    as the example shows them), then another 1,200 transaction."""
    from targets.progress.ingest import activity_ingest

    till = Actor.objects.get(id=data["customer"]["last_updated_by"])
    first, second = data["history"]
    activity_ingest(org=org, items=[first], now=_t(first["occurredAt"]), actor=till)
    example_groups(org, data)
    activity_ingest(org=org, items=[second], now=_t(second["occurredAt"]), actor=till)


def replay_demo_coffee(org, customers, now):
    """Demo Coffee's generated activity through the engine, oldest first, in API-sized batches
    each received when its latest activity happened; then every customer is brought to `now`
    (streaks also move with time: a missed week drops a run)."""
    from targets.progress.ingest import activity_ingest
    from targets.progress.refresh import progress_refresh

    till = Actor.objects.get(id=60000002)
    items = demo_coffee_activity(customers, now)
    for start in range(0, len(items), 1000):
        batch = items[start : start + 1000]
        arrived = max(item["occurredAt"] for item in batch)
        for item in batch:
            item["occurredAt"] = item["occurredAt"].isoformat()
            item["amount"], item["netAmount"] = str(item["amount"]), str(item["netAmount"])
        activity_ingest(org=org, items=batch, now=arrived, actor=till)
    progress_refresh(customer_ids=[c.id for c in customers], now=now)

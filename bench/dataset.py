"""The benchmark's synthetic dataset: built once per DATASET_VERSION with a fixed random seed,
then reused by later runs.

It lives in its own org id range (800000+), so it never touches the demo orgs (50363, 60001,
70001) or real data, and everything it writes can be found again by org id:

- org 800000 is the marker: its name carries the dataset version. It is written last, in the
  same transaction as the rest, so its presence means a complete dataset of that version.
- org 800001 ("read") holds the read endpoint's customers: a heavy one associated with 50
  groups × 12 periods (60 rules, 2 milestone triggers each, streak groups, PERIOD_AGNOSTIC and
  CYCLIC groups, a per-period target override) and a light one associated with one group, plus
  a few "filler" customers with the same programs, whose progress makes the ~10,000 UserTarget
  rows of other customers the read path must not be slowed down by. Progress is not invented:
  it comes from generated activity replayed through the engine, as in production.
- org 800002 ("ingest") holds 5,000 customers and 20 rules (16 groups of every evaluation and
  tracking type) for the ingestion figures; its activity and progress are wiped before and
  after each measurement.

Credentials (a till user with a random password and a bearer token) are issued afresh on each
run, so that a dataset left in a database carries no usable login.
"""

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from customers.models import Actor, CommChannel, Customer, CustomerProfile, Org
from targets.events.models import Event
from targets.models import (
    Activity,
    GroupEnrolment,
    MilestoneTrigger,
    PeriodTargetValue,
    Streak,
    TargetGroup,
    TargetPeriod,
    TargetRule,
    UserMilestone,
    UserStreak,
    UserTarget,
)
from targets.periods import group_windows
from targets.progress.ingest import activity_ingest
from targets.totals import ZERO_FIELDS

DATASET_VERSION = 1
SEED = 20240827
MARKER_ORG_ID, READ_ORG_ID, INGEST_ORG_ID, PERIODS_ORG_ID = 800_000, 800_001, 800_002, 800_003
BENCH_ORG_IDS = (MARKER_ORG_ID, READ_ORG_ID, INGEST_ORG_ID, PERIODS_ORG_ID)
# read.period_ratio's programs (org 800003, built apart so that adding them keeps the rest):
# a customer in PERIOD_GROUPS daily groups of DAILY_PERIODS periods, one in as many monthly
# groups of 12, neither with any progress. Both default answers list PERIOD_GROUPS targets.
PERIODS_MARKER = "Benchmark Periods v1"
PERIOD_GROUPS, DAILY_PERIODS = 10, 1_000
TIMEZONE = "Asia/Kolkata"

# The clock is pinned to this instant for the whole run: the sixth of twelve monthly periods
# is the current one, five are closed and six are still to come.
NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
YEAR = 2025

# Customer ids are explicit and far above anything a sequence hands out.
HEAVY_ID = 8_000_000_001
LIGHT_ID = 8_000_000_002
DAILY_ID = 8_000_000_003
MONTHLY_ID = 8_000_000_004
FILLER_FIRST_ID = 8_000_100_001
GROWTH_FIRST_ID = 8_010_000_001  # read.scale_ratio's extra customers, removed after the phase
INGEST_FIRST_ID = 8_100_000_001

PERIODS = 12
READ_PERMISSIONS = [("targets", "view_targetgroup"), ("targets", "add_activity")]

# What a rule counts: (entity, event name, target type, target value, SUM attribute).
SALES = ("TRANSACTION", "TransactionAdd", "GROSS_SALES", "1000", "")
NET_SALES = ("TRANSACTION", "TransactionAdd", "SALES", "900", "")
QUANTITY = ("TRANSACTION", "TransactionAdd", "QUANTITY", "15", "")
VISITS = ("TRANSACTION", "TransactionAdd", "VISIT", "4", "")
POINTS = ("TRANSACTION", "TransactionAdd", "SUM", "120", "points")
APP_OPENS = ("EVENT", "AppOpen", "COUNT", "6", "")

FIXED, CYCLIC, AGNOSTIC = "FIXED_CALENDAR_WINDOW", "CYCLIC_WINDOW", "PERIOD_AGNOSTIC_WINDOW"

# The read org's ten kinds of group, repeated five times: (evaluation, tracking, rules,
# streaks as (target count of sequence, …)).
READ_KINDS = [
    (FIXED, "DEFAULT", [SALES], ()),
    (FIXED, "UNIFIED", [SALES, QUANTITY], ()),
    (FIXED, "STREAKS", [SALES], (3, 6)),
    (FIXED, "CAPPING", [SALES], ()),
    (FIXED, "NON_CONTINUOUS_STREAK", [VISITS], (4,)),
    (AGNOSTIC, "DEFAULT", [SALES], ()),
    (CYCLIC, "DEFAULT", [SALES], ()),
    (FIXED, "DEFAULT", [APP_OPENS], ()),
    (FIXED, "UNIFIED", [SALES, APP_OPENS], ()),
    (AGNOSTIC, "STREAKS", [QUANTITY], (2,)),
]

# The ingest org: 16 groups, 20 rules.
INGEST_KINDS = [
    (FIXED, "DEFAULT", [SALES], ()),
    (FIXED, "DEFAULT", [NET_SALES], ()),
    (FIXED, "DEFAULT", [QUANTITY], ()),
    (FIXED, "DEFAULT", [VISITS], ()),
    (FIXED, "DEFAULT", [POINTS], ()),
    (FIXED, "DEFAULT", [APP_OPENS], ()),
    (FIXED, "UNIFIED", [SALES, QUANTITY, VISITS], ()),
    (FIXED, "UNIFIED", [NET_SALES, APP_OPENS, POINTS], ()),
    (FIXED, "STREAKS", [SALES], (3,)),
    (FIXED, "STREAKS", [APP_OPENS], (2, 4)),
    (FIXED, "NON_CONTINUOUS_STREAK", [VISITS], (3,)),
    (FIXED, "CAPPING", [SALES], ()),
    (AGNOSTIC, "DEFAULT", [SALES], ()),
    (AGNOSTIC, "STREAKS", [QUANTITY], (2,)),
    (CYCLIC, "DEFAULT", [SALES], ()),
    (CYCLIC, "DEFAULT", [QUANTITY], ()),
]


@dataclass(frozen=True)
class Sizes:
    groups: int = 50  # the heavy customer's groups (× 12 periods)
    fillers: int = 26  # other customers with the heavy one's programs: ~10,000 user targets
    ingest_customers: int = 5_000

    @property
    def marker(self):
        """The marker org's name: the dataset is reused only when it matches exactly."""
        return (
            f"benchmark dataset v{DATASET_VERSION}: {self.groups} groups, {self.fillers} fillers,"
            f" {self.ingest_customers} ingest customers"
        )


FULL = Sizes()
TINY = Sizes(groups=len(READ_KINDS), fillers=1, ingest_customers=50)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    token: str


@dataclass(frozen=True)
class Dataset:
    read_org: Org
    ingest_org: Org
    heavy_id: int
    light_id: int
    sizes: Sizes
    built: bool  # False when an existing dataset of this version was reused

    def other_user_targets(self):
        """UserTarget rows of customers other than the heavy one."""
        return UserTarget.objects.exclude(customer_id=self.heavy_id).count()


# --- building ------------------------------------------------------------------------------


def ensure_dataset(sizes=FULL, log=print) -> Dataset:
    """The dataset of this version and sizes, built if absent (replacing any other one)."""
    marker = Org.objects.filter(id=MARKER_ORG_ID).first()
    built = marker is None or marker.name != sizes.marker
    if built:
        with transaction.atomic():
            if Org.objects.filter(id__in=BENCH_ORG_IDS).exists():
                log(f"replacing the benchmark dataset present ({marker.name if marker else 'incomplete'})")
                delete_dataset()
            _build(sizes, log)
    return Dataset(
        read_org=Org.objects.get(id=READ_ORG_ID),
        ingest_org=Org.objects.get(id=INGEST_ORG_ID),
        heavy_id=HEAVY_ID,
        light_id=LIGHT_ID,
        sizes=sizes,
        built=built,
    )


def ensure_period_programs(log=print) -> Org:
    """read.period_ratio's org (built if absent): DAILY_ID in PERIOD_GROUPS FIXED DAILY groups
    of DAILY_PERIODS periods around the pinned clock, MONTHLY_ID in as many MONTHLY groups of
    12; both enrolled explicitly, without progress."""
    org = Org.objects.filter(id=PERIODS_ORG_ID).first()
    if org is not None and org.name == PERIODS_MARKER:
        return org
    with transaction.atomic():
        if org is not None:
            _delete_orgs([PERIODS_ORG_ID])
        log(f"building read.period_ratio's programs ({PERIOD_GROUPS} × {DAILY_PERIODS} daily periods) ...")
        org = Org.objects.create(id=PERIODS_ORG_ID, name=PERIODS_MARKER, timezone=TIMEZONE)
        Actor.objects.create(org=org, code=f"admin{org.id}", name="Benchmark admin", type="ADMIN_USER")
        Actor.objects.create(org=org, code=f"till{org.id}", name="Benchmark till", type="TILL")
        today = datetime(NOW.year, NOW.month, NOW.day, tzinfo=org.tz)
        daily_start = today - timedelta(days=DAILY_PERIODS // 2)
        enrolments = []
        for n in range(PERIOD_GROUPS):
            daily = _create_group(
                org,
                n,
                FIXED,
                "DEFAULT",
                [SALES],
                (),
                frequency_type="DAILY",
                total_periods=DAILY_PERIODS,
                start=daily_start,
                end=daily_start + timedelta(days=DAILY_PERIODS) - timedelta(seconds=1),
                name=f"Daily {n:02d}",
            )
            monthly = _create_group(org, n, FIXED, "DEFAULT", [SALES], (), name=f"Monthly {n:02d}")
            enrolments += [(DAILY_ID, daily), (MONTHLY_ID, monthly)]
        TargetGroup.objects.filter(org=org).update(enrolment="EXPLICIT")
        _create_customers(org, [DAILY_ID, MONTHLY_ID])
        enrolled_on = datetime(YEAR, 1, 1, tzinfo=UTC)
        GroupEnrolment.objects.bulk_create(
            GroupEnrolment(org=org, group=g, customer_id=c, enrolled_on=enrolled_on, source="ADMIN")
            for c, g in enrolments
        )
    return org


def ingest_customer_ids(count):
    return list(range(INGEST_FIRST_ID, INGEST_FIRST_ID + count))


def _build(sizes, log):
    log(f"building the {sizes.marker} (seed {SEED}) ...")
    tz = TIMEZONE
    read_org = Org.objects.create(id=READ_ORG_ID, name="Benchmark Retail", timezone=tz)
    ingest_org = Org.objects.create(id=INGEST_ORG_ID, name="Benchmark Ingest", timezone=tz)
    for org in (read_org, ingest_org):
        Actor.objects.create(org=org, code=f"admin{org.id}", name="Benchmark admin", type="ADMIN_USER")
        Actor.objects.create(org=org, code=f"till{org.id}", name="Benchmark till", type="TILL")

    read_groups = [_create_group(read_org, i, *READ_KINDS[i % len(READ_KINDS)]) for i in range(sizes.groups)]
    # The first group enrols every customer of the org: the light customer sees only it. The
    # heavy customer and the fillers are enrolled in all the others.
    explicit = read_groups[1:]
    TargetGroup.objects.filter(id__in=[g.id for g in explicit]).update(enrolment="EXPLICIT")
    heavy_like = [HEAVY_ID, *range(FILLER_FIRST_ID, FILLER_FIRST_ID + sizes.fillers)]
    _create_customers(read_org, [*heavy_like, LIGHT_ID])
    enrolled_on = datetime(YEAR, 1, 1, tzinfo=UTC)
    GroupEnrolment.objects.bulk_create(
        GroupEnrolment(org=read_org, group=g, customer_id=c, enrolled_on=enrolled_on, source="ADMIN")
        for c in heavy_like
        for g in explicit
    )
    items = [item for c in heavy_like for item in _shopper_activity(c, months=6)]
    items += _shopper_activity(LIGHT_ID, months=6, events=False)
    _ingest(read_org, items)

    for i, kind in enumerate(INGEST_KINDS):
        _create_group(ingest_org, i, *kind)
    _create_customers(ingest_org, ingest_customer_ids(sizes.ingest_customers), profiles=False)

    Org.objects.create(id=MARKER_ORG_ID, name=sizes.marker, timezone="UTC")
    log(
        f"  {TargetGroup.objects.filter(org=read_org).count()} read groups, "
        f"{UserTarget.objects.filter(org=read_org).count()} user targets; "
        f"{TargetRule.objects.filter(org=ingest_org).count()} ingest rules, "
        f"{sizes.ingest_customers} ingest customers"
    )


def _create_group(
    org,
    index,
    evaluation,
    tracking,
    rules,
    streaks,
    *,
    frequency_type="MONTHLY",
    total_periods=PERIODS,
    start=None,
    end=None,
    name=None,
):
    admin = Actor.objects.get(org=org, type="ADMIN_USER")
    till = Actor.objects.get(org=org, type="TILL")
    created = datetime(YEAR - 1, 12, 1, 10, 30, tzinfo=UTC)
    start = start or datetime(YEAR, 1, 1, tzinfo=org.tz)
    # A CYCLIC group's customer cycles start at their first activity: leave room for twelve.
    if end is None:
        end = datetime(YEAR + (2 if evaluation == CYCLIC else 1), 1, 1, tzinfo=org.tz) - timedelta(seconds=1)
    group = TargetGroup.objects.create(
        org=org,
        name=name or f"Bench {index:02d} {evaluation.split('_')[0].lower()} {tracking.lower()}",
        description="Benchmark program",
        target_evaluation_type=evaluation,
        tracking_type=tracking,
        preferred_till=till,
        frequency_type=frequency_type,
        frequency=1,
        total_periods=total_periods,
        start=start,
        end=end,
        created_on=created,
        created_by=admin,
        last_updated_on=created + timedelta(days=3),
        last_updated_by=admin,
    )
    periods = TargetPeriod.objects.bulk_create(
        TargetPeriod(org=org, group=group, ref_code=w.ref_code, sequence=w.sequence, start=w.start, end=w.end)
        for w in group_windows(group, tz=org.tz)
    )
    for n, (entity, event_name, target_type, value, attribute) in enumerate(rules, start=1):
        rule = TargetRule.objects.create(
            org=org,
            group=group,
            name=f"{target_type.title()} target {n}",
            target_entity=entity,
            event_name=event_name,
            target_type=target_type,
            attribute=attribute,
            target_value=Decimal(value),
        )
        MilestoneTrigger.objects.bulk_create(
            MilestoneTrigger(org=org, rule=rule, trigger_name=name, trigger_value=Decimal(value) * share)
            for name, share in (("Quarter way", Decimal("0.25")), ("Half way", Decimal("0.5")))
        )
        if index % len(READ_KINDS) == 0 and periods:
            # A per-period target: December asks for half as much again.
            PeriodTargetValue.objects.create(
                org=org, rule=rule, period=periods[-1], target_value=Decimal(value) * Decimal("1.5")
            )
    Streak.objects.bulk_create(
        Streak(
            org=org,
            group=group,
            name=f"{needed} in a row",
            target_count_of_sequence=needed,
            continuous=tracking != "NON_CONTINUOUS_STREAK",
        )
        for needed in streaks
    )
    return group


def _create_customers(org, ids, *, profiles=True):
    created = datetime(YEAR - 2, 3, 4, 5, 6, 7, tzinfo=UTC)
    till = Actor.objects.get(org=org, type="TILL")
    ids = list(ids)
    Customer.objects.bulk_create(
        Customer(
            id=cid,
            org=org,
            custom_fields={"tier": "gold", "store": f"S{cid % 97:03d}"},
            created_on=created,
            created_by=till,
            last_updated_on=created,
            last_updated_by=till,
        )
        for cid in ids
    )
    if not profiles:
        return
    made = CustomerProfile.objects.bulk_create(
        CustomerProfile(org=org, customer_id=cid, first_name="Bench", last_name=f"Customer {cid}")
        for cid in ids
    )
    CommChannel.objects.bulk_create(
        CommChannel(org=org, profile=p, type=kind, value=value, primary=True, verified=kind == "mobile")
        for p in made
        for kind, value in (
            ("mobile", f"91{p.customer_id % 10**10:010d}"),
            ("email", f"c{p.customer_id}@example.com"),
        )
    )


def _shopper_activity(customer_id, *, months, events=True):
    """A customer's transactions and app opens, month by month up to the pinned clock."""
    rng = random.Random(f"{SEED}:{customer_id}")
    items = []
    for month in range(1, months + 1):
        first = datetime(YEAR, month, 1, tzinfo=UTC)
        span = (min(NOW, datetime(YEAR, month + 1, 1, tzinfo=UTC)) - first).total_seconds()
        kinds = ["transaction"] * rng.randint(3, 8) + ["event"] * (rng.randint(2, 12) if events else 0)
        for kind in kinds:
            at = first + timedelta(seconds=rng.uniform(0, span - 1))
            external_id = f"r{customer_id}-{len(items)}"
            if kind == "transaction":
                items.append(_transaction(rng, customer_id, at, external_id))
            else:
                items.append(_event(customer_id, at, external_id))
    return items


def _transaction(rng, customer_id, at, external_id):
    amount = Decimal(rng.randint(1_000, 40_000)) / 100
    return {
        "userId": customer_id,
        "entity": "TRANSACTION",
        "eventName": "TransactionAdd",
        "occurredAt": at.isoformat(),
        "amount": str(amount),
        "netAmount": str((amount * Decimal("0.9")).quantize(Decimal("0.01"))),
        "quantity": rng.randint(1, 6),
        "attributes": {"points": rng.randint(0, 50)},
        "externalId": external_id,
    }


def _event(customer_id, at, external_id):
    return {
        "userId": customer_id,
        "entity": "EVENT",
        "eventName": "AppOpen",
        "occurredAt": at.isoformat(),
        "externalId": external_id,
    }


def _ingest(org, items, batch=1000):
    till = Actor.objects.get(org=org, type="TILL")
    items.sort(key=lambda item: item["occurredAt"])
    for start in range(0, len(items), batch):
        activity_ingest(org=org, items=items[start : start + batch], now=NOW, actor=till)


def ingest_items(customer_ids, count, *, prefix):
    """`count` activities over `customer_ids`, in time order, as an import file would hold them:
    three transactions for one app open, spread over the year up to the pinned clock."""
    rng = random.Random(f"{SEED}:ingest:{len(customer_ids)}:{count}")
    first = datetime(YEAR, 1, 1, tzinfo=UTC)
    span = (NOW - first).total_seconds()
    moments = sorted(first + timedelta(seconds=rng.uniform(0, span)) for _ in range(count))
    items = []
    for n, at in enumerate(moments):
        customer_id = customer_ids[rng.randrange(len(customer_ids))]
        external_id = f"{prefix}-{n}"
        if rng.random() < 0.75:
            items.append(_transaction(rng, customer_id, at, external_id))
        else:
            items.append(_event(customer_id, at, external_id))
    return items


# --- credentials ---------------------------------------------------------------------------


def issue_credentials(org) -> Credentials:
    """A till login of `org` with a fresh random password and a fresh bearer token."""
    User = get_user_model()
    username = f"benchmark-till-{org.id}"
    user = User.objects.filter(username=username).first() or User(username=username)
    password = secrets.token_urlsafe(24)
    user.set_password(password)
    user.is_active = True
    user.save()
    user.user_permissions.set(
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in READ_PERMISSIONS
    )
    Actor.objects.filter(org=org, type="TILL").update(user=user)
    application = Application.objects.filter(user=user, name="benchmark").first()
    if application is None:
        application = Application.objects.create(
            user=user,
            name="benchmark",
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            client_secret=secrets.token_urlsafe(32),
        )
    AccessToken.objects.filter(application=application).delete()
    token = secrets.token_urlsafe(32)
    AccessToken.objects.create(
        application=application,
        user=None,
        token=token,
        expires=timezone.now() + timedelta(hours=2),
        scope="read write",
    )
    return Credentials(username=username, password=password, token=token)


def revoke_credentials(credentials: Credentials):
    AccessToken.objects.filter(application__user__username=credentials.username).delete()
    User = get_user_model()
    user = User.objects.filter(username=credentials.username).first()
    if user is not None:
        user.set_unusable_password()
        user.save(update_fields=["password"])


# --- resetting and growing -----------------------------------------------------------------


def _table(model):
    return connection.ops.quote_name(model._meta.db_table)


def _delete_where(model, where, params):
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_table(model)} WHERE {where}", params)


def reset_ingest(org):
    """Remove the ingest org's activity and progress, so each measurement starts alike."""
    with transaction.atomic():
        for model in (UserMilestone, UserStreak, UserTarget, GroupEnrolment, Activity, Event):
            _delete_where(model, "org_id = %s", [org.id])
        _delete_where(TargetPeriod, "org_id = %s AND customer_id IS NOT NULL", [org.id])
        Customer.objects.filter(org=org).update(lifetime_purchases=0, **ZERO_FIELDS)


def delete_dataset():
    """Every row of the benchmark orgs, children first."""
    _delete_orgs(list(BENCH_ORG_IDS))


def _delete_orgs(orgs):
    marks = ", ".join(["%s"] * len(orgs))
    for model in (
        Event,
        UserMilestone,
        UserStreak,
        UserTarget,
        GroupEnrolment,
        Activity,
        PeriodTargetValue,
        MilestoneTrigger,
        Streak,
        TargetRule,
        TargetPeriod,
        TargetGroup,
        CommChannel,
        CustomerProfile,
        Customer,
    ):
        _delete_where(model, f"org_id IN ({marks})", orgs)
    users = get_user_model().objects.filter(actor__org_id__in=orgs)
    AccessToken.objects.filter(application__user__in=users).delete()
    Application.objects.filter(user__in=users).delete()
    Actor.objects.filter(org_id__in=orgs).delete()
    users.delete()
    Org.objects.filter(id__in=orgs).delete()


GROWTH_TABLES = (UserStreak, UserTarget, GroupEnrolment, TargetPeriod, Customer)


def grow_other_user_targets(total, *, now=NOW):
    """PostgreSQL only: add customers copied from the first filler (its cyclic periods,
    enrolments, streaks and user targets) with `INSERT … SELECT generate_series`, until the
    customers other than the heavy one hold exactly `total` UserTarget rows. Then ANALYZE."""
    existing = UserTarget.objects.exclude(customer_id=HEAVY_ID).count()
    missing = total - existing
    if missing <= 0:
        return existing
    template = FILLER_FIRST_ID
    per_customer = UserTarget.objects.filter(customer_id=template).count()
    first = (
        _growth_customers().order_by("-id").values_list("id", flat=True).first() or GROWTH_FIRST_ID - 1
    ) + 1
    count = -(-missing // per_customer)
    last = first + count - 1
    t = {model: _table(model) for model in (Customer, TargetPeriod, UserTarget, GroupEnrolment, UserStreak)}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {t[Customer]} (id, org_id, loyalty_type, lifetime_purchases, custom_fields,"
            " total_amount, total_net_amount, total_quantity, attribute_totals, created_on, last_updated_on)"
            " SELECT %s + g, %s, 'loyalty', 0, '{}'::jsonb, 0, 0, 0, '{}'::jsonb, %s, %s"
            " FROM generate_series(0, %s) AS g",
            [first, READ_ORG_ID, now, now, count - 1],
        )
        cursor.execute(
            f'INSERT INTO {t[TargetPeriod]} (org_id, group_id, ref_code, sequence, start, "end", customer_id)'
            f' SELECT p.org_id, p.group_id, p.ref_code, p.sequence, p.start, p."end", c.id'
            f" FROM {t[TargetPeriod]} p CROSS JOIN {t[Customer]} c"
            " WHERE p.customer_id = %s AND c.id BETWEEN %s AND %s",
            [template, first, last],
        )
        cursor.execute(
            f"INSERT INTO {t[GroupEnrolment]} (org_id, group_id, customer_id, enrolled_on, source)"
            f" SELECT e.org_id, e.group_id, c.id, e.enrolled_on, e.source"
            f" FROM {t[GroupEnrolment]} e CROSS JOIN {t[Customer]} c"
            " WHERE e.customer_id = %s AND c.id BETWEEN %s AND %s",
            [template, first, last],
        )
        cursor.execute(
            f"INSERT INTO {t[UserStreak]}"
            " (org_id, customer_id, streak_id, status, current_count, achieved_at)"
            f" SELECT s.org_id, c.id, s.streak_id, s.status, s.current_count, s.achieved_at"
            f" FROM {t[UserStreak]} s CROSS JOIN {t[Customer]} c"
            " WHERE s.customer_id = %s AND c.id BETWEEN %s AND %s",
            [template, first, last],
        )
        # A copied target of a cyclic period points at the new customer's own copy of it.
        cursor.execute(
            f"INSERT INTO {t[UserTarget]} (org_id, customer_id, rule_id, period_id, achieved_value,"
            " achieved_at, enrolled_on)"
            " SELECT u.org_id, c.id, u.rule_id, COALESCE(own.id, u.period_id), u.achieved_value,"
            " u.achieved_at, u.enrolled_on"
            f" FROM {t[UserTarget]} u CROSS JOIN {t[Customer]} c"
            f" JOIN {t[TargetPeriod]} p ON p.id = u.period_id"
            f" LEFT JOIN {t[TargetPeriod]} own ON p.customer_id IS NOT NULL AND own.customer_id = c.id"
            " AND own.group_id = p.group_id AND own.sequence = p.sequence"
            " WHERE u.customer_id = %s AND c.id BETWEEN %s AND %s"
            " LIMIT %s",
            [template, first, last, missing],
        )
    analyze()
    return UserTarget.objects.exclude(customer_id=HEAVY_ID).count()


def _growth_customers():
    return Customer.objects.filter(org_id=READ_ORG_ID, id__gte=GROWTH_FIRST_ID)


def shrink_other_user_targets():
    """Remove what grow_other_user_targets added (VACUUM ANALYZE on PostgreSQL)."""
    if not _growth_customers().exists():
        return
    with transaction.atomic():
        for model in GROWTH_TABLES:
            column = "id" if model is Customer else "customer_id"
            _delete_where(model, f"org_id = %s AND {column} >= %s", [READ_ORG_ID, GROWTH_FIRST_ID])
    analyze(vacuum=not connection.in_atomic_block)


def analyze(*, vacuum=False):
    """Fresh planner statistics for the tables the read path queries."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        return
    tables = ", ".join(
        _table(m)
        for m in (
            Customer,
            CustomerProfile,
            CommChannel,
            TargetGroup,
            TargetPeriod,
            TargetRule,
            MilestoneTrigger,
            PeriodTargetValue,
            Streak,
            UserStreak,
            UserTarget,
            GroupEnrolment,
        )
    )
    with connection.cursor() as cursor:
        cursor.execute(f"{'VACUUM ANALYZE' if vacuum else 'ANALYZE'} {tables}")

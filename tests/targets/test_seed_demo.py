"""`python manage.py seed_demo` (SPEC §7, issue 2 point 5): org 50363 exactly as the documented
example shows it (checked against the example response itself, tests/fixtures), the connected
child org 60001 and the unrelated org 70001, the demo logins and OAuth client; idempotent."""

import base64
import hashlib
import json
from datetime import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from oauth2_provider.models import Application

from customers.models import Actor, CommChannel, Customer, CustomerProfile, Org
from targets.models import (
    EvaluationType,
    GroupEnrolment,
    MilestoneTrigger,
    Streak,
    TargetGroup,
    TargetPeriod,
    TargetRule,
    TrackingType,
    UserStreak,
    UserTarget,
)
from targets.services import group_spec
from targets.validation import validate_group
from tests.conformance import load_example

CUSTOMER = 347286146


def instant(text):
    """The example's timestamps: 2024-08-27T09:35:24.000+0000 and 2024-08-27T09:43:41.000Z."""
    return datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")


@pytest.fixture(scope="module")
def example():
    return load_example()["data"]


def example_groups(example):
    return {group["id"]: group for group in example["targetGroups"]}


# --- org 50363 as documented -----------------------------------------------------------------


def test_example_org_and_actors(demo):
    assert demo.id == 50363 and demo.parent_id is None
    first = Actor.objects.get(id=4)
    assert (first.org_id, first.code, first.name, first.description, first.type) == (
        50363,
        "First",
        "First User",
        None,
        "ADMIN_USER",
    )
    assert Actor.objects.get(id=50150886).type == Actor.Type.TILL
    assert Actor.objects.get(id=50150886).code == "tillrustaging2"
    assert (Actor.objects.get(id=50697469).type, Actor.objects.get(id=50697469).org_id) == ("TILL", 50363)


def test_example_customer_profile_and_channels(demo, example):
    documented = example["customer"]
    customer = Customer.objects.get(id=CUSTOMER)
    info = documented["loyaltyInfo"]
    assert customer.org_id == 50363
    assert customer.loyalty_type == info["loyaltyType"]
    assert customer.lifetime_purchases == Decimal(str(info["lifetimePurchases"]))
    assert customer.custom_fields == documented["customFields"]
    assert customer.created_on == instant(info["attribution"]["createdOn"])
    assert customer.last_updated_on == instant(info["attribution"]["lastUpdatedOn"])
    assert customer.created_by_id == info["attribution"]["createdBy"]["id"]
    assert customer.last_updated_by_id == info["attribution"]["lastUpdatedBy"]["id"]

    (profile,) = CustomerProfile.objects.filter(customer=customer)
    (doc_profile,) = documented["profiles"]
    assert (
        profile.first_name,
        profile.last_name,
        profile.source,
        profile.account_id,
        profile.org_source_id,
    ) == (
        doc_profile["firstName"],
        doc_profile["lastName"],
        doc_profile["source"],
        doc_profile["accountId"],
        doc_profile["orgSourceId"],
    )
    channels = list(
        CommChannel.objects.filter(profile=profile)
        .order_by("id")
        .values_list("type", "account_id", "value", "primary", "verified", "subscribed", "attributes")
    )
    assert channels == [
        (c["type"], c["accountId"], c["value"], c["primary"], c["verified"], c["subscribed"], c["attributes"])
        for c in doc_profile["commChannels"]
    ]


def test_the_nine_groups_with_ids_names_types_and_attribution(demo, example):
    documented = example_groups(example)
    assert set(TargetGroup.objects.filter(org_id=50363).values_list("id", flat=True)) == set(documented)
    for group_id, doc in documented.items():
        group = TargetGroup.objects.get(id=group_id)
        attribution = doc["attribution"]
        assert (
            group.name,
            group.org_id,
            group.preferred_till_id,
            group.target_evaluation_type,
            group.tracking_type,
            group.created_on,
            group.created_by_id,
            group.last_updated_on,
            group.last_updated_by_id,
        ) == (
            doc["name"],
            doc["orgId"],
            doc["preferredTillId"],
            doc["targetEvaluationType"],
            doc["trackingType"],
            instant(attribution["createdOn"]),
            attribution["createdBy"]["id"],
            instant(attribution["lastUpdatedOn"]),
            attribution["lastUpdatedBy"]["id"],
        ), group_id


def test_periods_with_ids_ref_codes_and_timestamps(demo, example):
    for group_id, doc in example_groups(example).items():
        documented = {
            (t["periodId"], t["periodRefCode"], instant(t["periodStartDateWithTimeStamp"]))
            + (instant(t["periodEndDateWithTimeStamp"]),)
            for t in doc["targets"]
        }
        if doc["targetEvaluationType"] == EvaluationType.CYCLIC:
            periods = TargetPeriod.objects.filter(group_id=group_id, customer_id=CUSTOMER)
            assert not TargetPeriod.objects.filter(group_id=group_id, customer__isnull=True).exists()
        else:
            periods = TargetPeriod.objects.filter(group_id=group_id, customer__isnull=True)
        assert set(periods.values_list("id", "ref_code", "start", "end")) == documented, group_id
        assert sorted(periods.values_list("sequence", flat=True)) == list(range(1, len(documented) + 1))


def test_t1cyclic_periods_of_the_customer(demo):
    periods = TargetPeriod.objects.filter(group_id=53235, customer_id=CUSTOMER).order_by("sequence")
    assert [(p.id, p.ref_code) for p in periods] == [(68702 + n, f"PERIOD_G_53235_{n}") for n in range(1, 6)]
    assert periods.last().end.isoformat() == "2024-08-31T18:30:00+00:00"


def test_rules_with_ids_and_values(demo, example):
    for group_id, doc in example_groups(example).items():
        documented = {
            (
                t["targetRuleId"],
                t["targetName"],
                t["targetType"],
                t["targetEntity"],
                t["eventName"],
                Decimal(str(t["targetValue"])),
            )
            for t in doc["targets"]
        }
        rules = TargetRule.objects.filter(group_id=group_id)
        assert {
            (r.id, r.name, r.target_type, r.target_entity, r.event_name, r.target_value) for r in rules
        } == documented, group_id
        assert not MilestoneTrigger.objects.filter(rule__group_id=group_id).exists()  # milestones: null


def test_streaks_with_ids(demo, example):
    for group_id, doc in example_groups(example).items():
        documented = {
            (s["streakId"], s["streakName"], s["totalTargetCountOfSequence"]) for s in doc.get("streaks", [])
        }
        streaks = set(
            Streak.objects.filter(group_id=group_id).values_list("id", "name", "target_count_of_sequence")
        )
        assert streaks == documented, group_id
        assert set(Streak.objects.filter(group_id=group_id).values_list("continuous", flat=True)) <= {True}


def test_the_customers_progress_rows(demo, example):
    """Progress rows exactly where the example has a targetId, with its values. The ids
    themselves are the database's: the seed replays the history through the engine."""
    documented = {
        (
            t["targetRuleId"],
            t["periodId"],
            Decimal(str(t["targetAchievedValue"])),
            t["targetAchievedDateTime"] and instant(t["targetAchievedDateTime"]),
        )
        for g in example["targetGroups"]
        for t in g["targets"]
        if t["targetId"] is not None
    }
    assert len(documented) == 4
    rows = UserTarget.objects.filter(customer_id=CUSTOMER)
    assert {(u.rule_id, u.period_id, u.achieved_value, u.achieved_at) for u in rows} == documented


def test_the_seeded_configuration_is_valid(demo):
    for group in TargetGroup.objects.filter(org_id__in=[50363, 60001, 70001]):
        assert validate_group(group_spec(group)) == [], group


# --- the other demo orgs ---------------------------------------------------------------------


def test_demo_coffee_is_a_child_of_50363_with_300_customers(demo):
    coffee = Org.objects.get(id=60001)
    assert (coffee.name, coffee.timezone, coffee.parent_id) == ("Demo Coffee", "Asia/Kolkata", 50363)
    customers = Customer.objects.filter(org=coffee)
    assert sorted(customers.values_list("id", flat=True)) == list(range(900000001, 900000301))
    channel_types = CommChannel.objects.filter(profile__customer__org=coffee).values_list("type", flat=True)
    assert set(channel_types) == {"mobile", "email"}
    assert channel_types.count() == 600
    assert not CustomerProfile.objects.filter(customer__org=coffee, first_name="").exists()


def test_demo_coffee_has_programs_of_every_type_with_progress(demo):
    groups = TargetGroup.objects.filter(org_id=60001)
    assert set(groups.values_list("target_evaluation_type", flat=True)) == set(EvaluationType.values)
    assert set(groups.values_list("tracking_type", flat=True)) == set(TrackingType.values)
    assert UserTarget.objects.filter(org_id=60001).exists()
    assert UserStreak.objects.filter(org_id=60001).exists()
    assert GroupEnrolment.objects.filter(org_id=60001).exists()


def test_unrelated_retail_is_connected_to_nobody(demo):
    unrelated = Org.objects.get(id=70001)
    assert (unrelated.name, unrelated.parent_id) == ("Unrelated Retail", None)
    assert not unrelated.children.exists()
    assert list(Customer.objects.filter(org=unrelated).values_list("id", flat=True)) == [910000001]
    assert TargetGroup.objects.filter(org=unrelated).count() == 1


# --- logins ----------------------------------------------------------------------------------


def test_admin_is_a_superuser(demo):
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.is_active
    assert admin.check_password("admin")


@pytest.mark.parametrize(
    ("username", "org_id"), [("tillrustaging2", 50363), ("democoffee", 60001), ("unrelated", 70001)]
)
def test_api_tills_read_target_groups_and_post_activity(demo, username, org_id):
    user = get_user_model().objects.get(username=username)
    assert user.check_password(username)
    assert (user.actor.type, user.actor.org_id) == ("TILL", org_id)
    assert user.has_perm("targets.view_targetgroup")
    assert user.has_perm("targets.add_activity")
    assert not user.is_staff


@pytest.mark.parametrize(("username", "org_id"), [("staff50363", 50363), ("staff60001", 60001)])
def test_staff_users(demo, username, org_id):
    user = get_user_model().objects.get(username=username)
    assert user.check_password(username)
    assert user.is_staff and not user.is_superuser
    assert user.actor.org_id == org_id
    assert user.has_perm("targets.change_targetgroup")


def test_oauth_client_of_tillrustaging2(demo, client):
    app = Application.objects.get(client_id="demo-key")
    assert app.user.username == "tillrustaging2"
    assert app.authorization_grant_type == Application.GRANT_CLIENT_CREDENTIALS
    assert check_password("demo-secret", app.client_secret)
    auth = base64.b64encode(b"demo-key:demo-secret").decode()
    response = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {auth}"
    )
    assert response.status_code == 200, response.content
    assert response.json()["access_token"]


# --- idempotency -----------------------------------------------------------------------------


def snapshot(org_ids=(50363, 60001, 70001)):
    """Row counts and a checksum of the key rows of the demo."""
    tables = {
        "orgs": Org.objects.filter(id__in=org_ids).values_list("id", "name", "timezone", "parent_id"),
        "actors": Actor.objects.filter(org_id__in=org_ids).values_list(
            "id", "org_id", "code", "type", "user_id"
        ),
        "customers": Customer.objects.filter(org_id__in=org_ids).values_list(
            "id", "org_id", "lifetime_purchases", "created_on", "last_updated_on", "last_updated_by_id"
        ),
        "profiles": CustomerProfile.objects.filter(org_id__in=org_ids).values_list(
            "customer_id", "first_name", "last_name"
        ),
        "channels": CommChannel.objects.filter(org_id__in=org_ids).values_list(
            "profile__customer_id", "type", "value"
        ),
        "groups": TargetGroup.objects.filter(org_id__in=org_ids).values_list(
            "org_id", "name", "active", "start", "end", "last_updated_on"
        ),
        "periods": TargetPeriod.objects.filter(org_id__in=org_ids).values_list(
            "group__name", "customer_id", "ref_code", "start", "end"
        ),
        "rules": TargetRule.objects.filter(org_id__in=org_ids).values_list(
            "group__name", "name", "target_value"
        ),
        "streaks": Streak.objects.filter(org_id__in=org_ids).values_list("group__name", "name", "continuous"),
        "progress": UserTarget.objects.filter(org_id__in=org_ids).values_list(
            "customer_id", "rule__name", "period__ref_code", "achieved_value", "achieved_at"
        ),
        "streak_progress": UserStreak.objects.filter(org_id__in=org_ids).values_list(
            "customer_id", "streak__name", "status", "current_count"
        ),
        "users": get_user_model()
        .objects.filter(
            username__in=["admin", "tillrustaging2", "democoffee", "unrelated", "staff50363", "staff60001"]
        )
        .values_list("username", "is_staff", "is_superuser", "actor__id"),
        "oauth": Application.objects.values_list("client_id", "user__username", "authorization_grant_type"),
    }
    counts, digest = {}, hashlib.sha256()
    for name, rows in tables.items():
        rows = sorted(json.dumps(list(row), default=str) for row in rows)
        counts[name] = len(rows)
        digest.update(name.encode() + "\n".join(rows).encode())
    return counts, digest.hexdigest()


def test_running_it_again_changes_nothing(demo):
    before = snapshot()
    call_command("seed_demo", verbosity=0)
    assert snapshot() == before


def test_the_example_ids_survive_a_second_run(demo):
    ids = set(TargetPeriod.objects.filter(org_id=50363).values_list("id", flat=True))
    call_command("seed_demo", verbosity=0)
    assert set(TargetPeriod.objects.filter(org_id=50363).values_list("id", flat=True)) == ids
    assert TargetGroup.objects.filter(org_id=50363).count() == 9


@pytest.mark.slow
def test_reset_rebuilds_the_same_demo(demo):
    """The example org is rebuilt identically; the other orgs' rows come back in the same
    numbers (their programs get new ids, hence new PERIOD_G_<id>_n ref codes)."""
    example_before, all_before = snapshot(org_ids=(50363,)), snapshot()[0]
    call_command("seed_demo", reset=True, verbosity=0)
    assert snapshot(org_ids=(50363,)) == example_before
    assert snapshot()[0] == all_before


def test_demo_coffee_windows_are_whole_local_days_and_agree_with_their_periods(demo):
    """Demo Coffee (Asia/Kolkata): every window starts at a local midnight and ends at 23:59:59
    local, and a FIXED group's first period starts where the group does."""
    from zoneinfo import ZoneInfo

    from targets.models import TargetGroup

    kolkata = ZoneInfo("Asia/Kolkata")
    groups = list(TargetGroup.objects.filter(org_id=60001).prefetch_related("periods"))
    assert groups
    for group in groups:
        start, end = group.start.astimezone(kolkata), group.end.astimezone(kolkata)
        assert (start.hour, start.minute, start.second) == (0, 0, 0), group
        assert (end.hour, end.minute, end.second) == (23, 59, 59), group
        shared = sorted((p for p in group.periods.all() if p.customer_id is None), key=lambda p: p.sequence)
        if group.target_evaluation_type == "FIXED_CALENDAR_WINDOW":
            assert shared[0].start == group.start and shared[-1].end <= group.end, group

"""SPEC §6 customer search: by userId, name, mobile or email, case-insensitive and partial,
paginated, each match with its name, channels, lifetime purchases and active programs."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import (
    ChannelFactory,
    CustomerFactory,
    EnrolmentFactory,
    GroupFactory,
    ProfileFactory,
)
from tests.staff.html import parse


@pytest.fixture
def zeb(org_staff):
    """A customer with a memorable name and channels in an org of its own, with a staff user."""
    org, client = org_staff()
    customer = CustomerFactory(org=org, lifetime_purchases=Decimal("1234.5"))
    profile = ProfileFactory(customer=customer, first_name="Zebedee", last_name="Quuxley")
    ChannelFactory(profile=profile, type="mobile", value="447700900123", primary=True)
    ChannelFactory(profile=profile, type="email", value="Zeb.Q@Example.org")
    other = CustomerFactory(org=org)
    ProfileFactory(customer=other, first_name="Ann", last_name="Other")
    return customer, client


def found(client, q):
    response = client.get("/staff/customers/", {"q": q})
    assert response.status_code == 200
    return [row.id for row in response.context["rows"]]


@pytest.mark.parametrize(
    "q",
    [
        "zebedee",
        "ZEBED",
        "quux",
        "Zebedee Quuxley",
        "quuxley zeb",
        "7700900",
        "447700900123",
        "zeb.q@",
        "EXAMPLE.ORG",
    ],
)
def test_finds_a_customer_by_part_of_a_name_mobile_or_email_in_any_case(zeb, q):
    customer, client = zeb
    assert found(client, q) == [customer.id]


def test_finds_a_customer_by_user_id_and_by_its_first_digits(zeb):
    customer, client = zeb
    assert found(client, str(customer.id)) == [customer.id]
    assert customer.id in found(client, str(customer.id)[:-1] or str(customer.id))


def test_every_word_must_match(zeb):
    customer, client = zeb
    assert found(client, "zebedee other") == []
    assert found(client, "nobody-like-this") == []


def test_an_empty_query_lists_every_customer_of_the_orgs(zeb):
    customer, client = zeb
    assert len(found(client, "")) == 2


def test_demo_search_9191_finds_the_documented_customer(staff_client):
    assert found(staff_client("staff50363"), "9191") == [347286146]


def test_a_match_shows_name_channels_lifetime_purchases_and_active_programs(zeb):
    customer, client = zeb
    org = customer.org
    GroupFactory(org=org, active=True)  # ALL_CUSTOMERS: every customer of the org
    GroupFactory(org=org, active=False)  # inactive: not counted
    EnrolmentFactory(group=GroupFactory(org=org, enrolment="EXPLICIT"), customer=customer)
    GroupFactory(org=org, enrolment="EXPLICIT")  # not enrolled: not counted
    response = client.get("/staff/customers/", {"q": "zebedee"})
    (row,) = response.context["rows"]
    assert row.name == "Zebedee Quuxley"
    assert row.active_programs == 2
    cells = {td.attrs["data-label"]: td.text() for td in parse(response.content).find("tbody").find_all("td")}
    assert cells["Name"] == "Zebedee Quuxley"
    assert "447700900123" in cells["Channels"] and "Zeb.Q@Example.org" in cells["Channels"]
    assert cells["Lifetime purchases"] == "1,234.5"
    assert cells["Active programs"] == "2"
    assert cells["userId"] == str(customer.id)


def test_the_demo_customer_counts_its_nine_active_programs(staff_client):
    (row,) = staff_client("staff50363").get("/staff/customers/", {"q": "347286146"}).context["rows"]
    assert row.active_programs == 9


def test_results_are_paginated(org_staff):
    org, client = org_staff()
    for n in range(30):
        ProfileFactory(customer=CustomerFactory(org=org), first_name="Paged", last_name=f"P{n}")
    first = client.get("/staff/customers/", {"q": "paged"})
    second = client.get("/staff/customers/", {"q": "paged", "page": 2})
    assert first.context["page"].paginator.count == 30
    assert len(first.context["rows"]) == 25 and len(second.context["rows"]) == 5
    assert not {r.id for r in first.context["rows"]} & {r.id for r in second.context["rows"]}
    assert b"q=paged&amp;page=2" in first.content


def test_the_results_page_costs_the_same_queries_for_few_and_many_matches(org_staff):
    org, client = org_staff()

    def customers(n, prefix):
        group = GroupFactory(org=org, enrolment="EXPLICIT")
        for i in range(n):
            customer = CustomerFactory(org=org)
            ChannelFactory(
                profile=ProfileFactory(customer=customer, first_name=prefix, last_name=str(i)), type="email"
            )
            EnrolmentFactory(group=group, customer=customer)

    customers(2, "Few")
    customers(20, "Many")
    counts = []
    for q in ("few", "many"):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/staff/customers/", {"q": q}).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]

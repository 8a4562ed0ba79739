"""Inputs that are valid on their face and then overflow, nest or grow without a bound (issue 15
§1–2): each is a 4xx in the envelope (or a REJECTED item inside a batch, the rest applied) and
stores nothing of what it refuses. Runs on SQLite and PostgreSQL alike."""

import json
from decimal import Decimal

import pytest

from customers.models import Customer
from targets import limits
from targets.models import Activity, TargetGroup, TargetPeriod, TargetRule, UserTarget
from tests.api.test_config_api import URL as GROUPS
from tests.api.test_config_api import group_body, rule
from tests.factories import CustomerFactory
from tests.support import ACTIVITIES, EXAMPLE_CUSTOMER, TOKEN_GENERATE, assert_error, body

TOP = "999999999999999"  # the largest amount: 15 integer digits


def item(external_id, **overrides):
    return {
        "userId": EXAMPLE_CUSTOMER,
        "entity": "TRANSACTION",
        "eventName": "TransactionAdd",
        "occurredAt": "2024-08-30T09:00:00Z",
        "amount": 10,
        "externalId": external_id,
        **overrides,
    }


def post(client, payload, **extra):
    raw = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return client.post(ACTIVITIES, data=raw, content_type="application/json", **extra)


def counts():
    return (Activity.objects.count(), UserTarget.objects.count(), TargetGroup.objects.count())


def statuses(response):
    assert response.status_code == 200, response.content[:300]
    return [
        (r["externalId"], r["status"], sorted({e["code"] for e in r["errors"] or []}))
        for r in body(response)["data"]
    ]


# --- one activity that cannot be stored: REJECTED, the rest of the batch applied ------------------

HOSTILE_ITEMS = {
    "year 1 with a positive offset": {"occurredAt": "0001-01-01T00:00:00+05:30"},
    "year 9999 with a negative offset": {"occurredAt": "9999-12-31T23:59:59-05:00"},
    "before 1900": {"occurredAt": "1899-12-31T23:59:59Z"},
    "after 2999": {"occurredAt": "3000-01-01T00:00:00Z"},
    "userId of 5,000 digits (string)": {"userId": "9" * 5000},
    "userId of 5,000 zeros and a one": {"userId": "0" * 5000 + "1"},
    "attributes over 4 KB": {"attributes": {"note": "x" * limits.MAX_ATTRIBUTES_BYTES}},
    "attributes nested 40 deep": {"attributes": json.loads('{"a":' * 40 + "1" + "}" * 40)},
    "amount of 16 digits": {"amount": "1" + TOP},
}


@pytest.mark.parametrize("case", HOSTILE_ITEMS)
def test_a_hostile_item_is_rejected_and_the_rest_of_the_batch_applies(till_client, case):
    before = Activity.objects.count()
    response = post(till_client, [item("ok-1"), item("bad", **HOSTILE_ITEMS[case]), item("ok-2")])
    assert statuses(response) == [
        ("ok-1", "APPLIED", []),
        ("bad", "REJECTED", [300004]),
        ("ok-2", "APPLIED", []),
    ]
    assert Activity.objects.count() == before + 2
    assert not Activity.objects.filter(external_id="bad").exists()


def test_a_user_id_of_5000_digits_as_a_json_number_is_one_rejected_item(till_client):
    raw = "[" + json.dumps(item("ok-1")) + ',{"userId": ' + "7" * 5000 + ', "externalId": "bad"}]'
    assert statuses(post(till_client, raw)) == [("ok-1", "APPLIED", []), ("bad", "REJECTED", [300004])]
    assert not Activity.objects.filter(external_id="bad").exists()


def test_attributes_of_3_kb_on_1000_activities_fit_in_one_request(till_client):
    attributes = {"basket": "x" * 3000}
    batch = [item(f"big-{n}", userId=900000001 + n % 300, attributes=attributes) for n in range(1000)]
    raw = json.dumps(batch)
    assert len(raw) > 3_000_000
    response = post(till_client, raw, HTTP_DATA_SCOPE="OTHER", HTTP_DATA_SCOPE_ORG="60001")
    assert response.status_code == 200, response.content[:300]
    assert {r["status"] for r in body(response)["data"]} == {"APPLIED"}


# --- sums past numeric(18, 3) ---------------------------------------------------------------


@pytest.fixture
def fresh(demo):
    """A customer of org 50363 without activity."""
    return CustomerFactory(org=demo).id


def lifetime(customer_id):
    return Customer.objects.get(id=customer_id).lifetime_purchases


def test_two_amounts_whose_sum_overflows_the_second_is_rejected(till_client, fresh):
    batch = [item("top-1", amount="999999999999990"), item("top-2", amount=TOP), item("small", amount=9)]
    response = post(till_client, [{**i, "userId": fresh} for i in batch])
    assert statuses(response) == [
        ("top-1", "APPLIED", []),
        ("top-2", "REJECTED", [300004]),
        ("small", "APPLIED", []),  # what still fits applies
    ]
    assert "999999999999999" in body(response)["data"][1]["errors"][0]["message"]
    assert lifetime(fresh) == limits.MAX_VALUE
    assert not Activity.objects.filter(external_id="top-2").exists()
    # Every request for the customer still answers.
    assert till_client.get(f"/v3.1/users/{fresh}/targetGroups").status_code == 200


def test_an_amount_that_would_overflow_the_stored_lifetime_is_rejected(till_client, fresh):
    assert statuses(post(till_client, [item("first", userId=fresh, amount=TOP)]))[0][1] == "APPLIED"
    stored = lifetime(fresh)
    response = post(till_client, [item("second", userId=fresh, amount=TOP)])
    assert statuses(response) == [("second", "REJECTED", [300004])]
    assert lifetime(fresh) == stored
    response = till_client.get(f"/v3.1/users/{fresh}/targetGroups?includeInactive=true")
    assert response.status_code == 200
    values = [t["targetAchievedValue"] for g in body(response)["data"]["targetGroups"] for t in g["targets"]]
    assert all(Decimal(str(v)) <= limits.MAX_VALUE for v in values)


def test_quantities_of_an_event_are_bounded_as_well(till_client, fresh):
    batch = [item("q-1", entity="EVENT", quantity=TOP), item("q-2", entity="EVENT", quantity=TOP)]
    batch = [{**i, "userId": fresh} for i in batch]
    assert [s for _, s, _ in statuses(post(till_client, batch))] == ["APPLIED", "REJECTED"]


def test_a_sum_attribute_read_by_a_rule_is_bounded(till_client, fresh):
    response = till_client.post(
        GROUPS,
        group_body(name="Points", targets=[rule(targetType="SUM", attribute="points", value=5)]),
        format="json",
    )
    assert response.status_code == 201, response.content
    batch = [
        item("p-1", userId=fresh, amount=0, attributes={"points": TOP}),
        item("p-2", userId=fresh, amount=0, attributes={"points": "0.5"}),
    ]
    assert [s for _, s, _ in statuses(post(till_client, batch))] == ["APPLIED", "REJECTED"]
    # An attribute no rule reads is not a sum: huge values there are fine.
    extra = item("p-3", userId=fresh, amount=0, attributes={"barcode": TOP * 3})
    assert statuses(post(till_client, [extra]))[0][1] == "APPLIED"


def test_a_sum_target_over_stored_values_past_the_limit_is_refused(till_client, fresh):
    """Values of an attribute no rule read were stored unbounded; a SUM target that would read
    them is refused up front (400, the customer and the attribute named), so that no recompute
    ever meets a sum the database cannot hold. What still fits is accepted."""
    batch = [
        item("b-1", userId=fresh, amount=0, attributes={"barcode": TOP}),
        item("b-2", userId=fresh, amount=0, attributes={"barcode": TOP}),
        item("v-1", userId=fresh, amount=0, attributes={"visits": "7"}),
    ]
    assert [s for _, s, _ in statuses(post(till_client, batch))] == ["APPLIED"] * 3
    before = counts()

    created = till_client.post(
        GROUPS, group_body(name="Scans", targets=[rule(targetType="SUM", attribute="barcode")]), format="json"
    )
    payload = assert_error(created, 400, 300004)
    [error] = payload["errors"]
    assert error["message"].startswith("targets[0].attribute: customer")
    assert str(fresh) in error["message"] and "'barcode'" in error["message"]
    assert counts() == before

    fits = till_client.post(
        GROUPS, group_body(name="Visits", targets=[rule(targetType="SUM", attribute="visits")]), format="json"
    )
    assert fits.status_code == 201, fits.content
    group = body(fits)["data"]
    changed = {**group["targets"][0], "attribute": "barcode"}
    response = till_client.patch(f"{GROUPS}/{group['id']}", {"targets": [changed]}, format="json")
    assert assert_error(response, 400, 300004)["errors"][0]["message"] == error["message"]
    assert TargetRule.objects.get(id=changed["id"]).attribute == "visits"


# --- bodies the parser cannot take ------------------------------------------------------------


def test_json_nested_thousands_of_levels_is_a_400(till_client):
    before = counts()
    for raw in ("[" * 5000 + "]" * 5000, '{"a":' * 5000 + "1" + "}" * 5000, "[" * 100 + "]" * 100):
        response = post(till_client, raw)
        assert_error(response, 400, 300004)
    response = till_client.post(
        GROUPS, data='{"name":' + "[" * 3000 + "]" * 3000 + "}", content_type="application/json"
    )
    assert_error(response, 400, 300004)
    assert counts() == before


@pytest.mark.parametrize("path", [ACTIVITIES, GROUPS, TOKEN_GENERATE, "/o/token/"])
def test_a_body_over_the_limit_is_413_naming_the_limit(demo, client, till_client, path):
    before = counts()
    raw = b"[" + b" " * (limits.MAX_BODY_BYTES + 1) + b"]"
    caller = client if path in (TOKEN_GENERATE, "/o/token/") else till_client  # anonymous too
    response = caller.post(path, data=raw, content_type="application/json")
    payload = assert_error(response, 413, 413)
    assert str(limits.MAX_BODY_BYTES) in payload["errors"][0]["message"]
    assert counts() == before


# --- configuration: dates at the edges, sizes ------------------------------------------------


EDGE_DATES = {
    "year 1 with an offset": {"startDate": "0001-01-01T00:00:00+05:30"},
    "year 9999 with a negative offset": {"endDate": "9999-12-31T23:59:59-05:00"},
    "plain date in year 1 (org east of UTC)": {"startDate": "0001-01-01"},
    "plain date in year 9999": {"endDate": "9999-12-31"},
    "yearly periods near 9999": {
        "frequencyType": "YEARLY",
        "startDate": "9990-01-01",
        "endDate": "9999-12-31",
        "totalPeriods": None,
    },
    "period at year 1": {"periods": [{"refCode": "p1", "startDate": "0001-01-01", "endDate": "2024-01-01"}]},
    "frequency of a million years": {"frequencyType": "YEARLY", "frequency": 10**6},
    "frequency of 5,000 digits": {"frequency": int("9" * 4000)},
    "streak of 2^70": {
        "trackingType": "STREAKS",
        "streaks": [{"name": "s", "targetCountOfSequence": 2**70}],
    },
}


@pytest.mark.parametrize("case", EDGE_DATES)
def test_configuration_at_the_edges_is_a_400(demo, client_for, case):
    till = client_for("democoffee")  # org 60001, Asia/Kolkata: east of UTC
    before = counts()
    response = till.post(
        GROUPS, data=json.dumps(group_body(**EDGE_DATES[case])), content_type="application/json"
    )
    assert_error(response, 400, 300004)
    assert counts() == before


SIZES = {
    "periods": {
        "periods": [
            {"refCode": f"P{n}", "startDate": "2024-01-01", "endDate": "2024-01-01"} for n in range(1001)
        ]
    },
    "targets": {"trackingType": "UNIFIED", "targets": [rule(name=f"r{n}") for n in range(11)]},
    "milestones": {
        "targets": [rule(milestones=[{"triggerName": f"t{n}", "triggerValue": 1} for n in range(21)])]
    },
    "streaks": {
        "trackingType": "STREAKS",
        "streaks": [{"name": f"s{n}", "targetCountOfSequence": 1} for n in range(11)],
    },
}


@pytest.mark.parametrize("case", SIZES)
def test_a_group_over_the_size_caps_is_a_400(till_client, case):
    before = counts()
    response = till_client.post(
        GROUPS, data=json.dumps(group_body(**SIZES[case])), content_type="application/json"
    )
    payload = assert_error(response, 400, 300004)
    assert any("at most" in e["message"] or "2 to 10" in e["message"] for e in payload["errors"]), payload
    assert counts() == before


def test_20000_explicit_periods_are_refused_before_they_are_read_one_by_one(till_client):
    periods = [{"refCode": f"P{n}", "startDate": "2024-01-01", "endDate": "2024-01-01"} for n in range(20000)]
    before = TargetPeriod.objects.count()
    response = till_client.post(
        GROUPS, data=json.dumps(group_body(periods=periods)), content_type="application/json"
    )
    assert_error(response, 400, 300004)
    assert TargetPeriod.objects.count() == before


def test_the_caps_hold_at_their_limit(till_client):
    body_ = group_body(
        name="At the caps",
        trackingType="UNIFIED",
        targets=[
            rule(name=f"r{n}", milestones=[{"triggerName": f"t{m}", "triggerValue": 1} for m in range(20)])
            for n in range(10)
        ],
    )
    response = till_client.post(GROUPS, data=json.dumps(body_), content_type="application/json")
    assert response.status_code == 201, response.content[:500]


# --- NUL characters in the pages' searches ---------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/staff/customers/?q=%00",
        "/staff/customers/?q=ab%00c",
        "/admin/customers/customer/?q=%00",
        "/admin/autocomplete/?term=%00&app_label=targets&model_name=groupenrolment&field_name=customer",
    ],
)
def test_a_nul_character_in_a_page_search_is_a_400(demo, client, url):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="admin"))
    response = client.get(url)
    assert response.status_code == 400

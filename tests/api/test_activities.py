"""POST /v3.1/activities (SPEC §5): one object or a list of up to 1,000 for the caller's org,
each answered APPLIED, DUPLICATE or REJECTED in input order. The demo's org 50363 (till
tillrustaging2) and its child 60001, at the pinned clock."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from customers.models import Actor, Customer
from targets.models import Activity, UserTarget
from tests.support import PASSWORD, READ, api_user, assert_error, body

URL = "/v3.1/activities"
CUSTOMER = 347286146  # org 50363
CHILD_CUSTOMER = 900000001  # org 60001, a child of 50363
UNRELATED_CUSTOMER = 910000001  # org 70001
CLOCK = datetime(2024, 8, 30, 9, 21, 43, 741000, tzinfo=UTC)  # the demo's pinned clock


def activity(external_id, user_id=CUSTOMER, **fields):
    return {
        "userId": user_id,
        "entity": "TRANSACTION",
        "eventName": "TransactionAdd",
        "occurredAt": "2024-08-30T09:00:00Z",
        "amount": 100,
        "externalId": external_id,
        **fields,
    }


def post(client, payload, **headers):
    raw = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    return client.post(URL, data=raw, content_type="application/json", **headers)


def results(response):
    assert response.status_code == 200, response.content
    payload = body(response)
    assert payload["errors"] is None and payload["warnings"] is None
    return payload["data"]


def test_a_single_activity_is_applied_for_the_callers_org(till_client):
    before = Customer.objects.get(id=CUSTOMER).lifetime_purchases
    data = results(post(till_client, activity("api-1", amount="250.5")))
    assert data == [{"externalId": "api-1", "status": "APPLIED", "errors": None}]
    stored = Activity.objects.get(org_id=50363, external_id="api-1")
    till = Actor.objects.get(user__username="tillrustaging2")
    assert (stored.customer_id, stored.amount, stored.received_at, stored.posted_by) == (
        CUSTOMER,
        Decimal("250.5"),
        CLOCK,
        till,
    )
    customer = Customer.objects.get(id=CUSTOMER)
    assert customer.lifetime_purchases == before + Decimal("250.5")
    assert (customer.last_updated_on, customer.last_updated_by) == (CLOCK, till)


def test_posted_activity_shows_in_the_read_endpoint(till_client):
    def fixed_current():
        response = till_client.get(READ.format(CUSTOMER))
        group = next(g for g in body(response)["data"]["targetGroups"] if g["name"] == "t1Fixed")
        (target,) = group["targets"]
        return target

    assert fixed_current()["targetAchievedValue"] == 0
    results(post(till_client, [activity("api-2", amount=600), activity("api-3", amount=500)]))
    target = fixed_current()
    assert target["targetAchievedValue"] == 1100
    assert target["targetAchievedDateTime"] == "2024-08-30T09:00:00.000Z"
    assert UserTarget.objects.get(id=target["targetId"]).achieved_value == 1100


def test_each_item_is_answered_in_input_order(till_client):
    results(post(till_client, activity("api-seen")))
    data = results(
        post(
            till_client,
            [
                activity("api-new-1"),
                activity("api-seen"),
                activity("api-bad", amount=-1),
                activity("api-new-2"),
                activity("api-new-2"),
            ],
        )
    )
    assert [(d["externalId"], d["status"]) for d in data] == [
        ("api-new-1", "APPLIED"),
        ("api-seen", "DUPLICATE"),
        ("api-bad", "REJECTED"),
        ("api-new-2", "APPLIED"),
        ("api-new-2", "DUPLICATE"),
    ]
    assert [d["errors"] is None for d in data] == [True, True, False, True, True]
    assert Activity.objects.filter(org_id=50363, external_id__startswith="api-").count() == 3


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"userId": 999999999}, "customer 999999999 not found"),
        ({"userId": UNRELATED_CUSTOMER}, f"customer {UNRELATED_CUSTOMER} not found"),
        ({"userId": CHILD_CUSTOMER}, f"customer {CHILD_CUSTOMER} not found"),
        ({"userId": "abc"}, "userId"),
        ({"entity": "PURCHASE"}, "entity"),
        ({"amount": -5}, "amount: cannot be negative"),
        ({"amount": "12,5"}, "amount: must be a number"),
        ({"netAmount": "lots"}, "netAmount: must be a number"),
        ({"quantity": -1}, "quantity: cannot be negative"),
        ({"occurredAt": None}, "occurredAt: is required"),
        ({"occurredAt": "2024-08-30T09:00:00"}, "timezone"),
        ({"occurredAt": "yesterday"}, "occurredAt"),
        ({"externalId": ""}, "externalId"),
        ({"eventName": ""}, "eventName"),
        ({"attributes": [1, 2]}, "attributes"),
    ],
)
def test_an_invalid_item_is_rejected_with_its_reason_and_the_others_apply(till_client, fields, reason):
    before = Customer.objects.get(id=CUSTOMER).lifetime_purchases
    data = results(post(till_client, [activity("api-ok"), activity("api-rejected", **fields)]))
    assert data[0] == {"externalId": "api-ok", "status": "APPLIED", "errors": None}
    rejected = data[1]
    assert rejected["status"] == "REJECTED"
    assert rejected["errors"] and all(e["code"] == 300004 for e in rejected["errors"])
    assert any(reason in e["message"] for e in rejected["errors"]), rejected
    assert not Activity.objects.filter(external_id="api-rejected").exists()
    assert Customer.objects.get(id=CUSTOMER).lifetime_purchases == before + 100


@pytest.mark.parametrize(
    ("sent", "echoed"), [(12345, "12345"), (True, None), (False, None), ("\ud800", None), (["x"], None)]
)
def test_a_rejected_items_external_id_is_echoed_as_a_string_or_null(till_client, sent, echoed):
    (result,) = results(post(till_client, [{"userId": "not-a-user", "externalId": sent}]))
    assert (result["externalId"], result["status"]) == (echoed, "REJECTED")


def test_a_numeric_external_id_is_applied_as_its_string(till_client):
    data = results(post(till_client, [activity(4242), activity("4242")]))
    assert [(d["externalId"], d["status"]) for d in data] == [("4242", "APPLIED"), ("4242", "DUPLICATE")]


def test_a_rejected_item_without_an_external_id_is_answered_with_null(till_client):
    data = results(post(till_client, [{"userId": CUSTOMER}, "text"]))
    assert [(d["externalId"], d["status"]) for d in data] == [(None, "REJECTED"), (None, "REJECTED")]
    assert any("occurredAt" in e["message"] for e in data[0]["errors"])


@pytest.mark.parametrize(
    "raw",
    ['{"userId": 347286146,', "[1, 2", "", "42", '"text"', "null", "[]", "true"],
    ids=["cut-object", "cut-list", "empty", "number", "string", "null", "empty-list", "boolean"],
)
def test_a_body_that_is_not_an_activity_or_a_list_is_a_400(till_client, raw):
    stored = Activity.objects.count()
    assert_error(post(till_client, raw), 400, 300004)
    assert Activity.objects.count() == stored


def test_more_than_1000_items_is_a_400_and_applies_nothing(till_client):
    items = [activity(f"api-bulk-{n}") for n in range(1001)]
    payload = assert_error(post(till_client, items), 400, 300004)
    assert "1000" in payload["errors"][0]["message"].replace(",", "")
    assert not Activity.objects.filter(external_id__startswith="api-bulk-").exists()


def test_1000_items_are_accepted(till_client):
    items = [activity(f"api-bulk-{n}", amount=1) for n in range(1000)]
    data = results(post(till_client, items))
    assert {d["status"] for d in data} == {"APPLIED"}
    assert [d["externalId"] for d in data] == [i["externalId"] for i in items]
    assert Activity.objects.filter(external_id__startswith="api-bulk-").count() == 1000


def test_without_credentials_the_answer_is_401(demo, client):
    assert_error(post(client, activity("api-anon")), 401, 401)
    assert not Activity.objects.filter(external_id="api-anon").exists()


def test_without_the_permission_to_post_activity_the_answer_is_403(demo, client_for):
    reader = api_user(demo, perms=("targets.view_targetgroup",))
    assert_error(post(client_for(reader.username, PASSWORD), activity("api-reader")), 403, 403)
    assert not Activity.objects.filter(external_id="api-reader").exists()


def test_with_the_permission_a_new_till_may_post(demo, client_for):
    poster = api_user(demo, perms=("targets.add_activity",))
    data = results(post(client_for(poster.username, PASSWORD), activity("api-poster")))
    assert data[0]["status"] == "APPLIED"


def test_only_post_is_allowed(till_client):
    response = till_client.get(URL)
    assert response.status_code == 405
    assert body(response)["errors"][0]["code"] == 405


def test_a_parent_writes_to_its_child_with_data_scope_other(till_client):
    headers = {"HTTP_DATA_SCOPE": "OTHER", "HTTP_DATA_SCOPE_ORG": "60001"}
    data = results(post(till_client, activity("api-child", user_id=CHILD_CUSTOMER), **headers))
    assert data[0]["status"] == "APPLIED"
    assert Activity.objects.get(external_id="api-child").org_id == 60001
    # In the child's org, its own customers only.
    data = results(post(till_client, activity("api-child-2"), **headers))
    assert data[0]["status"] == "REJECTED"


def test_external_ids_are_per_org(till_client, client_for):
    results(post(till_client, activity("api-shared")))
    coffee = client_for("democoffee")
    data = results(post(coffee, activity("api-shared", user_id=CHILD_CUSTOMER)))
    assert data[0]["status"] == "APPLIED"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"HTTP_DATA_SCOPE": "ALL"}, 400, 300004),
        ({"HTTP_DATA_SCOPE": "EVERYTHING"}, 400, 300004),
        ({"HTTP_DATA_SCOPE": "OTHER"}, 400, 310144),
        ({"HTTP_DATA_SCOPE": "OTHER", "HTTP_DATA_SCOPE_ORG": "60001,50363"}, 400, 310144),
        ({"HTTP_DATA_SCOPE": "OTHER", "HTTP_DATA_SCOPE_ORG": "70001"}, 403, 310144),
        ({"HTTP_DATA_SCOPE": "OTHER", "HTTP_DATA_SCOPE_ORG": "x"}, 400, 310144),
    ],
)
def test_scope_headers_that_do_not_name_one_writable_org_are_refused(till_client, headers, status, code):
    assert_error(post(till_client, activity("api-scope", user_id=CHILD_CUSTOMER), **headers), status, code)
    assert not Activity.objects.filter(external_id="api-scope").exists()


def test_a_child_cannot_write_to_its_parent(demo, client_for):
    coffee = client_for("democoffee")
    headers = {"HTTP_DATA_SCOPE": "OTHER", "HTTP_DATA_SCOPE_ORG": "50363"}
    assert_error(post(coffee, activity("api-up"), **headers), 403, 310144)
    data = results(post(coffee, activity("api-up")))
    assert data[0]["status"] == "REJECTED"  # customer 347286146 is not Demo Coffee's
    assert not Activity.objects.filter(external_id="api-up").exists()


@pytest.mark.parametrize(
    ("field", "escaped"),
    [
        ("externalId", '"nul\\u0000id"'),
        ("externalId", '"lone\\ud800"'),
        ("eventName", '"Transaction\\u0000Add"'),
        ("attributes", '{"note": "a\\u0000b"}'),
        ("attributes", '{"k\\u0000": 1}'),
        ("attributes", '{"deep": [{"x": "\\udfff"}]}'),
        ("amount", '"1\\u0000"'),
        ("occurredAt", '"2024-08-30T09:00:00Z\\u0000"'),
    ],
)
def test_text_the_database_cannot_store_is_rejected_not_an_error(till_client, field, escaped):
    """NUL characters and unpaired surrogates are valid JSON escapes, but no text column or
    jsonb value can hold them."""
    raw = json.dumps([activity("api-text-ok"), activity("api-text", **{field: "@@"})])
    data = results(post(till_client, raw.replace('"@@"', escaped)))
    assert data[0]["status"] == "APPLIED"
    assert data[1]["status"] == "REJECTED"
    assert any(e["message"].startswith(field) for e in data[1]["errors"]), data[1]
    assert not Activity.objects.filter(external_id="api-text").exists()

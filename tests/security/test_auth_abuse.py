"""Authentication abuse (issue 15 §3): failed Basic-auth attempts are throttled per client address
and per username before any password hashing; unknown client keys cost the token endpoint the
same verification as known ones; OAuth scopes are enforced."""

import json
from unittest import mock

import pytest
from rest_framework.test import APIClient

from customers.authentication import _dummy_secret_hash
from targets.models import Activity, TargetGroup
from tests.conftest import basic
from tests.support import (
    ACTIVITIES,
    EXAMPLE_CUSTOMER,
    READ,
    STANDARD_TOKEN,
    TOKEN_GENERATE,
    assert_error,
    body,
)

PATH = READ.format(EXAMPLE_CUSTOMER)


pytestmark = pytest.mark.usefixtures("fresh_counters")


def get(username, password, address="10.0.0.1"):
    return APIClient().get(PATH, HTTP_AUTHORIZATION=basic(username, password), REMOTE_ADDR=address)


def test_wrong_passwords_for_one_username_are_throttled_from_any_address(demo, hashing):
    for n in range(3):
        assert_error(get("tillrustaging2", "wrong", address=f"10.0.1.{n}"), 401, 401)
    hashed = hashing.call_count
    response = get("tillrustaging2", "wrong", address="10.0.1.99")
    payload = assert_error(response, 429, 429)
    assert 0 < int(response["Retry-After"]) <= 300
    assert "Expected available in" in payload["errors"][0]["message"]
    assert hashing.call_count == hashed  # refused before any hashing
    # Another username from another address is not affected.
    assert get("democoffee", "democoffee", address="10.0.2.1").status_code in (200, 404)


def test_wrong_passwords_from_one_address_are_throttled_for_any_username(demo, hashing):
    for n in range(5):
        assert_error(get(f"nobody{n}", "guess", address="10.0.3.1"), 401, 401)
    hashed = hashing.call_count
    assert_error(get("nobody-else", "guess", address="10.0.3.1"), 429, 429)
    assert hashing.call_count == hashed
    # Another address is not affected.
    assert_error(get("nobody-else", "guess", address="10.0.3.2"), 401, 401)


def test_credentials_verified_before_the_attack_keep_working(demo):
    assert get("tillrustaging2", "tillrustaging2", address="10.0.4.1").status_code == 200
    for _ in range(6):
        get("tillrustaging2", "wrong", address="10.0.4.1")
    assert_error(get("tillrustaging2", "wrong", address="10.0.4.1"), 429, 429)
    # The till already talking to the service is not locked out by the attacker's failures.
    assert get("tillrustaging2", "tillrustaging2", address="10.0.4.1").status_code == 200


def test_a_throttled_address_with_new_credentials_waits_like_the_attacker(demo):
    for n in range(5):
        get(f"nobody{n}", "guess", address="10.0.5.1")
    assert_error(get("tillrustaging2", "tillrustaging2", address="10.0.5.1"), 429, 429)


def test_the_counters_live_in_the_shared_cache(demo):
    """Every worker reads the same counters: they are rows of the database cache's table."""
    from django.db import connection

    for n in range(3):
        get("tillrustaging2", "wrong", address=f"10.0.6.{n}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM loyalty_cache WHERE cache_key LIKE %s", ["%authfail%"])
        assert cursor.fetchone()[0] == 4  # the username and three addresses


# --- token endpoint: unknown keys are not cheaper ---------------------------------------------


@pytest.mark.parametrize("path", [TOKEN_GENERATE, STANDARD_TOKEN])
def test_an_unknown_client_key_costs_the_same_hashing_as_a_known_one(demo, hashing, path):
    def attempt(key):
        if path == TOKEN_GENERATE:
            response = APIClient().post(path, {"key": key, "secret": "wrong"}, format="json")
        else:
            response = APIClient().post(
                path, {"grant_type": "client_credentials", "client_id": key, "client_secret": "wrong"}
            )
        assert response.status_code in (400, 401), response.content
        return response

    _dummy_secret_hash()  # made once per process, on first use
    counts = []
    for key in ("demo-key", "no-such-key", "demo-key", "another-unknown"):
        before = hashing.call_count
        attempt(key)
        counts.append(hashing.call_count - before)
    assert counts[0] >= 1
    assert counts == [counts[0]] * 4, counts


# --- OAuth scopes -----------------------------------------------------------------------------


def token_with(scope):
    data = {"grant_type": "client_credentials", "client_id": "demo-key", "client_secret": "demo-secret"}
    if scope is not None:
        data["scope"] = scope
    response = APIClient().post(STANDARD_TOKEN, data)
    assert response.status_code == 200, response.content
    return json.loads(response.content)["access_token"]


def bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


ACTIVITY = {
    "userId": EXAMPLE_CUSTOMER,
    "entity": "TRANSACTION",
    "eventName": "TransactionAdd",
    "occurredAt": "2024-08-30T09:00:00Z",
    "amount": 1,
    "externalId": "scope-1",
}
GROUP = {
    "name": "Scoped",
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "trackingType": "DEFAULT",
    "frequencyType": "DAILY",
    "totalPeriods": 2,
    "startDate": "2024-08-28T00:00:00Z",
    "endDate": "2024-08-29T23:59:59Z",
    "targets": [
        {
            "name": "Spend",
            "targetEntity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "targetType": "GROSS_SALES",
            "value": 10,
        }
    ],
}


def test_a_read_token_reads_and_cannot_write(demo):
    client = bearer(token_with("read"))
    assert client.get(PATH).status_code == 200
    assert client.get("/v3/targetGroups").status_code == 200
    before = (Activity.objects.count(), TargetGroup.objects.count())
    assert_error(client.post(ACTIVITIES, [ACTIVITY], format="json"), 403, 403)
    assert_error(client.post("/v3/targetGroups", GROUP, format="json"), 403, 403)
    group = TargetGroup.objects.filter(org_id=50363).first()
    assert_error(client.patch(f"/v3/targetGroups/{group.id}", {"active": False}, format="json"), 403, 403)
    assert_error(client.delete(f"/v3/targetGroups/{group.id}"), 403, 403)
    assert (Activity.objects.count(), TargetGroup.objects.count()) == before
    assert TargetGroup.objects.get(id=group.id).active == group.active


def test_a_write_token_writes_and_cannot_read(demo):
    client = bearer(token_with("write"))
    assert_error(client.get(PATH), 403, 403)
    response = client.post(ACTIVITIES, [ACTIVITY], format="json")
    assert response.status_code == 200
    assert body(response)["data"][0]["status"] == "APPLIED"


def test_a_token_with_both_scopes_does_both(demo):
    for token in (token_with(None), token_with("read write")):
        client = bearer(token)
        assert client.get(PATH).status_code == 200
        assert (
            client.post(
                ACTIVITIES, [{**ACTIVITY, "externalId": f"both-{token[:6]}"}], format="json"
            ).status_code
            == 200
        )


def test_the_platform_token_endpoint_grants_both_scopes(demo):
    response = APIClient().post(TOKEN_GENERATE, {"key": "demo-key", "secret": "demo-secret"}, format="json")
    token = body(response)["data"]["accessToken"]
    client = APIClient()
    client.credentials(HTTP_X_CAP_API_OAUTH_TOKEN=token)
    assert client.get(PATH).status_code == 200
    assert (
        client.post(ACTIVITIES, [{**ACTIVITY, "externalId": "platform-1"}], format="json").status_code == 200
    )


def test_the_limit_slides_across_a_window_boundary(settings):
    """3 failures just before a window ends are still refused just after it (no burst of twice the
    limit at a boundary); half a window later half of them have slid out."""
    from django.test import RequestFactory

    from customers import throttling

    request = RequestFactory().get("/", REMOTE_ADDR="10.0.8.1")
    boundary = 300 * 6_000_000.0
    with mock.patch("customers.throttling.time.time", return_value=boundary - 1):
        for _ in range(3):
            throttling.record_failure(request, "slider")
    with mock.patch("customers.throttling.time.time", return_value=boundary + 1):
        with pytest.raises(throttling.TooManyFailures) as refused:
            throttling.check(request, "slider")
        # Under the limit once ceil(3 × weight) ≤ 2, i.e. a third of the window in: 100 s.
        assert refused.value.wait == 99
    with mock.patch("customers.throttling.time.time", return_value=boundary + 150):
        throttling.check(request, "slider")  # ceil(3 × 0.5) = 2 < 3

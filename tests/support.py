"""Shared helpers of the tests: paths, JSON bodies, the error envelope, API identities."""

import json

from tests.factories import ActorFactory, UserFactory

READ = "/v3.1/users/{}/targetGroups"
GATEWAY_READ = "/api_gateway/intouch-api-v3/v3.1/users/{}/targetGroups"
ACTIVITIES = "/v3.1/activities"
TOKEN_GENERATE = "/v3/oauth/token/generate"
STANDARD_TOKEN = "/o/token/"
EXAMPLE_CUSTOMER = 347286146  # org 50363
PASSWORD = "secret-pass"  # UserFactory's password
DEMO_CLOCK_ENROLLED_ON = "2024-08-30T09:21:43.741+0000"  # the pinned clock in enrolledOn's format


def body(response):
    assert response["Content-Type"].startswith("application/json"), (
        response["Content-Type"],
        response.content[:200],
    )
    return json.loads(response.content)


def is_envelope_error(payload):
    """`{"data": null, "errors": [{"code": int, "message": str}, …], "warnings": null}`."""
    return (
        isinstance(payload, dict)
        and set(payload) == {"data", "errors", "warnings"}
        and payload["data"] is None
        and payload["warnings"] is None
        and isinstance(payload["errors"], list)
        and len(payload["errors"]) > 0
        and all(
            isinstance(e, dict)
            and set(e) == {"code", "message"}
            and isinstance(e["code"], int)
            and isinstance(e["message"], str)
            and e["message"]
            for e in payload["errors"]
        )
    )


def assert_error(response, status, code):
    """The response is the error envelope with this HTTP status and only errors of this code."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    payload = body(response)
    assert is_envelope_error(payload), payload
    assert {e["code"] for e in payload["errors"]} == {code}, payload
    return payload


def api_user(org, *, perms=("targets.view_targetgroup",), actor=True, **user_kwargs):
    """A Django user (password PASSWORD) linked to a till Actor of `org`, with `perms`."""
    user = UserFactory(perms=list(perms), **user_kwargs)
    if actor:
        ActorFactory(org=org, user=user)
    return user


def groups_by_name(payload):
    return {group["name"]: group for group in payload["data"]["targetGroups"]}

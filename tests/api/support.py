"""Shared helpers of the API tests: JSON bodies, the error envelope, API identities."""

import json

from tests.factories import ActorFactory, UserFactory

READ = "/v3.1/users/{}/targetGroups"
GATEWAY_READ = "/api_gateway/intouch-api-v3/v3.1/users/{}/targetGroups"
PASSWORD = "secret-pass"  # UserFactory's password
DEMO_CLOCK_ENROLLED_ON = "2024-08-30T09:21:43.741+0000"  # the pinned clock in enrolledOn's format


def body(response):
    assert response["Content-Type"].startswith("application/json"), (
        response["Content-Type"],
        response.content[:200],
    )
    return json.loads(response.content)


def assert_error(response, status, code):
    """The response is the error envelope with this HTTP status and one error of this code."""
    assert response.status_code == status, response.content
    payload = body(response)
    assert set(payload) == {"data", "errors", "warnings"}
    assert payload["data"] is None and payload["warnings"] is None
    assert [e["code"] for e in payload["errors"]] == [code] * len(payload["errors"]), payload
    assert payload["errors"] and all(
        isinstance(e["message"], str) and e["message"] for e in payload["errors"]
    )
    return payload


def api_user(org, *, perms=("targets.view_targetgroup",), actor=True, **user_kwargs):
    """A Django user (password PASSWORD) linked to a till Actor of `org`, with `perms`."""
    user = UserFactory(perms=list(perms), **user_kwargs)
    if actor:
        ActorFactory(org=org, user=user)
    return user


def groups_by_name(payload):
    return {group["name"]: group for group in payload["data"]["targetGroups"]}

"""Fuzzing against our own OpenAPI schema (issue 8 §2).

Schemathesis reads /api/schema/ from the WSGI application (config.wsgi.application, in process,
on the test database) and generates requests for every operation, valid ones (positive) and
ones that break the schema (negative), authenticated as the demo till. Every answer must:
- never be a 5xx;
- conform to the schema: a documented status code, a documented content type, a body that
  validates against the documented response schema;
- be the JSON error envelope `{"data": null, "errors": [{"code", "message"}], "warnings": null}`
  when it is an error.

Generation is deterministic (Hypothesis `derandomize=True`, no example database) and bounded per
operation; the budgets add up to more than 2,000 cases. The number of cases executed is
recorded (see tests/security/conftest.py)."""

import base64
import json

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.support import is_envelope_error

AUTH = {"Authorization": "Basic " + base64.b64encode(b"tillrustaging2:tillrustaging2").decode()}

# Examples per operation and mode. Bodies of the configuration writes and activity batches are
# costly to generate, so they get fewer; the sum is above 2,000.
BUDGET = {
    "getUserTargetGroups": 250,
    "postActivities": 120,
    "generateOAuthToken": 150,
    "listTargetGroups": 100,
    "createTargetGroup": 60,
    "getTargetGroup": 100,
    "replaceTargetGroup": 50,
    "updateTargetGroup": 50,
    "deleteTargetGroup": 150,
    "enrolInTargetGroup": 120,
    "unenrolFromTargetGroup": 120,
    "getEvents": 100,
    "listWebhooks": 30,
    "createWebhook": 40,
    "getWebhook": 30,
    "updateWebhook": 30,
    "deleteWebhook": 30,
}
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

assert sum(BUDGET.values()) * len(MODES) >= 2000


def envelope_check(response):
    """Every error is the JSON envelope; every success carries data, errors and warnings."""
    payload = json.loads(response.content)
    if response.status_code >= 400:
        assert is_envelope_error(payload), (response.status_code, payload)
    else:
        assert {"data", "errors", "warnings"} <= set(payload), payload
        assert payload["errors"] is None, payload


@pytest.fixture(scope="module")
def api_schema(django_db_blocker):
    with django_db_blocker.unblock(), in_process_requests():
        return schemathesis.openapi.from_wsgi("/api/schema/", application)


class in_process_requests:
    """Requests through the WSGI handler share the test's database connection and transaction,
    as Django's test client arranges: the handler must not close that connection between
    requests (it would at request start and end on a server)."""

    def __enter__(self):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)

    def __exit__(self, *exc):
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_env(demo, settings):
    """The demo data, the pinned clock, and a token throttle wide enough to fuzz the token
    endpoint itself (throttling has its own tests)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "100000/min"},
    }
    cache.clear()
    with in_process_requests():
        yield
    cache.clear()


def test_every_operation_of_the_schema_is_fuzzed(api_schema):
    operation_ids = {result.ok().definition.raw["operationId"] for result in api_schema.get_all_operations()}
    assert operation_ids == set(BUDGET)


def test_the_list_of_target_groups_is_documented_as_one_envelope(api_schema):
    operation = api_schema.find_operation_by_id("listTargetGroups")
    documented = operation.definition.raw["responses"]["200"]["content"]["application/json"]["schema"]
    assert documented.get("type") != "array"
    assert "$ref" in documented


def test_retrieving_a_target_group_documents_its_400(api_schema):
    operation = api_schema.find_operation_by_id("getTargetGroup")
    assert "400" in operation.definition.raw["responses"]


@pytest.mark.parametrize("mode", MODES, ids=str)
@pytest.mark.parametrize("operation_id", BUDGET)
def test_fuzz_operation(api_schema, fuzz_env, security_figures, operation_id, mode):
    operation = api_schema.find_operation_by_id(operation_id)
    budget = BUDGET[operation_id]
    executed = []

    @hypothesis_settings(
        max_examples=budget,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case):
        response = case.call(headers=AUTH)
        executed.append(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=AUTH)
        envelope_check(response)

    fuzz()
    security_figures.setdefault("fuzz", {})[f"{operation_id}-{mode.value}"] = len(executed)
    assert len(executed) >= budget

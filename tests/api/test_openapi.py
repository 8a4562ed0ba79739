"""The OpenAPI schema at /api/schema/ (drf-spectacular) documents the read endpoint completely —
path parameter, query parameters, scope headers, both auth schemes, the 200 shape and every error
shape — and Swagger UI at /api/docs/ runs from local assets only (drf-spectacular-sidecar)."""

import copy
import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from drf_spectacular.validation import validate_schema
from jsonschema import Draft202012Validator
from rest_framework.test import APIClient

from targets.models import UserStreak
from tests.support import READ

READ_PATH = "/v3.1/users/{userId}/targetGroups"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "read-endpoint.md"


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


@pytest.fixture
def operation(schema):
    return schema["paths"][READ_PATH]["get"]


def parameters(operation, location):
    return {p["name"]: p for p in operation["parameters"] if p["in"] == location}


def resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_the_schema_is_valid_openapi(schema):
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")


def test_the_read_path_is_documented_once_as_the_platform_writes_it(schema):
    read_paths = [p for p in schema["paths"] if p.endswith("/targetGroups") and "users" in p]
    assert read_paths == [READ_PATH]
    assert not [p for p in schema["paths"] if p.startswith("/api_gateway/")]
    assert {"url": "/api_gateway/intouch-api-v3"} in [{"url": s["url"]} for s in schema["servers"]]


def test_the_path_parameter(operation):
    path = parameters(operation, "path")
    assert list(path) == ["userId"]
    assert path["userId"]["required"] is True
    assert path["userId"]["schema"] == {"type": "integer", "format": "int64"}


def test_the_three_query_parameters(operation):
    query = parameters(operation, "query")
    assert set(query) == {"includeInactive", "includeInactiveTargets", "targetRuleId"}
    assert query["includeInactive"]["schema"]["type"] == "boolean"
    assert query["includeInactiveTargets"]["schema"]["type"] == "boolean"
    assert query["targetRuleId"]["schema"] == {"type": "integer", "format": "int64"}
    for parameter in query.values():
        assert parameter.get("required", False) is False
        assert parameter["description"]


def test_the_scope_headers(operation):
    headers = parameters(operation, "header")
    assert {"DATA-SCOPE", "DATA-SCOPE-ORG"} <= set(headers)
    assert sorted(headers["DATA-SCOPE"]["schema"]["enum"]) == ["ALL", "OTHER", "SELF"]
    assert headers["DATA-SCOPE-ORG"]["schema"]["type"] == "string"
    assert "DATA-SCOPE-ORGS" in headers  # the alias
    assert headers["DATA-SCOPE-ORGS"]["schema"]["type"] == "string"


def test_both_auth_schemes(schema, operation):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["basicAuth"] == {**schemes["basicAuth"], "type": "http", "scheme": "basic"}
    assert schemes["oauth2"]["type"] == "oauth2"
    assert schemes["oauth2"]["flows"]["clientCredentials"]["tokenUrl"] == "/o/token/"
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["capOAuthToken"] == {
        **schemes["capOAuthToken"],
        "type": "apiKey",
        "in": "header",
        "name": "X-CAP-API-OAUTH-TOKEN",
    }
    # Any one of them is enough (OR): one requirement object each; a read needs the read scope.
    assert sorted(operation["security"], key=str) == sorted(
        [{"basicAuth": []}, {"oauth2": ["read"]}, {"bearerAuth": []}, {"capOAuthToken": []}], key=str
    )


def test_writes_document_the_write_scope(schema):
    for path, method in (("/v3.1/activities", "post"), ("/v3/targetGroups", "post")):
        assert {"oauth2": ["write"]} in schema["paths"][path][method]["security"]
    assert {"oauth2": ["read"]} in schema["paths"]["/v3/targetGroups"]["get"]["security"]


def test_the_token_endpoint_is_documented_without_auth(schema):
    post = schema["paths"]["/v3/oauth/token/generate"]["post"]
    assert post.get("security") in (None, [], [{}])
    body = resolve(schema, post["requestBody"]["content"]["application/json"]["schema"])
    assert set(body["required"]) == {"key", "secret"}
    ok = resolve(schema, post["responses"]["200"]["content"]["application/json"]["schema"])
    assert set(resolve(schema, ok["properties"]["data"])["properties"]) == {"accessToken", "ttlSeconds"}
    assert resolve(schema, post["responses"]["401"]["content"]["application/json"]["schema"])["properties"][
        "errors"
    ]


def test_the_200_is_one_envelope_with_the_documented_fields(schema, operation):
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    envelope = resolve(schema, ok)
    assert envelope["type"] == "object"
    assert set(envelope["properties"]) == {"data", "errors", "warnings"}
    data = resolve(schema, envelope["properties"]["data"])
    assert set(data["properties"]) == {"userId", "customer", "targetGroups"}
    group = resolve(schema, data["properties"]["targetGroups"]["items"])
    target = resolve(schema, group["properties"]["targets"]["items"])
    streak = resolve(schema, group["properties"]["streaks"]["items"])
    assert "streaks" not in group["required"]  # present for streak groups only
    assert {"targetId", "periodRefCode", "enrolledOn", "currentPeriod", "milestones"} <= set(
        target["required"]
    )
    assert {"userStreakId", "status", "streakAchievedUserTargetId"} <= set(streak["required"])
    assert target["properties"]["targetValue"]["type"] == "number"
    assert target["properties"]["periodStartDateWithTimeStamp"]["pattern"]


@pytest.mark.parametrize(
    ("status", "codes"),
    [
        ("400", {310011, 300004, 310144}),
        ("401", {401}),
        ("403", {403, 310144}),
        ("404", {8015}),
        ("500", {500}),
    ],
)
def test_every_error_shape(schema, operation, status, codes):
    content = operation["responses"][status]["content"]["application/json"]
    envelope = resolve(schema, content["schema"])
    assert set(envelope["properties"]) == {"data", "errors", "warnings"}
    item = resolve(schema, envelope["properties"]["errors"]["items"])
    assert set(item["properties"]) == {"code", "message"}
    examples = [example["value"] for example in content["examples"].values()]
    assert {error["code"] for value in examples for error in value["errors"]} == codes
    for value in examples:
        assert value["data"] is None and value["warnings"] is None


# --- the schema describes what the endpoint really answers -----------------------------------


def as_json_schema(openapi, name):
    """An OpenAPI 3.0 component as a JSON Schema: `nullable` becomes a null alternative, and
    objects that list properties accept no undocumented ones (so the test is strict both ways)."""

    def convert(node):
        if isinstance(node, list):
            return [convert(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {key: convert(value) for key, value in node.items()}
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        if node.pop("nullable", False):
            node = {"anyOf": [node, {"type": "null"}]}
        return node

    components = convert(copy.deepcopy(openapi["components"]))
    return {"$ref": f"#/components/schemas/{name}", "components": components}


def assert_conforms(openapi, component, payload):
    validator = Draft202012Validator(as_json_schema(openapi, component))
    errors = sorted(validator.iter_errors(payload), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


@pytest.mark.parametrize(
    "query", ["?includeInactive=true", "", "?includeInactiveTargets=true&includeInactive=true"]
)
def test_the_demo_response_conforms_to_the_documented_200(schema, till_client, query):
    response = till_client.get(READ.format(347286146) + query)
    assert response.status_code == 200
    component = schema["paths"][READ_PATH]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert_conforms(schema, component["$ref"].rsplit("/", 1)[1], json.loads(response.content))


def test_a_child_org_response_with_streak_progress_conforms_too(schema, demo, client_for):
    streaker = (
        UserStreak.objects.filter(org_id=60001, current_count__gt=0)
        .values_list("customer_id", flat=True)
        .first()
    )
    assert streaker, "the demo's generated activity gives some customer streak progress"
    response = client_for("democoffee").get(READ.format(streaker) + "?includeInactive=true")
    assert response.status_code == 200
    assert_conforms(schema, "UserTargetGroupsResponse", json.loads(response.content))


def test_the_check_notices_an_undocumented_or_missing_field(schema, till_client):
    payload = json.loads(till_client.get(READ.format(347286146) + "?includeInactive=true").content)
    extra = copy.deepcopy(payload)
    extra["data"]["targetGroups"][0]["targets"][0]["surprise"] = 1
    missing = copy.deepcopy(payload)
    del missing["data"]["targetGroups"][0]["targets"][0]["enrolledOn"]
    for broken in (extra, missing):
        with pytest.raises(AssertionError):
            assert_conforms(schema, "UserTargetGroupsResponse", broken)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (READ.format("abc"), {}),
        (READ.format(999999999), {}),
        (READ.format(347286146) + "?includeInactive=yes", {}),
        (READ.format(347286146), {"HTTP_DATA_SCOPE": "OTHER"}),
        (READ.format(347286146), {"HTTP_DATA_SCOPE_ORG": "70001"}),
    ],
)
def test_error_responses_conform_to_the_documented_envelope(schema, till_client, path, headers):
    response = till_client.get(path, **headers)
    assert response.status_code >= 400
    assert str(response.status_code) in schema["paths"][READ_PATH]["get"]["responses"]
    assert_conforms(schema, "ErrorEnvelope", json.loads(response.content))


# --- Swagger UI -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def docs_html(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get("/api/docs/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def test_swagger_ui_is_served_with_local_assets_only(docs_html):
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs_html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert any(a.endswith("swagger-ui.css") for a in assets)
    for asset in assets:
        assert asset.startswith("/static/drf_spectacular_sidecar/"), asset
    assert not re.search(r"https?://", docs_html), "no CDN, no remote URL of any kind"
    assert "/api/schema/" in docs_html


def test_the_local_assets_exist(docs_html):
    for asset in re.findall(r'(?:src|href)="/static/([^"]+)"', docs_html):
        assert finders.find(asset), asset


# --- the written documentation ----------------------------------------------------------------


def test_the_read_endpoint_is_documented_in_docs(schema):
    text = DOCS.read_text()
    for must in (
        "/v3.1/users/{userId}/targetGroups",
        "DATA-SCOPE",
        "includeInactive",
        "/api/docs/",
        "310144",
    ):
        assert must in text, must

"""The error table of SPEC §3, row by row, and the promise around it: every API failure is the
envelope `{"data": null, "errors": [{"code", "message"}], "warnings": null}` — never an HTML
page, never a bare 500 — for unknown paths, wrong methods, malformed headers and bugs too."""

import base64
import logging

import pytest
from rest_framework.test import APIClient

from tests.conftest import basic
from tests.factories import OrgFactory
from tests.support import GATEWAY_READ, PASSWORD, READ, api_user, assert_error, body

CUSTOMER = 347286146
PATH = READ.format(CUSTOMER)


@pytest.fixture
def strict_client():
    """A client that behaves like a real one: CSRF enforced, server errors answered, not raised."""
    return APIClient(enforce_csrf_checks=True, raise_request_exception=False)


# --- 400 310011: userId not a positive integer that fits in 64 bits ---------------------------


@pytest.mark.parametrize(
    "user_id",
    [
        "0",
        "-1",
        "abc",
        "1e3",
        "347286146.0",
        "+347286146",
        "0x10",
        str(2**63),
        "9" * 20,
        "١٢٣",  # Arabic-Indic digits are digits to Python's int(), not to this API
        "３４７",  # full-width digits
        "%00",
        "%20347286146",
        "347286146%0A",
    ],
)
def test_invalid_user_id_is_400_310011(till_client, user_id):
    for template in (READ, GATEWAY_READ):
        assert_error(till_client.get(template.format(user_id)), 400, 310011)


def test_the_largest_64_bit_user_id_is_valid_and_simply_not_found(till_client):
    assert_error(till_client.get(READ.format(2**63 - 1)), 404, 8015)


# --- 404 8015: customer unknown, or outside the orgs in scope (indistinguishable) --------------


def test_unknown_and_out_of_scope_customers_get_the_same_404(till_client):
    unknown = till_client.get(READ.format(999999999))
    child = till_client.get(READ.format(900000001))  # org 60001: not in SELF scope of 50363
    unrelated = till_client.get(READ.format(910000001))
    assert_error(unknown, 404, 8015)
    assert unknown.content == child.content == unrelated.content
    assert body(unknown)["errors"] == [
        {"code": 8015, "message": "Customer not found for the given identifiers"}
    ]


# --- 400 300004: bad boolean / bad targetRuleId / invalid parameter values --------------------


@pytest.mark.parametrize("name", ["includeInactive", "includeInactiveTargets"])
@pytest.mark.parametrize("value", ["1", "0", "yes", "no", "", "t", "truee", "null"])
def test_invalid_boolean_is_400_300004(till_client, name, value):
    payload = assert_error(till_client.get(f"{PATH}?{name}={value}"), 400, 300004)
    assert name in payload["errors"][0]["message"]


@pytest.mark.parametrize("value", ["abc", "0", "-1", str(2**63), "1.5", "1e3", "", "١٢٣", "113753,113762"])
def test_invalid_target_rule_id_is_400_300004(till_client, value):
    payload = assert_error(till_client.get(f"{PATH}?targetRuleId={value}"), 400, 300004)
    assert "targetRuleId" in payload["errors"][0]["message"]


@pytest.mark.parametrize(
    "query",
    [
        "includeInactive=true&includeInactive=false",
        "includeInactive=true&includeInactive=true",
        "includeInactiveTargets=false&includeInactiveTargets=false",
        "targetRuleId=113753&targetRuleId=113762",
    ],
)
def test_a_repeated_parameter_is_400_300004(till_client, query):
    assert_error(till_client.get(f"{PATH}?{query}"), 400, 300004)


def test_every_invalid_parameter_is_reported(till_client):
    payload = assert_error(till_client.get(f"{PATH}?includeInactive=yes&targetRuleId=abc"), 400, 300004)
    messages = " ".join(e["message"] for e in payload["errors"])
    assert "includeInactive" in messages and "targetRuleId" in messages


def test_an_unsupported_format_override_is_400_300004_not_a_404(till_client):
    assert_error(till_client.get(f"{PATH}?format=xml"), 400, 300004)
    assert till_client.get(f"{PATH}?format=json").status_code == 200


def test_unknown_parameter_names_are_not_errors(till_client):
    """Only the documented parameters are validated; a cache buster does not break a call."""
    assert till_client.get(f"{PATH}?_=1717171717").content == till_client.get(PATH).content


# --- DATA-SCOPE / DATA-SCOPE-ORG --------------------------------------------------------------


@pytest.mark.parametrize("scope", ["BOGUS", "", "SELF,ALL", "PARENT"])
def test_data_scope_not_self_other_all_is_400_300004(till_client, scope):
    assert_error(till_client.get(PATH, HTTP_DATA_SCOPE=scope), 400, 300004)


def test_other_without_data_scope_org_is_400_310144(till_client):
    assert_error(till_client.get(PATH, HTTP_DATA_SCOPE="OTHER"), 400, 310144)


@pytest.mark.parametrize(
    "orgs", ["abc", "60001;50363", ",", "60001,", "-1", "0", "6e4", "１２３", str(2**63), "60001 50363"]
)
def test_data_scope_org_ids_not_integers_is_400_310144(till_client, orgs):
    assert_error(till_client.get(PATH, HTTP_DATA_SCOPE="OTHER", HTTP_DATA_SCOPE_ORG=orgs), 400, 310144)
    assert_error(till_client.get(PATH, HTTP_DATA_SCOPE_ORG=orgs), 400, 310144)


@pytest.mark.parametrize(
    ("scope", "orgs"),
    [("SELF", "60001"), ("OTHER", "70001"), ("ALL", "70001"), ("OTHER", "99999"), (None, "50363,70001")],
)
def test_an_org_not_reachable_for_the_caller_is_403_310144(till_client, scope, orgs):
    headers = {"HTTP_DATA_SCOPE_ORG": orgs}
    if scope:
        headers["HTTP_DATA_SCOPE"] = scope
    assert_error(till_client.get(PATH, **headers), 403, 310144)


# --- 401 and 403 ------------------------------------------------------------------------------


def test_missing_credentials_are_401(demo):
    response = APIClient().get(PATH)
    assert_error(response, 401, 401)
    assert response["WWW-Authenticate"].startswith("Basic")


def test_invalid_credentials_are_401(demo, client_for):
    assert_error(client_for("tillrustaging2", "not-the-password").get(PATH), 401, 401)


def test_authenticated_without_permission_is_403(demo, client_for):
    user = api_user(demo, perms=())
    assert_error(client_for(user.username, PASSWORD).get(PATH), 403, 403)


# --- order of the checks ----------------------------------------------------------------------


def test_checks_run_in_order_credentials_permission_user_id_headers_parameters_customer(
    demo, client_for, till_client
):
    no_perm = client_for(api_user(demo, perms=()).username, PASSWORD)
    assert_error(APIClient().get(READ.format("abc") + "?includeInactive=yes"), 401, 401)
    assert_error(no_perm.get(READ.format("abc")), 403, 403)
    assert_error(till_client.get(READ.format("abc"), HTTP_DATA_SCOPE="BOGUS"), 400, 310011)
    assert_error(till_client.get(f"{PATH}?includeInactive=yes", HTTP_DATA_SCOPE="OTHER"), 400, 310144)
    assert_error(till_client.get(READ.format(999999999) + "?includeInactive=yes"), 400, 300004)


# --- unknown paths and methods ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v3.1/nothing",
        "/v3.1/users/347286146",
        "/v3.1/users/347286146/targetGroups/extra",
        "/v3.1/users/347286146/targetgroups",
        "/v3/unknown",
        "/v3.1",
        "/v3.1/",
        "/api_gateway/intouch-api-v3/v3.1/nothing",
        "/api_gateway/anything",
        "/api_gateway",
        "/api/nothing",
    ],
)
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_unknown_api_paths_are_404_in_the_envelope(demo, strict_client, path, method):
    strict_client.credentials(HTTP_AUTHORIZATION=basic("tillrustaging2"))
    response = getattr(strict_client, method)(path, data={"a": 1}, format="json")
    assert_error(response, 404, 404)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_other_methods_on_the_read_endpoint_are_405(till_client, method):
    response = getattr(till_client, method)(PATH, data={}, format="json")
    assert_error(response, 405, 405)
    assert "GET" in response["Allow"]


# --- malformed requests -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic",
        "Basic !!!",
        "Basic a b",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b":").decode(),
        "Basic " + base64.b64encode("tillrustaging2:tillrustaging2".encode("utf-16")).decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Basic " + base64.b64encode(b"tillrustaging2\x00:tillrustaging2").decode(),  # NUL: PostgreSQL
        "Bearer",
        "Bearer a b",
        "Bearer not-a-token",
        "Bearer " + "x" * 5000,
        "Digest username=tillrustaging2",
        "tillrustaging2:tillrustaging2",
        "",
    ],
)
def test_malformed_authorization_headers_are_401(demo, authorization):
    assert_error(APIClient().get(PATH, HTTP_AUTHORIZATION=authorization), 401, 401)


def test_a_request_for_html_still_gets_json(till_client):
    ok = till_client.get(PATH, HTTP_ACCEPT="text/html")
    assert ok.status_code == 200 and ok["Content-Type"] == "application/json"
    assert_error(till_client.get(READ.format("abc"), HTTP_ACCEPT="text/html"), 400, 310011)


def test_a_bad_host_header_is_400_in_the_envelope(demo, strict_client):
    assert_error(strict_client.get(PATH, HTTP_HOST="evil.example"), 400, 300004)


def test_a_malformed_json_body_is_400_300004(demo, strict_client):
    strict_client.credentials(HTTP_AUTHORIZATION=basic("tillrustaging2"))
    response = strict_client.post(
        "/v3/oauth/token/generate", data="{not json", content_type="application/json"
    )
    assert_error(response, 400, 300004)


def test_no_error_is_ever_html(demo, strict_client, client_for):
    """A sweep over the failures above, with and without credentials."""
    no_perm = api_user(OrgFactory(), perms=())
    clients = [strict_client, client_for("tillrustaging2"), client_for(no_perm.username, PASSWORD)]
    requests = [
        ("get", PATH, {}),
        ("get", READ.format("x"), {}),
        ("get", PATH + "?includeInactive=2", {}),
        ("get", PATH, {"HTTP_DATA_SCOPE": "?"}),
        ("get", PATH, {"HTTP_DATA_SCOPE": "OTHER"}),
        ("get", PATH, {"HTTP_DATA_SCOPE_ORG": "70001"}),
        ("post", PATH, {}),
        ("get", "/v3.1/users", {}),
        ("post", "/v3.1/nothing", {}),
        ("get", READ.format(999999999), {}),
    ]
    for client in clients:
        for method, path, headers in requests:
            response = getattr(client, method)(path, **headers)
            assert "html" not in response["Content-Type"], (method, path, response.content[:100])
            payload = body(response)
            if response.status_code != 200:  # the read itself, for the demo till
                assert response.status_code >= 400, (method, path)
                assert payload["data"] is None and payload["errors"], (method, path)


# --- unexpected failures ----------------------------------------------------------------------


@pytest.mark.urls("tests.api.boom_urls")
def test_an_unexpected_exception_in_an_api_view_is_a_logged_500_envelope(db, strict_client, caplog):
    with caplog.at_level(logging.ERROR):
        response = strict_client.get("/v3.1/boom")
    payload = assert_error(response, 500, 500)
    assert payload["errors"] == [{"code": 500, "message": "Internal error"}]
    assert "an unexpected bug" not in response.content.decode()  # internals stay in the log
    (record,) = [r for r in caplog.records if r.name == "api"]
    assert record.levelno == logging.ERROR
    assert "/v3.1/boom" in record.getMessage()
    assert record.exc_info and isinstance(record.exc_info[1], RuntimeError)


@pytest.mark.urls("tests.api.boom_urls")
def test_an_unexpected_exception_outside_drf_is_a_500_envelope_too(db, strict_client, caplog):
    with caplog.at_level(logging.ERROR):
        response = strict_client.get("/v3.1/plain-boom")
    assert_error(response, 500, 500)
    assert any(r.name == "django.request" and r.exc_info for r in caplog.records)


@pytest.mark.urls("tests.api.boom_urls")
def test_an_unavailable_database_is_a_503_envelope(db, strict_client):
    assert_error(strict_client.get("/v3.1/database-down"), 503, 503)

"""A catalogue of hostile inputs for GET /v3.1/users/{userId}/targetGroups (issue 8 §2), each
answered as SPEC §3's error table says. The caller is the demo's parent-org till
tillrustaging2 (org 50363, parent of 60001); every case runs against both URL forms.

tests/api/test_errors.py walks the error table row by row; this catalogue is the attacker's
view: malformed and oversized values, and combinations, each with its exact answer."""

import base64
import json
from dataclasses import dataclass, field

import pytest
from rest_framework.test import APIClient

from targets.models import TargetRule
from tests.support import ACTIVITIES, EXAMPLE_CUSTOMER, GATEWAY_READ, READ, assert_error, body

CHILD_CUSTOMER = 900000001  # org 60001, child of 50363
UNRELATED_CUSTOMER = 910000001  # org 70001
HUGE = 64 * 1024


@dataclass
class Case:
    name: str
    status: int
    code: int | None = None  # None: a 200 with data
    user_id: object = EXAMPLE_CUSTOMER
    query: str = ""
    headers: dict = field(default_factory=dict)
    orgs: set = field(default_factory=lambda: {50363})  # the orgs a 200 may show

    def __str__(self):
        return self.name


def scope(value, orgs=None):
    headers = {"HTTP_DATA_SCOPE": value}
    if orgs is not None:
        headers["HTTP_DATA_SCOPE_ORG"] = orgs
    return headers


CATALOGUE = [
    # userId: not a positive integer that fits in 64 bits -> 400 310011
    *[
        Case(f"userId {raw!r}", 400, 310011, user_id=raw)
        for raw in [
            "0",
            "-1",
            "abc",
            "1e3",
            str(2**63),
            "1" * 20,
            "9" * 20,
            "٣٤٧٢٨٦١٤٦",  # Arabic-Indic digits
            "३४७",  # Devanagari digits
            "３４７２８６１４６",  # full-width digits
            "%00",
            "347286146%00",
            "%2B347286146",
            "347286146.0",
            "0x14B3A5B2",
            "%20",
            "'%20OR%201=1--",
            "1" * 4096,
        ]
    ],
    Case("userId 2^63-1: valid, simply unknown", 404, 8015, user_id=2**63 - 1),
    Case("userId of another org: the same 404", 404, 8015, user_id=UNRELATED_CUSTOMER),
    # booleans: true/false in any case; anything else -> 400 300004
    *[
        Case(f"{name}={value}", 200, query=f"{name}={value}")
        for name in ("includeInactive", "includeInactiveTargets")
        for value in ("TRUE", "True", "tRuE", "FALSE", "false")
    ],
    *[
        Case(f"{name}={value!r}", 400, 300004, query=f"{name}={value}")
        for name in ("includeInactive", "includeInactiveTargets")
        for value in ("1", "0", "yes", "", "on", "true%00", "%00", "t" * HUGE)
    ],
    Case(
        "repeated includeInactive, even when equal",
        400,
        300004,
        query="includeInactive=true&includeInactive=true",
    ),
    Case(
        "repeated includeInactiveTargets, conflicting",
        400,
        300004,
        query="includeInactiveTargets=true&includeInactiveTargets=false",
    ),
    # targetRuleId: a positive long -> else 400 300004
    *[
        Case(f"targetRuleId={value}", 400, 300004, query=f"targetRuleId={value}")
        for value in (str(2**63), "9" * 20, "9" * 400, "-1", "0", "1e3", "١", "", "%00")
    ],
    Case("targetRuleId 2^63-1: valid, no group has it", 200, query=f"targetRuleId={2**63 - 1}"),
    Case("repeated targetRuleId", 400, 300004, query="targetRuleId=1&targetRuleId=2"),
    # DATA-SCOPE: case-insensitive SELF/OTHER/ALL; anything else -> 400 300004
    Case("DATA-SCOPE lowercase self", 200, headers=scope("self")),
    Case("DATA-SCOPE lowercase all", 200, headers=scope("all"), orgs={50363, 60001}),
    Case(
        "DATA-SCOPE lowercase other, child customer",
        200,
        user_id=CHILD_CUSTOMER,
        headers=scope("other", "60001"),
        orgs={60001},
    ),
    Case("DATA-SCOPE padded ' All '", 200, headers=scope(" All "), orgs={50363, 60001}),
    Case("DATA-SCOPE empty", 400, 300004, headers=scope("")),
    Case("DATA-SCOPE 'SELF,ALL'", 400, 300004, headers=scope("SELF,ALL")),
    Case("DATA-SCOPE 'SELF ALL'", 400, 300004, headers=scope("SELF ALL")),
    Case("DATA-SCOPE 'EVERYTHING'", 400, 300004, headers=scope("EVERYTHING")),
    Case("DATA-SCOPE 64 KB", 400, 300004, headers=scope("A" * HUGE)),
    # DATA-SCOPE-ORG: integers -> else 400 310144; unreachable orgs -> 403 310144
    Case("DATA-SCOPE-ORG 'a'", 400, 310144, headers=scope("OTHER", "a")),
    Case("DATA-SCOPE-ORG '1,,2'", 400, 310144, headers=scope("OTHER", "1,,2")),
    Case("DATA-SCOPE-ORG '60001,,'", 400, 310144, headers=scope("OTHER", "60001,,")),
    Case("DATA-SCOPE-ORG '60001;50363'", 400, 310144, headers=scope("ALL", "60001;50363")),
    Case("DATA-SCOPE-ORG 2^63", 400, 310144, headers=scope("OTHER", str(2**63))),
    Case("DATA-SCOPE-ORG unicode digits", 400, 310144, headers=scope("OTHER", "٦٠٠٠١")),
    Case("DATA-SCOPE-ORG 64 KB of junk", 400, 310144, headers=scope("OTHER", "x" * HUGE)),
    Case(
        "DATA-SCOPE-ORG 1,000 distinct ids (all but one unreachable)",
        403,
        310144,
        user_id=CHILD_CUSTOMER,
        headers=scope("OTHER", ",".join(["60001", *(str(10**12 + n) for n in range(999))])),
    ),
    Case(
        "DATA-SCOPE-ORG the reachable child 1,000 times",
        200,
        user_id=CHILD_CUSTOMER,
        headers=scope("OTHER", ",".join(["60001"] * 1000)),
        orgs={60001},
    ),
    Case(
        "DATA-SCOPE-ORG ' 60001 , 60001 ' (spaces are ignored)",
        200,
        user_id=CHILD_CUSTOMER,
        headers=scope("OTHER", " 60001 , 60001 "),
        orgs={60001},
    ),
    Case("OTHER naming the caller's own org (a parent)", 403, 310144, headers=scope("OTHER", "50363")),
    Case(
        "OTHER naming the caller's own org and its child", 403, 310144, headers=scope("OTHER", "50363,60001")
    ),
    Case("OTHER naming an unrelated org", 403, 310144, headers=scope("OTHER", "70001")),
    Case("OTHER naming a nonexistent org", 403, 310144, headers=scope("OTHER", "999999")),
    Case("ALL naming an unrelated org", 403, 310144, headers=scope("ALL", "50363,70001")),
    Case("OTHER without DATA-SCOPE-ORG", 400, 310144, headers=scope("OTHER")),
    Case("OTHER with a blank DATA-SCOPE-ORG", 400, 310144, headers=scope("OTHER", "   ")),
    Case(
        "DATA-SCOPE-ORGS alias naming an unrelated org",
        403,
        310144,
        headers={"HTTP_DATA_SCOPE": "OTHER", "HTTP_DATA_SCOPE_ORGS": "70001"},
    ),
    # huge and odd headers elsewhere do not change the answer
    Case("a 64 KB unrelated header", 200, headers={"HTTP_X_JUNK": "j" * HUGE}),
    Case("a 64 KB User-Agent", 200, headers={"HTTP_USER_AGENT": "u" * HUGE}),
    Case("a 64 KB Accept", 200, headers={"HTTP_ACCEPT": "text/" + "h" * HUGE}),
]


@pytest.fixture
def rule_id(demo):
    return TargetRule.objects.filter(group__org_id=50363).order_by("id").values_list("id", flat=True)[0]


@pytest.mark.parametrize("template", [READ, GATEWAY_READ], ids=["v3.1", "gateway"])
@pytest.mark.parametrize("case", CATALOGUE, ids=str)
def test_hostile_input_is_answered_per_the_spec(till_client, case, template):
    path = template.format(case.user_id) + (f"?{case.query}" if case.query else "")
    response = till_client.get(path, **case.headers)
    if case.code is not None:
        assert_error(response, case.status, case.code)
        return
    assert response.status_code == 200, response.content[:300]
    data = body(response)["data"]
    assert data["userId"] == int(case.user_id)
    assert {group["orgId"] for group in data["targetGroups"]} <= case.orgs


def test_a_valid_target_rule_id_filters_and_an_overflowing_one_is_refused(till_client, rule_id):
    everything = "includeInactive=true&includeInactiveTargets=true"
    data = body(till_client.get(f"{READ.format(EXAMPLE_CUSTOMER)}?{everything}&targetRuleId={rule_id}"))[
        "data"
    ]
    rules = {t["targetRuleId"] for g in data["targetGroups"] for t in g["targets"]}
    assert rules == {rule_id}
    assert_error(
        till_client.get(f"{READ.format(EXAMPLE_CUSTOMER)}?targetRuleId={rule_id}{'0' * 20}"), 400, 300004
    )


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic " + "A" * HUGE,
        "Bearer " + "t" * HUGE,
        "Basic " + base64.b64encode(b"tillrustaging2:" + b"p" * HUGE).decode(),
        "Basic " + base64.b64encode(b"u" * HUGE + b":tillrustaging2").decode(),
    ],
    ids=["basic-garbage", "bearer", "basic-long-password", "basic-long-username"],
)
def test_a_64_kb_authorization_header_is_401(demo, authorization):
    response = APIClient().get(READ.format(EXAMPLE_CUSTOMER), HTTP_AUTHORIZATION=authorization)
    assert_error(response, 401, 401)


def test_a_64_kb_oauth_token_header_is_401(demo):
    response = APIClient().get(READ.format(EXAMPLE_CUSTOMER), HTTP_X_CAP_API_OAUTH_TOKEN="t" * HUGE)
    assert_error(response, 401, 401)


# --- the write endpoint: text PostgreSQL cannot store, ids of the wrong type ---------------------
# (both found by the schema fuzzing, and fixed)

NUL_ITEMS = {
    "externalId": {"externalId": "bill\x00-1"},
    "eventName": {"eventName": "Transaction\x00Add"},
    "attribute value": {"attributes": {"channel": "app\x00"}},
    "attribute name": {"attributes": {"chan\x00nel": "app"}},
}


@pytest.mark.parametrize("field", NUL_ITEMS)
def test_an_activity_with_a_nul_character_is_rejected_not_a_500(till_client, field):
    item = {
        "userId": EXAMPLE_CUSTOMER,
        "entity": "TRANSACTION",
        "eventName": "TransactionAdd",
        "occurredAt": "2024-08-30T09:00:00Z",
        "amount": 10,
        "externalId": "nul-test-1",
        **NUL_ITEMS[field],
    }
    response = till_client.post(ACTIVITIES, data=json.dumps([item]), content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    (result,) = body(response)["data"]
    assert result["status"] == "REJECTED"
    assert {e["code"] for e in result["errors"]} == {300004}


@pytest.mark.parametrize("external_id", [12345, True, False], ids=["number", "true", "false"])
def test_a_rejected_item_echoes_its_external_id_as_a_string_or_null(till_client, external_id):
    item = {"userId": "not-a-user", "externalId": external_id}  # rejected: userId, entity, …
    response = till_client.post(ACTIVITIES, data=json.dumps([item]), content_type="application/json")
    (result,) = body(response)["data"]
    assert result["status"] == "REJECTED"
    assert result["externalId"] is None or isinstance(result["externalId"], str)

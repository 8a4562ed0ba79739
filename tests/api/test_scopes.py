"""Org scope of the read endpoint: the DATA-SCOPE table of SPEC §3, through the API with the demo's
connected orgs (50363 parent of 60001; 70001 connected to nobody), and the functions of
customers.scopes on their own."""

import pytest
from django.http.request import HttpHeaders

from config.exceptions import APIError
from customers.scopes import ScopeHeaders, parse_headers, readable_org_ids, writable_org_id
from tests.factories import CustomerFactory, OrgFactory
from tests.support import READ, assert_error, body

PARENT, CHILD, OTHER_ORG = 50363, 60001, 70001
CALLERS = {"parent": "tillrustaging2", "child": "democoffee", "unrelated": "unrelated"}
CUSTOMERS = {"parent": 347286146, "child": 900000001, "other": 910000001}
ORG_OF = {"parent": PARENT, "child": CHILD, "other": OTHER_ORG}

OK = 200
NOT_FOUND = (404, 8015)
UNREACHABLE = (403, 310144)

# (caller, DATA-SCOPE) -> customer -> outcome. OTHER sends DATA-SCOPE-ORG = the customer's org,
# the one value that could make that customer visible.
MATRIX = {
    ("parent", None): {"parent": OK, "child": NOT_FOUND, "other": NOT_FOUND},
    ("parent", "SELF"): {"parent": OK, "child": NOT_FOUND, "other": NOT_FOUND},
    ("parent", "OTHER"): {"parent": UNREACHABLE, "child": OK, "other": UNREACHABLE},
    ("parent", "ALL"): {"parent": OK, "child": OK, "other": NOT_FOUND},
    ("child", None): {"parent": NOT_FOUND, "child": OK, "other": NOT_FOUND},
    ("child", "SELF"): {"parent": NOT_FOUND, "child": OK, "other": NOT_FOUND},
    ("child", "OTHER"): {"parent": UNREACHABLE, "child": OK, "other": UNREACHABLE},
    ("child", "ALL"): {"parent": OK, "child": OK, "other": NOT_FOUND},
    ("unrelated", None): {"parent": NOT_FOUND, "child": NOT_FOUND, "other": OK},
    ("unrelated", "SELF"): {"parent": NOT_FOUND, "child": NOT_FOUND, "other": OK},
    # An org connected to nobody is a parent without children: OTHER can name no org.
    ("unrelated", "OTHER"): {"parent": UNREACHABLE, "child": UNREACHABLE, "other": UNREACHABLE},
    ("unrelated", "ALL"): {"parent": NOT_FOUND, "child": NOT_FOUND, "other": OK},
}
CASES = [
    (caller, scope, customer, outcome)
    for (caller, scope), row in MATRIX.items()
    for customer, outcome in row.items()
]


def read(client, customer_id, scope=None, orgs=None, *, alias=False):
    headers = {}
    if scope is not None:
        headers["HTTP_DATA_SCOPE"] = scope
    if orgs is not None:
        headers["HTTP_DATA_SCOPE_ORGS" if alias else "HTTP_DATA_SCOPE_ORG"] = orgs
    return client.get(READ.format(customer_id) + "?includeInactive=true", **headers)


def assert_visible(response, customer_id, org_id):
    assert response.status_code == 200, response.content
    data = body(response)["data"]
    assert data["userId"] == customer_id
    assert data["targetGroups"], "every demo customer has programs of its own org"
    assert {g["orgId"] for g in data["targetGroups"]} == {org_id}


@pytest.mark.parametrize(("caller", "scope", "customer", "outcome"), CASES)
def test_scope_matrix(demo, client_for, caller, scope, customer, outcome):
    client = client_for(CALLERS[caller])
    orgs = str(ORG_OF[customer]) if scope == "OTHER" else None
    response = read(client, CUSTOMERS[customer], scope, orgs)
    if outcome == OK:
        assert_visible(response, CUSTOMERS[customer], ORG_OF[customer])
    else:
        assert_error(response, *outcome)


@pytest.mark.parametrize(
    ("caller", "scope", "orgs", "customer", "outcome"),
    [
        # SELF (or no DATA-SCOPE) may name the caller's own org, as the documented curl does.
        ("parent", None, "50363", "parent", OK),
        ("parent", "SELF", "50363", "parent", OK),
        ("child", "SELF", "60001", "child", OK),
        ("unrelated", "SELF", "70001", "other", OK),
        ("parent", "SELF", "60001", "child", UNREACHABLE),
        ("parent", "SELF", "50363,60001", "parent", UNREACHABLE),
        ("child", None, "50363", "parent", UNREACHABLE),
        ("child", "SELF", "50363", "parent", UNREACHABLE),
        # ALL checks a list too: every listed org must be reachable under ALL.
        ("parent", "ALL", "50363,60001", "child", OK),
        ("parent", "ALL", "60001", "child", OK),
        ("child", "ALL", "50363", "parent", OK),
        ("child", "ALL", "70001", "other", UNREACHABLE),
        ("unrelated", "ALL", "50363", "parent", UNREACHABLE),
    ],
)
def test_data_scope_org_with_self_and_all(demo, client_for, caller, scope, orgs, customer, outcome):
    response = read(client_for(CALLERS[caller]), CUSTOMERS[customer], scope, orgs)
    if outcome == OK:
        assert_visible(response, CUSTOMERS[customer], ORG_OF[customer])
    else:
        assert_error(response, *outcome)


def test_all_with_a_list_still_reads_every_org_of_all(demo, client_for):
    """Under ALL, DATA-SCOPE-ORG is checked, not used to narrow (SPEC: ALL = itself and its children)."""
    response = read(client_for("tillrustaging2"), CUSTOMERS["child"], "ALL", "50363")
    assert_visible(response, CUSTOMERS["child"], CHILD)


def test_a_child_listing_itself_and_its_parent_under_other_is_refused(demo, client_for):
    assert_error(read(client_for("democoffee"), CUSTOMERS["child"], "OTHER", "60001,50363"), *UNREACHABLE)


def test_a_parent_may_list_several_children_under_other(demo, client_for):
    second = OrgFactory(parent=demo)
    customer = CustomerFactory(org=second)
    client = client_for("tillrustaging2")
    assert read(client, customer.id, "OTHER", f"{CHILD},{second.id}").status_code == 200
    assert_visible(read(client, CUSTOMERS["child"], "OTHER", f"{CHILD},{second.id}"), 900000001, CHILD)
    assert_error(read(client, customer.id, "OTHER", str(CHILD)), *NOT_FOUND)


# --- header syntax ----------------------------------------------------------------------------


def test_data_scope_orgs_is_an_alias(demo, client_for):
    client = client_for("tillrustaging2")
    assert_visible(read(client, CUSTOMERS["child"], "OTHER", "60001", alias=True), 900000001, CHILD)
    assert_error(read(client, CUSTOMERS["child"], "OTHER", "70001", alias=True), *UNREACHABLE)
    assert_error(read(client, CUSTOMERS["child"], "OTHER", "abc", alias=True), 400, 310144)


def test_data_scope_org_wins_over_the_alias(demo, client_for):
    response = client_for("tillrustaging2").get(
        READ.format(CUSTOMERS["child"]),
        HTTP_DATA_SCOPE="OTHER",
        HTTP_DATA_SCOPE_ORG="60001",
        HTTP_DATA_SCOPE_ORGS="70001",
    )
    assert response.status_code == 200


@pytest.mark.parametrize("scope", ["other", "Other", "oThEr", " OTHER "])
def test_data_scope_is_case_insensitive(demo, client_for, scope):
    assert_visible(read(client_for("tillrustaging2"), CUSTOMERS["child"], scope, "60001"), 900000001, CHILD)


@pytest.mark.parametrize(("scope", "customer"), [("all", "child"), ("self", "parent"), ("All", "parent")])
def test_all_and_self_in_any_case(demo, client_for, scope, customer):
    assert_visible(
        read(client_for("tillrustaging2"), CUSTOMERS[customer], scope), CUSTOMERS[customer], ORG_OF[customer]
    )


@pytest.mark.parametrize("orgs", [" 60001", "60001 ", "  60001  ", "60001\t"])
def test_spaces_around_ids_are_ignored(demo, client_for, orgs):
    assert_visible(read(client_for("tillrustaging2"), CUSTOMERS["child"], "OTHER", orgs), 900000001, CHILD)


def test_spaces_around_ids_in_a_list_are_ignored(demo, client_for):
    response = read(client_for("tillrustaging2"), CUSTOMERS["child"], "ALL", " 50363 , 60001 ")
    assert_visible(response, 900000001, CHILD)


@pytest.mark.parametrize(
    "orgs", ["abc", "60001,abc", "6e4", "60001.0", "60 001", "-60001", "0", ",", "60001,"]
)
def test_ids_not_integers_are_400_310144(demo, client_for, orgs):
    assert_error(read(client_for("tillrustaging2"), CUSTOMERS["child"], "OTHER", orgs), 400, 310144)


@pytest.mark.parametrize("orgs", [None, "", "   "])
def test_other_without_data_scope_org_is_400_310144(demo, client_for, orgs):
    assert_error(read(client_for("tillrustaging2"), CUSTOMERS["child"], "OTHER", orgs), 400, 310144)
    assert_error(read(client_for("democoffee"), CUSTOMERS["child"], "OTHER", orgs), 400, 310144)


@pytest.mark.parametrize("scope", ["bogus", "", "SELF,OTHER", "NONE", "SELF;"])
def test_bogus_data_scope_is_400_300004(demo, client_for, scope):
    assert_error(read(client_for("tillrustaging2"), CUSTOMERS["parent"], scope), 400, 300004)


@pytest.mark.parametrize(("scope", "orgs"), [("OTHER", "99999"), ("SELF", "99999"), ("ALL", "60001,99999")])
def test_an_org_that_does_not_exist_is_unreachable(demo, client_for, scope, orgs):
    assert_error(read(client_for("tillrustaging2"), CUSTOMERS["child"], scope, orgs), *UNREACHABLE)


def test_an_out_of_scope_customer_is_indistinguishable_from_an_unknown_one(demo, client_for):
    client = client_for("democoffee")
    hidden = read(client, CUSTOMERS["other"])
    unknown = read(client, 999999999)
    assert_error(hidden, *NOT_FOUND)
    assert hidden.content == unknown.content


def test_a_parent_reading_a_child_customer_sees_only_the_childs_programs(demo, client_for):
    """ALL widens which customers may be read, not which programs a customer belongs to."""
    payload = body(read(client_for("tillrustaging2"), CUSTOMERS["child"], "ALL"))
    assert {g["orgId"] for g in payload["data"]["targetGroups"]} == {CHILD}
    payload = body(read(client_for("democoffee"), CUSTOMERS["parent"], "ALL"))
    assert {g["orgId"] for g in payload["data"]["targetGroups"]} == {PARENT}


# --- customers.scopes on its own --------------------------------------------------------------


def headers(**values):
    return HttpHeaders({f"HTTP_{k}": v for k, v in values.items()})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, ScopeHeaders("SELF", None)),
        ({"DATA_SCOPE": "all"}, ScopeHeaders("ALL", None)),
        (
            {"DATA_SCOPE": " Other ", "DATA_SCOPE_ORG": " 7 , 8,9 "},
            ScopeHeaders("OTHER", frozenset({7, 8, 9})),
        ),
        ({"DATA_SCOPE_ORGS": "5"}, ScopeHeaders("SELF", frozenset({5}))),
        ({"DATA_SCOPE_ORG": "5", "DATA_SCOPE_ORGS": "6"}, ScopeHeaders("SELF", frozenset({5}))),
        ({"DATA_SCOPE_ORG": "  "}, ScopeHeaders("SELF", None)),
        ({"DATA_SCOPE_ORG": "5,5"}, ScopeHeaders("SELF", frozenset({5}))),
        ({"DATA_SCOPE_ORG": str(2**63 - 1)}, ScopeHeaders("SELF", frozenset({2**63 - 1}))),
    ],
)
def test_parse_headers(raw, expected):
    assert parse_headers(headers(**raw)) == expected


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ({"DATA_SCOPE": "EVERYTHING"}, 400, 300004),
        ({"DATA_SCOPE": ""}, 400, 300004),
        ({"DATA_SCOPE_ORG": "x"}, 400, 310144),
        ({"DATA_SCOPE_ORG": "1,,2"}, 400, 310144),
        ({"DATA_SCOPE_ORG": str(2**63)}, 400, 310144),
        ({"DATA_SCOPE_ORG": "٥"}, 400, 310144),
    ],
)
def test_parse_headers_refuses(raw, status, code):
    with pytest.raises(APIError) as refused:
        parse_headers(headers(**raw))
    assert refused.value.status_code == status
    assert refused.value.errors[0]["code"] == code


@pytest.fixture
def family(db):
    parent = OrgFactory()
    first, second = OrgFactory(parent=parent), OrgFactory(parent=parent)
    loner = OrgFactory()
    return parent, first, second, loner


def readable(org, scope, orgs=None):
    return readable_org_ids(org=org, headers=ScopeHeaders(scope, frozenset(orgs) if orgs else None))


def refusal(call):
    with pytest.raises(APIError) as refused:
        call()
    return refused.value.status_code, refused.value.errors[0]["code"]


def test_readable_org_ids_of_a_parent(family):
    parent, first, second, loner = family
    assert readable(parent, "SELF") == {parent.id}
    assert readable(parent, "SELF", {parent.id}) == {parent.id}
    assert readable(parent, "ALL") == {parent.id, first.id, second.id}
    assert readable(parent, "OTHER", {first.id}) == {first.id}
    assert readable(parent, "OTHER", {first.id, second.id}) == {first.id, second.id}
    assert refusal(lambda: readable(parent, "OTHER", {parent.id})) == (403, 310144)
    assert refusal(lambda: readable(parent, "OTHER", {loner.id})) == (403, 310144)
    assert refusal(lambda: readable(parent, "OTHER")) == (400, 310144)
    assert refusal(lambda: readable(parent, "SELF", {first.id})) == (403, 310144)


def test_readable_org_ids_of_a_child(family):
    parent, first, second, _ = family
    assert readable(first, "SELF") == {first.id}
    assert readable(first, "ALL") == {first.id, parent.id}  # not its sibling
    assert readable(first, "OTHER", {first.id}) == {first.id}
    assert refusal(lambda: readable(first, "OTHER", {second.id})) == (403, 310144)
    assert refusal(lambda: readable(first, "OTHER", {parent.id})) == (403, 310144)
    assert refusal(lambda: readable(first, "ALL", {second.id})) == (403, 310144)
    assert refusal(lambda: readable(first, "OTHER")) == (400, 310144)


def test_readable_org_ids_of_an_org_connected_to_nobody(family):
    *_, loner = family
    assert readable(loner, "SELF") == readable(loner, "ALL") == {loner.id}
    assert refusal(lambda: readable(loner, "OTHER", {loner.id})) == (403, 310144)


def writable(org, scope, orgs=None):
    return writable_org_id(org=org, headers=ScopeHeaders(scope, frozenset(orgs) if orgs else None))


def test_writable_org_id(family):
    parent, first, second, loner = family
    assert writable(parent, "SELF") == parent.id
    assert writable(parent, "SELF", {parent.id}) == parent.id
    assert writable(first, "SELF") == first.id
    assert writable(parent, "OTHER", {second.id}) == second.id
    assert refusal(lambda: writable(parent, "ALL")) == (400, 300004)  # ALL is for reads only
    assert refusal(lambda: writable(parent, "OTHER", {first.id, second.id})) == (400, 310144)
    assert refusal(lambda: writable(parent, "OTHER")) == (400, 310144)
    assert refusal(lambda: writable(parent, "OTHER", {loner.id})) == (403, 310144)
    assert refusal(lambda: writable(first, "OTHER", {first.id})) == (403, 310144)  # a child cannot
    assert refusal(lambda: writable(parent, "SELF", {first.id})) == (403, 310144)

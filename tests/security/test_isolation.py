"""Tenant isolation (issue 8 §1): every API route, every staff page and the admin change pages,
over a generated matrix of caller × DATA-SCOPE variant × owner org of the object.

Each cell asserts the allowed data or the exact refusal, that no body carries another org's
data, and that an object of an org out of reach is answered exactly (status and bytes) like an
object that does not exist.

The expectation comes from the small oracle below, written from SPEC §3's scope table (reads),
the configuration API's documented write rule (writes: the caller's org, or with OTHER a
parent's one listed child; ALL is for reads only), SPEC §6 (staff pages: login, staff flag,
the org and its children; the admin: a non-superuser sees only its org's rows). It does not
use customers.scopes.

Demo orgs (SPEC §7): 50363 is the parent of 60001; 70001 is connected to nobody."""

import json
import re
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from customers.models import Actor, Customer, Org
from targets.models import Activity, GroupEnrolment, TargetGroup
from tests.conftest import basic
from tests.factories import GroupFactory, PeriodFactory, RuleFactory
from tests.support import ACTIVITIES, GATEWAY_READ, READ, assert_error, body

# --- the world ---------------------------------------------------------------------------------

PARENT = {50363: None, 60001: 50363, 70001: None}
ORGS = tuple(PARENT)
CUSTOMER = {50363: 347286146, 60001: 900000001, 70001: 910000001}
ACTOR = {50363: 50150886, 60001: 60000002, 70001: 70000002}  # each org's till actor
MISSING = 999_999_999  # an id that no customer, group or actor has (checked by a fixture)


def children(org):
    return {o for o, p in PARENT.items() if p == org}


@dataclass(frozen=True)
class Caller:
    name: str
    org: int | None  # the org of its Actor; None: anonymous
    staff: bool = False
    superuser: bool = False

    def __str__(self):
        return self.name


CALLERS = [
    Caller("admin", 50363, staff=True, superuser=True),
    Caller("tillrustaging2", 50363),
    Caller("democoffee", 60001),
    Caller("unrelated", 70001),
    Caller("staff50363", 50363, staff=True),
    Caller("staff60001", 60001, staff=True),
    Caller("anonymous", None),
]


@dataclass(frozen=True)
class Variant:
    scope: str | None  # DATA-SCOPE, None: absent
    orgs: frozenset = frozenset()  # DATA-SCOPE-ORG

    def __str__(self):
        if self.scope is None:
            return "absent"
        return self.scope + ("+" + ",".join(map(str, sorted(self.orgs))) if self.orgs else "")

    def headers(self):
        headers = {}
        if self.scope is not None:
            headers["HTTP_DATA_SCOPE"] = self.scope
        if self.orgs:
            headers["HTTP_DATA_SCOPE_ORG"] = ",".join(map(str, sorted(self.orgs)))
        return headers


VARIANTS = [
    Variant(None),
    Variant("SELF"),
    *[Variant("OTHER", frozenset({org})) for org in ORGS],
    Variant("ALL"),
]


# --- the oracle --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    status: int
    code: int


def read_scope(caller, variant):
    """SPEC §3: the orgs a caller may read under these headers, or the refusal."""
    if caller.org is None:
        return Refused(401, 401)
    me, parent = caller.org, PARENT[caller.org]
    if variant.scope in (None, "SELF"):
        reach = {me}
    elif variant.scope == "ALL":
        reach = {me, parent} if parent else {me} | children(me)
    else:  # OTHER: a parent reads the children it lists; a child only itself, listed
        if not variant.orgs:
            return Refused(400, 310144)
        reach = {me} if parent else children(me)
    if variant.orgs and not variant.orgs <= reach:
        return Refused(403, 310144)
    return set(variant.orgs) if variant.scope == "OTHER" else reach


def write_scope(caller, variant):
    """The one org a write goes to: the caller's own; with OTHER, a parent's one listed child;
    ALL is for reads only."""
    if caller.org is None:
        return Refused(401, 401)
    me, parent = caller.org, PARENT[caller.org]
    if variant.scope == "ALL":
        return Refused(400, 300004)
    if variant.scope == "OTHER":
        if not variant.orgs:
            return Refused(400, 310144)
        if parent or len(variant.orgs) != 1 or not variant.orgs <= children(me):
            return Refused(403, 310144)
        (target,) = variant.orgs
        return target
    if variant.orgs and variant.orgs != {me}:
        return Refused(403, 310144)
    return me


def staff_scope(caller):
    """SPEC §6: staff pages need a login (else the login page) and the staff flag (else 403);
    a staff user reads its org and that org's children, a superuser every org."""
    if caller.org is None:
        return Refused(302, 0)
    if not caller.staff:
        return Refused(403, 0)
    if caller.superuser:
        return set(ORGS)
    return {caller.org} | children(caller.org)


def admin_scope(caller):
    """SPEC §6: the admin is for staff (others are sent to its login page); a non-superuser
    sees and edits only its own org's rows."""
    if caller.org is None or not caller.staff:
        return Refused(302, 0)
    return set(ORGS) if caller.superuser else {caller.org}


# --- clients and helpers -----------------------------------------------------------------------


def api_client(caller, variant=None):
    client = APIClient()
    if caller.org is not None:
        client.credentials(HTTP_AUTHORIZATION=basic(caller.name), **(variant.headers() if variant else {}))
    elif variant is not None:
        client.credentials(**variant.headers())
    return client


def session_client(caller):
    client = Client()
    if caller.org is not None:
        client.force_login(get_user_model().objects.get(username=caller.name))
    return client


def group_orgs(group_ids):
    """The owner org of each group, read from the database."""
    return set(TargetGroup.objects.filter(id__in=group_ids).values_list("org_id", flat=True))


CSRF_TOKEN = re.compile(r'(?<=name="csrfmiddlewaretoken" value=")[^"]+')


def assert_same_answer(response, missing_response, *, echoed=()):
    """An object out of reach is answered like one that does not exist: same status, same body.
    `echoed`: the requested ids, where the body quotes the request back."""

    def normal(r):
        text = CSRF_TOKEN.sub("<csrf>", r.content.decode())
        for value in echoed:
            text = text.replace(str(value), "<id>")
        return text

    assert response.status_code == missing_response.status_code
    assert normal(response) == normal(missing_response)


@pytest.fixture
def world(demo):
    """The demo, with the ids this module relies on checked against the database."""
    for org, customer in CUSTOMER.items():
        assert Customer.objects.filter(id=customer, org_id=org).exists()
    for org, actor in ACTOR.items():
        assert Actor.objects.filter(id=actor, org_id=org).exists()
    assert not Customer.objects.filter(id=MISSING).exists()
    assert not TargetGroup.objects.filter(id=MISSING).exists()
    assert not Actor.objects.filter(id=MISSING).exists()
    return demo


def first_group(org):
    return TargetGroup.objects.filter(org_id=org).order_by("id").values_list("id", flat=True)[0]


def matrix(*with_owner):
    """parametrize over callers × variants (× owner orgs)."""

    def decorate(test):
        if with_owner:
            test = pytest.mark.parametrize("owner", ORGS)(test)
        test = pytest.mark.parametrize("variant", VARIANTS, ids=str)(test)
        return pytest.mark.parametrize("caller", CALLERS, ids=str)(test)

    return decorate


# --- GET /v3.1/users/{userId}/targetGroups ----------------------------------------------------


@pytest.mark.parametrize("template", [READ, GATEWAY_READ], ids=["v3.1", "gateway"])
@matrix("owner")
def test_read_a_customers_target_groups(world, caller, variant, owner, template):
    client = api_client(caller, variant)
    everything = "?includeInactive=true&includeInactiveTargets=true"
    response = client.get(template.format(CUSTOMER[owner]) + everything)
    missing = client.get(template.format(MISSING) + everything)
    expected = read_scope(caller, variant)

    if isinstance(expected, Refused):
        assert_error(response, expected.status, expected.code)
        assert_same_answer(response, missing)
    elif owner not in expected:
        assert_error(response, 404, 8015)
        assert_same_answer(response, missing)
    else:
        assert response.status_code == 200, response.content[:300]
        data = body(response)["data"]
        assert data["userId"] == data["customer"]["id"] == CUSTOMER[owner]
        groups = [g["id"] for g in data["targetGroups"]]
        assert groups, "the demo customers all have programs"
        assert {g["orgId"] for g in data["targetGroups"]} <= expected
        assert group_orgs(groups) <= expected & {owner}
        assert_error(missing, 404, 8015)


# --- POST /v3.1/activities ---------------------------------------------------------------------


def activity(user_id, external_id):
    return {
        "userId": user_id,
        "entity": "TRANSACTION",
        "eventName": "TransactionAdd",
        "occurredAt": "2024-08-30T09:00:00Z",
        "amount": 10,
        "externalId": external_id,
    }


@matrix("owner")
def test_post_activity_for_a_customer(world, caller, variant, owner):
    client = api_client(caller, variant)
    external_id = f"iso-{caller}-{variant}-{owner}"

    def post(user_id):
        return client.post(
            ACTIVITIES, data=json.dumps(activity(user_id, external_id)), content_type="application/json"
        )

    response, missing = post(CUSTOMER[owner]), post(MISSING)
    expected = write_scope(caller, variant)

    if isinstance(expected, Refused):
        assert_error(response, expected.status, expected.code)
        assert_same_answer(response, missing)
    elif owner != expected:
        assert response.status_code == 200
        (result,) = body(response)["data"]
        assert result["status"] == "REJECTED"
        assert_same_answer(response, missing, echoed=(CUSTOMER[owner], MISSING))
    else:
        assert response.status_code == 200
        assert body(response)["data"] == [{"externalId": external_id, "status": "APPLIED", "errors": None}]
        assert body(missing)["data"][0]["status"] == "REJECTED"
    stored = set(Activity.objects.filter(external_id=external_id).values_list("org_id", "customer_id"))
    assert stored == ({(owner, CUSTOMER[owner])} if owner == expected else set())


# --- /v3/targetGroups --------------------------------------------------------------------------

GROUPS = "/v3/targetGroups"


@matrix()
def test_list_target_groups(world, caller, variant):
    response = api_client(caller, variant).get(f"{GROUPS}?pageSize=100")
    expected = read_scope(caller, variant)
    if isinstance(expected, Refused):
        assert_error(response, expected.status, expected.code)
        return
    assert response.status_code == 200, response.content[:300]
    payload = body(response)
    ids = [g["id"] for g in payload["data"]]
    in_scope = TargetGroup.objects.filter(org_id__in=expected)
    assert payload["pagination"]["totalCount"] == in_scope.count()
    assert set(ids) == set(in_scope.values_list("id", flat=True))
    assert {g["orgId"] for g in payload["data"]} <= expected
    assert group_orgs(ids) <= expected


@matrix("owner")
def test_retrieve_a_target_group(world, caller, variant, owner):
    client = api_client(caller, variant)
    group = first_group(owner)
    response, missing = client.get(f"{GROUPS}/{group}"), client.get(f"{GROUPS}/{MISSING}")
    expected = read_scope(caller, variant)
    if isinstance(expected, Refused):
        assert_error(response, expected.status, expected.code)
        assert_same_answer(response, missing)
    elif owner not in expected:
        assert_error(response, 404, 404)
        assert_same_answer(response, missing)
    else:
        assert response.status_code == 200, response.content[:300]
        data = body(response)["data"]
        assert (data["id"], data["orgId"]) == (group, owner)
        assert_error(missing, 404, 404)


def new_group_body(name):
    return {
        "name": name,
        "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
        "trackingType": "DEFAULT",
        "enrolment": "EXPLICIT",
        "frequencyType": "WEEKLY",
        "frequency": 1,
        "totalPeriods": 2,
        "startDate": "2024-09-02",
        "endDate": "2024-09-15",
        "targets": [
            {
                "name": "Spend",
                "targetEntity": "TRANSACTION",
                "eventName": "TransactionAdd",
                "targetType": "GROSS_SALES",
                "value": 100,
            }
        ],
    }


@matrix()
def test_create_a_target_group(world, caller, variant):
    name = f"iso {caller} {variant}"
    response = api_client(caller, variant).post(GROUPS, new_group_body(name), format="json")
    expected = write_scope(caller, variant)
    if isinstance(expected, Refused):
        assert_error(response, expected.status, expected.code)
        assert not TargetGroup.objects.filter(name=name).exists()
        return
    assert response.status_code == 201, response.content[:300]
    assert body(response)["data"]["orgId"] == expected
    assert list(TargetGroup.objects.filter(name=name).values_list("org_id", flat=True)) == [expected]


@pytest.fixture
def explicit_groups(world):
    """One EXPLICIT group without progress per org: {org: group id}."""
    groups = {}
    for org in Org.objects.filter(id__in=ORGS):
        group = GroupFactory(org=org, enrolment="EXPLICIT", name=f"isolation {org.id}", total_periods=1)
        PeriodFactory(group=group, sequence=1)
        RuleFactory(group=group)
        groups[org.id] = group.id
    return groups


def write_call(client, operation, group_id):
    path = f"{GROUPS}/{group_id}"
    others = [CUSTOMER[org] for org in ORGS]
    if operation == "patch":
        return client.patch(path, {"description": "changed"}, format="json")
    if operation == "put":
        return client.put(path, {}, format="json")  # found: invalid input; else: not found
    if operation == "delete":
        return client.delete(path)
    return client.post(f"{path}/{operation}", {"userIds": [*others, MISSING]}, format="json")


WRITE_OPERATIONS = ["patch", "put", "delete", "enrol", "unenrol"]


@pytest.mark.parametrize("operation", WRITE_OPERATIONS)
@matrix("owner")
def test_write_a_target_group(explicit_groups, caller, variant, owner, operation):
    client = api_client(caller, variant)
    group = explicit_groups[owner]
    response = write_call(client, operation, group)
    missing = write_call(client, operation, MISSING)
    expected = write_scope(caller, variant)
    if isinstance(expected, Refused):
        assert_error(response, expected.status, expected.code)
        assert_same_answer(response, missing)
    elif owner != expected:
        assert_error(response, 404, 404)
        assert_same_answer(response, missing)
    else:
        assert_error(missing, 404, 404)
        if operation == "put":
            assert_error(response, 400, 300004)
            return
        assert response.status_code == 200, response.content[:300]
        data = body(response)["data"]
        if operation == "patch":
            assert (data["orgId"], data["description"]) == (owner, "changed")
        elif operation == "delete":
            assert data == {"id": group, "deleted": True}
        else:
            found = "ENROLLED" if operation == "enrol" else "NOT_ENROLLED"
            statuses = {row["userId"]: row["status"] for row in data}
            assert statuses == {
                **{CUSTOMER[org]: "NOT_FOUND" for org in ORGS},
                CUSTOMER[owner]: found,
                MISSING: "NOT_FOUND",
            }
    enrolled = set(GroupEnrolment.objects.filter(group_id=group).values_list("customer__org_id", flat=True))
    assert enrolled <= {owner}
    if not (operation == "delete" and owner == expected):
        assert TargetGroup.objects.filter(id=group, org_id=owner).exists()


# --- staff pages ---------------------------------------------------------------------------------

STAFF_PAGES = {
    "customer": "/staff/customers/{customer}/",
    "customer-data": "/staff/customers/{customer}/data.json",
    "program": "/staff/programs/{group}/",
}


def assert_refused_page(response, refused, url):
    if refused.status == 302:
        assert response.status_code == 302
        assert response["Location"].startswith("/staff/login/")
    else:
        assert response.status_code == refused.status


@pytest.mark.parametrize("page", STAFF_PAGES, ids=str)
@matrix("owner")
def test_staff_page_of_an_object(world, caller, variant, owner, page):
    """Staff pages do not read DATA-SCOPE: the headers never widen (or narrow) what a page shows."""
    client = session_client(caller)
    headers = variant.headers()
    url = STAFF_PAGES[page].format(customer=CUSTOMER[owner], group=first_group(owner))
    missing_url = STAFF_PAGES[page].format(customer=MISSING, group=MISSING)
    response, missing = client.get(url, **headers), client.get(missing_url, **headers)
    expected = staff_scope(caller)
    if isinstance(expected, Refused):
        assert_refused_page(response, expected, url)
        assert_refused_page(missing, expected, missing_url)
    elif owner not in expected:
        assert response.status_code == 404
        assert_same_answer(response, missing)
    else:
        assert response.status_code == 200
        assert missing.status_code == 404
        if page == "customer-data":
            data = body(response)["data"]
            assert data["userId"] == CUSTOMER[owner]
            assert group_orgs([g["id"] for g in data["targetGroups"]]) <= {owner}
        else:
            others = [CUSTOMER[o] for o in ORGS if o not in expected]
            assert not any(str(other) in response.content.decode() for other in others)


@matrix("owner")
def test_staff_customer_search(world, caller, variant, owner):
    client = session_client(caller)
    query = str(CUSTOMER[owner])
    response = client.get(f"/staff/customers/?q={query}", **variant.headers())
    missing = client.get(f"/staff/customers/?q={MISSING}", **variant.headers())
    expected = staff_scope(caller)
    if isinstance(expected, Refused):
        assert_refused_page(response, expected, "/staff/customers/")
        return
    assert response.status_code == 200
    links = set(re.findall(r"/staff/customers/(\d+)/", response.content.decode()))
    if owner in expected:
        assert links == {query}
    else:
        assert links == set()
        assert_same_answer(response, missing, echoed=(query, MISSING))


# --- admin change pages ------------------------------------------------------------------------

ADMIN_PAGES = {
    "customer": ("/admin/customers/customer/{}/change/", CUSTOMER),
    "targetgroup": ("/admin/targets/targetgroup/{}/change/", None),
    "actor": ("/admin/customers/actor/{}/change/", ACTOR),
}


@pytest.mark.parametrize("model", ADMIN_PAGES, ids=str)
@matrix("owner")
def test_admin_change_page(world, caller, variant, owner, model):
    template, ids = ADMIN_PAGES[model]
    object_id = ids[owner] if ids else first_group(owner)
    client = session_client(caller)
    response = client.get(template.format(object_id), **variant.headers())
    missing = client.get(template.format(MISSING), **variant.headers())
    expected = admin_scope(caller)
    if isinstance(expected, Refused):
        for answer in (response, missing):
            assert answer.status_code == 302
            assert answer["Location"].startswith("/admin/login/")
    elif owner not in expected:
        assert response.status_code == 404
        assert_same_answer(response, missing)
    else:
        assert response.status_code == 200
        assert missing.status_code == 404
        others = [CUSTOMER[o] for o in ORGS if o not in expected]
        assert not any(str(other) in response.content.decode() for other in others)

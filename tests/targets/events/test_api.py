"""GET /v3.1/events: the caller's org scope (DATA-SCOPE as the read endpoint), oldest first,
an opaque cursor, filters, one fixed number of queries per page, errors in the envelope."""

import pytest

from targets.events.feed import decode_cursor, encode_cursor
from targets.events.models import Event
from targets.events.sequencer import sequence_all
from tests.factories import EventFactory, OrgFactory
from tests.support import PASSWORD, api_user, assert_error, body

pytestmark = pytest.mark.django_db

PARENT, CHILD, OTHER_ORG = 50363, 60001, 70001
URL = "/v3.1/events"


def read(client, query="", **headers):
    response = client.get(f"{URL}{query}", **headers)
    assert response.status_code == 200, response.content
    return body(response)["data"]


def read_all(client, query="", limit=2, **headers):
    """Every page from the start, following the cursor; returns the event ids in order."""
    seen, cursor = [], None
    while True:
        after = f"&after={cursor}" if cursor else ""
        page = read(client, f"?limit={limit}{after}{query}", **headers)
        seen += [e["id"] for e in page["events"]]
        cursor = page["cursor"]
        if not page["hasMore"]:
            return seen


@pytest.fixture
def feeds(demo):
    """Events of the demo's three orgs besides what seeding wrote."""
    return {
        org_id: [EventFactory(org_id=org_id, user_id=1000 + n) for n in range(3)]
        for org_id in (PARENT, CHILD, OTHER_ORG)
    }


def uuids(org_id):
    return [str(u) for u in Event.objects.filter(org_id=org_id).order_by("id").values_list("uuid", flat=True)]


def test_a_reader_from_the_start_sees_every_event_of_its_org_once_in_order(till_client, feeds):
    assert read_all(till_client) == uuids(PARENT)
    assert len(uuids(PARENT)) > 3  # the seeded demo's own events too


@pytest.mark.parametrize(
    ("caller", "headers", "orgs"),
    [
        ("tillrustaging2", {}, [PARENT]),
        ("tillrustaging2", {"HTTP_DATA_SCOPE": "ALL"}, [PARENT, CHILD]),
        ("tillrustaging2", {"HTTP_DATA_SCOPE": "OTHER", "HTTP_DATA_SCOPE_ORG": str(CHILD)}, [CHILD]),
        ("democoffee", {}, [CHILD]),
        ("democoffee", {"HTTP_DATA_SCOPE": "all"}, [PARENT, CHILD]),
        ("unrelated", {"HTTP_DATA_SCOPE": "ALL"}, [OTHER_ORG]),
    ],
)
def test_the_feed_follows_data_scope(client_for, feeds, caller, headers, orgs):
    seen = read_all(client_for(caller), limit=1000, **headers)
    expected = [
        str(u) for u in Event.objects.filter(org_id__in=orgs).order_by("id").values_list("uuid", flat=True)
    ]
    assert seen == expected


def test_an_unreachable_org_is_refused_as_by_the_read_endpoint(till_client, feeds):
    assert_error(
        till_client.get(URL, HTTP_DATA_SCOPE="OTHER", HTTP_DATA_SCOPE_ORG=str(OTHER_ORG)), 403, 310144
    )
    assert_error(till_client.get(URL, HTTP_DATA_SCOPE="SOME"), 400, 300004)


def test_filters_by_type_and_customer(till_client, feeds):
    revoked = EventFactory(
        org_id=PARENT, user_id=1001, type="ACHIEVEMENT_REVOKED", revoked_type="TARGET_ACHIEVED"
    )
    page = read(till_client, "?type=ACHIEVEMENT_REVOKED,streak_dropped&limit=1000")
    assert [e["id"] for e in page["events"]] == [
        str(u)
        for u in Event.objects.filter(org_id=PARENT, type__in=["ACHIEVEMENT_REVOKED", "STREAK_DROPPED"])
        .order_by("id")
        .values_list("uuid", flat=True)
    ]
    assert page["events"][-1]["revokedType"] == "TARGET_ACHIEVED"
    mine = read(till_client, "?userId=1001")["events"]
    assert [e["id"] for e in mine] == [str(feeds[PARENT][1].uuid), str(revoked.uuid)]


def test_an_event_renders_every_documented_field(till_client, feeds):
    event = feeds[PARENT][0]
    sequence_all()
    event.refresh_from_db()
    cursor = encode_cursor(event.position - 1)
    (first,) = read(till_client, f"?after={cursor}&limit=1")["events"]
    assert first == {
        "id": str(event.uuid),
        "type": "TARGET_ACHIEVED",
        "occurredAt": "2024-08-01T00:00:00.000Z",
        "emittedAt": "2024-08-01T00:00:00.000Z",
        "orgId": PARENT,
        "userId": event.user_id,
        "groupId": 1,
        "groupName": "Spend 1000",
        "targetRuleId": 2,
        "targetName": "Gross sales",
        "periodId": 3,
        "periodRefCode": "Cycle_1",
        "triggerId": None,
        "triggerName": None,
        "streakId": None,
        "streakName": None,
        "achievedValue": 1000.0,
        "targetValue": 1000.0,
        "activityId": 4,
        "revokedType": None,
        "source": None,
    }


def test_the_cursor_of_an_empty_page_stays_where_it_was(till_client, feeds):
    page = read(till_client, "?limit=1000")
    again = read(till_client, f"?after={page['cursor']}")
    assert (again["events"], again["hasMore"], again["cursor"]) == ([], False, page["cursor"])
    late = EventFactory(org_id=PARENT)
    assert [e["id"] for e in read(till_client, f"?after={page['cursor']}")["events"]] == [str(late.uuid)]
    late.refresh_from_db()
    assert decode_cursor(page["cursor"]) < late.position


@pytest.mark.parametrize(
    "query",
    [
        "?after=notacursor",
        "?after=" + encode_cursor(1)[:-2] + "!!",
        "?limit=0",
        "?limit=1001",
        "?limit=1.5",
        "?type=TARGET",
        "?type=,",
        "?userId=-1",
        "?userId=99999999999999999999",
        "?limit=1&limit=2",
    ],
)
def test_bad_parameters_are_400_in_the_envelope(till_client, query):
    payload = assert_error(till_client.get(URL + query), 400, 300004)
    assert payload["errors"][0]["message"].startswith("Invalid input: ")


def test_credentials_and_permission_are_required(client, client_for, demo):
    assert_error(client.get(URL), 401, 401)
    user = api_user(OrgFactory(), perms=())
    assert_error(client_for(user.username, PASSWORD).get(URL), 403, 403)


def test_a_page_costs_the_same_queries_whatever_its_size(till_client, feeds, django_assert_max_num_queries):
    for n in range(300):
        EventFactory(org_id=PARENT, user_id=2000 + n % 7)
    with django_assert_max_num_queries(8) as small:
        read(till_client, "?limit=1")
    with django_assert_max_num_queries(8) as large:
        read(till_client, "?limit=1000&type=TARGET_ACHIEVED,ENROLLED")
    with django_assert_max_num_queries(8) as scoped:
        read(till_client, "?limit=1000&userId=2001", HTTP_DATA_SCOPE="ALL")
    assert len(small.captured_queries) == len(large.captured_queries)
    # DATA-SCOPE ALL costs nothing more: the org's children come with the authentication query.
    assert len(scoped.captured_queries) == len(small.captured_queries)


def test_the_feed_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/v3.1/events"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"after", "limit", "type", "userId", "DATA-SCOPE"}
    assert set(operation["responses"]) >= {"200", "400", "401", "403"}

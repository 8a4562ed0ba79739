"""Who may read and write which groups through /v3/targetGroups (SPEC §3 scope, §5).

Reads follow DATA-SCOPE; writes go to the caller's org, or from a parent to one child with
DATA-SCOPE OTHER + DATA-SCOPE-ORG. A group outside that set is the same 404 as an unknown id
(never 403). Reads need the view permission, writes the change permission."""

import pytest

from customers.models import Org
from targets.models import GroupEnrolment, TargetGroup
from tests.api.test_config_api import URL, body_of, create, error_list, group_body
from tests.factories import ActorFactory, UserFactory

OTHER_60001 = {"HTTP_DATA_SCOPE": "OTHER", "HTTP_DATA_SCOPE_ORG": "60001"}


@pytest.fixture
def till(demo, client_for):
    return client_for("tillrustaging2")


@pytest.fixture
def coffee(demo, client_for):
    return client_for("democoffee")


@pytest.fixture
def unrelated(demo, client_for):
    return client_for("unrelated")


@pytest.fixture
def parent_group(till):
    return create(till, group_body(name="Parent program", enrolment="EXPLICIT"))


def not_found(response):
    assert response.status_code == 404, response.content
    assert error_list(response) == [(404, "Not found")]
    return body_of(response)


def test_another_orgs_group_is_the_same_404_as_an_unknown_id(unrelated, parent_group):
    foreign = not_found(unrelated.get(f"{URL}/{parent_group['id']}"))
    unknown = not_found(unrelated.get(f"{URL}/999999999"))

    assert foreign == unknown


@pytest.mark.parametrize("path", ["999999999999999999999", "abc", "-1", "0"])
def test_ids_that_are_not_positive_64_bit_integers_are_404(till, path):
    not_found(till.get(f"{URL}/{path}"))


def test_another_org_cannot_change_delete_or_enrol_into_a_group(unrelated, parent_group):
    group_url = f"{URL}/{parent_group['id']}"

    not_found(unrelated.put(group_url, group_body(name="Hijacked"), format="json"))
    not_found(unrelated.patch(group_url, {"name": "Hijacked"}, format="json"))
    not_found(unrelated.delete(group_url))
    not_found(unrelated.post(f"{group_url}/enrol", {"userIds": [910000001]}, format="json"))
    not_found(unrelated.post(f"{group_url}/unenrol", {"userIds": [910000001]}, format="json"))

    group = TargetGroup.objects.get(id=parent_group["id"])
    assert (group.name, group.active) == ("Parent program", True)
    assert not GroupEnrolment.objects.filter(group=group).exists()


def test_the_list_holds_only_the_callers_org(unrelated, parent_group):
    groups = body_of(unrelated.get(f"{URL}?pageSize=100"))["data"]

    assert {g["orgId"] for g in groups} == {70001}
    assert parent_group["id"] not in {g["id"] for g in groups}


def test_a_child_cannot_write_to_its_parent(coffee, parent_group):
    not_found(coffee.patch(f"{URL}/{parent_group['id']}", {"name": "From the child"}, format="json"))
    not_found(coffee.delete(f"{URL}/{parent_group['id']}"))

    before = TargetGroup.objects.filter(org_id=50363).count()
    response = coffee.post(
        URL,
        group_body(name="Into the parent"),
        format="json",
        HTTP_DATA_SCOPE="OTHER",
        HTTP_DATA_SCOPE_ORG="50363",
    )
    assert response.status_code == 403
    assert error_list(response)[0][0] == 310144
    assert TargetGroup.objects.filter(org_id=50363).count() == before


def test_a_child_reads_its_parents_groups_only_with_data_scope_all(coffee, parent_group):
    not_found(coffee.get(f"{URL}/{parent_group['id']}"))

    response = coffee.get(f"{URL}/{parent_group['id']}", HTTP_DATA_SCOPE="ALL")

    assert response.status_code == 200
    assert body_of(response)["data"] == parent_group


def test_a_parent_writes_to_a_child_with_data_scope_other(till):
    created = create(till, group_body(name="For the child"), **OTHER_60001)

    assert created["orgId"] == 60001
    assert created["attribution"]["createdBy"]["id"] == 50150886
    assert TargetGroup.objects.get(id=created["id"]).org_id == 60001
    not_found(till.patch(f"{URL}/{created['id']}", {"description": "x"}, format="json"))
    response = till.patch(f"{URL}/{created['id']}", {"description": "x"}, format="json", **OTHER_60001)
    assert response.status_code == 200
    assert body_of(response)["data"]["description"] == "x"


def test_plain_dates_of_a_child_group_use_the_childs_timezone(till):
    created = create(
        till, group_body(startDate="2024-09-01", endDate="2024-09-01", totalPeriods=1), **OTHER_60001
    )

    assert created["startDate"] == "2024-08-31T18:30:00.000Z"  # Asia/Kolkata


def test_a_parent_reads_its_childrens_groups_with_data_scope_all(till, coffee):
    child_group = create(coffee, group_body(name="Child program"))

    def org_ids(**headers):
        return {g["orgId"] for g in body_of(till.get(f"{URL}?pageSize=100", **headers))["data"]}

    assert org_ids() == {50363}
    assert org_ids(HTTP_DATA_SCOPE="ALL") == {50363, 60001}
    assert org_ids(**OTHER_60001) == {60001}
    assert till.get(f"{URL}/{child_group['id']}", HTTP_DATA_SCOPE="ALL").status_code == 200


def test_writes_refuse_data_scope_all(till):
    response = till.post(URL, group_body(), format="json", HTTP_DATA_SCOPE="ALL")

    assert response.status_code == 400
    assert error_list(response) == [(300004, "Invalid input: DATA-SCOPE ALL is for reads only")]


def test_a_parent_cannot_write_to_an_unrelated_org(till):
    response = till.post(
        URL, group_body(), format="json", HTTP_DATA_SCOPE="OTHER", HTTP_DATA_SCOPE_ORG="70001"
    )

    assert response.status_code == 403
    assert error_list(response)[0][0] == 310144


# ---------------------------------------------------------------------------------------------
# Permissions and credentials


def api_user(client_for, *perms):
    user = UserFactory(perms=list(perms))
    ActorFactory(org=Org.objects.get(id=50363), user=user)
    return client_for(user.username, "secret-pass")


def test_reading_needs_the_view_permission(demo, client_for, parent_group):
    nobody = api_user(client_for)

    for response in (nobody.get(URL), nobody.get(f"{URL}/{parent_group['id']}")):
        assert response.status_code == 403
        assert error_list(response) == [(403, "Permission denied")]


def test_writing_needs_the_change_permission(demo, client_for, parent_group):
    reader = api_user(client_for, "targets.view_targetgroup")
    group_url = f"{URL}/{parent_group['id']}"

    assert reader.get(group_url).status_code == 200
    for response in (
        reader.post(URL, group_body(name="Reader's"), format="json"),
        reader.patch(group_url, {"name": "Reader's"}, format="json"),
        reader.delete(group_url),
        reader.post(f"{group_url}/enrol", {"userIds": [347286146]}, format="json"),
    ):
        assert response.status_code == 403
        assert error_list(response) == [(403, "Permission denied")]
    assert TargetGroup.objects.get(id=parent_group["id"]).name == "Parent program"


def test_the_change_permission_is_enough_to_write(demo, client_for):
    writer = api_user(client_for, "targets.view_targetgroup", "targets.change_targetgroup")

    assert create(writer, group_body(name="Writer's"))["orgId"] == 50363


def test_no_credentials_is_401(demo, client):
    for response in (client.get(URL), client.post(URL, group_body(), content_type="application/json")):
        assert response.status_code == 401
        assert error_list(response)[0][0] == 401

"""A non-superuser staff admin sees and edits only its own org's rows (SPEC §6): staff60001
(org 60001, a child of 50363) gets 404 or no rows for org 50363's objects and cannot pick its
customers or tills in forms; staff50363 sees its own; a staff user without an actor sees
nothing; the superuser sees every org."""

from datetime import UTC, date, datetime

import pytest

from customers.models import Actor, Customer
from targets.models import GroupEnrolment, TargetGroup, TargetRule
from tests.admin.forms import add_row, all_errors, page_data, put
from tests.factories import UserFactory

EXAMPLE_GROUPS = {33008, 38135, 39540, 42775, 42788, 51922, 53230, 53235, 53236}
FOREIGN_PAGES = [  # org 50363's objects
    "/admin/targets/targetgroup/33008/change/",
    "/admin/targets/targetgroup/53230/change/",
    "/admin/targets/targetrule/72389/change/",
    "/admin/customers/customer/347286146/change/",
    "/admin/customers/actor/4/change/",
    "/admin/customers/actor/50150886/change/",
    "/admin/customers/org/50363/change/",
    "/admin/targets/targetgroup/33008/delete/",
    "/admin/targets/targetgroup/33008/history/",
]


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def listed(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.context["cl"].result_list


@pytest.fixture
def staff60001(login):
    return login("staff60001")


@pytest.mark.parametrize("url", FOREIGN_PAGES)
def test_another_orgs_objects_answer_404(staff60001, url):
    assert staff60001.get(url).status_code == 404


def test_another_orgs_profile_and_progress_answer_404(staff60001):
    profile = Customer.objects.get(id=347286146).profiles.get()
    assert staff60001.get(f"/admin/customers/customerprofile/{profile.id}/change/").status_code == 404
    for user_target in Customer.objects.get(id=347286146).user_targets.all():
        assert staff60001.get(f"/admin/targets/usertarget/{user_target.id}/change/").status_code == 404


def test_lists_hold_only_the_staff_orgs_rows(staff60001):
    groups = listed(staff60001, "/admin/targets/targetgroup/")
    assert {g.org_id for g in groups} == {60001}
    assert len(groups) == TargetGroup.objects.filter(org_id=60001).count() > 0
    assert not {g.id for g in groups} & EXAMPLE_GROUPS
    assert {r.org_id for r in listed(staff60001, "/admin/targets/targetrule/")} == {60001}
    assert {c.org_id for c in listed(staff60001, "/admin/customers/customer/?q=347286146")} == set()
    customers = listed(staff60001, "/admin/customers/customer/")
    assert {c.org_id for c in customers} == {60001}
    assert {a.id for a in listed(staff60001, "/admin/customers/actor/")} == {60000001, 60000002}
    assert [o.id for o in listed(staff60001, "/admin/customers/org/")] == [60001]


def test_the_search_does_not_reach_another_org(staff60001):
    assert list(listed(staff60001, "/admin/targets/targetgroup/?q=33008")) == []
    assert list(listed(staff60001, "/admin/targets/targetgroup/?q=t1Fixed")) == []


def test_group_form_offers_only_the_staff_orgs_tills(staff60001):
    response = staff60001.get("/admin/targets/targetgroup/add/")
    tills = set(
        response.context["adminform"].form.fields["preferred_till"].queryset.values_list("id", flat=True)
    )
    assert tills == {60000002}
    assert "org" not in response.context["adminform"].form.fields


def group_data(client, **fields):
    data = page_data(client.get("/admin/targets/targetgroup/add/"))
    values = {
        "name": "Staff-made",
        "target_evaluation_type": "FIXED_CALENDAR_WINDOW",
        "tracking_type": "DEFAULT",
        "frequency_type": "DAILY",
        "start_day": date(2024, 9, 1),
        "end_day": date(2024, 9, 1),
        **fields,
    }
    for name, value in values.items():
        put(data, name, value)
    add_row(data, "periods", ref_code="Cycle_1", start_day=date(2024, 9, 1), end_day=date(2024, 9, 1))
    add_row(
        data,
        "rules",
        name="Spend",
        active=True,
        target_entity="TRANSACTION",
        event_name="TransactionAdd",
        target_type="GROSS_SALES",
        target_value="100",
    )
    return data


def test_posting_another_orgs_till_is_refused(staff60001):
    count = TargetGroup.objects.count()
    response = staff60001.post(
        "/admin/targets/targetgroup/add/", group_data(staff60001, preferred_till=50150886)
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["preferred_till"] == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    assert TargetGroup.objects.count() == count


def test_a_new_group_goes_to_the_staff_org_whatever_is_posted(staff60001):
    data = group_data(staff60001, preferred_till=60000002)
    data["org"] = "50363"
    response = staff60001.post("/admin/targets/targetgroup/add/", data)
    assert response.status_code == 302, all_errors(response)
    group = TargetGroup.objects.get(name="Staff-made")
    assert group.org_id == 60001
    assert (group.created_by_id, group.last_updated_by_id) == (60000001, 60000001)
    assert {p.org_id for p in group.periods.all()} | {r.org_id for r in group.rules.all()} == {60001}


def test_rule_form_offers_only_the_staff_orgs_groups(staff60001):
    response = staff60001.get("/admin/targets/targetrule/add/")
    groups = response.context["adminform"].form.fields["group"].queryset
    assert set(groups.values_list("org_id", flat=True)) == {60001}
    data = page_data(response)
    for name, value in {
        "group": 39540,
        "name": "Sneaky",
        "target_entity": "TRANSACTION",
        "event_name": "TransactionAdd",
        "target_type": "COUNT",
        "target_value": "1",
    }.items():
        put(data, name, value)
    response = staff60001.post("/admin/targets/targetrule/add/", data)
    assert response.status_code == 200
    assert "group" in response.context["adminform"].form.errors
    assert not TargetRule.objects.filter(name="Sneaky").exists()


def test_enrolment_form_cannot_pick_another_orgs_customer(staff60001):
    response = staff60001.get("/admin/targets/groupenrolment/add/")
    customers = response.context["adminform"].form.fields["customer"].queryset
    assert 347286146 not in set(customers.values_list("id", flat=True))
    assert set(customers.values_list("org_id", flat=True)) == {60001}

    group = TargetGroup.objects.filter(org_id=60001).first()
    response = staff60001.post(
        "/admin/targets/groupenrolment/add/", {"group": group.id, "customer": 347286146}
    )
    assert response.status_code == 200
    assert "customer" in response.context["adminform"].form.errors
    assert not GroupEnrolment.objects.filter(customer_id=347286146, group=group).exists()


def test_customer_autocomplete_stays_in_the_org(staff60001):
    response = staff60001.get(
        "/admin/autocomplete/",
        {"app_label": "targets", "model_name": "groupenrolment", "field_name": "customer", "term": "9"},
    )
    assert response.status_code == 200
    ids = {int(item["id"]) for item in response.json()["results"]}
    assert ids and all(900000001 <= i <= 900000300 for i in ids)
    response = staff60001.get(
        "/admin/autocomplete/",
        {
            "app_label": "targets",
            "model_name": "groupenrolment",
            "field_name": "customer",
            "term": "347286146",
        },
    )
    assert response.json()["results"] == []


def test_enrolling_a_customer_of_the_org(staff60001):
    group = TargetGroup.objects.filter(org_id=60001).first()
    GroupEnrolment.objects.filter(customer_id=900000042, group=group).delete()
    response = staff60001.post(
        "/admin/targets/groupenrolment/add/", {"group": group.id, "customer": 900000042}
    )
    assert response.status_code == 302, all_errors(response)
    enrolment = GroupEnrolment.objects.get(customer_id=900000042, group=group)
    assert (enrolment.org_id, enrolment.source) == (60001, "ADMIN")


def test_staff50363_sees_its_own_org(login):
    client = login("staff50363")
    assert {g.id for g in listed(client, "/admin/targets/targetgroup/")} == EXAMPLE_GROUPS
    assert client.get("/admin/targets/targetgroup/53230/change/").status_code == 200
    assert client.get("/admin/customers/customer/347286146/change/").status_code == 200
    # its connected child's rows are not its own: the admin is per org
    assert client.get("/admin/customers/customer/900000001/change/").status_code == 404
    assert {a.org_id for a in listed(client, "/admin/customers/actor/")} == {50363}


def test_a_staff_user_without_actor_sees_nothing(login):
    user = UserFactory(is_staff=True, perms=["targets.view_targetgroup", "targets.add_targetgroup"])
    client = login(user)
    assert list(listed(client, "/admin/targets/targetgroup/")) == []
    assert client.get("/admin/targets/targetgroup/53230/change/").status_code == 404
    assert client.get("/admin/targets/targetgroup/add/").status_code == 403


def test_the_superuser_sees_every_org(login):
    client = login("admin")
    orgs = {g.org_id for g in listed(client, "/admin/targets/targetgroup/?all=")}
    assert {50363, 60001, 70001} <= orgs
    assert client.get("/admin/customers/customer/910000001/change/").status_code == 200
    assert client.get("/admin/customers/actor/70000002/change/").status_code == 200


def test_an_actor_is_fixed_to_the_staff_org(login):
    client = login("staff60001")
    data = page_data(client.get("/admin/customers/actor/add/"))
    for name, value in {"code": "till2", "name": "Second till", "type": "TILL", "org": 50363}.items():
        put(data, name, value)
    response = client.post("/admin/customers/actor/add/", data)
    assert response.status_code == 302, all_errors(response)
    actor = Actor.objects.get(code="till2")
    assert (actor.org_id, actor.user_id) == (60001, None)

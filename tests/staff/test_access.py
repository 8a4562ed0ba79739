"""SPEC §6: staff pages are login-required and org-scoped. A staff user reads its Actor's org and
that org's children; anything else is a 404, as if it did not exist. A superuser reads all."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.factories import UserFactory

CUSTOMER_50363 = 347286146
GROUP_50363 = 53230  # t1Fixed
CUSTOMER_60001 = 900000001
CUSTOMER_70001 = 910000001

PAGES = [
    "/staff/customers/",
    f"/staff/customers/{CUSTOMER_50363}/",
    f"/staff/customers/{CUSTOMER_50363}/data.json",
    "/staff/programs/",
    f"/staff/programs/{GROUP_50363}/",
]


def group_of(org_id):
    from targets.models import TargetGroup

    return TargetGroup.objects.filter(org_id=org_id).order_by("id").values_list("id", flat=True).first()


@pytest.mark.parametrize("url", PAGES)
def test_every_page_sends_an_anonymous_visitor_to_the_login_page(demo, client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/staff/login/?next={url}"


def test_staff_log_in_with_the_login_form_and_land_on_customer_search(demo):
    client = Client()
    page = client.get("/staff/login/")
    assert page.status_code == 200
    assert b'<label for="id_username">' in page.content
    response = client.post("/staff/login/", {"username": "staff50363", "password": "staff50363"})
    assert response.status_code == 302
    assert response["Location"] == "/staff/customers/"
    assert client.get("/staff/customers/").status_code == 200


def test_a_wrong_password_stays_on_the_login_page_with_an_error(demo):
    response = Client().post("/staff/login/", {"username": "staff50363", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_logging_out_ends_the_session(staff_client):
    client = staff_client("staff50363")
    response = client.post("/staff/logout/")
    assert response.status_code == 302
    assert client.get("/staff/customers/").status_code == 302


def test_a_user_without_the_staff_flag_is_refused(demo):
    client = Client()
    client.force_login(get_user_model().objects.get(username="tillrustaging2"))  # an API till
    assert client.get("/staff/customers/").status_code == 403
    assert client.get(f"/staff/customers/{CUSTOMER_50363}/").status_code == 403


def test_a_child_org_gets_404_for_its_parents_customer_and_program(staff_client):
    client = staff_client("staff60001")
    assert client.get(f"/staff/customers/{CUSTOMER_50363}/").status_code == 404
    assert client.get(f"/staff/customers/{CUSTOMER_50363}/data.json").status_code == 404
    assert client.get(f"/staff/programs/{GROUP_50363}/").status_code == 404


def test_a_child_org_reads_its_own_customers_and_programs(staff_client):
    client = staff_client("staff60001")
    assert client.get(f"/staff/customers/{CUSTOMER_60001}/").status_code == 200
    assert client.get(f"/staff/programs/{group_of(60001)}/").status_code == 200


def test_a_parent_org_reads_its_childs_customers_and_programs(staff_client):
    client = staff_client("staff50363")
    assert client.get(f"/staff/customers/{CUSTOMER_60001}/").status_code == 200
    assert client.get(f"/staff/customers/{CUSTOMER_60001}/data.json").status_code == 200
    assert client.get(f"/staff/programs/{group_of(60001)}/").status_code == 200


def test_an_unrelated_org_is_invisible_to_both_staff_users(staff_client):
    for username in ("staff50363", "staff60001"):
        client = staff_client(username)
        assert client.get(f"/staff/customers/{CUSTOMER_70001}/").status_code == 404
        assert client.get(f"/staff/programs/{group_of(70001)}/").status_code == 404
        assert client.get(f"/staff/customers/?q={CUSTOMER_70001}").context["page"].paginator.count == 0


def test_a_superuser_reads_every_org(staff_client):
    client = staff_client("admin")
    for customer in (CUSTOMER_50363, CUSTOMER_60001, CUSTOMER_70001):
        assert client.get(f"/staff/customers/{customer}/").status_code == 200
    assert client.get(f"/staff/programs/{group_of(70001)}/").status_code == 200


def test_search_lists_only_customers_of_readable_orgs(staff_client):
    child = staff_client("staff60001").get("/staff/customers/").context["page"].paginator.count
    parent = staff_client("staff50363").get("/staff/customers/").context["page"].paginator.count
    assert child == 300  # Demo Coffee's customers
    assert parent == 301  # and the parent's own customer
    assert staff_client("staff60001").get("/staff/customers/?q=919111122111").context["rows"] == []


def test_programs_list_only_programs_of_readable_orgs(staff_client):
    from targets.models import TargetGroup

    listed = {g["id"] for g in staff_client("staff60001").get("/staff/programs/").context["page"].object_list}
    assert listed == set(TargetGroup.objects.filter(org_id=60001).values_list("id", flat=True))


def test_a_staff_user_without_an_org_sees_nothing(demo):
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    assert client.get("/staff/customers/").context["page"].paginator.count == 0
    assert client.get(f"/staff/customers/{CUSTOMER_50363}/").status_code == 404


def test_unknown_and_oversized_ids_are_404(staff_client):
    from customers.models import Customer
    from targets.models import TargetGroup

    client = staff_client("admin")
    missing_customer = Customer.objects.order_by("-id").values_list("id", flat=True).first() + 1
    missing_group = TargetGroup.objects.order_by("-id").values_list("id", flat=True).first() + 1
    assert client.get(f"/staff/customers/{missing_customer}/").status_code == 404
    assert client.get(f"/staff/customers/{2**64}/").status_code == 404
    assert client.get(f"/staff/customers/{2**64}/data.json").status_code == 404
    assert client.get(f"/staff/programs/{missing_group}/").status_code == 404
    assert client.get(f"/staff/programs/{2**64}/").status_code == 404

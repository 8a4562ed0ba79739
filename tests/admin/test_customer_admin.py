"""Customer, profile, org and actor admins; read-only progress views; the OAuth application
admin; attribution from the logged-in user's actor."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from oauth2_provider.models import Application

from customers.models import CommChannel, Customer, CustomerProfile
from targets.clock import parse_instant
from targets.models import TargetGroup, TargetPeriod, UserTarget
from targets.progress.ingest import activity_ingest
from tests.admin.forms import add_row, all_errors, inline, page_data, put
from tests.conftest import DEMO_NOW
from tests.factories import UserFactory

CUSTOMER_URL = "/admin/customers/customer/347286146/change/"
NOW = parse_instant(DEMO_NOW)


@pytest.fixture
def admin_client(login):
    return login("admin")


def test_customer_page_shows_profile_channels_and_progress(admin_client):
    response = admin_client.get(CUSTOMER_URL)
    assert response.status_code == 200
    profiles = inline(response, "profiles")
    assert [(f.instance.first_name, f.instance.last_name) for f in profiles.initial_forms] == [
        ("919111122111", "919111122111")
    ]
    assert b"918111255499" in response.content  # the mobile channel, read-only on this page
    shown = {f.instance.id for f in inline(response, "user_targets").initial_forms}
    assert shown == set(UserTarget.objects.filter(customer_id=347286146).values_list("id", flat=True))
    assert shown  # the example's progress
    cyclic = [f.instance.ref_code for f in inline(response, "cyclic_periods").initial_forms]
    assert cyclic == [f"PERIOD_G_53235_{n}" for n in range(1, 6)]
    assert b"Save" in response.content


def test_progress_on_the_customer_page_is_read_only(admin_client):
    response = admin_client.get(CUSTOMER_URL)
    views = {f.formset.prefix: f for f in response.context["inline_admin_formsets"]}
    for prefix in ("user_targets", "user_streaks", "enrolments", "cyclic_periods"):
        view = views[prefix]
        assert (view.has_add_permission, view.has_change_permission, view.has_delete_permission) == (
            False,
            False,
            False,
        )
    assert views["profiles"].has_change_permission
    data = page_data(response)
    put(data, "profiles-0-first_name", "Renamed")
    before = list(UserTarget.objects.filter(customer_id=347286146).values_list("id", "achieved_value"))
    assert admin_client.post(CUSTOMER_URL, data).status_code == 302
    assert CustomerProfile.objects.get(customer_id=347286146).first_name == "Renamed"
    assert (
        list(UserTarget.objects.filter(customer_id=347286146).values_list("id", "achieved_value")) == before
    )


def test_saving_a_customer_stamps_last_updated_only(login):
    client = login("staff50363")
    customer = Customer.objects.get(id=347286146)
    response = client.post(CUSTOMER_URL, page_data(client.get(CUSTOMER_URL)))
    assert response.status_code == 302, all_errors(response)
    after = Customer.objects.get(id=347286146)
    assert (after.last_updated_by_id, after.last_updated_on) == (50363001, NOW)
    assert (after.created_by_id, after.created_on) == (customer.created_by_id, customer.created_on)
    assert after.lifetime_purchases == customer.lifetime_purchases  # read-only: the engine's


def test_saving_a_customer_read_before_an_activity_keeps_the_engines_fields(demo, rf):
    """The engine's fields (lifetime purchases, the running totals of targets/totals.py) are
    saved as they are when the admin saves, not as the page's copy read them."""
    page_copy = Customer.objects.get(id=347286146)
    read = page_copy.lifetime_purchases
    item = {
        "userId": 347286146,
        "entity": "TRANSACTION",
        "eventName": "TransactionAdd",
        "occurredAt": DEMO_NOW,
        "amount": "12.5",
        "externalId": "while-the-page-was-open",
        "attributes": {"scans": 3},
    }
    assert activity_ingest(org=demo, items=[item], now=NOW)[0].status == "APPLIED"
    engine = Customer.objects.values(*Customer.ENGINE_FIELDS).get(id=347286146)
    request = rf.post(CUSTOMER_URL)
    request.user = get_user_model().objects.get(username="staff50363")

    admin.site._registry[Customer].save_model(request, page_copy, form=None, change=True)

    assert Customer.objects.values(*Customer.ENGINE_FIELDS).get(id=347286146) == engine
    assert engine["lifetime_purchases"] == read + Decimal("12.5")
    assert engine["attribute_totals"]["scans"] == "3"


def test_adding_a_customer_with_a_profile(login):
    client = login("staff60001")
    data = page_data(client.get("/admin/customers/customer/add/"))
    put(data, "loyalty_type", "loyalty")
    put(data, "custom_fields", "{}")
    add_row(data, "profiles", first_name="New", last_name="Customer", source="instore", org_source_id=-1)
    response = client.post("/admin/customers/customer/add/", data)
    assert response.status_code == 302, all_errors(response)
    customer = Customer.objects.get(profiles__last_name="Customer", profiles__first_name="New")
    assert (customer.org_id, customer.created_by_id, customer.created_on) == (60001, 60000001, NOW)
    assert customer.profiles.get().org_id == 60001


def test_profile_page_edits_comm_channels(admin_client):
    profile = CustomerProfile.objects.get(customer_id=347286146)
    url = f"/admin/customers/customerprofile/{profile.id}/change/"
    response = admin_client.get(url)
    assert {f.instance.value for f in inline(response, "channels").initial_forms} >= {"918111255499"}
    data = page_data(response)
    add_row(data, "channels", type="mobile", value="919999999999", subscribed="unknown")
    response = admin_client.post(url, data)
    assert response.status_code == 302, all_errors(response)
    assert CommChannel.objects.get(value="919999999999").org_id == 50363


def test_org_page_lists_its_connected_children(admin_client):
    response = admin_client.get("/admin/customers/org/50363/change/")
    assert response.status_code == 200
    assert [f.instance.id for f in inline(response, "children").initial_forms] == [60001]
    child = admin_client.get("/admin/customers/org/60001/change/")
    assert inline(child, "children").initial_forms == []


def test_staff_cannot_reconnect_its_org(login):
    client = login("staff60001")
    response = client.get("/admin/customers/org/60001/change/")
    assert "parent" not in response.context["adminform"].form.fields
    assert client.get("/admin/customers/org/add/").status_code == 403


def test_actor_admin_lists_the_example_actors(admin_client):
    response = admin_client.get("/admin/customers/actor/?org__id__exact=50363")
    assert {a.id for a in response.context["cl"].result_list} >= {4, 50150886, 50697469}
    page = admin_client.get("/admin/customers/actor/4/change/")
    assert "user" in page.context["adminform"].form.fields  # the superuser links logins


@pytest.mark.parametrize(
    "url",
    [
        "/admin/targets/usertarget/add/",
        "/admin/targets/userstreak/add/",
        "/admin/targets/activity/add/",
    ],
)
def test_progress_and_activity_cannot_be_added(admin_client, url):
    assert admin_client.get(url).status_code == 403


def test_progress_and_activity_are_listed_read_only(admin_client):
    for url in ("/admin/targets/usertarget/", "/admin/targets/userstreak/", "/admin/targets/activity/"):
        assert admin_client.get(url).status_code == 200
    user_target = UserTarget.objects.filter(customer_id=347286146).first()
    url = f"/admin/targets/usertarget/{user_target.id}/change/"
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"achieved_value": "1"}).status_code == 403
    assert UserTarget.objects.get(id=user_target.id).achieved_value == user_target.achieved_value


def test_the_oauth_application_admin_works(admin_client):
    response = admin_client.get("/admin/oauth2_provider/application/")
    assert response.status_code == 200
    app = Application.objects.get(client_id="demo-key")
    assert admin_client.get(f"/admin/oauth2_provider/application/{app.pk}/change/").status_code == 200


def test_a_superuser_without_actor_leaves_the_attribution_empty(login):
    client = login(UserFactory(is_staff=True, is_superuser=True))
    url = "/admin/targets/targetgroup/53230/change/"
    response = client.post(url, page_data(client.get(url)))
    assert response.status_code == 302, all_errors(response)
    group = TargetGroup.objects.get(id=53230)
    assert (group.last_updated_by_id, group.last_updated_on, group.created_by_id) == (None, NOW, 4)


def test_a_superuser_acting_on_another_org_is_not_named_in_its_attribution(admin_client):
    group = TargetGroup.objects.filter(org_id=60001).first()
    url = f"/admin/targets/targetgroup/{group.id}/change/"
    response = admin_client.post(url, page_data(admin_client.get(url)))
    assert response.status_code == 302, all_errors(response)
    group.refresh_from_db()
    assert (group.last_updated_by_id, group.last_updated_on) == (None, NOW)


def test_the_cyclic_periods_of_a_customer_stay_out_of_the_group_page(admin_client):
    url = "/admin/targets/targetgroup/53235/change/"
    response = admin_client.post(url, page_data(admin_client.get(url)))
    assert response.status_code == 302, all_errors(response)
    assert TargetPeriod.objects.filter(group_id=53235, customer_id=347286146).count() == 5

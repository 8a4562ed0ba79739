"""The site around the pages: `/` leads to the staff pages, the admin is branded and its
"View site" goes there too, and a missing page is the project's own 404 page, also with DEBUG
on (as under `make run`), while API paths keep the JSON envelope."""

import pytest
from django.test import Client


@pytest.fixture
def debug_on(settings):
    settings.DEBUG = True


def test_the_root_redirects_to_the_staff_pages(db):
    response = Client().get("/")
    assert (response.status_code, response["Location"]) == (302, "/staff/")


@pytest.mark.parametrize("debug", [True, False])
def test_a_missing_page_is_the_projects_own_page(db, settings, debug):
    settings.DEBUG = debug
    response = Client().get("/no/such/page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page
    assert "URLconf" not in page  # not Django's debug page listing the URL patterns
    assert 'href="/staff/customers/"' in page and 'href="/admin/"' in page


def test_a_missing_admin_object_is_the_projects_own_page_with_debug(demo, debug_on):
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username="admin"))
    response = client.get("/admin/targets/targetgroup/999999999/change/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_api_paths_keep_the_json_envelope_with_debug(db, debug_on):
    response = Client().get("/v3.1/no/such/thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_the_admin_is_branded_and_view_site_goes_to_the_staff_pages(demo):
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username="admin"))
    page = client.get("/admin/").content.decode()
    assert "<title>Programs, customers and progress | Loyalty milestones admin</title>" in page
    assert 'id="site-name"><a href="/admin/">Loyalty milestones</a>' in page
    assert '<a href="/staff/">View site</a>' in page

"""The staff and admin log-in forms verify passwords like HTTP Basic, so they are throttled by the
same counters (issue 15 §3, customers/login.py): per client address and per username, refused
before any hashing with 429 and Retry-After, a wrong password through the API and through a form
counting against one budget."""

import pytest
from django.test import Client

from tests.conftest import basic
from tests.support import EXAMPLE_CUSTOMER, READ

FORMS = {"staff": "/staff/login/", "admin": "/admin/login/"}


pytestmark = pytest.mark.usefixtures("fresh_counters")


def log_in(form, username, password, address="10.0.0.1"):
    return Client(REMOTE_ADDR=address).post(FORMS[form], {"username": username, "password": password})


@pytest.mark.parametrize("form", FORMS)
def test_wrong_passwords_for_one_username_are_refused_with_429_before_hashing(demo, form, hashing):
    for n in range(3):
        response = log_in(form, "staff60001", "wrong", address=f"10.0.1.{n}")
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()
    hashed = hashing.call_count
    response = log_in(form, "staff60001", "staff60001", address="10.0.1.99")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 300
    assert "Too many failed log-in attempts. Try again in" in response.content.decode()
    assert hashing.call_count == hashed  # refused before any hashing, even the right password
    assert "_auth_user_id" not in response.client.session


@pytest.mark.parametrize("form", FORMS)
def test_one_address_guessing_many_usernames_is_refused(demo, form):
    for n in range(5):
        assert log_in(form, f"nobody{n}", "guess", address="10.0.3.1").status_code == 200
    assert log_in(form, "staff60001", "staff60001", address="10.0.3.1").status_code == 429
    # Another address logs in as usual.
    response = log_in(form, "staff60001", "staff60001", address="10.0.3.2")
    assert response.status_code == 302


def test_the_api_and_the_forms_share_one_budget_per_username(demo):
    from rest_framework.test import APIClient

    path = READ.format(EXAMPLE_CUSTOMER)
    for n in range(2):
        APIClient().get(path, HTTP_AUTHORIZATION=basic("staff60001", "wrong"), REMOTE_ADDR=f"10.0.5.{n}")
    assert log_in("staff", "staff60001", "wrong", address="10.0.5.8").status_code == 200
    assert log_in("admin", "staff60001", "staff60001", address="10.0.5.9").status_code == 429


def test_a_right_password_under_the_limit_logs_in_and_only_wrong_ones_count(demo):
    assert log_in("staff", "staff60001", "wrong").status_code == 200
    response = log_in("staff", "staff60001", "staff60001")
    assert response.status_code == 302
    assert response["Location"] == "/staff/customers/"
    # One failure so far: two more reach the username's limit of 3, the successful log-in added none.
    for n in range(2):
        assert log_in("staff", "staff60001", "wrong", address=f"10.0.6.{n}").status_code == 200
    assert log_in("staff", "staff60001", "staff60001", address="10.0.6.9").status_code == 429

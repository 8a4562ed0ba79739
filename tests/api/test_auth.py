"""Authentication of the read endpoint (SPEC §3): HTTP Basic for users linked to an Actor, and
OAuth 2 client credentials (django-oauth-toolkit) through the platform's token endpoint or the
standard one, presented in `X-CAP-API-OAUTH-TOKEN` or `Authorization: Bearer`."""

import hashlib
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application
from rest_framework.test import APIClient

from customers.models import Actor
from tests.conftest import basic
from tests.factories import CustomerFactory, OrgFactory, UserFactory
from tests.support import PASSWORD, READ, api_user, assert_error, body

CUSTOMER = 347286146
PATH = READ.format(CUSTOMER)
TOKEN_GENERATE = "/v3/oauth/token/generate"
DEMO_KEY, DEMO_SECRET = "demo-key", "demo-secret"


@pytest.fixture(autouse=True)
def fresh_throttle(db):
    """The token endpoint is throttled per client address; these tests ask for many tokens."""
    cache.clear()
    yield
    cache.clear()


def generate(key=DEMO_KEY, secret=DEMO_SECRET):
    return APIClient().post(TOKEN_GENERATE, {"key": key, "secret": secret}, format="json")


def generated_token(key=DEMO_KEY, secret=DEMO_SECRET):
    response = generate(key, secret)
    assert response.status_code == 200, response.content
    return body(response)["data"]["accessToken"]


def standard_token(client_id=DEMO_KEY, secret=DEMO_SECRET):
    response = APIClient().post(
        "/o/token/",
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.content
    return body(response)["access_token"]


def stored(token):
    return AccessToken.objects.get(token_checksum=hashlib.sha256(token.encode()).hexdigest())


def with_cap_header(token):
    return APIClient().get(PATH, HTTP_X_CAP_API_OAUTH_TOKEN=token)


def with_bearer(token):
    return APIClient().get(PATH, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def basic_response(till_client):
    response = till_client.get(PATH)
    assert response.status_code == 200, response.content
    return response


# --- Basic ------------------------------------------------------------------------------------


def test_basic_auth_reads_the_customer(basic_response):
    assert body(basic_response)["data"]["userId"] == CUSTOMER


def test_basic_auth_with_a_wrong_password_is_401(demo, client_for):
    assert_error(client_for("tillrustaging2", "tillrustaging3").get(PATH), 401, 401)


def test_basic_auth_for_an_unknown_or_inactive_user_is_401(demo, client_for):
    assert_error(client_for("nobody-here").get(PATH), 401, 401)
    user = api_user(demo, is_active=False)
    assert_error(client_for(user.username, PASSWORD).get(PATH), 401, 401)


def test_a_user_without_an_actor_is_401(demo, client_for):
    user = api_user(demo, actor=False)
    payload = assert_error(client_for(user.username, PASSWORD).get(PATH), 401, 401)
    assert "actor" in payload["errors"][0]["message"]


def test_an_md5_password_is_simply_the_password(demo, client_for):
    """Clients of the original platform send md5(password): here that string is the password."""
    md5 = hashlib.md5(b"Pass123").hexdigest()  # noqa: S324 (the platform's convention)
    user = api_user(demo)
    user.set_password(md5)
    user.save()
    assert client_for(user.username, md5).get(PATH).status_code == 200
    assert_error(client_for(user.username, "Pass123").get(PATH), 401, 401)


# --- the verified-credentials cache -----------------------------------------------------------


def test_a_password_change_makes_the_old_password_fail_at_once(demo, client_for):
    user = api_user(demo)
    old = client_for(user.username, PASSWORD)
    assert old.get(PATH).status_code == 200
    assert old.get(PATH).status_code == 200  # now remembered as verified
    user.set_password("a-new-password")
    user.save()
    assert_error(old.get(PATH), 401, 401)
    assert client_for(user.username, "a-new-password").get(PATH).status_code == 200


def test_deactivating_a_user_refuses_it_at_once(demo, client_for):
    user = api_user(demo)
    client = client_for(user.username, PASSWORD)
    assert client.get(PATH).status_code == 200
    user.is_active = False
    user.save()
    assert_error(client.get(PATH), 401, 401)


def test_unlinking_the_actor_refuses_it_at_once(demo, client_for):
    user = api_user(demo)
    client = client_for(user.username, PASSWORD)
    assert client.get(PATH).status_code == 200
    Actor.objects.filter(user=user).update(user=None)
    assert_error(client.get(PATH), 401, 401)


def test_a_cached_password_does_not_open_another_account(demo, client_for):
    first, second = api_user(demo), api_user(demo)
    second.set_password("other-password")
    second.save()
    assert client_for(first.username, PASSWORD).get(PATH).status_code == 200
    assert_error(client_for(second.username, PASSWORD).get(PATH), 401, 401)


# --- permission -------------------------------------------------------------------------------


def test_authenticated_without_view_targetgroup_is_403(demo, client_for):
    user = api_user(demo, perms=("targets.add_activity",))
    payload = assert_error(client_for(user.username, PASSWORD).get(PATH), 403, 403)
    assert payload["errors"][0]["message"] == "Permission denied"


def test_the_permission_may_come_from_a_group(demo, client_for):
    user = api_user(demo, perms=())
    readers = Group.objects.create(name="API readers")
    readers.permissions.add(
        Permission.objects.get(content_type__app_label="targets", codename="view_targetgroup")
    )
    user.groups.add(readers)
    assert client_for(user.username, PASSWORD).get(PATH).status_code == 200


# --- OAuth: the platform's token endpoint -----------------------------------------------------


def test_token_generate_answers_in_the_platform_envelope(demo):
    response = generate()
    assert response.status_code == 200, response.content
    payload = body(response)
    assert list(payload) == ["data", "errors", "warnings"]
    assert payload["errors"] is None and payload["warnings"] is None
    assert set(payload["data"]) == {"accessToken", "ttlSeconds"}
    assert isinstance(payload["data"]["accessToken"], str) and len(payload["data"]["accessToken"]) >= 20
    assert payload["data"]["ttlSeconds"] == django_settings.OAUTH2_PROVIDER["ACCESS_TOKEN_EXPIRE_SECONDS"]
    token = stored(payload["data"]["accessToken"])
    assert token.application.client_id == DEMO_KEY
    assert token.expires > timezone.now() + timedelta(seconds=payload["data"]["ttlSeconds"] - 60)


@pytest.mark.parametrize(
    ("key", "secret"), [(DEMO_KEY, "wrong"), ("no-such-key", DEMO_SECRET), (DEMO_SECRET, DEMO_KEY)]
)
def test_token_generate_with_wrong_key_or_secret_is_401(demo, key, secret):
    payload = assert_error(generate(key, secret), 401, 401)
    assert payload["errors"][0]["message"] == "Failed to generate OAuth token"


@pytest.mark.parametrize(
    "payload",
    [{}, {"key": DEMO_KEY}, {"secret": DEMO_SECRET}, {"key": DEMO_KEY, "secret": ""}, ["demo-key"], "x"],
)
def test_token_generate_without_key_and_secret_is_400(demo, payload):
    assert_error(APIClient().post(TOKEN_GENERATE, payload, format="json"), 400, 300004)


def test_a_generated_token_is_accepted_in_both_headers(demo, basic_response):
    token = generated_token()
    for response in (with_cap_header(token), with_bearer(token)):
        assert response.status_code == 200, response.content
        assert response.content == basic_response.content


# --- OAuth: the standard endpoint -------------------------------------------------------------


def test_a_token_from_the_standard_endpoint_is_accepted_in_both_headers(demo, basic_response):
    token = standard_token()
    assert with_cap_header(token).content == basic_response.content
    assert with_bearer(token).content == basic_response.content


def test_the_standard_endpoint_refuses_a_wrong_secret(demo):
    response = APIClient().post(
        "/o/token/", {"grant_type": "client_credentials", "client_id": DEMO_KEY, "client_secret": "nope"}
    )
    assert response.status_code == 401


# --- OAuth: refused tokens --------------------------------------------------------------------


@pytest.mark.parametrize("issue", [generated_token, standard_token])
def test_an_expired_token_is_401(demo, issue):
    token = issue()
    assert with_bearer(token).status_code == 200
    AccessToken.objects.filter(pk=stored(token).pk).update(expires=timezone.now() - timedelta(seconds=1))
    assert_error(with_bearer(token), 401, 401)
    assert_error(with_cap_header(token), 401, 401)


def test_a_revoked_token_is_401(demo):
    token = generated_token()
    assert with_cap_header(token).status_code == 200
    stored(token).revoke()
    assert_error(with_cap_header(token), 401, 401)
    assert_error(with_bearer(token), 401, 401)


def test_a_deleted_application_takes_its_tokens_with_it(demo):
    org = OrgFactory()
    owner = api_user(org)
    Application.objects.create(
        client_id="temporary",
        client_secret="temporary-secret",
        name="temporary",
        user=owner,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    token = generated_token("temporary", "temporary-secret")
    customer = CustomerFactory(org=org)
    assert APIClient().get(READ.format(customer.id), HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    Application.objects.filter(client_id="temporary").delete()
    assert_error(APIClient().get(READ.format(customer.id), HTTP_AUTHORIZATION=f"Bearer {token}"), 401, 401)


@pytest.mark.parametrize("token", ["not-a-token", "", " "])
def test_an_unknown_token_is_401(demo, token):
    assert_error(with_cap_header(token), 401, 401)
    assert_error(with_bearer(token), 401, 401)


# --- OAuth: the application's owner is the identity -------------------------------------------


def oauth_application(owner, client_id):
    return Application.objects.create(
        client_id=client_id,
        client_secret=f"{client_id}-secret",
        name=client_id,
        user=owner,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )


def test_the_token_reads_with_the_org_of_its_applications_actor(demo):
    child_owner = api_user(demo.children.get(id=60001))
    oauth_application(child_owner, "coffee-app")
    token = generated_token("coffee-app", "coffee-app-secret")
    assert APIClient().get(READ.format(900000001), HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert_error(with_bearer(token), 404, 8015)  # the parent's customer is not in its SELF scope
    demo_token = generated_token()
    assert_error(APIClient().get(READ.format(900000001), HTTP_X_CAP_API_OAUTH_TOKEN=demo_token), 404, 8015)


def test_a_token_whose_owner_has_no_actor_is_401(demo):
    oauth_application(UserFactory(perms=["targets.view_targetgroup"]), "no-actor-app")
    assert_error(with_bearer(generated_token("no-actor-app", "no-actor-app-secret")), 401, 401)


def test_a_token_whose_owner_lacks_the_permission_is_403(demo):
    oauth_application(api_user(demo, perms=()), "no-perm-app")
    assert_error(with_cap_header(generated_token("no-perm-app", "no-perm-app-secret")), 403, 403)


def test_a_token_whose_owner_was_deactivated_is_401(demo):
    owner = api_user(demo)
    oauth_application(owner, "inactive-owner-app")
    token = generated_token("inactive-owner-app", "inactive-owner-app-secret")
    assert with_bearer(token).status_code == 200
    owner.is_active = False
    owner.save()
    assert_error(with_bearer(token), 401, 401)


def test_wrong_basic_credentials_are_refused_even_beside_a_valid_token(demo):
    token = generated_token()
    response = APIClient().get(
        PATH, HTTP_AUTHORIZATION=basic("tillrustaging2", "wrong"), HTTP_X_CAP_API_OAUTH_TOKEN=token
    )
    assert_error(response, 401, 401)


def test_a_nul_character_in_a_client_id_or_username_is_refused_not_a_server_error(demo):
    """PostgreSQL cannot compare strings holding NUL: such credentials are simply unknown."""
    standard = APIClient(raise_request_exception=False).post(
        "/o/token/", {"grant_type": "client_credentials", "client_id": "demo\x00key", "client_secret": "x"}
    )
    assert standard.status_code == 401, standard.content
    generated = APIClient(raise_request_exception=False).post(
        TOKEN_GENERATE, {"key": "demo\x00key", "secret": DEMO_SECRET}, format="json"
    )
    assert_error(generated, 400, 300004)
    assert_error(APIClient().get(PATH, HTTP_AUTHORIZATION=basic("tillrustaging2\x00", "x")), 401, 401)


def test_a_removed_permission_is_refused_at_once_with_either_credential(demo):
    """Nothing caches permissions across requests (the Basic credential cache holds only the
    verified password): the request after a permission is taken away is a 403, in any process."""
    org = OrgFactory()
    owner = api_user(org)
    oauth_application(owner, "revoked-perm-app")
    token = generated_token("revoked-perm-app", "revoked-perm-app-secret")
    customer = CustomerFactory(org=org)
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    password = APIClient()
    password.credentials(HTTP_AUTHORIZATION=basic(owner.username, PASSWORD))
    assert bearer.get(READ.format(customer.id)).status_code == 200
    assert password.get(READ.format(customer.id)).status_code == 200  # now in the credential cache

    owner.user_permissions.remove(Permission.objects.get(codename="view_targetgroup"))

    assert_error(bearer.get(READ.format(customer.id)), 403, 403)
    assert_error(password.get(READ.format(customer.id)), 403, 403)
    stored(token).revoke()
    assert_error(bearer.get(READ.format(customer.id)), 401, 401)

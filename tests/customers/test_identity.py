"""customers/identity.py and config/prepared.py across processes (PostgreSQL): what another
process commits — a revoked, expired or narrowed token, a removed permission or group, a
deactivated user, a changed password, a child org that leaves its parent, a changed group — is
what the very next request in this process sees. Each test first makes a few requests so that
the statements are prepared on the kept connection and the Basic credential cache is warm."""

import json
import subprocess
import sys
from datetime import timedelta

import psycopg
import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application
from rest_framework.test import APIClient

from tests.conftest import basic
from tests.factories import CustomerFactory, GroupFactory, OrgFactory
from tests.support import PASSWORD, READ, api_user, body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WARM = 4  # requests before the change: above psycopg's prepare threshold (config/prepared.py)


def commit_elsewhere(sql, *params):
    """Run `sql` in another Python process, on its own connection to the test database, and
    commit before returning."""
    s = connection.settings_dict
    dsn = psycopg.conninfo.make_conninfo(
        dbname=s["NAME"], host=s["HOST"] or None, port=s["PORT"] or None, user=s["USER"] or None
    )
    script = (
        "import json, sys, psycopg\n"
        "with psycopg.connect(sys.argv[1], autocommit=True) as c:\n"
        "    assert c.execute(sys.argv[2], json.loads(sys.argv[3])).rowcount >= 1\n"
    )
    env = {"PGPASSWORD": s["PASSWORD"] or ""}
    subprocess.run([sys.executable, "-c", script, dsn, sql, json.dumps(params)], check=True, env=env)


@pytest.fixture
def family():
    """A parent org with one child org; the parent's API user (view permission, through a
    group too), its client-credentials application and a token; a customer in each org."""
    parent = OrgFactory()
    child = OrgFactory(parent=parent)
    owner = api_user(parent)
    readers = Group.objects.create(name="readers")
    readers.permissions.add(Permission.objects.get(codename="view_targetgroup"))
    owner.groups.add(readers)
    Application.objects.create(
        client_id="family-app",
        client_secret="family-app-secret",
        name="family-app",
        user=owner,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    response = APIClient().post(
        "/o/token/",
        {"grant_type": "client_credentials", "client_id": "family-app", "client_secret": "family-app-secret"},
    )
    token = body(response)["access_token"]
    return {
        "owner": owner,
        "token": token,
        "stored": AccessToken.objects.get(),
        "customer": CustomerFactory(org=parent),
        "child_customer": CustomerFactory(org=child),
        "child": child,
    }


def bearer(family):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {family['token']}")
    return client


def password(family, secret=PASSWORD):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(family["owner"].username, secret))
    return client


def warm(client, customer, **headers):
    for _ in range(WARM):
        response = client.get(READ.format(customer.id), **headers)
        assert response.status_code == 200, response.content
    return response


def test_a_token_revoked_in_another_process_is_refused_at_once(family):
    client = bearer(family)
    warm(client, family["customer"])

    commit_elsewhere("DELETE FROM oauth2_provider_accesstoken WHERE id = %s", family["stored"].id)

    assert client.get(READ.format(family["customer"].id)).status_code == 401


def test_a_token_expired_in_another_process_is_refused_at_once(family):
    client = bearer(family)
    warm(client, family["customer"])

    commit_elsewhere(
        "UPDATE oauth2_provider_accesstoken SET expires = %s WHERE id = %s",
        (timezone.now() - timedelta(seconds=1)).isoformat(),
        family["stored"].id,
    )

    assert client.get(READ.format(family["customer"].id)).status_code == 401


def test_a_token_that_loses_its_read_scope_in_another_process_is_refused_at_once(family):
    client = bearer(family)
    warm(client, family["customer"])

    commit_elsewhere(
        "UPDATE oauth2_provider_accesstoken SET scope = 'write' WHERE id = %s", family["stored"].id
    )

    assert client.get(READ.format(family["customer"].id)).status_code == 403


@pytest.mark.parametrize("credential", [bearer, password])
def test_a_permission_removed_in_another_process_is_refused_at_once(family, credential):
    """The permission is held twice (directly and through a group): removing one keeps the
    read, removing both refuses it on the next request."""
    client = credential(family)
    warm(client, family["customer"])
    owner = family["owner"].id

    commit_elsewhere("DELETE FROM auth_user_user_permissions WHERE user_id = %s", owner)
    assert client.get(READ.format(family["customer"].id)).status_code == 200
    commit_elsewhere("DELETE FROM auth_user_groups WHERE user_id = %s", owner)

    assert client.get(READ.format(family["customer"].id)).status_code == 403


@pytest.mark.parametrize("credential", [bearer, password])
def test_a_user_deactivated_in_another_process_is_refused_at_once(family, credential):
    client = credential(family)
    warm(client, family["customer"])

    commit_elsewhere("UPDATE auth_user SET is_active = false WHERE id = %s", family["owner"].id)

    assert client.get(READ.format(family["customer"].id)).status_code == 401


def test_a_password_changed_in_another_process_is_refused_at_once(family):
    """The Basic credential cache keys on the stored hash, which the user row brings fresh."""
    client = password(family)
    warm(client, family["customer"])
    owner = family["owner"]
    owner.set_password("another-secret")

    commit_elsewhere("UPDATE auth_user SET password = %s WHERE id = %s", owner.password, owner.id)

    assert client.get(READ.format(family["customer"].id)).status_code == 401
    assert password(family, "another-secret").get(READ.format(family["customer"].id)).status_code == 200


@pytest.mark.parametrize("credential", [bearer, password])
def test_a_child_org_that_leaves_its_parent_in_another_process_is_out_of_scope_at_once(family, credential):
    client = credential(family)
    warm(client, family["child_customer"], HTTP_DATA_SCOPE="ALL")
    other = {"HTTP_DATA_SCOPE": "OTHER", "HTTP_DATA_SCOPE_ORG": str(family["child"].id)}
    assert client.get(READ.format(family["child_customer"].id), **other).status_code == 200

    commit_elsewhere("UPDATE customers_org SET parent_id = NULL WHERE id = %s", family["child"].id)

    assert client.get(READ.format(family["child_customer"].id), HTTP_DATA_SCOPE="ALL").status_code == 404
    assert client.get(READ.format(family["child_customer"].id), **other).status_code == 403


def test_the_prepared_read_queries_see_what_another_process_commits(family):
    customer = family["customer"]
    group = GroupFactory(org=customer.org, enrolment="ALL_CUSTOMERS", name="Before")
    client = bearer(family)
    payload = body(warm(client, customer))
    assert [g["name"] for g in payload["data"]["targetGroups"]] == ["Before"]

    commit_elsewhere("UPDATE targets_targetgroup SET name = 'After' WHERE id = %s", group.id)
    payload = body(client.get(READ.format(customer.id)))
    assert [g["name"] for g in payload["data"]["targetGroups"]] == ["After"]

    commit_elsewhere("UPDATE targets_targetgroup SET active = false WHERE id = %s", group.id)
    assert body(client.get(READ.format(customer.id)))["data"]["targetGroups"] == []

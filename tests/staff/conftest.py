import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from customers.models import Actor
from tests.factories import ActorFactory, OrgFactory, UserFactory


@pytest.fixture
def staff_client(demo):
    """A test client logged in as a demo user: staff_client("staff50363")."""

    def make(username):
        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        return client

    return make


@pytest.fixture
def org_staff(db):
    """A fresh org (or the given one) with a logged-in staff user of its own: returns (org, client)."""

    def make(org=None):
        org = org or OrgFactory()
        user = UserFactory(is_staff=True)
        ActorFactory(org=org, user=user, type=Actor.Type.ADMIN_USER)
        client = Client()
        client.force_login(user)
        return org, client

    return make

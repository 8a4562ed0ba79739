import pytest
from django.contrib.auth import get_user_model
from django.test import Client


@pytest.fixture
def login(demo):
    """A Django test client logged in as a demo user: login("admin"), login("staff60001")."""

    def make(username_or_user):
        user = username_or_user
        if isinstance(user, str):
            user = get_user_model().objects.get(username=user)
        client = Client()
        client.force_login(user)
        return client

    return make

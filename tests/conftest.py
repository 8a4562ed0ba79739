import base64

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from customers.models import Org
from tests.security import figures

DEMO_NOW = "2024-08-30T09:21:43.741Z"


def pytest_sessionfinish(session):
    figures.hand_over(session.config)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    figures.take_over(node)


def pytest_terminal_summary(terminalreporter):
    figures.report(terminalreporter)


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` are skipped on any other database. Tests that commit
    (transactional_db) flush the database afterwards; run them last so the session's seeded
    demo data serves every other test."""
    from django.db import connection

    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(reason=f"needs PostgreSQL (this run: {connection.vendor})")
        for item in items:
            if item.get_closest_marker("postgres"):
                item.add_marker(skip)
    items.sort(
        key=lambda item: (
            "transactional_db" in getattr(item, "fixturenames", ())
            or "live_server" in getattr(item, "fixturenames", ())
        )
    )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Seed the demo once per session, with the clock pinned as `make run` does."""
    from django.test import override_settings

    with django_db_blocker.unblock(), override_settings(TARGETS_NOW=DEMO_NOW):
        call_command("seed_demo", verbosity=0)


@pytest.fixture(autouse=True)
def unpinned_clock(settings):
    settings.TARGETS_NOW = None


@pytest.fixture
def pinned_clock(settings):
    settings.TARGETS_NOW = DEMO_NOW
    return DEMO_NOW


@pytest.fixture
def demo(db, pinned_clock):
    """The seeded demo data (seeded again if a committing test flushed it)."""
    if not Org.objects.filter(id=50363).exists():
        call_command("seed_demo", verbosity=0)
    return Org.objects.get(id=50363)


def basic(username, password=None):
    token = base64.b64encode(f"{username}:{password or username}".encode()).decode()
    return f"Basic {token}"


@pytest.fixture
def client_for():
    """An APIClient authenticated with HTTP Basic: client_for("tillrustaging2")."""

    def make(username, password=None, **headers):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=basic(username, password), **headers)
        return client

    return make


@pytest.fixture
def till_client(demo, client_for):
    return client_for("tillrustaging2")

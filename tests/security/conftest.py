"""Fixtures of the security tests; their figures are printed by tests/security/figures.py."""

from unittest import mock

import pytest
from django.contrib.auth.hashers import get_hasher
from django.core.cache import cache

from customers.authentication import verified_credentials
from tests.security.figures import FIGURES


@pytest.fixture
def fresh_counters(db, settings):
    """Low failure limits (5 per address, 3 per username, 300 s windows) and empty counters."""
    settings.AUTH_FAILURES_PER_ADDRESS = 5
    settings.AUTH_FAILURES_PER_USERNAME = 3
    settings.AUTH_FAILURE_WINDOW_SECONDS = 300
    cache.clear()
    verified_credentials.clear()
    yield
    cache.clear()
    verified_credentials.clear()


@pytest.fixture
def hashing():
    """Counts password hash computations by the preferred hasher (wrapped: it still runs). That is
    PBKDF2 in production and MD5 in the suite (tests/settings.py): what these tests check, hashing
    done or refused before it, does not depend on which."""
    hasher = type(get_hasher("default"))
    with mock.patch.object(hasher, "encode", autospec=True, side_effect=hasher.encode) as spy:
        yield spy


@pytest.fixture
def security_figures():
    return FIGURES

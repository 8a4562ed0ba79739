"""Figures of the security tests (cases fuzzed, soak requests and failures): collected while the
tests run, printed at the end of the session and written to test-artifacts/security-figures.json."""

import json
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.cache import cache

from customers.authentication import verified_credentials

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FIGURES: dict = {}


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
    """Counts PBKDF2 computations (Django's hasher, wrapped: it still runs)."""
    with mock.patch.object(
        PBKDF2PasswordHasher, "encode", autospec=True, side_effect=PBKDF2PasswordHasher.encode
    ) as spy:
        yield spy


@pytest.fixture
def security_figures():
    return FIGURES


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.section("security figures")
    fuzz = FIGURES.get("fuzz")
    if fuzz:
        total = sum(fuzz.values())
        terminalreporter.write_line(f"schema fuzzing: {total} cases over {len(fuzz)} operation/mode runs")
        for name, count in sorted(fuzz.items()):
            terminalreporter.write_line(f"  {name}: {count}")
    soak = FIGURES.get("soak")
    if soak:
        terminalreporter.write_line(
            "soak: {requests} requests ({reads} reads, {posts} activity posts, {activities} activities) "
            "in {seconds:.1f} s, {failures} failures".format(**soak)
        )
    hostile = FIGURES.get("fuzz_hostile")
    if hostile:
        terminalreporter.write_line(
            f"hostile-input fuzzing: {sum(hostile.values())} cases, 0 server errors "
            + ", ".join(f"{name}: {n}" for name, n in sorted(hostile.items()))
        )
    flood = FIGURES.get("flood")
    if flood:
        terminalreporter.write_line(
            "wrong-password flood: {attempts} attempts ({attempts_429} answered 429); valid reads: "
            "median {baseline_median_ms} ms before, {during_median_ms} ms during (p95 {during_p95_ms} ms), "
            "{valid_reads} reads".format(**flood)
        )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "security-figures.json").write_text(json.dumps(FIGURES, indent=2, sort_keys=True) + "\n")
